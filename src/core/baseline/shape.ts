/**
 * The shape model: a learned memory of the short shapes a series makes, which reports a shape unlike
 * any it remembers. It follows the ARTime detector of the Numenta Anomaly Benchmark (the ARTime entry
 * of NAB's scoreboard, markNZed/ARTimeNAB.jl: dual-vigilance fuzzy ART over short downsampled windows)
 * as ../shared/research/nab-detectors.md describes it; written from that description and NAB's own
 * documentation alone (ARTime's code is AGPL-3 and was not read). Pure: time comes in with each value.
 *
 * Method: values are gathered into points of `pointSeconds` on a fixed time grid (each point is its
 * block's max, or its min when that is further from a running mean, or its mean when both are close
 * to it); a point is normalised with a range fixed at the end of the calibration, quantised to one of
 * 81 levels, and flattened to the running median level when close to it. The last 8 levels make a
 * feature (their Haar transform within the window, the levels themselves, complement-coded to 32
 * bytes), which a dual-vigilance fuzzy ART (fuzzy-art.ts) learns, makes a new category of, or finds
 * unlike every cluster: an anomaly candidate, reported unless it repeats the last anomaly (masking).
 * The calibration orders the first `calibrationSeconds` of features least typical first, trains on
 * them to set the upper vigilance, and replays them in time order; the vigilances then adapt daily.
 *
 * Departures from the published detector, each for a live daemon:
 * - the time scale is fixed in seconds (a point is 30 minutes however often the series is polled, a
 *   row longer than that is its own point), where ARTime derives it from the length of NAB's probation;
 * - the range is the one of the series' own first `calibrationSeconds`, padded by its span on each
 *   side, later values clamped to it (ARTime: the file's min and max); the lower vigilance starts just
 *   below the lowest activation of the calibration replay's second half, rises by at most 5% of its distance
 *   to a quiet day's lowest activation per day, and never exceeds 0.8 (ARTime's rules for these are
 *   not published in enough detail to follow);
 * - at most `maxCategories` categories, the least recently used replaced, weights stored as bytes, and
 *   a category does not remember its cluster (only "a new cluster was needed" is used);
 * - gaps: no value is invented; a block without values is no point, and blocks more than half a window
 *   apart restart the window.
 */
import { ConfigError } from '../../errors';
import { FuzzyArt, type Resonance } from './fuzzy-art';
import { FEATURES, LevelMedian, WINDOW, levelOf, shapeFeature } from './shape-features';

/** Options of the shape model; durations in seconds of the series' own time. */
export interface ShapeOptions {
  /** Time a point covers; a row longer than it is its own point. */
  pointSeconds?: number;
  /** The series' first stretch of this long fixes the range and calibrates the vigilance. */
  calibrationSeconds?: number;
  /** Categories remembered per series (the least recently used is replaced). */
  maxCategories?: number;
}

/** The judgement of one closed point. */
export interface ShapeJudgement {
  /** Anomaly strength 0..1 (0 unless `anomalous`). */
  score: number;
  /** A new cluster that does not repeat the last anomaly. */
  anomalous: boolean;
  /** Start (Unix ms) of the point judged. */
  pointStartMs: number;
  /** The point's value, in the series' units. */
  value: number;
  /** How well the best remembered shape matched (0..1) and the lower vigilance it was held to. */
  activation: number;
  vigilance: number;
  /** How well the best shape matched the point's level alone (0..1). */
  energy: number;
  /** What the memory did with the shape. */
  resonance: Resonance;
}

/** Defaults of the shape model. */
export const shapeDefaults = {
  // Half an hour: the scale ARTime reaches on NAB's 5-minute files (a block of 5 to 7 rows), so a window
  // of 8 points spans 4 hours, long enough for a ramp or a missing peak, short enough to be an event.
  pointSeconds: 1800,
  // Two days: two daily cycles calibrate the range and the vigilance, inside NAB's probation of 5-minute
  // files (50 to 62 hours) and well inside the daemon's default warm-up lookback (7 days).
  calibrationSeconds: 2 * 86_400,
  // 128 x 32 bytes = 4 KB: the cap that kept the bounded port within a point of the unbounded one.
  maxCategories: 128,
} as const satisfies Required<ShapeOptions>;

