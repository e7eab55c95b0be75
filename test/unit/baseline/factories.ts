/** Small factories for baseline tests: deterministic noise and feeding helpers. */
import type { Baseline, Estimate } from '../../../src/core/baseline';

/** Start of the synthetic series: a Monday, 00:00 UTC. */
export const T0 = Date.UTC(2026, 0, 5);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A seeded pseudo-random source (mulberry32) returning uniform values in [0, 1). */
export function uniformNoise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded pseudo-random source returning standard normal values (Box-Muller). */
export function normalNoise(seed: number): () => number {
  const uniform = uniformNoise(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * What `rate(requests[windowMs])` shows for a Poisson request stream of `rate(t)` per second, polled
 * every `pollMs`: the counts of the last window over its length.
 */
export function observedRate(
  seed: number,
  pollMs: number,
  windowMs: number,
  rate: (timeMs: number) => number,
): (timeMs: number) => number {
  const uniform = uniformNoise(seed);
  const normal = normalNoise(seed + 1);
  const poisson = (mean: number): number => {
    // Knuth's method while exp(-mean) is representable; the normal approximation above that.
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    for (let p = uniform(); p > limit; p *= uniform()) k += 1;
    return k;
  };
  const counts: number[] = [];
  const slots = Math.max(1, Math.round(windowMs / pollMs));
  return (t) => {
    counts.push(poisson((rate(t) * pollMs) / 1000));
    if (counts.length > slots) counts.shift();
    return counts.reduce((sum, c) => sum + c, 0) / ((counts.length * pollMs) / 1000);
  };
}

/** Feeds `value(t)` every `stepMs` from `fromMs` (inclusive) to `toMs` (exclusive); returns the estimates. */
export function feed(
  baseline: Baseline,
  fromMs: number,
  toMs: number,
  stepMs: number,
  value: (timeMs: number) => number | undefined,
): (Estimate | undefined)[] {
  const estimates: (Estimate | undefined)[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) estimates.push(baseline.observe(t, value(t)));
  return estimates;
}

/** A rounded copy of an estimate, for whole-output assertions. */
export function rounded(estimate: Estimate | undefined, digits = 1): Estimate | undefined {
  if (estimate === undefined) return undefined;
  const r = (x: number): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
  return {
    expected: r(estimate.expected),
    lower: r(estimate.lower),
    upper: r(estimate.upper),
    score: r(estimate.score),
    part: estimate.part,
  };
}
