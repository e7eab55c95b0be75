import { destinationKey } from '../keys';
import type { EdgeSample } from '../mesh';
import type { SeriesTable } from '../series-table';
import type { Assessment, Caller, Destination } from '../types';
import { callerKey, sumByDestination, topContributions } from './signals';

/** The `signal` label of the new callers' rate. */
export const NEW_CALLER_SIGNAL = 'new_caller_requests_per_second';

/** Settings of the new-caller detector. */
export interface NewCallerOptions {
  threshold: number;
  rateWindowSeconds: number;
  /** How long an edge counts as new after it first appears. */
  newForMs: number;
  /** Without history to learn from, edges seen this long after the first poll are the known mesh. */
  learningMs: number;
  topCallers: number;
}

/** What the new-caller detector concludes from one poll. */
export interface NewCallerResult {
  assessments: Assessment[];
  /** Rates of the edges that are new now. */
  callers: Array<{ destination: Destination; caller: Caller; rate: number }>;
}

/**
 * Lateral movement: a (caller, destination) edge that was not seen in the learning window. The
 * set of known edges is learned from history at warm start, so a restart reports nothing old as
 * new. An edge stays new for `newForMs`, then becomes known. The score counts the new callers'
 * requests over the rate window, so one request from a stranger is enough at the default
 * threshold of 1. Callers are keyed by principal, or by workload where there is none (plaintext).
 */
export class NewCallerDetector {
  private firstLiveMs: number | undefined;
  private sawHistory = false;

  constructor(
    private readonly options: NewCallerOptions,
    /** Edge -> the time it was first seen, or -Infinity for edges learned as the known mesh. */
    private readonly edges: SeriesTable<{ firstSeenMs: number }>,
  ) {}

  /**
   * Learns and scores one snapshot. Every edge in history (`live` false) is the known mesh; with
   * no history at all, the first `learningMs` of live data are.
   */
  observe(timeMs: number, samples: readonly EdgeSample[], live: boolean): NewCallerResult {
    if (!live) this.sawHistory = true;
    else this.firstLiveMs ??= timeMs;
    const learning =
      !live || (!this.sawHistory && timeMs - (this.firstLiveMs ?? timeMs) < this.options.learningMs);
    const o = this.options;
    const result: NewCallerResult = { assessments: [], callers: [] };
    const traffic = sumByDestination(
      samples,
      (s) => (s.kind === 'requests' || s.kind === 'tcp_connections') && s.rate > 0,
    );
    for (const sums of traffic.values()) {
      const fresh = [];
      const destination = destinationKey(sums.destination);
      const create = () => ({ firstSeenMs: learning ? -Infinity : timeMs });
      for (const c of sums.callers.values()) {
        const edge = this.edges.touch(`${destination}|${callerKey(c.caller)}`, timeMs, create);
        // A workload known by its identity is known without it too: when it falls back to
        // plaintext it is the plaintext detector's finding, not a stranger calling.
        if (edge && c.caller.principal !== 'unknown' && c.caller.workload !== 'unknown') {
          this.edges.touchIfRoom(
            `${destination}|${callerKey({ ...c.caller, principal: 'unknown' })}`,
            timeMs,
            create,
          );
        }
        if (edge && timeMs - edge.firstSeenMs < o.newForMs) fresh.push({ ...c, isNew: true });
      }
      const top = topContributions(fresh, o.topCallers);
      const observed = fresh.reduce((sum, c) => sum + c.rate, 0);
      for (const c of top)
        result.callers.push({ destination: sums.destination, caller: c.caller, rate: c.rate });
      result.assessments.push({
        detector: 'new_caller',
        destination: sums.destination,
        signal: NEW_CALLER_SIGNAL,
        observed,
        expected: 0,
        lower: 0,
        upper: o.threshold / o.rateWindowSeconds,
        score: observed * o.rateWindowSeconds,
        topCallers: top,
      });
    }
    this.edges.evict(timeMs);
    return result;
  }

  /** Tracked edges. */
  get tracked(): number {
    return this.edges.size;
  }
}
