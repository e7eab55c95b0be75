/**
 * The seasonal, robust, count-aware baseline every detector scores against. Pure: time comes in with
 * each value, state is a fixed pair of typed arrays, and replaying history point by point (warm start)
 * runs the very code a live poll runs. docs/baselines.md explains the method and its measurements.
 *
 * Model: value = level + day profile(hour) + week profile(hour of week) + noise.
 * - The fast level follows the series while it is normal; the slow level does the same over days, so a
 *   ramp the fast level follows is still caught (score = the larger of the two).
 * - Learning is robust: updates use the error clipped to a few noise widths, so one outlier moves the
 *   expected value by a fraction of the band.
 * - Noise is a robust spread (mean absolute deviation) times a tail factor: a learned extreme percentile
 *   of the errors, up and down apart, so a series that bursts by nature gets a band that says so while a
 *   drop in the same series is judged by how rarely it drops. Floors: `minRelativeNoise` of the expected
 *   value, and the Poisson noise of counts when the values are rates over `countWindowSeconds`.
 * - While a value is anomalous nothing is learned (the baseline is held); an anomaly that lasts
 *   `acceptShiftAfterSeconds` is taken as the new normal and re-learned within `relearnHalfLifeSeconds`,
 *   so a deploy alarms for a while, not for days.
 * - With `novelty`, a shape never seen before (novelty.ts) adds up to `threshold` to the score, once, at
 *   the step it appears; it changes neither the band nor what is learned.
 */
import type { AnomalyPart } from '../types';
import { bandEdges, deviation, type Noise } from './noise';
import { ShapeNovelty } from './novelty';
import { ShapeModel } from './shape';
import { SpatialRange } from './spatial';
import { resolveBaselineOptions, type BaselineOptions, type ResolvedBaselineOptions } from './options';
import {
  dayLayout,
  learnSeasonal,
  seasonalExposure,
  seasonalHour,
  seasonalOffset,
  weekLayout,
} from './seasonal';

/** The baseline's judgement of one value. */
export interface Estimate {
  expected: number;
  /** Anomalous exactly when the value is outside [lower, upper]; ±Infinity on a side the direction ignores. */
  lower: number;
  upper: number;
  /** Deviation in noise widths in the watched direction (0 = as expected); anomalous when >= threshold. */
  score: number;
  /**
   * The part of the score that is largest: `level` (the deviation, and the shape novelty it carries),
   * `shape` (the shape model: a half-hour course unlike any remembered), `new_range` (beyond every
   * value the series has had). Without the `shape` option it is always `level`.
   */
  part: AnomalyPart;
}

// A shape model score of this (out of 1) reaches the threshold: an anomaly whose best match fell clearly
// below both vigilances (or missed the current level) counts, a new cluster just under the lower one does
// not. A new range scores as a shape score of 1, HTM's full-strength spatial anomaly.
const SHAPE_AT_THRESHOLD = 0.3;

/** The learned state of one series. */
export interface Baseline {
  /**
   * Scores `value` at `timeMs` (Unix ms) against what was learned before it, then learns it. `undefined`
   * (no data) is neither scored nor learned; the result is also `undefined` during warm-up.
   * `countWindowSeconds` overrides the option for this one value: the counts behind it (for a ratio, its
   * number of trials). A value resting on no counts (0, negative, NaN) is treated as no data.
   */
  observe(timeMs: number, value: number | undefined, countWindowSeconds?: number): Estimate | undefined;
  /** Bytes of learned state held for this series; fixed at creation. */
  readonly stateBytes: number;
}

// Slots of the scalar state.
const SEEN = 0;
const LAST_TIME = 1;
const LEVEL = 2;
const SLOW_LEVEL = 3;
const ABS_DEVIATION = 4;
const EPISODE_START = 5;
const TAIL_UP = 6;
const TAIL_DOWN = 7;
// The levels before the current (or last) anomaly episode, when it began (NaN: none kept), and 1 once
// that episode was accepted as a shift: what a return restores.
const PRE_LEVEL = 8;
const PRE_SLOW_LEVEL = 9;
const PRE_TIME = 10;
const PRE_ACCEPTED = 11;
const SCALARS = 12;

