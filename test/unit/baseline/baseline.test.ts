import { ConfigError } from '../../../src/errors';
import {
  createBaseline,
  trafficBaselineOptions,
  type Baseline,
  type BaselineOptions,
  type Estimate,
} from '../../../src/core/baseline';
import { DAY, HOUR, MINUTE, T0, feed, normalNoise, rounded } from './factories';

const STEP = 5 * MINUTE;
const traffic = (overrides: Partial<BaselineOptions> = {}): BaselineOptions => ({
  ...trafficBaselineOptions,
  ...overrides,
});

/** Request rate with a daily cycle: 20/s at night, 120/s in the afternoon, plus 2% noise. */
function dailyTraffic(seed = 1): (t: number) => number {
  const noise = normalNoise(seed);
  return (t) => {
    const hour = ((t - T0) % DAY) / HOUR;
    const mean = 70 - 50 * Math.cos((2 * Math.PI * (hour - 3)) / 24);
    return mean * (1 + 0.02 * noise());
  };
}

/** A flat series around `level` with normal noise of `sd`. */
function flat(level: number, sd: number, seed = 2): (t?: number) => number {
  const noise = normalNoise(seed);
  return () => level + sd * noise();
}

describe('baseline', () => {
  it('learns a daily cycle: after a week the expected value is the hour-of-day mean', () => {
    const expected = [3, 9, 15, 21].map((hour) => {
      const baseline = createBaseline(traffic());
      const values = dailyTraffic();
      feed(baseline, T0, T0 + 8 * DAY + hour * HOUR, STEP, values);
      return (
        baseline.observe(T0 + 8 * DAY + hour * HOUR, values(T0 + 8 * DAY + hour * HOUR))?.expected ?? NaN
      );
    });
    // Hour bins hold the mean of their hour: 20.1, 76.5, 119.9 and 63.5 for this curve.
    const hourMeans = [20.1, 76.5, 119.9, 63.5];
    expect(expected.map((e, i) => Math.abs(e - (hourMeans[i] ?? 0)) < 10)).toEqual([true, true, true, true]);
  });

  it('falls back to the hour-of-day profile before a week and to the level before a day', () => {
    const young = createBaseline(traffic());
    const [first] = feed(young, T0, T0 + 2 * HOUR, STEP, () => 50).slice(-1);
    expect(rounded(first)).toEqual({ expected: 50, lower: 44, upper: 56.1, score: 0, part: 'level' });
    const days = createBaseline(traffic());
    feed(days, T0, T0 + 3 * DAY, STEP, dailyTraffic());
    const atNight = days.observe(T0 + 3 * DAY + 3 * HOUR, 20);
    const afternoon = createBaseline(traffic());
    feed(afternoon, T0, T0 + 3 * DAY, STEP, dailyTraffic());
    const atPeak = afternoon.observe(T0 + 3 * DAY + 15 * HOUR, 120);
    expect((atPeak?.expected ?? 0) - (atNight?.expected ?? 0)).toBeGreaterThan(60);
  });

  it('barely moves the expected value or the band for one outlier', () => {
    const history = flat(100, 2);
    const values = Array.from({ length: 2 * 288 }, () => history());
    const withOutlier = createBaseline(traffic());
    const without = createBaseline(traffic());
    values.forEach((v, i) => {
      withOutlier.observe(T0 + i * STEP, i === 500 ? 10_000 : v);
      without.observe(T0 + i * STEP, v);
    });
    const next = (b: typeof without): Estimate | undefined => b.observe(T0 + values.length * STEP, 100);
    const a = next(withOutlier);
    const b = next(without);
    expect(Math.abs((a?.expected ?? 0) - (b?.expected ?? 0))).toBeLessThan(0.5);
    const width = (e: Estimate | undefined): number => (e?.upper ?? 0) - (e?.lower ?? 0);
    expect(width(a) / width(b)).toBeLessThan(1.1);
  });

  it('knows counts are noisy at low rates: 2 denials over a quiet baseline are normal, 50/s from none is not', () => {
    const unauthorized = (): ReturnType<typeof createBaseline> => {
      const b = createBaseline({ direction: 'up', threshold: 5, countWindowSeconds: 120 });
      feed(b, T0, T0 + DAY, 30_000, () => 0);
      return b;
    };
    const twoDenials = unauthorized().observe(T0 + DAY, 2 / 120);
    const flood = unauthorized().observe(T0 + DAY, 50);
    expect(rounded(twoDenials, 2)).toEqual({
      expected: 0,
      lower: -Infinity,
      upper: 0.21,
      score: 1.41,
      part: 'level',
    });
    expect(rounded(flood, 0)).toEqual({ expected: 0, lower: -Infinity, upper: 0, score: 77, part: 'level' });
  });

  it('judges a ratio by the requests behind each value: 1 error in 3 requests is normal, 30% of 6,000 is not', () => {
    // The 5xx ratio of a destination serving 6,000 requests per rate window, 1% of them failing.
    const errors = (): ReturnType<typeof createBaseline> => {
      const b = createBaseline({ direction: 'up', threshold: 5 });
      const noise = normalNoise(5);
      const binomialSd = Math.sqrt((0.01 * 0.99) / 6000);
      for (let t = T0; t < T0 + DAY; t += STEP) b.observe(t, 0.01 + binomialSd * noise(), 6000);
      return b;
    };
    const quietHour = errors().observe(T0 + DAY, 1 / 3, 3);
    const outage = errors().observe(T0 + DAY, 0.3, 6000);
    // Variance p / n: 1/3 from 3 requests is within one noise width; 30% of 6,000 is 40 widths out.
    expect(rounded(quietHour, 2)).toEqual({
      expected: 0.01,
      lower: -Infinity,
      upper: 8.35,
      score: 0.97,
      part: 'level',
    });
    expect(rounded(outage, 3)).toEqual({
      expected: 0.01,
      lower: -Infinity,
      upper: 0.021,
      score: 40.297,
      part: 'level',
    });
  });

  it('takes the count of one value over the option, and a value resting on no counts as no data', () => {
    const twin = (): ReturnType<typeof createBaseline> => {
      const b = createBaseline({ direction: 'up', threshold: 5, countWindowSeconds: 120 });
      feed(b, T0, T0 + DAY, 30_000, () => 0);
      return b;
    };
    // The option's 120 s: 50/s is a flood. The same value declared as resting on 1/120 s of counts is not.
    expect(rounded(twin().observe(T0 + DAY, 50), 0)?.score).toBe(77);
    expect(rounded(twin().observe(T0 + DAY, 50, 120), 0)?.score).toBe(77);
    expect(rounded(twin().observe(T0 + DAY, 50, 1 / 120), 1)?.score).toBe(0.6);
    const noCounts = twin();
    expect([0, -1, NaN].map((w) => noCounts.observe(T0 + DAY, 50, w))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    // Nothing was learned from the discarded values: the next value is judged as if they never came.
    expect(rounded(noCounts.observe(T0 + DAY + STEP, 0), 2)).toEqual(
      rounded(twin().observe(T0 + DAY + STEP, 0), 2),
    );
  });

  it('holds the baseline while the series is anomalous', () => {
    const baseline = createBaseline(traffic({ acceptShiftAfterSeconds: Infinity }));
    feed(baseline, T0, T0 + 2 * DAY, STEP, flat(100, 2));
    const attack = feed(baseline, T0 + 2 * DAY, T0 + 2 * DAY + 6 * HOUR, STEP, () => 300);
    const expected = attack.map((e) => e?.expected ?? 0);
    // It still varies by the small hour-of-day offsets it learned, but the level does not follow the attack.
    expect([Math.min(...expected) > 98, Math.max(...expected) < 102]).toEqual([true, true]);
    expect(attack.every((e) => (e?.score ?? 0) >= trafficBaselineOptions.threshold)).toBe(true);
  });

  it('reports a lasting shift for a while, then takes it as the new normal', () => {
    const baseline = createBaseline(traffic());
    feed(baseline, T0, T0 + 2 * DAY, STEP, flat(100, 2));
    const shifted = feed(baseline, T0 + 2 * DAY, T0 + 2 * DAY + 2 * HOUR, STEP, flat(200, 4, 3));
    const alarming = shifted.map((e) => (e?.score ?? 0) >= trafficBaselineOptions.threshold);
    expect(alarming.slice(0, 2)).toEqual([true, true]);
    expect(alarming.slice(12)).toEqual(Array(12).fill(false));
  });

  it('takes the return to the level before an accepted surge as the end of the incident, not a drop', () => {
    const run = (options: BaselineOptions) => {
      const baseline = createBaseline(options);
      feed(baseline, T0, T0 + 2 * DAY, STEP, flat(100, 2));
      // A 40-minute flood, accepted as the new level after 5 minutes, then traffic falls back.
      const surge = feed(baseline, T0 + 2 * DAY, T0 + 2 * DAY + 40 * MINUTE, STEP, flat(300, 6, 3));
      const after = feed(
        baseline,
        T0 + 2 * DAY + 40 * MINUTE,
        T0 + 2 * DAY + 3 * HOUR,
        STEP,
        flat(100, 2, 4),
      );
      const alarming = (es: (Estimate | undefined)[]) =>
        es.filter((e) => (e?.score ?? 0) >= trafficBaselineOptions.threshold).length;
      return {
        surge: alarming(surge) > 0,
        after: alarming(after),
        // To the nearest 10: the hour-of-day profile learned a little of the surge, as a clipped error.
        expected: Math.round((after[0]?.expected ?? 0) / 10) * 10,
      };
    };
    expect(run(traffic())).toEqual({ surge: true, after: 0, expected: 100 });
    // Without the return (returnWithinSeconds 0) the fall back alarms as a drop against the surge.
    expect(run(traffic({ returnWithinSeconds: 0 })).after).toBeGreaterThan(0);
  });

  it('takes a shift that lasts longer than returnWithinSeconds as a change when it reverts', () => {
    const baseline = createBaseline(traffic({ returnWithinSeconds: HOUR / 1000 }));
    feed(baseline, T0, T0 + 2 * DAY, STEP, flat(100, 2));
    feed(baseline, T0 + 2 * DAY, T0 + 2 * DAY + 3 * HOUR, STEP, flat(200, 4, 3));
    const [back] = feed(baseline, T0 + 2 * DAY + 3 * HOUR, T0 + 2 * DAY + 3 * HOUR + STEP, STEP, () => 100);
    expect((back?.score ?? 0) >= trafficBaselineOptions.threshold).toBe(true);
  });

  it('catches a slow ramp that the fast level follows, against its long memory', () => {
    const baseline = createBaseline(traffic({ acceptShiftAfterSeconds: Infinity }));
    feed(baseline, T0, T0 + 3 * DAY, STEP, flat(100, 2));
    const noise = normalNoise(4);
    // +100% over two days: about 1% an hour, well inside the fast band at every step.
    const ramp = feed(
      baseline,
      T0 + 3 * DAY,
      T0 + 5 * DAY,
      STEP,
      (t) => 100 + (100 * (t - T0 - 3 * DAY)) / (2 * DAY) + 2 * noise(),
    );
    const firstAlarm = ramp.findIndex((e) => (e?.score ?? 0) >= trafficBaselineOptions.threshold);
    // Caught within about a day (+50%): the long memory's band is `slowBandFactor` times the fast one.
    expect(firstAlarm).toBeGreaterThan(0);
    expect(firstAlarm * STEP).toBeLessThan(30 * HOUR);
  });

  it('does not learn a gap as zero: no data is neither scored nor learned', () => {
    const baseline = createBaseline(traffic());
    feed(baseline, T0, T0 + DAY, STEP, flat(100, 2));
    const gap = feed(baseline, T0 + DAY, T0 + DAY + 6 * HOUR, STEP, () => undefined);
    expect(new Set(gap)).toEqual(new Set([undefined]));
    const after = baseline.observe(T0 + DAY + 6 * HOUR, 100);
    expect(Math.round(after?.expected ?? 0)).toBe(100);
    expect(after?.score ?? Infinity).toBeLessThan(2);
  });

  it('scores at or over the threshold exactly when the value is outside the band', () => {
    const probes = [0, 0.5, 1, 3, 10, 60, 80, 85, 95, 100, 105, 115, 120, 140, 1000];
    for (const direction of ['both', 'up', 'down'] as const) {
      for (const countWindowSeconds of [undefined, 120, 1]) {
        const options = traffic({ direction, countWindowSeconds });
        const verdicts = probes.map((value) => {
          const baseline = createBaseline(options);
          feed(baseline, T0, T0 + DAY, STEP, flat(100, 3));
          const e = baseline.observe(T0 + DAY, value);
          return e !== undefined && e.score >= options.threshold === (value < e.lower || value > e.upper);
        });
        expect({ direction, countWindowSeconds, verdicts }).toEqual({
          direction,
          countWindowSeconds,
          verdicts: probes.map(() => true),
        });
      }
    }
  });

  it('is deterministic, and replaying history point by point gives what live polling gave', () => {
    const run = (): (Estimate | undefined)[] =>
      feed(createBaseline(traffic()), T0, T0 + 3 * DAY, STEP, dailyTraffic(7));
    expect(run()).toEqual(run());
  });

  it('keeps a fixed state per series, however long it is fed', () => {
    const baseline = createBaseline(traffic());
    const before = baseline.stateBytes;
    feed(baseline, T0, T0 + 30 * DAY, 15 * MINUTE, dailyTraffic());
    // 1632 bytes of baseline and 232 of shape novelty, which the traffic options turn on.
    expect({ before, after: baseline.stateBytes }).toEqual({ before: 1864, after: 1864 });
    expect(createBaseline(traffic({ novelty: false })).stateBytes).toBe(1632);
    expect(createBaseline(traffic({ weekly: false, novelty: false })).stateBytes).toBe(288);
  });

  it('gives no estimate during warm-up', () => {
    const estimates = feed(createBaseline(traffic()), T0, T0 + 13 * STEP, STEP, () => 10);
    expect(estimates.map((e) => e !== undefined)).toEqual([...Array(12).fill(false), true]);
  });

  it('rejects invalid options with a ConfigError naming the option', () => {
    expect(() => createBaseline(traffic({ threshold: 0 }))).toThrow(
      new ConfigError('baseline.threshold', 'baseline.threshold must be a positive number, got 0'),
    );
    expect(() => createBaseline(traffic({ countWindowSeconds: -1 }))).toThrow(
      'baseline.countWindowSeconds must be a positive number of seconds, got -1',
    );
  });
});

describe('baseline with the shape option', () => {
  const shaped = (): Baseline => createBaseline(traffic({ shape: true }));

  it('scores a value beyond every value the series has had as new_range, though inside the band', () => {
    const baseline = shaped();
    feed(baseline, T0, T0 + 3 * DAY, STEP, dailyTraffic());
    // Three days peaked at 124/s at most: 131 is 7% of the range above its top, well inside the band.
    const peak = T0 + 3 * DAY + 15 * HOUR;
    const [before] = feed(baseline, peak - STEP, peak, STEP, dailyTraffic(9));
    const beyond = baseline.observe(peak, 131);
    expect(before?.part).toBe('level');
    expect(
      beyond && { part: beyond.part, score: Number(beyond.score.toFixed(2)), inBand: beyond.upper > 131 },
    ).toEqual({
      part: 'new_range',
      score: Number((trafficBaselineOptions.threshold / 0.3).toFixed(2)),
      inBand: true,
    });
  });

  it('adds the shape model and the range rule to the fixed state', () => {
    expect(shaped().stateBytes).toBe(1864 + 6570 + 32);
  });
});
