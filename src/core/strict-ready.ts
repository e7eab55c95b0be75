import { destinationKey } from './keys';
import type { DropCounts } from './series-table';
import type { Destination } from './types';

/** Bounds and window of the STRICT-readiness memory (`audit.lookback`, `limits.*`). */
export interface StrictReadinessOptions {
  /** A destination is ready once this long has passed since it last served plaintext. */
  lookbackMs: number;
  /** Most destinations remembered; a new one over it is refused and counted. */
  capacity: number;
  /** A destination not seen this long is forgotten, unless it served plaintext within `lookbackMs`. */
  evictAfterMs: number;
}

/** What one poll saw at one destination: that it served traffic, and how much of it in plaintext. */
export interface ServedTraffic {
  destination: Destination;
  /** Plaintext requests and connections per second it served (`servedPlaintext`); 0 when all was mTLS. */
  plaintextRate: number;
}

/** Whether one destination could take a STRICT PeerAuthentication now. */
export interface StrictReadiness {
  destination: Destination;
  /** No plaintext served within the lookback, as far as meshwatch has seen. */
  ready: boolean;
  /** When it last served plaintext (Unix ms); undefined when never seen doing so. */
  lastPlaintextMs?: number;
}

interface Entry {
  destination: Destination;
  lastSeenMs: number;
  lastPlaintextMs: number | undefined;
}

/**
 * Remembers, per destination, the last time it served plaintext, so that the daemon can say what
 * `meshwatch audit` would: a destination is STRICT-ready when no plaintext caller reached it over
 * `audit.lookback`. It learns from the warm-up's history and from live polls alike (the same
 * `observe`), so it only knows what those covered: with a warm-up shorter than the lookback, a
 * destination is ready when it served no plaintext over what was seen. A destination only ever
 * seen over mTLS is ready. The memory is one timestamp per destination, bounded like the
 * detectors' tables: a new destination over capacity is refused (not pushing out one that may
 * hold a plaintext sighting), and one not seen for `evictAfterMs` is forgotten, but not while a
 * plaintext sighting still counts: forgetting it would turn a blocked destination ready.
 */
export class StrictReadinessTracker {
  private readonly entries = new Map<string, Entry>();
  private nowMs = -Infinity;

  constructor(
    private options: StrictReadinessOptions,
    private readonly drops: DropCounts,
  ) {}

  /** Takes one poll's (or history step's) traffic at `timeMs`, then forgets what may be forgotten. */
  observe(timeMs: number, served: Iterable<ServedTraffic>): void {
    this.nowMs = Math.max(this.nowMs, timeMs);
    for (const { destination, plaintextRate } of served) {
      const key = destinationKey(destination);
      let entry = this.entries.get(key);
      if (!entry) {
        if (this.entries.size >= this.options.capacity) {
          this.drops.capacity += 1;
          continue;
        }
        entry = { destination, lastSeenMs: timeMs, lastPlaintextMs: undefined };
        this.entries.set(key, entry);
      }
      entry.lastSeenMs = Math.max(entry.lastSeenMs, timeMs);
      if (plaintextRate > 0) entry.lastPlaintextMs = Math.max(entry.lastPlaintextMs ?? -Infinity, timeMs);
    }
    for (const [key, entry] of this.entries) {
      if (this.nowMs - entry.lastSeenMs > this.options.evictAfterMs && !this.blocked(entry)) {
        this.entries.delete(key);
        this.drops.evicted += 1;
      }
    }
  }

  /** Every remembered destination's readiness as of the latest observation, by destination key. */
  readiness(): StrictReadiness[] {
    return [...this.entries.keys()].sort().map((key) => {
      const { destination, lastPlaintextMs } = this.entries.get(key) as Entry;
      return {
        destination,
        ready: !this.blocked({ lastPlaintextMs }),
        ...(lastPlaintextMs === undefined ? {} : { lastPlaintextMs }),
      };
    });
  }

  /** New window and bounds (a config reload), keeping every sighting. */
  retune(options: StrictReadinessOptions): void {
    this.options = options;
  }

  /** Destinations remembered. */
  get tracked(): number {
    return this.entries.size;
  }

  /** Plaintext was served within the lookback before the latest observation. */
  private blocked(entry: Pick<Entry, 'lastPlaintextMs'>): boolean {
    return (
      entry.lastPlaintextMs !== undefined && this.nowMs - entry.lastPlaintextMs < this.options.lookbackMs
    );
  }
}