// A gap counts as at most one hour of learning: a long outage must not be learned as a long stretch of data.
const MAX_STEP_SECONDS = 3600;
// Errors are clipped to this many noise widths before they move the levels or the profiles (Huber-style).
const LEVEL_CLIP = 2;
// ... and to this many before they move the spread.
const NOISE_CLIP = 3;
// Mean absolute deviation to standard deviation for normal noise.
const MAD_TO_SIGMA = 1.2533;
// The tail factor tracks this percentile of |error| / spread; for normal noise it is TAIL_NORMAL, factor 1.
const TAIL_QUANTILE = 0.999;
const TAIL_NORMAL = 3.29;
// Step of the tail's multiplicative (log-space) quantile tracker, per noise half-life: one burst widens the
// band by a few percent, a series that bursts every day gets its tail within a day or two.
const TAIL_STEP = 5;
// Keeps a constant series from having a zero-width band (which would make any change infinitely anomalous).
const MIN_NOISE = 1e-9;

// Detectors create many baselines from one options object: resolve it once, not once per series.
const resolvedOptions = new WeakMap<BaselineOptions, ResolvedBaselineOptions>();

/** Creates the baseline of one series; throws ConfigError on invalid options. */
export function createBaseline(options: BaselineOptions): Baseline {
  let o = resolvedOptions.get(options);
  if (o === undefined) {
    o = resolveBaselineOptions(options);
    resolvedOptions.set(options, o);
  }
  return new SeasonalBaseline(o);
}

/**
 * Sets the threshold of `options` and of every baseline created from it, keeping what they learned:
 * they share its resolved form, so a config reload retunes a detector's baselines in one step.
 * Throws ConfigError on an invalid threshold, before anything changes.
 */
export function setBaselineThreshold(options: BaselineOptions, threshold: number): void {
  const resolved = resolveBaselineOptions({ ...options, threshold });
  options.threshold = resolved.threshold;
  const shared = resolvedOptions.get(options);
  if (shared !== undefined) shared.threshold = resolved.threshold;
}

/** A class rather than closures: a tracked series costs its two typed arrays and one small object. */
class SeasonalBaseline implements Baseline {
  private readonly state = new Float64Array(SCALARS)
    .fill(NaN, LAST_TIME, LAST_TIME + 1)
    .fill(NaN, PRE_TIME, PRE_TIME + 1);
  private readonly seasons: Float32Array;
  private readonly novelty: ShapeNovelty | undefined;
  private readonly shape: ShapeModel | undefined;
  private readonly spatial: SpatialRange | undefined;

  constructor(private readonly o: ResolvedBaselineOptions) {
    this.state[EPISODE_START] = NaN;
    this.seasons = new Float32Array(
      o.weekly ? weekLayout.offset + 2 * weekLayout.hours : 2 * dayLayout.hours,
    );
    this.novelty = o.novelty ? new ShapeNovelty() : undefined;
    this.shape = o.shape ? new ShapeModel() : undefined;
    this.spatial = o.shape ? new SpatialRange() : undefined;
  }

  get stateBytes(): number {
    return (
      this.state.byteLength +
      this.seasons.byteLength +
      (this.novelty?.stateBytes ?? 0) +
      (this.shape?.stateBytes ?? 0) +
      (this.spatial?.stateBytes ?? 0)
    );
  }

  observe(timeMs: number, value: number | undefined, countWindowSeconds?: number): Estimate | undefined {
    if (value === undefined || !Number.isFinite(value)) return undefined;
    // A ratio of zero trials (0/0 computed as 0 by a query) says nothing about the series.
    if (countWindowSeconds !== undefined && !(countWindowSeconds > 0)) return undefined;
    // The shape parts see every value, warm or not: they keep their own calibration.
    const shape = this.shape?.observe(timeMs, value)?.score ?? 0;
    const spatial = this.spatial?.observe(timeMs, value);
    const estimate = observe(
      this.o,
      this.state,
      this.seasons,
      timeMs,
      value,
      countWindowSeconds ?? this.o.countWindowSeconds,
      this.novelty,
    );
    if (estimate === undefined || this.shape === undefined) return estimate;
    const beyond =
      spatial?.newRange === true &&
      (this.o.direction === 'both' || (this.o.direction === 'up') === value > spatial.high);
    return combineParts(estimate, this.o.threshold, shape, beyond);
  }
}

/**
 * One score on the threshold scale from the three parts, and the part that is largest: the level's
 * score (the deviation, with its shape novelty) as it is, the shape model's score scaled so that
 * SHAPE_AT_THRESHOLD reaches the threshold, and a new range as a full shape score.
 */
