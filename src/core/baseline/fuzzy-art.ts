/**
 * A bounded dual-vigilance fuzzy ART memory over complement-coded byte features (shape-features.ts):
 * the learning part of the shape model (shape.ts). Fuzzy ART (Carpenter, Grossberg and Rosen 1991) with
 * the two vigilances of dual-vigilance fuzzy ART (da Silva, Elnabarawy and Wunsch 2019) and the match
 * of the ARTime family as ../shared/research/nab-detectors.md describes it; written from those
 * descriptions. Departures: weights are bytes (a feature is quantised to 0..255, and fast learning is a
 * min, so learning stays exact), the number of categories is capped with the least recently used one
 * replaced, and a category does not remember its cluster (only "was a new cluster needed" is used).
 */
import {
  CURRENT as CURRENT_FEATURE,
  FEATURES as FEATURE_BYTES,
  HALF_FEATURES as HALF,
} from './shape-features';

// Local copies of the feature layout: read through the import, every use in the hot loop is a property
// load from the other module's exports object, which made a presentation several times slower.
const FEATURES = FEATURE_BYTES;
const CURRENT = CURRENT_FEATURE;
const COMPLEMENT = CURRENT_FEATURE + HALF;

/**
 * What presenting a feature did: `learned` (categories matched at the upper vigilance and learned it),
 * `category` (a new category in a known cluster: close to what was seen at the lower vigilance, not
 * close enough to learn), `cluster` (a new category in a new cluster: unlike anything remembered, the
 * anomaly candidate).
 */
export type Resonance = 'learned' | 'category' | 'cluster';

// One activation per category, shared by every memory: presenting is synchronous.
let activations = new Float64Array(128);

/** The categories of one series: `capacity` boxes of FEATURES bytes, and when each was last used. */
export class FuzzyArt {
  readonly weights: Uint8Array;
  // Presentation count at the last use of each category (0: never used): the eviction order.
  private readonly used: Uint32Array;
  private size = 0;
  private clock = 0;
  /** Activation `fs^3 es^2` of the best category at the last presentation (0 when there was none). */
  activation = 0;
  /** Energy match of that category (its match on the current level alone). */
  energy = 0;

  constructor(readonly capacity: number) {
    this.weights = new Uint8Array(capacity * FEATURES);
    this.used = new Uint32Array(capacity);
    if (activations.length < capacity) activations = new Float64Array(capacity);
  }

  /** Bytes of state. */
  get stateBytes(): number {
    return this.weights.byteLength + this.used.byteLength;
  }

  /** Categories held. */
  get categories(): number {
    return this.size;
  }

  /** Forgets every category. */
  clear(): void {
    this.size = 0;
    this.clock = 0;
    this.used.fill(0);
    this.weights.fill(0);
  }

  /**
   * Presents feature `x`: every category whose activation reaches `upper` learns it (w = min(w, x));
   * when none does, a new category is made of it, in a known cluster if the best activation reaches
   * `lower`, in a new one otherwise. `activation` and `energy` say how well the best category matched.
   */
  present(x: Uint8Array, upper: number, lower: number): Resonance {
    this.clock += 1;
    const w = this.weights;
    const size = this.size;
    const scratch = activations;
    const xa = x[CURRENT] as number;
    const xb = x[COMPLEMENT] as number;
    let best = -1;
    let bestActivation = -1;
    // The hot loop of the model (a 128 x 32 min-sum per point); indices are in range by construction.
    for (let c = 0; c < size; c++) {
      const base = c * FEATURES;
      let both = 0;
      let total = 0;
      // min(w, x) as x + min(w - x, 0) with the sign bit as a mask: on real features a comparison is a coin
      // toss, and a branching min (a conditional, or Math.min as V8 compiles it) was three times slower.
      for (let i = 0; i < FEATURES; i++) {
        const wi = w[base + i] as number;
        const xi = x[i] as number;
        const d = (wi - xi) | 0;
        both += xi + (d & (d >> 31));
        total += wi;
      }
      const fs = total > 0 ? both / total : 1;
      const a = w[base + CURRENT] as number;
      const b = w[base + COMPLEMENT] as number;
      const es = a + b === 0 ? 1 : ((xa < a ? xa : a) + (xb < b ? xb : b)) / (a + b);
      const m = fs * fs * fs * es * es;
      scratch[c] = m;
      if (m > bestActivation) {
        bestActivation = m;
        best = c;
      }
    }
    this.activation = Math.max(bestActivation, 0);
    this.energy = best >= 0 ? energyMatch(x, w, best * FEATURES) : 0;
    if (best >= 0 && bestActivation >= upper) {
      for (let c = 0; c < size; c++) {
        if ((scratch[c] as number) < upper) continue;
        const base = c * FEATURES;
        for (let i = 0; i < FEATURES; i++) {
          const xi = x[i] as number;
          const d = ((w[base + i] as number) - xi) | 0;
          w[base + i] = xi + (d & (d >> 31));
        }
        this.used[c] = this.clock;
      }
      return 'learned';
    }
    this.add(x);
    return best >= 0 && bestActivation >= lower ? 'category' : 'cluster';
  }

  /** Makes a category of `x`, replacing the least recently used one when the memory is full. */
  private add(x: Uint8Array): void {
    const used = this.used;
    let slot = this.size;
    if (slot >= this.capacity) {
      slot = 0;
      let oldest = used[0] as number;
      for (let c = 1; c < this.capacity; c++) {
        const u = used[c] as number;
        if (u < oldest) {
          oldest = u;
          slot = c;
        }
      }
    } else {
      this.size += 1;
    }
    const w = this.weights;
    const base = slot * FEATURES;
    for (let i = 0; i < FEATURES; i++) w[base + i] = x[i] as number;
    used[slot] = this.clock;
  }
}

/** The match on the current level and its complement alone (1 when the category spans every level). */
function energyMatch(x: Uint8Array, w: Uint8Array, base: number): number {
  const a = w[base + CURRENT] ?? 0;
  const b = w[base + COMPLEMENT] ?? 0;
  if (a + b === 0) return 1;
  const xa = x[CURRENT] ?? 0;
  const xb = x[COMPLEMENT] ?? 0;
  return ((xa < a ? xa : a) + (xb < b ? xb : b)) / (a + b);
}
