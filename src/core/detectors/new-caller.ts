import { destinationKey, edgeKey } from '../keys';
import { layerOf, type EdgeSample } from '../mesh';
import type { SeriesTable } from '../series-table';
import type { Assessment, Caller, CallerContribution, Destination, Layer } from '../types';
import {
  callerKey,
  clusteredCallerKey,
  knownCluster,
  layersOf,
  topContributions,
  workloadKey,
} from './signals';

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
  /**
   * How often an edge's alias (the edge under its caller's workload) is marked seen: a small part
   * of the time an edge is remembered, so that the alias never goes before its edge.
   */
  aliasRefreshMs: number;
  topCallers: number;
}

/** What the new-caller detector concludes from one poll. */
export interface NewCallerResult {
  assessments: Assessment[];
  /** Rates of the edges that are new now. */
  callers: Array<{ destination: Destination; caller: Caller; rate: number; layer: Layer }>;
}

/**
 * A known edge: when it was first seen (-Infinity for the known mesh), and the clusters its caller
 * called from: the first in `cluster`, any later one in `others` with its first sighting.
 */
export interface KnownEdge {
  firstSeenMs: number;
  cluster?: string;
  others?: Map<string, number>;
  /** The alias (see `aliasRefreshMs`) last marked seen, and when. */
  alias?: string;
  aliasSeenMs?: number;
}

// A principal calling one destination from more clusters than this is not told apart further.
const MAX_CLUSTERS_PER_EDGE = 8;

/**
 * Lateral movement: a (caller, destination) edge that was not seen in the learning window, over
 * HTTP or TCP alike (an ambient mesh without waypoints has only TCP edges). The set of known edges
 * is learned from history at warm start, so a restart reports nothing old as new. An edge stays
 * new for `newForMs`, then becomes known. The score counts the new callers' requests (or
 * connections, for a caller seen only at L4) over the rate window, so one request from a stranger
 * is enough at the default threshold of 1. Callers are keyed by principal, or by workload where
 * there is none (plaintext). A known principal calling from a cluster it was never seen calling
 * from is new too: the same namespace and service account in another cluster carry the same
 * identity, so a workload stood up under a known name elsewhere shows only this way.
 */
export class NewCallerDetector {
  private firstLiveMs: number | undefined;
  private sawHistory = false;

  constructor(
    private options: NewCallerOptions,
    private readonly edges: SeriesTable<KnownEdge>,
  ) {}

