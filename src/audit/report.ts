/**
 * The audit's report from the history (pure): per destination its mTLS coverage, its verdict for
 * STRICT mTLS and the callers that block it, its callers with and without an identity; per
 * namespace the same rolled up. Everything is judged from the server side only (the history has
 * nothing else): a sidecar's `none` and ztunnel's `unknown` are plaintext (src/core/mesh.ts).
 */
import {
  destinationKey,
  type AuditHistory,
  type AuditReport,
  type Blocker,
  type CallerLabels,
  type HistoryEdge,
  type ReportCaller,
  type ReportDestination,
  type ReportNamespace,
  type Volume,
  type WorkloadFacts,
} from './types';

/** What shapes a report. */
export interface ReportOptions {
  /** The report's `generated_at`. */
  nowMs: number;
  /** Only destinations in these namespaces; unset: all the history has. */
  namespaces?: string[];
}

const VOLUME_FIELDS = ['requests', 'connections', 'denied', 'plaintext', 'mtls'] as const;

const NO_FACTS: WorkloadFacts = { services: [], waypoint: false, ambient: false };

/** The report of `history`. */
export function buildReport(history: AuditHistory, options: ReportOptions): AuditReport {
  const scope = options.namespaces === undefined ? undefined : new Set(options.namespaces);
  const byDestination = new Map<string, HistoryEdge[]>();
  for (const edge of history.edges) {
    if (scope !== undefined && !scope.has(edge.destination.destination_namespace)) continue;
    const key = destinationKey(edge.destination);
    const list = byDestination.get(key);
    if (list) list.push(edge);
    else byDestination.set(key, [edge]);
  }
  const destinations = [...byDestination.entries()]
    .map(([key, edges]) => destinationOf(edges, history.workloads.get(key) ?? NO_FACTS, history.stepMs))
    .sort(
      (a, b) =>
        a.destination_cluster.localeCompare(b.destination_cluster) ||
        a.destination_namespace.localeCompare(b.destination_namespace) ||
        a.destination_workload.localeCompare(b.destination_workload),
    );
  const withoutIdentity = new Set<string>();
  for (const d of destinations) for (const c of d.callers_without_identity) withoutIdentity.add(callerKey(c));
  const ready = destinations.filter((d) => d.strict_ready).length;
  return {
    generated_at: iso(options.nowMs),
    lookback: {
      from: iso(history.fromMs),
      to: iso(history.toMs),
      seconds: Math.round((history.toMs - history.fromMs) / 1000),
    },
    summary: {
      destinations: destinations.length,
      strict_ready: ready,
      blocked: destinations.length - ready,
      callers_without_identity: withoutIdentity.size,
    },
    destinations,
    namespaces: namespacesOf(destinations),
  };
}

/** True for a caller Istio names by a SPIFFE identity: one an ALLOW rule can name. */
export function hasIdentity(caller: Pick<CallerLabels, 'source_principal'>): boolean {
  return caller.source_principal !== '' && caller.source_principal !== 'unknown';
}

function destinationOf(
  edges: readonly HistoryEdge[],
  workload: WorkloadFacts,
  stepMs: number,
): ReportDestination {
  const first = edges[0] as HistoryEdge;
  const volume = sumVolumes(edges.map((e) => e.total));
  const callers = edges.map(callerOf).filter((c) => c.requests + c.connections + c.denied > 0);
  const blockers = edges.filter((e) => e.total.plaintext > 0).map((e) => blockerOf(e, stepMs));
  const layered = edges.every((e) => e.layers !== undefined);
  const layerShare = (layer: 'requests' | 'connections'): number | null =>
    layered
      ? share(
          sum(edges, (e) => e.layers?.[layer].mtls ?? 0),
          sum(edges, (e) => e.layers?.[layer].plaintext ?? 0),
        )
      : null;
  return {
    ...first.destination,
    ...volume,
    mtls_share: share(volume.mtls, volume.plaintext) ?? 1,
    mtls_share_requests: layerShare('requests'),
    mtls_share_connections: layerShare('connections'),
    worst_hour: worstHour(edges),
    strict_ready: blockers.length === 0,
    blocked_by: blockers.sort((a, b) => b.plaintext - a.plaintext || compareCallers(a, b)),
    callers: callers.filter((c) => c.identity).sort(busiestFirst),
    callers_without_identity: callers.filter((c) => !c.identity).sort(busiestFirst),
    workload,
  };
}

function callerOf(edge: HistoryEdge): ReportCaller {
  return {
    ...edge.caller,
    ...rounded(edge.total),
    identity: hasIdentity(edge.caller),
    first_seen: iso(edge.firstSeenMs),
    last_seen: iso(edge.lastSeenMs),
  };
}

