import { ConfigError } from '../../../src/errors';
import { SpatialRange, type SpatialJudgement, type SpatialOptions } from '../../../src/core/baseline/spatial';
import { DAY, HOUR, MINUTE, T0 } from './factories';

/** A judgement with its numbers rounded, for whole-output assertions. */
const rounded = (j: SpatialJudgement | undefined, digits = 4): unknown =>
  j === undefined
    ? undefined
    : {
        ...j,
        excess: Number(j.excess.toFixed(digits)),
        low: Number(j.low.toFixed(digits)),
        high: Number(j.high.toFixed(digits)),
      };

/** Two days of 0 and 100 every five minutes: the warm-up. */
function warmUp(spatial: SpatialRange): (SpatialJudgement | undefined)[] {
  const out: (SpatialJudgement | undefined)[] = [];
  for (let t = T0; t < T0 + 2 * DAY; t += 5 * MINUTE)
    out.push(spatial.observe(t, (t / (5 * MINUTE)) % 2 === 0 ? 0 : 100));
  return out;
}

describe('spatial rule (SpatialRange)', () => {
  it('says nothing during its two-day warm-up, then reports a value beyond the range by more than 5% of its span', () => {
    const spatial = new SpatialRange({ forgetHalfLifeSeconds: Infinity });
    const during = warmUp(spatial);
    const after = [104, 110, 110, -10, 50, undefined, NaN].map((v, i) =>
      rounded(spatial.observe(T0 + 2 * DAY + i * 5 * MINUTE, v)),
    );
    expect({ judgedDuringWarmUp: during.filter((j) => j !== undefined).length, after }).toEqual({
      judgedDuringWarmUp: 0,
      after: [
        // 4% beyond: not new, but the range widens to it.
        { newRange: false, excess: 0.04, low: 0, high: 100 },
        // (110 - 104) / 104: beyond the widened range by more than the tolerance.
        { newRange: true, excess: 0.0577, low: 0, high: 104 },
        { newRange: false, excess: 0, low: 0, high: 110 },
        { newRange: true, excess: 0.0909, low: 0, high: 110 },
        { newRange: false, excess: 0, low: -10, high: 110 },
        // Gaps are neither judged nor learned.
        undefined,
        undefined,
      ],
    });
  });

  it('forgets slowly: with nothing at its ends for 90 days its span halves, so it does not go deaf', () => {
    const spatial = new SpatialRange();
    warmUp(spatial);
    let last: SpatialJudgement | undefined;
    for (let t = T0 + 2 * DAY; t <= T0 + 92 * DAY; t += HOUR) last = spatial.observe(t, 50);
    const next = spatial.observe(T0 + 92 * DAY + HOUR, 80);
    // 90 days and a few minutes after the ends were last seen (forgetting runs on the series' time).
    expect({ after90Days: rounded(last, 1), then80: rounded(next, 1) }).toEqual({
      after90Days: { newRange: false, excess: 0, low: 25, high: 75 },
      then80: { newRange: true, excess: 0.1, low: 25, high: 75 },
    });
  });

  it('judges each value against the values before it only, whatever comes after', () => {
    const judge = (future: number): unknown[] => {
      const spatial = new SpatialRange();
      warmUp(spatial);
      return [60, 101, future].map((v, i) => rounded(spatial.observe(T0 + 2 * DAY + i * HOUR, v)));
    };
    expect(judge(1e9).slice(0, 2)).toEqual(judge(-1e9).slice(0, 2));
  });

  it('keeps four floats of state', () => {
    expect(new SpatialRange().stateBytes).toBe(32);
  });

  it('rejects options it cannot honour with a ConfigError naming the option', () => {
    const error = (options: SpatialOptions): unknown => {
      try {
        new SpatialRange(options);
      } catch (e) {
        return e instanceof ConfigError ? `${e.key}: ${e.message}` : e;
      }
      return undefined;
    };
    expect([{ tolerance: -1 }, { forgetHalfLifeSeconds: 0 }, { warmupSeconds: NaN }].map(error)).toEqual([
      'spatial.tolerance: spatial.tolerance must be >= 0, got -1',
      'spatial.forgetHalfLifeSeconds: spatial.forgetHalfLifeSeconds must be a positive number of seconds or Infinity, got 0',
      'spatial.warmupSeconds: spatial.warmupSeconds must be a number of seconds >= 0, got NaN',
    ]);
  });
});
