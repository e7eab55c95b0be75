import {
  FEATURES,
  LevelMedian,
  levelOf,
  roundHalfEven,
  shapeFeature,
} from '../../../src/core/baseline/shape-features';

/** The feature of a window of levels, as plain numbers. */
const featureOf = (levels: number[]): number[] => {
  const out = new Uint8Array(FEATURES);
  shapeFeature(levels, out);
  return [...out];
};

describe('shape features', () => {
  it('quantises exact halves to the even neighbour, and clamps a level to 0..80', () => {
    expect({
      halves: [0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven),
      levels: [-1, 0, 0.5, 1, 2].map(levelOf),
    }).toEqual({ halves: [0, 2, 2, 4, 2, 3], levels: [0, 0, 40, 80, 80] });
  });

  it('sets a level within 6 levels of the running median to the median', () => {
    const median = new LevelMedian();
    // 40 is the median throughout; 45 is 5 from it (flattened), 47 is 7 (kept), 10 is far.
    expect([40, 40, 40, 45, 47, 10].map((level) => median.flatten(level))).toEqual([40, 40, 40, 40, 47, 10]);
  });

  it('codes a step as its Haar transform within the window, its levels, and their complements', () => {
    // Rescaled [0,0,0,0,1,1,1,1]: approximation 1/2, the coarsest detail -1/2 (shifted: 0), the others 0
    // (shifted: 1/2, i.e. 128 after rounding 127.5 to even); levels 0 and 80 are 0 and 255.
    expect(featureOf([0, 0, 0, 0, 80, 80, 80, 80])).toEqual([
      ...[128, 0, 128, 128, 128, 128, 128, 128],
      ...[0, 0, 0, 0, 255, 255, 255, 255],
      ...[127, 255, 127, 127, 127, 127, 127, 127],
      ...[255, 255, 255, 255, 0, 0, 0, 0],
    ]);
  });

  it('codes a flapping window by its finest details and a flat one as no shape at its height', () => {
    expect({
      flapping: featureOf([10, 20, 10, 20, 10, 20, 10, 20]),
      flat: featureOf(new Array(8).fill(30)),
    }).toEqual({
      // Rescaled [0,1,0,1,...]: approximation and coarse details 1/2, the four finest details -1/2 (0).
      flapping: [
        ...[128, 128, 128, 128, 0, 0, 0, 0],
        ...[32, 64, 32, 64, 32, 64, 32, 64],
        ...[127, 127, 127, 127, 255, 255, 255, 255],
        ...[223, 191, 223, 191, 223, 191, 223, 191],
      ],
      flat: [
        ...[0, 128, 128, 128, 128, 128, 128, 128],
        ...new Array(8).fill(96),
        ...[255, 127, 127, 127, 127, 127, 127, 127],
        ...new Array(8).fill(159),
      ],
    });
  });
});