export function strongestPart(
  level: number,
  threshold: number,
  shape: number,
  newRange: boolean,
): { score: number; part: AnomalyPart } {
  const scale = threshold / SHAPE_AT_THRESHOLD;
  let strongest: { score: number; part: AnomalyPart } = { score: level, part: 'level' };
  if (scale * shape > strongest.score) strongest = { score: scale * shape, part: 'shape' };
  if (newRange && scale > strongest.score) strongest = { score: scale, part: 'new_range' };
  return strongest;
}

/** The estimate with the score of its strongest part; the band stays the deviation's. */
function combineParts(estimate: Estimate, threshold: number, shape: number, newRange: boolean): Estimate {
  const { score, part } = strongestPart(estimate.score, threshold, shape, newRange);
  return score === estimate.score ? estimate : { ...estimate, score, part };
}

function observe(
  o: ResolvedBaselineOptions,
  state: Float64Array,
  seasons: Float32Array,
  timeMs: number,
  value: number,
  countWindowSeconds: number | undefined,
  novelty: ShapeNovelty | undefined,
): Estimate | undefined {
  const seen = state[SEEN] ?? 0;
  const last = state[LAST_TIME] ?? NaN;
  const stepSeconds = Number.isNaN(last)
    ? 0
    : Math.min(Math.max((timeMs - last) / 1000, 0), MAX_STEP_SECONDS);
  state[LAST_TIME] = Number.isNaN(last) ? timeMs : Math.max(last, timeMs);
  state[SEEN] = seen + 1;
  if (seen === 0) {
    novelty?.assess(timeMs, value, countWindowSeconds);
    state[LEVEL] = value;
    state[SLOW_LEVEL] = value;
    state[TAIL_UP] = TAIL_NORMAL;
    state[TAIL_DOWN] = TAIL_NORMAL;
    return undefined;
  }

  const dayHour = seasonalHour(timeMs, dayLayout.hours);
  const weekHour = seasonalHour(timeMs, weekLayout.hours);
  const dayOffset = seasonalOffset(seasons, dayLayout, dayHour);
  const weekOffset = o.weekly ? seasonalOffset(seasons, weekLayout, weekHour) : 0;
  restoreOnReturn(o, state, timeMs, value, dayOffset + weekOffset, countWindowSeconds);
  const level = state[LEVEL] ?? 0;
  const slowLevel = state[SLOW_LEVEL] ?? 0;
  const expected = level + dayOffset + weekOffset;
  const slowExpected = slowLevel + dayOffset + weekOffset;
  const absDeviation = state[ABS_DEVIATION] ?? 0;
  const spread = MAD_TO_SIGMA * absDeviation;
  const noiseAt = (around: number, up: boolean): Noise => {
    const tail = state[up ? TAIL_UP : TAIL_DOWN] ?? TAIL_NORMAL;
    const sigma = Math.max((spread * tail) / TAIL_NORMAL, o.minRelativeNoise * Math.abs(around), MIN_NOISE);
    return { variance: sigma * sigma, countWindowSeconds };
  };
  // Taken before anything is learned from this value: the score and the band judge it by the same noise.
  const fastNoise = { up: noiseAt(expected, true), down: noiseAt(expected, false) };
  const slowNoise = { up: noiseAt(slowExpected, true), down: noiseAt(slowExpected, false) };
  const signedDeviation = (v: number, around: number, noise: typeof fastNoise): number =>
    deviation(v, around, v >= around ? noise.up : noise.down);

  const warm = seen + 1 > o.warmupSamples;
  const fastScore = directed(o, signedDeviation(value, expected, fastNoise));
  // A ramp: the value is far from the long memory, on the side the fast level has drifted to as well. A
  // lone burst is judged by the fast level alone, so noisy series do not alarm against a stale long memory.
  const drift = signedDeviation(expected, slowExpected, slowNoise) / o.slowBandFactor;
  const fromSlow = signedDeviation(value, slowExpected, slowNoise) / o.slowBandFactor;
  const ramp =
    Math.sign(drift) === Math.sign(fromSlow)
      ? Math.sign(drift) * Math.min(Math.abs(drift), Math.abs(fromSlow))
      : 0;
  const slowScore = directed(o, ramp);
  const deviationScore = Math.max(fastScore, slowScore);
  // Learning is held by the deviation alone: a novel shape inside the band is reported, not refused.
  const anomalous = warm && deviationScore >= o.threshold;
  // A fully new shape reaches the threshold on its own; a partly new one needs a deviation to go with it.
  const novel = novelty?.assess(timeMs, value, countWindowSeconds) ?? 0;
  const shape = anomalous ? 0 : novel;
  const score = deviationScore + o.threshold * shape;
  novelty?.settle(timeMs, warm && score >= o.threshold, anomalous);

  const episodeStart = state[EPISODE_START] ?? NaN;
  const inEpisode = !Number.isNaN(episodeStart);
  state[EPISODE_START] = anomalous ? (inEpisode ? episodeStart : timeMs) : NaN;
  const accepting = anomalous && inEpisode && timeMs - episodeStart >= o.acceptShiftAfterSeconds * 1000;
  rememberEpisode(state, { anomalous, inEpisode, accepting, timeMs, level, slowLevel });

  const error = value - expected;
  const sigma = Math.sqrt((error >= 0 ? fastNoise.up : fastNoise.down).variance);
  if (!anomalous || !inEpisode) learnNoise(o, state, { error, sigma, spread, warm, seen, stepSeconds });
  if (!anomalous || accepting) {
    const clip = (e: number): number =>
      warm ? Math.max(-LEVEL_CLIP * sigma, Math.min(LEVEL_CLIP * sigma, e)) : e;
    // An accepted shift moves the levels in full; the profiles still learn it only as a clipped error, or a
    // shift would be learned as a bump in the hour it happened.
    const levelError = accepting ? error : clip(error);
    const rate = (halfLife: number): number => Math.max(1 / (seen + 1), decay(stepSeconds, halfLife));
    const levelRate = rate(accepting ? o.relearnHalfLifeSeconds : o.levelHalfLifeSeconds);
    state[LEVEL] = level + levelRate * levelError;
    state[SLOW_LEVEL] =
      slowLevel +
      (accepting
        ? levelRate * (value - slowExpected)
        : rate(o.slowHalfLifeSeconds) * clip(value - slowExpected));
    const hours = stepSeconds / 3600;
    // The profiles learn against the slow level: against the fast one, which follows the daily curve with an
    // hour's lag, they would only ever see that lag and take weeks to learn the curve.
    const seasonalError = clip(value - slowExpected);
    learnSeasonal(seasons, dayLayout, dayHour, seasonalError, hours);
    // The week only refines a day profile that has seen a week; before that it would learn the daily curve
    // a second time, and count it twice on the same weekday a week later.
    if (o.weekly && seasonalExposure(seasons, dayLayout, dayHour) >= dayLayout.memoryCycles) {
      learnSeasonal(
        seasons,
        weekLayout,
        weekHour,
        clip(value - slowLevel - seasonalOffset(seasons, dayLayout, dayHour) - weekOffset),
        hours,
      );
    }
  }

  if (!warm) return undefined;
  const fast = bandEdges(expected, fastNoise.up, o.threshold).upper;
  const fastLow = bandEdges(expected, fastNoise.down, o.threshold).lower;
  // The long memory bounds the band only on the side the fast level has drifted to (see `ramp`).
  const slowK = o.threshold * o.slowBandFactor;
  const slow = drift >= o.threshold ? bandEdges(slowExpected, slowNoise.up, slowK).upper : Infinity;
  const slowLow = drift <= -o.threshold ? bandEdges(slowExpected, slowNoise.down, slowK).lower : -Infinity;
  return {
    expected,
    lower: o.direction === 'up' ? -Infinity : Math.max(fastLow, slowLow),
    upper: o.direction === 'down' ? Infinity : Math.min(fast, slow),
    score,
    part: o.threshold * shape > deviationScore ? 'shape' : 'level',
  };
}

