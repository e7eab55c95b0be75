/**
 * Deterministic counting processes: how many requests a stream has made by a given second.
 *
 * Time is cut into chunks of 2^21 s (about 24 days), each cut in halves down to 1 s leaves. A
 * chunk's count is Poisson with the shape's expected count; a node's count is split between its
 * halves binomially by their expected shares. Every draw is a hash of (stream, level, node), so the
 * count before any second is one walk down the tree (21 steps, no history to replay), it is the
 * same in the live server and the backfill, it never decreases, and at low rates it moves by whole
 * requests at Poisson-like times.
 */
import { hashInts, normalFromHashes, sampleBinomial, samplePoisson, unitFromHash } from './random';
import type { Shape } from './shape';

const LEVELS = 21;
const CHUNK = 2 ** LEVELS;
// Jitter enters at node sizes of about a minute to about an hour, split evenly between those levels,
// so that `noise` is roughly the relative spread of per-minute rates.
const NOISE_MIN_LEVEL = 6;
const NOISE_MAX_LEVEL = 12;
const NOISE_LEVELS = NOISE_MAX_LEVEL - NOISE_MIN_LEVEL + 1;
const CACHE_LIMIT = 200_000;

/** A stream of events: a hash key, a base rate (events per second) and a shape. */
export interface CountingProcess {
  key: number;
  rate: number;
  shape: Shape;
}

/** Split shares and chunk totals of one shape; shared by every process with an equal shape. */
class ShapeTables {
  private readonly shares = new Map<number, number>();
  private readonly chunks = new Map<number, number>();

  constructor(private readonly shape: Shape) {}

  /** Expected count per unit rate of chunk `c`. */
  chunkMean(c: number): number {
    let mean = this.chunks.get(c);
    if (mean === undefined) {
      mean = this.shape.integral(c * CHUNK, (c + 1) * CHUNK);
      this.chunks.set(c, mean);
    }
    return mean;
  }

  /** Expected share of the node [start, start + 2^level) that falls in its left half. */
  leftShare(level: number, start: number): number {
    const id = (start / 2 ** level) * 32 + level;
    let share = this.shares.get(id);
    if (share === undefined) {
      const half = 2 ** (level - 1);
      const left = this.shape.integral(start, start + half);
      const whole = left + this.shape.integral(start + half, start + 2 * half);
      share = whole > 0 ? Math.min(1, Math.max(0, left / whole)) : 0.5;
      if (this.shares.size >= CACHE_LIMIT) this.shares.clear();
      this.shares.set(id, share);
    }
    return share;
  }
}

const tables = new WeakMap<Shape, ShapeTables>();
const tablesByKey = new Map<string, ShapeTables>();

function tablesOf(shape: Shape): ShapeTables {
  let found = tables.get(shape);
  if (!found) {
    found = tablesByKey.get(shape.key);
    if (!found) {
      found = new ShapeTables(shape);
      if (tablesByKey.size >= 10_000) tablesByKey.clear();
      tablesByKey.set(shape.key, found);
    }
    tables.set(shape, found);
  }
  return found;
}

function draw(key: number, level: number, node: number): { u: number; z: number } {
  const h1 = hashInts(key, level, node, 1);
  const h2 = hashInts(key, level, node, 2);
  return { u: unitFromHash(h1), z: normalFromHashes(h1, h2) };
}

function chunkCount(process: CountingProcess, table: ShapeTables, c: number): number {
  const { u, z } = draw(process.key, LEVELS + 1, c);
  return samplePoisson(process.rate * table.chunkMean(c), u, z);
}

/** Events of `process` in [0, second): a whole number, non-decreasing in `second`. */
export function countBefore(process: CountingProcess, second: number): number {
  if (second <= 0) return 0;
  const table = tablesOf(process.shape);
  const chunk = Math.floor(second / CHUNK);
  let total = 0;
  for (let c = 0; c < chunk; c++) total += chunkCount(process, table, c);
  let start = chunk * CHUNK;
  if (second === start) return total;
  let n = chunkCount(process, table, chunk);
  const noise = process.shape.noise / Math.sqrt(NOISE_LEVELS);
  for (let level = LEVELS; level > 0 && n > 0; level--) {
    const half = 2 ** (level - 1);
    const node = start / 2 ** level;
    const { u, z } = draw(process.key, level, node);
    let p = table.leftShare(level, start);
    if (noise > 0 && level >= NOISE_MIN_LEVEL && level <= NOISE_MAX_LEVEL) {
      const jitter = hashInts(process.key, level, node, 3);
      const left = Math.max(
        0.05,
        1 + noise * normalFromHashes(jitter, hashInts(process.key, level, node, 4)),
      );
      const right = Math.max(
        0.05,
        1 + noise * normalFromHashes(hashInts(process.key, level, node, 5), jitter),
      );
      p = (p * left) / (p * left + (1 - p) * right || 1);
    }
    const leftCount = sampleBinomial(n, p, u, z);
    if (second >= start + half) {
      total += leftCount;
      n -= leftCount;
      start += half;
    } else {
      n = leftCount;
    }
  }
  return total;
}
