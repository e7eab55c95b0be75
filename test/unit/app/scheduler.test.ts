import { createPollGate } from '../../../src/adapters/scheduler';

describe('the poll gate', () => {
  const setup = () => {
    const started: number[] = [];
    const skipped: number[] = [];
    let finish: () => void = () => undefined;
    const gate = createPollGate({
      intervalMs: 30_000,
      poll: (at) => {
        started.push(at);
        return new Promise<void>((resolve) => (finish = resolve));
      },
      onSkip: (slot) => skipped.push(slot),
    });
    return { gate, started, skipped, finish: () => finish() };
  };

  it('starts one poll per interval boundary, aligned to the interval', async () => {
    const { gate, started, finish } = setup();
    gate.tick(61_000, true);
    finish();
    await gate.inFlight();
    gate.tick(62_000, false);
    gate.tick(89_999, false);
    gate.tick(90_000, false);
    finish();
    await gate.inFlight();
    gate.tick(91_000, false);
    expect(started).toEqual([61_000, 90_000]);
  });

  it('never runs two polls at once: a boundary passed while one runs is skipped and reported', async () => {
    const { gate, started, skipped, finish } = setup();
    gate.tick(0, true);
    gate.tick(30_000, false);
    gate.tick(60_000, false);
    expect(started).toEqual([0]);
    expect(skipped).toEqual([30_000, 60_000]);
    finish();
    await gate.inFlight();
    expect(gate.inFlight()).toBeUndefined();
    gate.tick(90_000, false);
    expect(started).toEqual([0, 90_000]);
  });
});
