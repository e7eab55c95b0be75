/**
 * The features of the shape model (shape.ts): levels of downsampled points, a running median that
 * flattens the noise around the series' usual level, and the 32 complement-coded bytes that describe
 * the window of the last 8 levels. Follows the feature description of the ARTime family in
 * ../shared/research/nab-detectors.md; written from that description, not from any implementation.
 */

/** Levels a point is quantised to: 0..LEVELS, so LEVELS + 1 values. */
export const LEVELS = 80;
/** Points in the window a shape is made of. */
export const WINDOW = 8;
/** Values of a feature before complement coding: the window's Haar transform and its levels. */
export const HALF_FEATURES = 2 * WINDOW;
/** Bytes of a complement-coded feature. */
export const FEATURES = 2 * HALF_FEATURES;
/** The feature byte of the current (newest) level, and its complement at `CURRENT + HALF_FEATURES`. */
export const CURRENT = HALF_FEATURES - 1;
/** A feature value of 1 (bytes carry 0..1 as 0..FULL). */
export const FULL = 255;

// A level within this many levels of the median is the median: 0.075 of the range, as the family's
// description has it; it flattens the noise around the usual level, so shapes are made of departures.
const FLATTEN_LEVELS = 6;
// The histogram halves its counts once it holds this many points (about 85 days of 30-minute points),
// so the median follows a series whose usual level moves over months, and 16-bit counts never overflow.
const MEDIAN_MEMORY = 4096;

/** Rounds half to even, as the quantisation of a level must not lean upwards on exact halves. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The level (0..LEVELS) of a value already normalised to [0, 1]; values outside are clamped. */
export function levelOf(normalised: number): number {
  return roundHalfEven(Math.min(1, Math.max(0, normalised)) * LEVELS);
}

/** An approximate running median of levels: a histogram of LEVELS + 1 bins that forgets by halving. */
export class LevelMedian {
  readonly counts = new Uint16Array(LEVELS + 1);
  private total = 0;

  /** Bytes of state (the total is recomputed on halving, so the counts are the state). */
  get stateBytes(): number {
    return this.counts.byteLength;
  }

  /** Counts `level`, then returns it, set to the median when it is within the flattening distance. */
  flatten(level: number): number {
    this.counts[level] = (this.counts[level] ?? 0) + 1;
    this.total += 1;
    if (this.total >= MEDIAN_MEMORY) {
      this.total = 0;
      for (let i = 0; i <= LEVELS; i++) {
        const halved = (this.counts[i] ?? 0) >> 1;
        this.counts[i] = halved;
        this.total += halved;
      }
    }
    const median = this.median();
    return Math.abs(level - median) <= FLATTEN_LEVELS ? median : level;
  }

  /** The lowest level at which the counts reach half the total. */
  median(): number {
    let total = 0;
    for (let i = 0; i <= LEVELS; i++) total += this.counts[i] ?? 0;
    let seen = 0;
    for (let i = 0; i <= LEVELS; i++) {
      seen += this.counts[i] ?? 0;
      if (2 * seen >= total) return i;
    }
    return LEVELS;
  }
}

const scratch = new Float64Array(WINDOW);
const haar = new Float64Array(WINDOW);

/**
 * Writes the complement-coded feature of a window of levels (oldest first) into `out` (FEATURES bytes):
 * - 0..7: a Haar transform of the levels rescaled to [0, 1] within the window (the shape, whatever its
 *   height): the approximation, then the details from the coarsest to the finest, each mapped to [0, 1];
 * - 8..15: the levels themselves over LEVELS (the height), the newest at CURRENT;
 * - 16..31: the complements (1 - x) of 0..15, so a category is a box and a match is a min.
 */
export function shapeFeature(levels: ArrayLike<number>, out: Uint8Array): void {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < WINDOW; i++) {
    const level = levels[i] ?? 0;
    low = Math.min(low, level);
    high = Math.max(high, level);
  }
  // A flat window has no shape: every rescaled level is 0 (the window's floor).
  const span = high - low;
  for (let i = 0; i < WINDOW; i++) scratch[i] = span > 0 ? ((levels[i] ?? 0) - low) / span : 0;
  // Averaging Haar steps: pairs (a, b) become (a + b) / 2 in the first half and (a - b) / 2 behind it,
  // repeated on the averages. Averages stay in [0, 1]; details are in [-1/2, 1/2] and shift by 1/2.
  for (let n = WINDOW; n > 1; n >>= 1) {
    const half = n >> 1;
    for (let i = 0; i < half; i++) {
      const a = scratch[2 * i] ?? 0;
      const b = scratch[2 * i + 1] ?? 0;
      haar[i] = (a + b) / 2;
      haar[half + i] = (a - b) / 2 + 0.5;
    }
    for (let i = 0; i < n; i++) scratch[i] = haar[i] ?? 0;
  }
  for (let i = 0; i < WINDOW; i++) {
    const shape = roundHalfEven((scratch[i] ?? 0) * FULL);
    const height = roundHalfEven(((levels[i] ?? 0) / LEVELS) * FULL);
    out[i] = shape;
    out[WINDOW + i] = height;
    out[HALF_FEATURES + i] = FULL - shape;
    out[HALF_FEATURES + WINDOW + i] = FULL - height;
  }
}
