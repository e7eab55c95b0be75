import { createBaseline, trafficBaselineOptions, type BaselineOptions } from '../../../src/core/baseline';
import { DAY, HOUR, MINUTE, T0, normalNoise, observedRate } from './factories';

const STEP = 5 * MINUTE;
const POLL = MINUTE;

/**
 * A square daily wave: 20 at night, 80 by day (06:00 to 18:00), noise 1. On `flatDay` the morning
 * (06:00 to 12:00) stays at 50: inside the band the one-step noise learned at the daily jumps, so only
 * its shape is new.
 */
function squareWave(flatDay: number): (t: number) => number {
  const noise = normalNoise(1);
  return (t) => {
    const hour = ((t - T0) % DAY) / HOUR;
    const day = Math.floor((t - T0) / DAY);
    const daytime = hour >= 6 && hour < 18;
    const flat = day === flatDay && hour >= 6 && hour < 12;
    return (flat ? 50 : daytime ? 80 : 20) + noise();
  };
}

/** The alarms (score >= threshold) from `fromMs` on, as "day d hh:mm" with whether the value was in the band. */
function alarms(
  options: BaselineOptions,
  series: (t: number) => number,
  toMs: number,
  stepMs: number,
  fromMs: number,
): string[] {
  const baseline = createBaseline(options);
  const out: string[] = [];
  for (let t = T0; t < toMs; t += stepMs) {
    const value = series(t);
    const e = baseline.observe(t, value);
    if (t < fromMs || e === undefined || e.score < options.threshold) continue;
    const at = new Date(t).toISOString().slice(11, 16);
    const inBand = value >= e.lower && value <= e.upper;
    out.push(`day ${Math.floor((t - T0) / DAY)} ${at} ${inBand ? 'inside' : 'outside'} the band`);
  }
  return out;
}

describe('shape novelty (the traffic baseline)', () => {
  it('reports a new shape inside the band once, at its first step, where the deviation score sees nothing, and stays quiet while it lasts', () => {
    const run = (novelty: boolean): string[] =>
      alarms({ ...trafficBaselineOptions, novelty }, squareWave(8), T0 + 10 * DAY, STEP, T0 + 7 * DAY);
    expect({ deviation: run(false), novelty: run(true) }).toEqual({
      deviation: [],
      novelty: ['day 8 06:00 inside the band'],
    });
  });

  it('says nothing in the first week, when every weekday and weekend is still new', () => {
    const run = (novelty: boolean): string[] =>
      alarms({ ...trafficBaselineOptions, novelty }, squareWave(5), T0 + 7 * DAY, STEP, T0);
    expect(run(true)).toEqual(run(false));
  });

  it('raises no alarm in four weeks of quiet request rates with a daily cycle and a weekend dip, from 0.05/s to 500/s', () => {
    const quiet = (base: number) => (t: number) => {
      const hour = ((t - T0) % DAY) / HOUR;
      const weekend = Math.floor((t - T0) / DAY) % 7 >= 5;
      return base * (0.55 - 0.45 * Math.cos((2 * Math.PI * (hour - 3)) / 24)) * (weekend ? 0.6 : 1);
    };
    const alarmsAt = (base: number): string[] =>
      alarms(
        trafficBaselineOptions,
        // rate(...[2m]) polled every minute, as the traffic detector sees it.
        observedRate(Math.round(base * 100), POLL, 2 * MINUTE, quiet(base)),
        T0 + 28 * DAY,
        POLL,
        T0 + DAY,
      );
    expect([0.05, 1, 20, 500].map((base) => ({ base, alarms: alarmsAt(base) }))).toEqual(
      [0.05, 1, 20, 500].map((base) => ({ base, alarms: [] })),
    );
  });

  it('keeps its state fixed: 232 bytes per series', () => {
    const baseline = createBaseline(trafficBaselineOptions);
    const without = createBaseline({ ...trafficBaselineOptions, novelty: false });
    expect(baseline.stateBytes - without.stateBytes).toBe(232);
  });
});