// The calibration range is padded by this many of its own spans on each side: a live series leaves
// its first two days' range, and a clamped level saturates (the research port: clamped 52.7, padded 66.7).
const RANGE_PAD = 1;
// A block's max and min both within this (of the normalised range) of the running mean: the block is
// its mean (the family's 10%).
const MEAN_BAND = 0.1;
// The running mean the block's max and min are compared with: a day's memory, the series' own cycle.
const RUNNING_MEAN_HALF_LIFE_MS = 86_400_000;
// Blocks further apart than this many points break the window: a gap longer than half the window's
// 8 points would make most of a shape out of nothing.
const GAP_POINTS = 4;
// The calibration trains at this vigilance before taking the mean activation of its typical half.
const CALIBRATION_VIGILANCE = 0.8;
// The upper vigilance never exceeds this: above it nearly every point would be a new category.
const MAX_UPPER = 0.97;
// The vigilances adapt once a day of series time (the family: every half trend window of about 2 days),
// and a mask after an anomaly (below) after it.
const ADAPT_MS = 86_400_000;
// After an anomaly, new clusters within 12 points (6 hours) repeat it unless they match much worse.
const MASK_MS = 6 * 3_600_000;
const MASK_RATIO = 0.9;
// A run of new clusters (each point new) repeats the anomaly that started it unless it matches worse still.
const RUN_RATIO = 0.7;
// Per day without a new cluster, the lower vigilance closes this fraction of its distance to the day's
// lowest activation: half of it in two weeks, so a series that was noisy once regains its sensitivity
// within weeks, not within a day (a daily rise of 1/4 reported a new cluster every day or two).
const LOWER_RISE = 0.05;
// The lower vigilance never exceeds this: a new shape must miss every remembered one by a few percent of
// the feature (an activation of 0.8 at a perfect level match is 7% of the feature outside every box),
// however regular the series has been; without it a flawless week made the next small wobble an anomaly.
const MAX_LOWER = 0.8;
// The lower vigilance starts this far below the lowest activation of the calibration replay's second
// half: that is the minimum of one day's sample, and the next days' lows fall below it about as often
// as not (without the margin a perfectly regular series reported a shape on its first live day).
const LOWER_MARGIN = 0.05;
// Score weights of the family: how far below each vigilance the activation fell, and how badly the
// current level alone matched.
const SCORE_UPPER = 0.35;
const SCORE_LOWER = 0.65;
const SCORE_ENERGY = 1.5;

// Slots of the scalar state.
const FIRST_TIME = 0;
const LAST_TIME = 1;
const BLOCK = 2;
const BLOCK_MAX = 3;
const BLOCK_MIN = 4;
const BLOCK_SUM = 5;
const BLOCK_COUNT = 6;
const RAW_MIN = 7;
const RAW_MAX = 8;
const LOW = 9;
const SPAN = 10;
const RUN_MEAN = 11;
const LAST_POINT_BLOCK = 12;
const POINTS = 13;
const FILLED = 14;
const UPPER = 15;
const LOWER = 16;
const LAST_ANOMALY_TIME = 17;
const LAST_ANOMALY_ACTIVATION = 18;
const ANOMALY_SUM = 19;
const ANOMALY_COUNT = 20;
const PREVIOUS_CLUSTER = 21;
const PERIOD_START = 22;
const PERIOD_SUM = 23;
const PERIOD_COUNT = 24;
const PERIOD_MIN = 25;
const GAP_SUM = 26;
const GAP_COUNT = 27;
const ADAPT_AT = 28;
const CALIBRATION_POINTS = 29;
const SCALARS = 30;

