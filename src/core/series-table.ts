/** Why a series stopped being tracked, as in `meshwatch_series_dropped_total{reason}`. */
export type DropReason = 'capacity' | 'evicted';

/** Counts of series dropped, by reason; the engine drains them into the exporter's counter. */
export type DropCounts = Record<DropReason, number>;

/**
 * A bounded map of per-series state: at most `capacity` entries, and entries not seen for
 * `evictAfterMs` are removed. A new series over capacity is refused (and counted) rather than
 * pushing out an old one: the old one has learned, the new one has not, and a flood of new
 * principals must not wipe out the baselines that would notice it.
 */
export class SeriesTable<T> {
  private readonly entries = new Map<string, { state: T; lastSeenMs: number }>();

  constructor(
    private capacity: number,
    private evictAfterMs: number,
    private readonly drops: DropCounts,
  ) {}

  /**
   * New limits (a config reload), keeping every entry: a table over a lowered capacity refuses new
   * series until it is under it again, rather than dropping what has learned.
   */
  setLimits(capacity: number, evictAfterMs: number): void {
    this.capacity = capacity;
    this.evictAfterMs = evictAfterMs;
  }

  /** The state of `key`, created with `create` if new and there is room; undefined when refused. */
  touch(key: string, nowMs: number, create: () => T): T | undefined {
    return this.touchOrCreate(key, nowMs, create, true);
  }

  /** Like `touch`, but a refusal is not counted: for entries that only help (an alias of another). */
  touchIfRoom(key: string, nowMs: number, create: () => T): T | undefined {
    return this.touchOrCreate(key, nowMs, create, false);
  }

  private touchOrCreate(key: string, nowMs: number, create: () => T, countRefusal: boolean): T | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      entry.lastSeenMs = Math.max(entry.lastSeenMs, nowMs);
      return entry.state;
    }
    if (this.entries.size >= this.capacity) {
      if (countRefusal) this.drops.capacity += 1;
      return undefined;
    }
    const state = create();
    this.entries.set(key, { state, lastSeenMs: nowMs });
    return state;
  }

  /** The state of `key` without touching it. */
  get(key: string): T | undefined {
    return this.entries.get(key)?.state;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Removes entries not seen since `nowMs - evictAfterMs`. */
  evict(nowMs: number): void {
    for (const [key, entry] of this.entries) {
      if (nowMs - entry.lastSeenMs > this.evictAfterMs) {
        this.entries.delete(key);
        this.drops.evicted += 1;
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Entries in insertion order. */
  *[Symbol.iterator](): IterableIterator<[string, T]> {
    for (const [key, entry] of this.entries) yield [key, entry.state];
  }
}
