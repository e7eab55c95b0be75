import { flat, rememberKeys } from '../core/keys';
import type { Caller, Destination } from '../core/types';

/**
 * A map that keeps what was used in this generation and the one before: `advance` starts a new
 * generation and lets go of everything not used in the last one. What a mesh keeps using stays;
 * what churn left behind is gone after two generations, however fast callers come and go.
 */
export class GenerationMap<K, V> {
  // Entries keep the key they were stored under: a lookup's key may be a slice of a response
  // body, which must not become the key (and pin the body) when an entry moves forward.
  private current = new Map<K, { key: K; value: V }>();
  private previous = new Map<K, { key: K; value: V }>();

  get(key: K): V | undefined {
    const entry = this.current.get(key);
    if (entry !== undefined) return entry.value;
    const old = this.previous.get(key);
    if (old === undefined) return undefined;
    this.current.set(old.key, old);
    return old.value;
  }

  /** Stores `value` under `key`, which is kept: pass a key of its own, not a slice of something larger. */
  set(key: K, value: V): void {
    this.current.set(key, { key, value });
  }

  advance(): void {
    this.previous = this.current;
    this.current = new Map();
  }

  /** Entries of both generations (an entry moved forward counts twice). */
  get size(): number {
    return this.current.size + this.previous.size;
  }
}

/**
 * One copy of each label value, destination and caller across polls. A 2,000-workload mesh
 * answers every poll with 100,000 series whose labels are a few thousand distinct strings (long
 * SPIFFE principals above all); interned, every poll's samples share the same `Destination` and
 * `Caller` objects, which carry their keys (`rememberKeys`), so the engine computes each key once.
 * What it holds is what the last two polls used (`advance` at each poll): churn leaves nothing
 * behind.
 */
export class Interner {
  private readonly strings = new GenerationMap<string, string>();
  private readonly destinations = new GenerationMap<string, Destination>();
  private readonly callers = new GenerationMap<string, Caller>();

  /** Starts a new generation; call once per poll, before decoding it. */
  advance(): void {
    this.strings.advance();
    this.destinations.advance();
    this.callers.advance();
  }

  /** Strings held, over both generations. */
  get size(): number {
    return this.strings.size;
  }

  /**
   * The one copy of `text`. A new string is copied (flat, see `flat`) before it is kept: a
   * substring of a response body may be a slice that pins the whole body in memory.
   */
  string(text: string): string {
    const known = this.strings.get(text);
    if (known !== undefined) return known;
    const own = text.length < 13 ? text : flat(text);
    this.strings.set(own, own);
    return own;
  }

  /** The one `Destination` of these (interned) labels. */
  destination(cluster: string, namespace: string, workload: string): Destination {
    const key = joined(cluster, namespace, workload);
    let d = this.destinations.get(key);
    if (d === undefined) {
      d = Object.freeze(rememberKeys({ cluster, namespace, workload }));
      this.destinations.set(key, d);
    }
    return d;
  }

  /** The one `Caller` of these (interned) labels. */
  caller(principal: string, namespace: string, workload: string, cluster: string): Caller {
    const key = joined(principal, namespace, workload, cluster);
    let c = this.callers.get(key);
    if (c === undefined) {
      c = Object.freeze(rememberKeys({ principal, namespace, workload, cluster }));
      this.callers.set(key, c);
    }
    return c;
  }
}

/** One key for several strings, unambiguous whatever they hold (label values are any text). */
function joined(...parts: string[]): string {
  return parts.map((p) => `${p.length}:${p}`).join('');
}