const feature = new Uint8Array(FEATURES);

/** Validates options and fills defaults; a bad one is a ConfigError naming `shape.<option>`. */
export function resolveShapeOptions(options: ShapeOptions = {}): Required<ShapeOptions> {
  const o = { ...shapeDefaults, ...stripUndefined(options) };
  const fail = (key: string, allowed: string, value: unknown): never => {
    throw new ConfigError(`shape.${key}`, `shape.${key} must be ${allowed}, got ${String(value)}`);
  };
  if (!(Number.isFinite(o.pointSeconds) && o.pointSeconds >= 1))
    fail('pointSeconds', 'a number of seconds >= 1', o.pointSeconds);
  // The calibration buffer holds one point per block: at most 256, so the state stays within 8 KB.
  const points = o.calibrationSeconds / o.pointSeconds;
  if (!(Number.isFinite(points) && points >= WINDOW + 2 && points <= 256))
    fail('calibrationSeconds', `between ${WINDOW + 2} and 256 points of pointSeconds`, o.calibrationSeconds);
  if (!(Number.isInteger(o.maxCategories) && o.maxCategories >= 1 && o.maxCategories <= 128))
    fail('maxCategories', 'an integer from 1 to 128', o.maxCategories);
  return o;
}

/** The shape model of one series: fixed state (typed arrays), time in with each value. */
export class ShapeModel {
  private readonly s = new Float64Array(SCALARS).fill(NaN);
  private readonly art: FuzzyArt;
  private readonly median = new LevelMedian();
  private readonly window = new Uint8Array(WINDOW);
  // The calibration's points (block max, min, mean, and block index after the first), replayed when it ends.
  private readonly calibration: Float32Array;
  private readonly pointMs: number;
  private readonly calibrationMs: number;

  constructor(options: ShapeOptions = {}) {
    const o = resolveShapeOptions(options);
    this.pointMs = o.pointSeconds * 1000;
    this.calibrationMs = o.calibrationSeconds * 1000;
    this.art = new FuzzyArt(o.maxCategories);
    const points = Math.ceil(o.calibrationSeconds / o.pointSeconds) + 1;
    this.calibration = new Float32Array(4 * points);
    for (const slot of [POINTS, FILLED, ANOMALY_SUM, ANOMALY_COUNT, PREVIOUS_CLUSTER, CALIBRATION_POINTS])
      this.s[slot] = 0;
    this.s[LAST_ANOMALY_TIME] = -Infinity;
  }

  /** Bytes of learned state; fixed at creation. */
  get stateBytes(): number {
    return (
      this.s.byteLength +
      this.art.stateBytes +
      this.median.stateBytes +
      this.window.byteLength +
      this.calibration.byteLength
    );
  }

  /** True once the calibration is over and points are judged. */
  get calibrated(): boolean {
    return !Number.isNaN(this.s[SPAN] ?? NaN);
  }

  /** The range points are normalised with (values beyond it are clamped); undefined while calibrating. */
  get range(): { low: number; high: number } | undefined {
    if (!this.calibrated) return undefined;
    const low = this.s[LOW] ?? 0;
    return { low, high: low + (this.s[SPAN] ?? 0) };
  }

  /** Shapes remembered (at most `maxCategories`). */
  get categories(): number {
    return this.art.categories;
  }

