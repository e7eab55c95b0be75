/**
 * The audit's data, from the traffic history to the report: the edges seen over the lookback
 * (`AuditHistory`, what `collect.ts` reads from Prometheus), the report per destination and
 * namespace (`AuditReport`, what `report.ts` derives and `--json` prints), and the dry-run of
 * policies over the same edges (`DryRun`). Field names in snake_case are the JSON contract that
 * tools outside the project read (`schemas/audit.schema.json`); do not rename them.
 */

/** A caller as the server side's telemetry names it, with the labels the JSON carries. */
export interface CallerLabels {
  /** `source_principal` as Istio writes it (`spiffe://cluster.local/ns/NS/sa/SA`), `unknown` without mTLS. */
  source_principal: string;
  source_workload_namespace: string;
  source_workload: string;
  /** `source_cluster`; empty when the telemetry has no cluster label. */
  source_cluster: string;
}

/** A destination workload as the server side's telemetry names it. */
export interface DestinationLabels {
  /** `destination_cluster`; empty when the telemetry has no cluster label. */
  destination_cluster: string;
  destination_namespace: string;
  destination_workload: string;
}

/** Counts over the lookback (or one hour of it) of one edge or of a sum of edges. */
export interface Volume {
  /** HTTP and gRPC requests (`istio_requests_total`, server side). */
  requests: number;
  /** TCP connections opened (`istio_tcp_connections_opened_total`, server side, never twice: see `src/signals/mesh.ts`). */
  connections: number;
  /** Requests answered 401/403 plus connections closed with ztunnel's `DENY`. */
  denied: number;
  /** Requests and connections that arrived without mTLS (`connection_security_policy` `none` or `unknown`). */
  plaintext: number;
  /** Requests and connections that arrived over mTLS (`mutual_tls`). */
  mtls: number;
}

/** What the telemetry says about a destination workload's pods, for choosing a policy's target. */
export interface WorkloadFacts {
  /** `destination_app` (the pods' `app` label) where the telemetry carries one that is not `unknown`. */
  app?: string;
  /** `destination_version` (the pods' `version` label), likewise. */
  version?: string;
  /** `destination_canonical_service`, likewise. */
  canonical_service?: string;
  /** The services (`namespace/name`) whose requests reached the workload. */
  services: string[];
  /** True when a waypoint reported its requests (`reporter="waypoint"`): ambient mode with a waypoint. */
  waypoint: boolean;
  /** True when ztunnel reported its connections and no sidecar did: ambient mode. */
  ambient: boolean;
  /**
   * With a waypoint: the principals (`spiffe://...`) of the waypoints whose own connections the
   * workload's ztunnel reported (`reporter="destination"`, the waypoint as source). ztunnel sees
   * the waypoint's identity, not the caller's, so a namespace-wide deny-all must let these through
   * (`policies.ts`). Absent when unknown.
   */
  waypoint_principals?: string[];
}

/** One (caller, destination) edge over the lookback: its volume, hour by hour. */
export interface HistoryEdge {
  destination: DestinationLabels;
  caller: CallerLabels;
  /** Sum over the lookback. */
  total: Volume;
  /** The hour starts (ms) at which the edge had any traffic, with that hour's volume, oldest first. */
  hours: Array<{ startMs: number; volume: Volume }>;
  /** Start of the first and end of the last hour with traffic (ms). */
  firstSeenMs: number;
  lastSeenMs: number;
  /**
   * `total`'s mTLS and plaintext split by layer (requests, connections), for the per-layer shares;
   * `collect.ts` always sets it, a history without it has no per-layer shares.
   */
  layers?: { requests: LayerSecurity; connections: LayerSecurity };
}

/** Traffic of one layer over mTLS and without it. */
export interface LayerSecurity {
  mtls: number;
  plaintext: number;
}

/** What `collect.ts` read: every edge of the lookback and what is known of each destination. */
export interface AuditHistory {
  fromMs: number;
  toMs: number;
  /** Step of the history read (1 h): each `hours` entry covers one step. */
  stepMs: number;
  edges: HistoryEdge[];
  /** Keyed by `destinationKey`. */
  workloads: Map<string, WorkloadFacts>;
}

/** The key of a destination in maps: cluster, namespace and workload, NUL-separated. */
export function destinationKey(d: DestinationLabels): string {
  return `${d.destination_cluster}\u0000${d.destination_namespace}\u0000${d.destination_workload}`;
}

/** A caller of a destination in the report. */
export interface ReportCaller extends CallerLabels, Volume {
  /** False for callers without a SPIFFE identity (plaintext, or `unknown`): they cannot be allowed by principal. */
  identity: boolean;
  first_seen: string;
  last_seen: string;
}

/** A plaintext caller that blocks STRICT mTLS at a destination. */
export interface Blocker extends CallerLabels {
  /** Plaintext requests and connections over the lookback. */
  plaintext: number;
  first_seen: string;
  last_seen: string;
}

/** One destination workload in the report. */
export interface ReportDestination extends DestinationLabels, Volume {
  /** Share of its requests and connections over mTLS, 0..1; 1 when it had no traffic judged either way. */
  mtls_share: number;
  /** The same for requests alone and connections alone; null where there were none. */
  mtls_share_requests: number | null;
  mtls_share_connections: number | null;
  /** The hour with the lowest mTLS share (the earliest of equals); null without traffic. */
  worst_hour: { start: string; mtls_share: number } | null;
  /** No plaintext caller over the lookback. */
  strict_ready: boolean;
  blocked_by: Blocker[];
  /** Callers with an identity, busiest first. */
  callers: ReportCaller[];
  /** Callers without an identity, busiest first. */
  callers_without_identity: ReportCaller[];
  workload: WorkloadFacts;
}

/** One namespace's destinations rolled up. */
export interface ReportNamespace extends Volume {
  destination_cluster: string;
  destination_namespace: string;
  destinations: number;
  strict_ready_destinations: number;
  /** Every destination in it is ready for STRICT. */
  strict_ready: boolean;
  mtls_share: number;
  /** The distinct plaintext callers into it. */
  blocked_by: Blocker[];
  /** The namespaces its identified callers come from, with their volume. */
  caller_namespaces: Array<{ source_workload_namespace: string; requests: number; connections: number }>;
}

/** One edge in a dry-run's lists. */
export interface DryRunEdge extends DestinationLabels, CallerLabels {
  /** Requests and connections the change concerns (succeeded ones for `would_deny`, denied ones for `would_allow`). */
  requests: number;
  connections: number;
  /** The policy (`namespace/name`, kind) that decides it, and why, in words. */
  decided_by: string;
  reason: string;
}

/** The dry-run of a set of policies over the lookback's edges. */
export interface DryRun {
  /** Edges that succeeded and would be denied: what the change would break. */
  would_deny: DryRunEdge[];
  /** Edges that were denied and would be allowed. */
  would_allow: DryRunEdge[];
  /** Edges whose verdict depends on what metrics cannot tell (paths, methods, headers, ...). */
  unjudged: DryRunEdge[];
  /** The policy files read, and the objects that were not AuthorizationPolicy or PeerAuthentication (ignored). */
  policies: Array<{ kind: string; namespace: string; name: string; file: string }>;
  ignored: Array<{ kind: string; name: string; file: string }>;
}

/** The whole report, as `--json` prints it. */
export interface AuditReport {
  generated_at: string;
  lookback: { from: string; to: string; seconds: number };
  summary: {
    destinations: number;
    strict_ready: number;
    blocked: number;
    callers_without_identity: number;
  };
  destinations: ReportDestination[];
  namespaces: ReportNamespace[];
  dry_run?: DryRun;
}
