import { progressBar, progressStep } from '../../../src/app/backtest/progress';

describe('backtest progress', () => {
  it('draws a bar of the share done with its percentage and phase', () => {
    expect(progressBar(0.45, 'replay', 20)).toBe('[#########...........]  45% replay');
  });

  it('reports plain progress in steps of ten percent, clamped to 0..100', () => {
    expect([-0.5, 0, 0.09, 0.1, 0.555, 1, 1.2].map((f) => progressStep(f))).toEqual([
      0, 0, 0, 10, 50, 100, 100,
    ]);
  });
});
