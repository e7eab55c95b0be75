/**
 * Rate shapes: how a stream's expected rate varies in time, as closed-form integrals, so that the
 * expected count over any interval (a minute or three weeks) costs a handful of arithmetic steps.
 * Times are seconds since the scenario epoch.
 */
import type { Pattern } from './scenario';

const DAY = 86_400;
const OMEGA = (2 * Math.PI) / DAY;

/** An expected-rate function of time, per unit of the stream's base rate. */
export interface Shape {
  /** Identifies equal shapes, so their split shares are computed once and shared by all streams. */
  readonly key: string;
  /** Relative minute-scale jitter applied when splitting counts (0 = none). */
  readonly noise: number;
  /** Expected count per unit base rate over [a, b) seconds since the epoch. */
  integral(a: number, b: number): number;
}

/** A window in which the rate is multiplied by `inside` (and by `outside` elsewhere). */
export interface Window {
  start: number;
  end: number;
  inside: number;
  outside: number;
}

/** Integral of the daily/weekly pattern over [a, b) absolute Unix seconds. */
function patternIntegral(pattern: Pattern, a: number, b: number): number {
  const peak = pattern.peakHour * 3600;
  let total = 0;
  for (let s = a; s < b;) {
    const dayStart = Math.floor(s / DAY) * DAY;
    const e = Math.min(b, dayStart + DAY);
    // Unix day 0 was a Thursday, so (day + 4) % 7 is the weekday with Sunday = 0.
    const weekday = (((Math.floor(s / DAY) + 4) % 7) + 7) % 7;
    const factor = weekday === 0 || weekday === 6 ? pattern.weekendFactor : 1;
    const wave =
      (pattern.dailyAmplitude / OMEGA) * (Math.sin(OMEGA * (e - peak)) - Math.sin(OMEGA * (s - peak)));
    total += factor * (e - s + wave);
    s = e;
  }
  return total;
}

/** Constant factors between sorted breakpoints, from a list of windows. */
class Piecewise {
  readonly bounds: number[];
  readonly factors: number[];

  constructor(windows: Window[]) {
    const points = [...new Set(windows.flatMap((w) => [w.start, w.end]))].sort((x, y) => x - y);
    this.bounds = [-Infinity, ...points, Infinity];
    this.factors = [];
    for (let i = 0; i + 1 < this.bounds.length; i++) {
      const lo = this.bounds[i] as number;
      const hi = this.bounds[i + 1] as number;
      const probe = Number.isFinite(lo) ? (Number.isFinite(hi) ? (lo + hi) / 2 : lo + 1) : hi - 1;
      this.factors.push(
        windows.reduce((f, w) => f * (probe >= w.start && probe < w.end ? w.inside : w.outside), 1),
      );
    }
  }

  /** Sum over the constant pieces of [a, b) of factor × inner(lo, hi). */
  integrate(a: number, b: number, inner: (lo: number, hi: number) => number): number {
    let total = 0;
    for (let i = 0; i < this.factors.length; i++) {
      const lo = Math.max(a, this.bounds[i] as number);
      const hi = Math.min(b, this.bounds[i + 1] as number);
      const factor = this.factors[i] as number;
      if (hi > lo && factor !== 0) total += factor * inner(lo, hi);
    }
    return total;
  }
}

/** A daily/weekly pattern (in UTC) multiplied by incident windows. */
export function patternShape(pattern: Pattern, epochSeconds: number, windows: Window[]): Shape {
  const pieces = new Piecewise(windows);
  return {
    key: `p:${epochSeconds}:${JSON.stringify(pattern)}:${JSON.stringify(windows)}`,
    noise: pattern.noise,
    integral: (a, b) =>
      pieces.integrate(a, b, (lo, hi) => patternIntegral(pattern, epochSeconds + lo, epochSeconds + hi)),
  };
}

/** A rate that grows linearly from `from` to `to` over [start, end), and is 0 elsewhere. */
export function rampShape(start: number, end: number, from: number, to: number): Shape {
  const slope = (to - from) / (end - start);
  const rateAt = (t: number) => from + slope * (t - start);
  return {
    key: `r:${start}:${end}:${from}:${to}`,
    noise: 0,
    integral: (a, b) => {
      const lo = Math.max(a, start);
      const hi = Math.min(b, end);
      return hi > lo ? ((rateAt(lo) + rateAt(hi)) / 2) * (hi - lo) : 0;
    },
  };
}