  /**
   * Takes `value` at `timeMs` (Unix ms). Returns the judgement of the point this value closed (a value
   * in a later block than the open one closes it), `undefined` when none closed or while calibrating.
   * A gap (`undefined`, NaN) is neither a value nor learned, but closes a point whose time is over.
   */
  observe(timeMs: number, value: number | undefined): ShapeJudgement | undefined {
    const s = this.s;
    const last = s[LAST_TIME] ?? NaN;
    // Time never runs backwards inside the model: a late value joins the open block.
    const now = Number.isNaN(last) ? timeMs : Math.max(last, timeMs);
    const block = Math.floor(now / this.pointMs);
    const open = s[BLOCK] ?? NaN;
    const closes = !Number.isNaN(open) && block > open;
    const judgement = closes ? this.closePoint() : undefined;
    if (value === undefined || !Number.isFinite(value)) return judgement;
    s[LAST_TIME] = now;
    if (Number.isNaN(s[FIRST_TIME] ?? NaN)) s[FIRST_TIME] = now;
    const live = block * this.pointMs >= (s[FIRST_TIME] ?? now) + this.calibrationMs;
    if (live && !this.calibrated) this.calibrate();
    if (!live) {
      s[RAW_MIN] = Number.isNaN(s[RAW_MIN] ?? NaN) ? value : Math.min(s[RAW_MIN] ?? value, value);
      s[RAW_MAX] = Number.isNaN(s[RAW_MAX] ?? NaN) ? value : Math.max(s[RAW_MAX] ?? value, value);
    }
    if (block === open) {
      s[BLOCK_MAX] = Math.max(s[BLOCK_MAX] ?? value, value);
      s[BLOCK_MIN] = Math.min(s[BLOCK_MIN] ?? value, value);
      s[BLOCK_SUM] = (s[BLOCK_SUM] ?? 0) + value;
      s[BLOCK_COUNT] = (s[BLOCK_COUNT] ?? 0) + 1;
    } else {
      s[BLOCK] = block;
      s[BLOCK_MAX] = value;
      s[BLOCK_MIN] = value;
      s[BLOCK_SUM] = value;
      s[BLOCK_COUNT] = 1;
    }
    return judgement;
  }

  /** Closes the open block: buffers it while calibrating, judges it after. */
  private closePoint(): ShapeJudgement | undefined {
    const s = this.s;
    const block = s[BLOCK] ?? 0;
    const max = s[BLOCK_MAX] ?? 0;
    const min = s[BLOCK_MIN] ?? 0;
    const mean = (s[BLOCK_SUM] ?? 0) / (s[BLOCK_COUNT] ?? 1);
    s[BLOCK] = NaN;
    if (!this.calibrated) {
      const i = s[CALIBRATION_POINTS] ?? 0;
      if (4 * i < this.calibration.length) {
        this.calibration[4 * i] = max;
        this.calibration[4 * i + 1] = min;
        this.calibration[4 * i + 2] = mean;
        // At most a few hundred blocks after the first: exact in a float.
        this.calibration[4 * i + 3] = block - Math.floor((s[FIRST_TIME] ?? 0) / this.pointMs);
        s[CALIBRATION_POINTS] = i + 1;
      }
      return undefined;
    }
    const point = this.point(block, max, min, mean);
    if (!point.ready) return undefined;
    return this.judge(block, point.value);
  }

  /**
   * Makes a point of a block: its value (max, min or mean), level and place in the window. `ready` when
   * the window is full and the point is not the series' first (a block the series started inside).
   */
  private point(block: number, max: number, min: number, mean: number): { ready: boolean; value: number } {
    const s = this.s;
    const low = s[LOW] ?? 0;
    const span = s[SPAN] ?? 1;
    const norm = (v: number): number => (v - low) / span;
    const lastBlock = s[LAST_POINT_BLOCK] ?? NaN;
    const runMean = s[RUN_MEAN] ?? NaN;
    let value = mean;
    if (!Number.isNaN(runMean)) {
      const up = Math.abs(norm(max) - runMean);
      const down = Math.abs(norm(min) - runMean);
      if (up > MEAN_BAND || down > MEAN_BAND) value = down > up ? min : max;
    }
    const rate = Number.isNaN(runMean)
      ? 1
      : 1 - Math.pow(2, -((block - lastBlock) * this.pointMs) / RUNNING_MEAN_HALF_LIFE_MS);
    s[RUN_MEAN] = Number.isNaN(runMean) ? norm(mean) : runMean + rate * (norm(mean) - runMean);
    if (!Number.isNaN(lastBlock) && block - lastBlock > GAP_POINTS) s[FILLED] = 0;
    s[LAST_POINT_BLOCK] = block;
    const points = (s[POINTS] ?? 0) + 1;
    s[POINTS] = points;
    const level = this.median.flatten(levelOf(norm(value)));
    this.window.copyWithin(0, 1);
    this.window[WINDOW - 1] = level;
    const filled = Math.min((s[FILLED] ?? 0) + 1, WINDOW);
    s[FILLED] = filled;
    return { ready: filled >= WINDOW && points > 1, value };
  }