/** A plaintext caller, seen from the first to the last hour it spoke plaintext. */
function blockerOf(edge: HistoryEdge, stepMs: number): Blocker {
  const hours = edge.hours.filter((h) => h.volume.plaintext > 0);
  const firstMs = hours[0]?.startMs ?? edge.firstSeenMs;
  const lastMs = hours.length > 0 ? (hours.at(-1)?.startMs ?? 0) + stepMs : edge.lastSeenMs;
  return {
    ...edge.caller,
    plaintext: round(edge.total.plaintext),
    first_seen: iso(firstMs),
    last_seen: iso(lastMs),
  };
}

/** The hour with the lowest mTLS share across the destination's edges; the earliest of equals. */
function worstHour(edges: readonly HistoryEdge[]): ReportDestination['worst_hour'] {
  const hours = new Map<number, { mtls: number; plaintext: number }>();
  for (const edge of edges) {
    for (const { startMs, volume } of edge.hours) {
      const h = hours.get(startMs) ?? { mtls: 0, plaintext: 0 };
      h.mtls += volume.mtls;
      h.plaintext += volume.plaintext;
      hours.set(startMs, h);
    }
  }
  let worst: { startMs: number; share: number } | undefined;
  for (const startMs of [...hours.keys()].sort((a, b) => a - b)) {
    const h = hours.get(startMs) as { mtls: number; plaintext: number };
    const s = share(h.mtls, h.plaintext);
    if (s !== null && (worst === undefined || s < worst.share)) worst = { startMs, share: s };
  }
  return worst === undefined ? null : { start: iso(worst.startMs), mtls_share: worst.share };
}

function namespacesOf(destinations: readonly ReportDestination[]): ReportNamespace[] {
  const groups = new Map<string, ReportDestination[]>();
  for (const d of destinations) {
    const key = `${d.destination_cluster}\u0000${d.destination_namespace}`;
    const list = groups.get(key);
    if (list) list.push(d);
    else groups.set(key, [d]);
  }
  return [...groups.values()].map((list) => {
    const first = list[0] as ReportDestination;
    const volume = sumVolumes(list);
    const blockers = new Map<string, Blocker>();
    for (const b of list.flatMap((d) => d.blocked_by)) {
      const key = callerKey(b);
      const prior = blockers.get(key);
      if (!prior) blockers.set(key, { ...b });
      else {
        prior.plaintext = round(prior.plaintext + b.plaintext);
        if (b.first_seen < prior.first_seen) prior.first_seen = b.first_seen;
        if (b.last_seen > prior.last_seen) prior.last_seen = b.last_seen;
      }
    }
    const callerNamespaces = new Map<
      string,
      { source_workload_namespace: string; requests: number; connections: number }
    >();
    for (const c of list.flatMap((d) => d.callers)) {
      const entry = callerNamespaces.get(c.source_workload_namespace) ?? {
        source_workload_namespace: c.source_workload_namespace,
        requests: 0,
        connections: 0,
      };
      entry.requests = round(entry.requests + c.requests);
      entry.connections = round(entry.connections + c.connections);
      callerNamespaces.set(c.source_workload_namespace, entry);
    }
    const ready = list.filter((d) => d.strict_ready).length;
    return {
      destination_cluster: first.destination_cluster,
      destination_namespace: first.destination_namespace,
      ...volume,
      destinations: list.length,
      strict_ready_destinations: ready,
      strict_ready: ready === list.length,
      mtls_share: share(volume.mtls, volume.plaintext) ?? 1,
      blocked_by: [...blockers.values()].sort((a, b) => b.plaintext - a.plaintext || compareCallers(a, b)),
      caller_namespaces: [...callerNamespaces.values()].sort(
        (a, b) =>
          b.requests + b.connections - (a.requests + a.connections) ||
          a.source_workload_namespace.localeCompare(b.source_workload_namespace),
      ),
    };
  });
}

/** mtls / (mtls + plaintext); null when neither. */
function share(mtls: number, plaintext: number): number | null {
  const total = mtls + plaintext;
  return total > 0 ? mtls / total : null;
}

function sumVolumes(volumes: readonly Volume[]): Volume {
  const out: Volume = { requests: 0, connections: 0, denied: 0, plaintext: 0, mtls: 0 };
  for (const v of volumes) for (const f of VOLUME_FIELDS) out[f] += v[f];
  return rounded(out);
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += of(item);
  return total;
}

/**
 * Counts come from hourly rates (`rate × 3600`), which Prometheus extrapolates to the hour's
 * edges: they are estimates, not always whole, and are kept to a thousandth.
 */
function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function rounded(v: Volume): Volume {
  return {
    requests: round(v.requests),
    connections: round(v.connections),
    denied: round(v.denied),
    plaintext: round(v.plaintext),
    mtls: round(v.mtls),
  };
}

function busiestFirst(a: ReportCaller, b: ReportCaller): number {
  return (
    b.requests + b.connections - (a.requests + a.connections) || b.denied - a.denied || compareCallers(a, b)
  );
}

function compareCallers(a: CallerLabels, b: CallerLabels): number {
  return callerKey(a).localeCompare(callerKey(b));
}

function callerKey(c: CallerLabels): string {
  return [c.source_cluster, c.source_workload_namespace, c.source_workload, c.source_principal].join(
    '\u0000',
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