/**
 * Keeps the levels from before an anomaly episode, for `restoreOnReturn`: taken when an episode
 * begins, kept if the episode is accepted as a shift, dropped if it ends without (the levels were
 * held, so there is nothing to restore).
 */
function rememberEpisode(
  state: Float64Array,
  e: {
    anomalous: boolean;
    inEpisode: boolean;
    accepting: boolean;
    timeMs: number;
    level: number;
    slowLevel: number;
  },
): void {
  if (e.anomalous && !e.inEpisode && Number.isNaN(state[PRE_TIME] ?? NaN)) {
    state[PRE_LEVEL] = e.level;
    state[PRE_SLOW_LEVEL] = e.slowLevel;
    state[PRE_TIME] = e.timeMs;
    state[PRE_ACCEPTED] = 0;
  }
  if (e.accepting) state[PRE_ACCEPTED] = 1;
  if (!e.anomalous && state[PRE_ACCEPTED] !== 1) state[PRE_TIME] = NaN;
}

/**
 * The end of an incident is not a second anomaly. A surge (a denial flood, a retry storm) that lasts
 * past `acceptShiftAfterSeconds` is re-learned as the new level; when it ends, traffic falls back to
 * what it was, which against the re-learned level looks like a drop. So for `returnWithinSeconds`
 * after an accepted shift began, a value within the band of the level before it (judged by today's
 * noise) restores that level, and is scored against it. After that, a return is a change like any.
 */