  /** Presents the window's feature to the memory, decides whether it is an anomaly, adapts the vigilance. */
  private judge(block: number, value: number): ShapeJudgement {
    const s = this.s;
    const timeMs = block * this.pointMs;
    shapeFeature(this.window, feature);
    const upper = s[UPPER] ?? CALIBRATION_VIGILANCE;
    const lower = s[LOWER] ?? CALIBRATION_VIGILANCE;
    // With nothing remembered (a calibration without a full window) the first shapes are learned, not news.
    const known = this.art.categories > 0;
    const resonance = this.art.present(feature, upper, lower);
    const m = this.art.activation;
    const es = this.art.energy;
    let anomalous = false;
    if (resonance === 'cluster' && known) {
      const lastActivation = s[LAST_ANOMALY_ACTIVATION] ?? 0;
      const masked = timeMs - (s[LAST_ANOMALY_TIME] ?? -Infinity) <= MASK_MS;
      const run = s[PREVIOUS_CLUSTER] === 1;
      anomalous = masked ? m < MASK_RATIO * lastActivation : run ? m < RUN_RATIO * lastActivation : true;
    }
    s[PREVIOUS_CLUSTER] = resonance === 'cluster' ? 1 : 0;
    let score = 0;
    if (anomalous) {
      score = Math.min(
        1,
        (SCORE_UPPER * (upper - m) + SCORE_LOWER * (lower - m)) / (1 - m) + SCORE_ENERGY * (1 - es),
      );
      s[LAST_ANOMALY_TIME] = timeMs;
      s[LAST_ANOMALY_ACTIVATION] = m;
      s[ANOMALY_SUM] = (s[ANOMALY_SUM] ?? 0) + m;
      s[ANOMALY_COUNT] = (s[ANOMALY_COUNT] ?? 0) + 1;
      s[ADAPT_AT] = timeMs + MASK_MS;
    }
    this.track(timeMs, m, lower);
    return {
      score,
      anomalous,
      pointStartMs: timeMs,
      value,
      activation: m,
      vigilance: lower,
      energy: es,
      resonance,
    };
  }

  /** Gathers the activations of the adaptation period and adapts the vigilances at its end. */
  private track(timeMs: number, m: number, lower: number): void {
    const s = this.s;
    if (Number.isNaN(s[PERIOD_START] ?? NaN)) this.startPeriod(timeMs);
    s[PERIOD_SUM] = (s[PERIOD_SUM] ?? 0) + m;
    s[PERIOD_COUNT] = (s[PERIOD_COUNT] ?? 0) + 1;
    s[PERIOD_MIN] = Math.min(s[PERIOD_MIN] ?? Infinity, m);
    if (m < lower) {
      s[GAP_SUM] = (s[GAP_SUM] ?? 0) + (lower - m);
      s[GAP_COUNT] = (s[GAP_COUNT] ?? 0) + 1;
    }
    const due = timeMs - (s[PERIOD_START] ?? timeMs) >= ADAPT_MS || timeMs >= (s[ADAPT_AT] ?? Infinity);
    if (!due) return;
    const mean = (s[PERIOD_SUM] ?? 0) / Math.max(1, s[PERIOD_COUNT] ?? 1);
    const upper = Math.min(MAX_UPPER, mean);
    let next = s[LOWER] ?? CALIBRATION_VIGILANCE;
    const lowest = s[PERIOD_MIN] ?? next;
    if ((s[GAP_COUNT] ?? 0) === 0) next += LOWER_RISE * Math.max(0, lowest - next);
    else next -= (0.5 * (s[GAP_SUM] ?? 0)) / (s[GAP_COUNT] ?? 1);
    const anomalies = s[ANOMALY_COUNT] ?? 0;
    if (anomalies > 0) next = Math.max(next, (s[ANOMALY_SUM] ?? 0) / anomalies);
    s[UPPER] = upper;
    s[LOWER] = Math.min(next, upper, MAX_LOWER);
    s[ADAPT_AT] = NaN;
    this.startPeriod(timeMs);
  }

