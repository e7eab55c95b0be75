/**
 * Deterministic randomness: every draw is a hash of (stream key, position), so the same scenario,
 * epoch and time give the same numbers in the live server, the backfill and the tests, in any order.
 */

/**
 * 32-bit multiply. Plain arithmetic rather than Math.imul: under Jest's VM sandbox Math.imul is not
 * inlined and made the model about thirty times slower.
 */
function mul32(a: number, b: number): number {
  return ((a & 0xffff) * b + ((((a >>> 16) * b) & 0xffff) << 16)) | 0;
}

/** Mixes a 32-bit value (murmur3's finalizer): small input changes flip about half the bits. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = mul32(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = mul32(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 32-bit hash of a string (FNV-1a then mixed), used to key streams by their names. */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = mul32(h, 0x01000193);
  }
  return fmix(h);
}

/** 32-bit hash of a key and up to three integers (each taken modulo 2^32). */
export function hashInts(key: number, a: number, b = 0, c = 0): number {
  let h = fmix(key ^ 0x9e3779b9);
  h = fmix(h ^ (a >>> 0));
  h = fmix(h ^ mul32(b >>> 0, 0x27d4eb2f));
  h = fmix(h ^ mul32(c >>> 0, 0x165667b1));
  return h;
}

/** A uniform number in (0, 1) from a 32-bit hash; never exactly 0 or 1, so logs stay finite. */
export function unitFromHash(h: number): number {
  return (h + 0.5) / 4294967296;
}

/**
 * An approximately standard normal deviate from two hashes: the sum of four 16-bit uniforms, centred
 * and scaled (Irwin-Hall). Bounded at ±3.46, which a traffic simulator does not miss, and free of
 * Math calls, which are slow under Jest's sandbox.
 */
export function normalFromHashes(h1: number, h2: number): number {
  const sum = (h1 & 0xffff) + (h1 >>> 16) + (h2 & 0xffff) + (h2 >>> 16) + 2;
  return (sum / 65536 - 2) * 1.7320508075688772;
}

// Below these sizes the exact inverse-CDF walk is cheap; above, the normal approximation is accurate.
const EXACT_POISSON_MEAN = 30;
const EXACT_BINOMIAL_TRIALS = 40;
const NORMAL_BINOMIAL_VARIANCE = 10;

/** Poisson(mean) by inversion of the uniform `u` when small, else by the normal approximation `z`. */
export function samplePoisson(mean: number, u: number, z: number): number {
  if (mean <= 0) return 0;
  if (mean >= EXACT_POISSON_MEAN) return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
  let k = 0;
  let p = Math.exp(-mean);
  let cdf = p;
  while (u > cdf && p > 0) {
    k += 1;
    p *= mean / k;
    cdf += p;
  }
  return k;
}

/**
 * Binomial(n, p): how many of `n` events fall on the left side of a split. Exact inversion of `u`
 * for few trials, Poisson for rare sides, normal approximation `z` otherwise; always within [0, n].
 */
export function sampleBinomial(n: number, p: number, u: number, z: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  // Sampling the rarer side keeps (1-p)^n from underflowing and the walk short.
  if (p > 0.5) return n - sampleBinomial(n, 1 - p, 1 - u, -z);
  if (n < EXACT_BINOMIAL_TRIALS) {
    let k = 0;
    let pk = Math.pow(1 - p, n);
    let cdf = pk;
    const odds = p / (1 - p);
    while (u > cdf && k < n) {
      pk *= ((n - k) / (k + 1)) * odds;
      k += 1;
      cdf += pk;
    }
    return k;
  }
  const mean = n * p;
  const variance = mean * (1 - p);
  if (variance < NORMAL_BINOMIAL_VARIANCE) return Math.min(n, samplePoisson(mean, u, z));
  return Math.min(n, Math.max(0, Math.round(mean + Math.sqrt(variance) * z)));
}
