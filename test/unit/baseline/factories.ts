/** Small factories for baseline tests: deterministic noise and feeding helpers. */
import type { Baseline, Estimate } from '../../../src/core/baseline';

/** Start of the synthetic series: a Monday, 00:00 UTC. */
export const T0 = Date.UTC(2026, 0, 5);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A seeded pseudo-random source (mulberry32) returning standard normal values (Box-Muller). */
export function normalNoise(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
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
  };
}