  private startPeriod(timeMs: number): void {
    const s = this.s;
    s[PERIOD_START] = timeMs;
    s[PERIOD_SUM] = 0;
    s[PERIOD_COUNT] = 0;
    s[PERIOD_MIN] = Infinity;
    s[GAP_SUM] = 0;
    s[GAP_COUNT] = 0;
  }

  /**
   * Ends the calibration: fixes the range from the values seen, makes the calibration's features, trains
   * on them least typical first to set the upper vigilance, then replays them in time order (no output)
   * to set the lower one and leave the memory as live learning would have.
   */
  private calibrate(): void {
    const s = this.s;
    const rawMin = s[RAW_MIN] ?? 0;
    const rawMax = s[RAW_MAX] ?? 0;
    // A flat calibration still gets a span: any later movement is then far outside it, as it should be.
    const span = Math.max(rawMax - rawMin, 1e-9 * Math.max(1, Math.abs(rawMax)));
    s[LOW] = rawMin - RANGE_PAD * span;
    s[SPAN] = (1 + 2 * RANGE_PAD) * span;
    const count = s[CALIBRATION_POINTS] ?? 0;
    const first = Math.floor((s[FIRST_TIME] ?? 0) / this.pointMs);
    const features: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const point = this.point(
        first + (this.calibration[4 * i + 3] ?? 0),
        this.calibration[4 * i] ?? 0,
        this.calibration[4 * i + 1] ?? 0,
        this.calibration[4 * i + 2] ?? 0,
      );
      if (!point.ready) continue;
      const x = new Uint8Array(FEATURES);
      shapeFeature(this.window, x);
      features.push(x);
    }
    const n = features.length;
    // Least typical first: the summed cosine similarity to every other feature, ties in time order.
    const norms = features.map((x) => Math.sqrt(dot(x, x)));
    const typicality = features.map((x, i) =>
      features.reduce((sum, y, j) => sum + dot(x, y) / ((norms[i] ?? 1) * (norms[j] ?? 1) || 1), 0),
    );
    const order = features
      .map((_, i) => i)
      .sort((a, b) => (typicality[a] ?? 0) - (typicality[b] ?? 0) || a - b);
    this.art.clear();
    let sum = 0;
    let half = 0;
    order.forEach((i, rank) => {
      this.art.present(features[i] ?? feature, CALIBRATION_VIGILANCE, CALIBRATION_VIGILANCE);
      if (2 * rank >= n) {
        sum += this.art.activation;
        half += 1;
      }
    });
    const upper = half > 0 ? Math.min(MAX_UPPER, sum / half) : CALIBRATION_VIGILANCE;
    this.art.clear();
    let lowest = Infinity;
    features.forEach((x, i) => {
      this.art.present(x, upper, 0);
      if (2 * i >= n) lowest = Math.min(lowest, this.art.activation);
    });
    s[UPPER] = upper;
    s[LOWER] = Math.min(Number.isFinite(lowest) ? lowest - LOWER_MARGIN : upper, upper, MAX_LOWER);
  }
}

function dot(x: Uint8Array, y: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < FEATURES; i++) sum += (x[i] ?? 0) * (y[i] ?? 0);
  return sum;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
