/**
 * The spatial rule: a value beyond the range the series has shown so far is anomalous (`new_range`).
 * It follows the spatial anomaly check of Numenta's HTM detector as NAB describes it (running min and
 * max, an alarm when a value lands outside them by more than a tolerance of the span, then the range
 * widens), see ../shared/research/nab-detectors.md. Two departures, both for a daemon that runs for
 * months: the range forgets slowly (each end drifts towards the other unless values push it back, so one
 * old excursion does not make the rule deaf), and it only speaks after a warm-up of its own, learned
 * from what it has seen (never a file's min and max).
 */
import { ConfigError } from '../../errors';

/** Options of the spatial rule; durations in seconds of the series' own time. */
export interface SpatialOptions {
  /** A value is a new range when it lands beyond the range by more than this fraction of its span. */
  tolerance?: number;
  /** Half-life of the span while no value pushes the ends out: how slowly the range forgets. */
  forgetHalfLifeSeconds?: number;
  /** Values learned before the rule speaks: the range the first alarms are judged against. */
  warmupSeconds?: number;
}

/** The judgement of one value. */
export interface SpatialJudgement {
  /** The value is beyond the range by more than the tolerance. */
  newRange: boolean;
  /** How far beyond the range the value is, in spans of the range (0 inside it). */
  excess: number;
  /** The range the value was judged against. */
  low: number;
  high: number;
}

/** Defaults of the spatial rule, each with its reason in the doc comment of the constant. */
export const spatialDefaults = {
  // 5% of the span: a new maximum by a hair is the series' noise finding its edge (counts at low rates,
  // a jittery gauge), not a new range; HTM's tolerance 0 scores about 3 points more on NAB and pages on it.
  tolerance: 0.05,
  // A month: a daily or weekly peak refreshes the range long before it forgets, an excursion from a past
  // incident stops widening the range within a few months.
  forgetHalfLifeSeconds: 90 * 86_400,
  // Two days, as the shape model's calibration: the range covers a day's cycle twice before it judges.
  warmupSeconds: 2 * 86_400,
} as const satisfies Required<SpatialOptions>;

// Slots of the scalar state.
const FIRST_TIME = 0;
const LAST_TIME = 1;
const LOW = 2;
const HIGH = 3;
const SCALARS = 4;

/** The spatial rule of one series: four floats of state, time in with each value. */
export class SpatialRange {
  private readonly state = new Float64Array(SCALARS).fill(NaN);
  private readonly tolerance: number;
  private readonly forgetHalfLifeSeconds: number;
  private readonly warmupMs: number;

  constructor(options: SpatialOptions = {}) {
    const o = { ...spatialDefaults, ...stripUndefined(options) };
    if (!(o.tolerance >= 0 && Number.isFinite(o.tolerance))) {
      throw new ConfigError('spatial.tolerance', `spatial.tolerance must be >= 0, got ${o.tolerance}`);
    }
    if (!(o.forgetHalfLifeSeconds > 0)) {
      throw new ConfigError(
        'spatial.forgetHalfLifeSeconds',
        `spatial.forgetHalfLifeSeconds must be a positive number of seconds or Infinity, got ${o.forgetHalfLifeSeconds}`,
      );
    }
    if (!(o.warmupSeconds >= 0 && Number.isFinite(o.warmupSeconds))) {
      throw new ConfigError(
        'spatial.warmupSeconds',
        `spatial.warmupSeconds must be a number of seconds >= 0, got ${o.warmupSeconds}`,
      );
    }
    this.tolerance = o.tolerance;
    this.forgetHalfLifeSeconds = o.forgetHalfLifeSeconds;
    this.warmupMs = o.warmupSeconds * 1000;
  }

  /** Bytes of learned state; fixed at creation. */
  get stateBytes(): number {
    return this.state.byteLength;
  }

  /**
   * Judges `value` at `timeMs` (Unix ms) against the range seen before it, then widens the range to it.
   * A gap (`undefined`, NaN) is neither judged nor learned; the result is `undefined` then and during
   * the warm-up.
   */
  observe(timeMs: number, value: number | undefined): SpatialJudgement | undefined {
    if (value === undefined || !Number.isFinite(value)) return undefined;
    const s = this.state;
    const first = s[FIRST_TIME] ?? NaN;
    if (Number.isNaN(first)) {
      s[FIRST_TIME] = timeMs;
      s[LAST_TIME] = timeMs;
      s[LOW] = value;
      s[HIGH] = value;
      return undefined;
    }
    const last = s[LAST_TIME] ?? timeMs;
    const now = Math.max(last, timeMs);
    s[LAST_TIME] = now;
    let low = s[LOW] ?? value;
    let high = s[HIGH] ?? value;
    // Forgetting is by time, not by values: a 30 s poll and a 5-minute row forget alike.
    const span = high - low;
    if (span > 0 && Number.isFinite(this.forgetHalfLifeSeconds)) {
      const shrink = (span * (1 - Math.pow(2, -(now - last) / 1000 / this.forgetHalfLifeSeconds))) / 2;
      low += shrink;
      high -= shrink;
    }
    const beyond = value > high ? value - high : value < low ? low - value : 0;
    const excess = span > 0 ? beyond / (high - low) : beyond > 0 ? Infinity : 0;
    const warm = now - first >= this.warmupMs;
    const judgement = warm
      ? { newRange: beyond > 0 && excess > this.tolerance, excess, low, high }
      : undefined;
    s[LOW] = Math.min(low, value);
    s[HIGH] = Math.max(high, value);
    return judgement;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