function restoreOnReturn(
  o: ResolvedBaselineOptions,
  state: Float64Array,
  timeMs: number,
  value: number,
  offset: number,
  countWindowSeconds: number | undefined,
): void {
  const since = state[PRE_TIME] ?? NaN;
  if (Number.isNaN(since) || state[PRE_ACCEPTED] !== 1) return;
  if (timeMs - since > o.returnWithinSeconds * 1000) {
    state[PRE_TIME] = NaN;
    return;
  }
  const before = (state[PRE_LEVEL] ?? 0) + offset;
  const now = (state[LEVEL] ?? 0) + offset;
  const up = value >= before;
  const tail = state[up ? TAIL_UP : TAIL_DOWN] ?? TAIL_NORMAL;
  const spread = MAD_TO_SIGMA * (state[ABS_DEVIATION] ?? 0);
  const sigma = Math.max((spread * tail) / TAIL_NORMAL, o.minRelativeNoise * Math.abs(before), MIN_NOISE);
  const noise = { variance: sigma * sigma, countWindowSeconds };
  // The shift took the level out of the band it had (a small drift accepted in passing has nothing
  // to return from), and the value is back in that band and nearer it than the shifted level.
  const shifted = Math.abs(deviation(now, before, noise)) >= o.threshold;
  const back = Math.abs(deviation(value, before, noise)) < o.threshold;
  const left = Math.abs(value - before) < Math.abs(value - now);
  if (!shifted || !back || !left) return;
  state[LEVEL] = state[PRE_LEVEL] ?? 0;
  state[SLOW_LEVEL] = state[PRE_SLOW_LEVEL] ?? 0;
  state[PRE_TIME] = NaN;
  state[EPISODE_START] = NaN;
}

/**
 * Learns the spread and the tail of the side the error fell on. Called for normal values and for the
 * first value of an anomaly episode: each burst counts once, however long it lasts, so an attack does not
 * widen the band it is judged by.
 */
function learnNoise(
  o: ResolvedBaselineOptions,
  state: Float64Array,
  e: { error: number; sigma: number; spread: number; warm: boolean; seen: number; stepSeconds: number },
): void {
  const absDeviation = state[ABS_DEVIATION] ?? 0;
  const rate = Math.max(1 / (e.seen + 1), decay(e.stepSeconds, o.noiseHalfLifeSeconds));
  const sample = e.warm ? Math.min(Math.abs(e.error), NOISE_CLIP * e.sigma) : Math.abs(e.error);
  state[ABS_DEVIATION] = absDeviation + rate * (sample - absDeviation);
  if (!e.warm || e.spread <= 0) return;
  // Multiplicative quantile tracking: up by q·step when beyond the tail, down by (1-q)·step otherwise,
  // which settles where a fraction 1-q of errors is beyond it.
  const side = e.error >= 0 ? TAIL_UP : TAIL_DOWN;
  const tail = state[side] ?? TAIL_NORMAL;
  const step = decay(e.stepSeconds, o.noiseHalfLifeSeconds) * TAIL_STEP;
  const beyond = Math.abs(e.error) / e.spread > tail;
  state[side] = Math.max(TAIL_NORMAL, tail * Math.exp(step * (beyond ? TAIL_QUANTILE : TAIL_QUANTILE - 1)));
}

function directed(o: ResolvedBaselineOptions, z: number): number {
  if (o.direction === 'up') return Math.max(z, 0);
  if (o.direction === 'down') return Math.max(-z, 0);
  return Math.abs(z);
}

/** Weight of a new value in an exponential memory with this half-life, after `stepSeconds`. */
function decay(stepSeconds: number, halfLifeSeconds: number): number {
  return 1 - Math.pow(2, -stepSeconds / halfLifeSeconds);
}
