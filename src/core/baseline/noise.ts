/**
 * Scores and bands from an expected value and its noise. Pure arithmetic shared by the fast and the slow
 * level, written so that `score >= k` holds exactly when the value is outside the band of half-width k.
 */

/** Noise of a prediction: the learned spread and, for rates, the Poisson noise of the counts behind them. */
export interface Noise {
  /** Variance that does not depend on the value (learned spread, floors). */
  variance: number;
  /** The `rate()` window in seconds, or undefined when the values are not rates of counts. */
  countWindowSeconds: number | undefined;
}

// A rate r measured over w seconds is a count r·w: Poisson variance r·w counts, so r / w in rate units.
const countVariance = (rate: number, noise: Noise): number =>
  noise.countWindowSeconds === undefined ? 0 : Math.max(rate, 0) / noise.countWindowSeconds;

/**
 * Signed deviation of `value` from `expected` in noise units. The Poisson term uses the larger of the two
 * rates, so a burst from nothing is judged by the counts it would take (2 denials over 120 s score 1.4).
 */
export function deviation(value: number, expected: number, noise: Noise): number {
  const d = value - expected;
  const variance = noise.variance + countVariance(Math.max(value, expected), noise);
  if (variance <= 0) return d === 0 ? 0 : d > 0 ? Infinity : -Infinity;
  return d / Math.sqrt(variance);
}

/** The values whose deviation is exactly `k` above and `-k` below `expected`. */
export function bandEdges(expected: number, noise: Noise, k: number): { lower: number; upper: number } {
  const lower = expected - k * Math.sqrt(noise.variance + countVariance(expected, noise));
  const w = noise.countWindowSeconds;
  const flat = k * Math.sqrt(noise.variance);
  if (w === undefined || expected + flat <= 0) return { lower, upper: expected + flat };
  // Above `expected` the Poisson term grows with the value: solve d² = k²(σ² + (expected + d) / w) for d > 0.
  const a = (k * k) / w;
  const d = (a + Math.sqrt(a * a + 4 * k * k * (noise.variance + expected / w))) / 2;
  return { lower, upper: expected + d };
}