  /**
   * New settings from a config reload; the known edges are kept, so nothing known becomes new.
   * `rateWindowSeconds` stays: the edges' rates come from the running query.
   */
  retune(
    options: Omit<NewCallerOptions, 'rateWindowSeconds'>,
    maxEdges: number,
    forgetAfterMs: number,
  ): void {
    this.options = { ...options, rateWindowSeconds: this.options.rateWindowSeconds };
    this.edges.setLimits(maxEdges, forgetAfterMs);
  }

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
    for (const sums of callersByDestination(samples).values()) {
      const fresh: CallerContribution[] = [];
      const create = (): KnownEdge => ({ firstSeenMs: learning ? -Infinity : timeMs });
      for (const c of sums.callers) {
        const edge = this.edges.touch(edgeKey(sums.destination, callerKey(c.caller)), timeMs, create);
        if (!edge) continue;
        // A workload known by its identity is known without it too: when it falls back to
        // plaintext it is the plaintext detector's finding, not a stranger calling.
        // The alias is kept alive now and then, not at every poll: it only has to outlive its edge.
        // An identity that calls from several workloads (the same service account in two
        // clusters) has an alias for each, and each is kept alive: the edge notes the last one.
        if (c.caller.principal !== 'unknown' && c.caller.workload !== 'unknown') {
          const alias = edgeKey(sums.destination, workloadKey(c.caller));
          if (edge.alias !== alias || !(timeMs - (edge.aliasSeenMs ?? -Infinity) < o.aliasRefreshMs)) {
            edge.alias = alias;
            edge.aliasSeenMs = timeMs;
            this.edges.touchIfRoom(alias, timeMs, create);
          }
        }
        const since = Math.max(edge.firstSeenMs, this.clusterFirstSeen(edge, c.caller, timeMs, learning));
        if (timeMs - since < o.newForMs) fresh.push({ ...c, isNew: true });
      }
      const top = topContributions(fresh, o.topCallers);
      const observed = fresh.reduce((sum, c) => sum + c.rate, 0);
      for (const c of top)
        result.callers.push({
          destination: sums.destination,
          caller: c.caller,
          rate: c.rate,
          layer: c.layer,
        });
      result.assessments.push({
        detector: 'new_caller',
        destination: sums.destination,
        signal: NEW_CALLER_SIGNAL,
        observed,
        expected: 0,
        lower: 0,
        upper: o.threshold / o.rateWindowSeconds,
        score: observed * o.rateWindowSeconds,
        layers: layersOf(fresh),
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

  /**
   * When the edge's caller was first seen from its cluster: -Infinity where that says nothing (a
   * plaintext caller, whose key holds its cluster already; an unknown cluster; the first cluster
   * an edge is seen from, which is the edge's own first sighting).
   */
  private clusterFirstSeen(edge: KnownEdge, caller: Caller, timeMs: number, learning: boolean): number {
    if (caller.principal === 'unknown' || !knownCluster(caller.cluster)) return -Infinity;
    if (edge.cluster === undefined) {
      edge.cluster = caller.cluster;
      return -Infinity;
    }
    if (edge.cluster === caller.cluster) return -Infinity;
    const seen = edge.others?.get(caller.cluster);
    if (seen !== undefined) return seen;
    edge.others ??= new Map();
    if (edge.others.size >= MAX_CLUSTERS_PER_EDGE - 1) return -Infinity;
    const first = learning ? -Infinity : timeMs;
    edge.others.set(caller.cluster, first);
    return first;
  }
}

/**
 * Each destination's callers with traffic, one contribution per caller (and cluster): its
 * requests where it sends any, else its connections. An edge seen at L7 and at L4 is one edge, and
 * its requests are what it does. The samples are grouped by destination first and each group's
 * callers told apart with one map, reused: a large mesh's samples come in no useful order, and a
 * map per destination, or one over all 50,000 edges, would cost more than the sums.
 */
function callersByDestination(
  samples: readonly EdgeSample[],
): Map<string, { destination: Destination; callers: CallerContribution[] }> {
  const groups = new Map<string, { destination: Destination; samples: EdgeSample[] }>();
  for (const s of samples) {
    if (!(s.rate > 0 && (s.kind === 'requests' || s.kind === 'tcp_connections'))) continue;
    const key = destinationKey(s.destination);
    const group = groups.get(key);
    if (group) group.samples.push(s);
    else groups.set(key, { destination: s.destination, samples: [s] });
  }
  const out = new Map<string, { destination: Destination; callers: CallerContribution[] }>();
  const byCaller = new Map<string, CallerContribution>();
  for (const [key, group] of groups) {
    byCaller.clear();
    const callers: CallerContribution[] = [];
    for (const s of group.samples) {
      const caller = clusteredCallerKey(s.caller);
      const layer = layerOf(s.kind);
      const prior = byCaller.get(caller);
      if (!prior) {
        const contribution: CallerContribution = { caller: s.caller, rate: s.rate, layer };
        byCaller.set(caller, contribution);
        callers.push(contribution);
      } else if (prior.layer === layer) prior.rate += s.rate;
      else if (layer === 'http') {
        prior.caller = s.caller;
        prior.layer = 'http';
        prior.rate = s.rate;
      }
    }
    out.set(key, { destination: group.destination, callers });
  }
  return out;
}
