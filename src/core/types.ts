/** Data types of the pure core: signals in, findings out. No I/O depends on these. */

/**
 * A destination workload, the unit every detector reports on. The same namespace and name in two
 * clusters are two workloads: the cluster is part of its identity wherever the telemetry has it.
 */
export interface Destination {
  /** `destination_cluster` as Istio wrote it (`Kubernetes` by default); empty when the telemetry has no cluster label. */
  cluster: string;
  namespace: string;
  workload: string;
}

/** A caller as Istio's server-side telemetry names it. */
export interface Caller {
  /** SPIFFE identity, or `unknown` when the connection was not mTLS. */
  principal: string;
  namespace: string;
  workload: string;
  /** `source_cluster`: `unknown` when the server could not tell, empty when the telemetry has no cluster label. */
  cluster: string;
}

/**
 * Which family of Istio metrics a signal came from: `http` is `istio_requests_total` (HTTP and gRPC
 * requests, from sidecars and waypoints), `tcp` is `istio_tcp_*` (connections, from sidecars'
 * TCP listeners, ztunnel and waypoints). An ambient mesh without waypoints has only `tcp`.
 */
export type Layer = 'http' | 'tcp';

/**
 * Which part of a baseline-backed score fired: `level` (the value is outside the seasonal band),
 * `shape` (the recent course of the series is unlike any it has had), `new_range` (the value is
 * beyond every value the series has had).
 */
export type AnomalyPart = 'level' | 'shape' | 'new_range';

/** Names of the detectors, as they appear in the `detector` label. */
export type DetectorName = 'unauthorized' | 'new_caller' | 'plaintext' | 'traffic' | 'errors';

/** A caller's part in a finding. */
export interface CallerContribution {
  caller: Caller;
  /** Requests (layer http) or TCP connections (layer tcp) per second. */
  rate: number;
  layer: Layer;
  /** True when this caller was not seen doing this before (a caller newly being denied). */
  isNew?: boolean;
}

/** A detector's current judgement of one destination. */
export interface Assessment {
  detector: DetectorName;
  destination: Destination;
  /** Name of the signal in the `signal` label (`plaintext_requests_per_second`, ...). */
  signal: string;
  observed: number;
  expected: number;
  lower: number;
  upper: number;
  /** 0 = normal; compared with the detector's threshold. */
  score: number;
  /** The layers the observed value came from (empty when it is 0), in the order http, tcp. */
  layers: Layer[];
  /** The part of a baseline-backed score that is largest now; undefined for the counting detectors. */
  part?: AnomalyPart;
  /** Highest contributing callers first. */
  topCallers: CallerContribution[];
}

/** An open anomaly with its explanation, as served by /api/v1/findings. */
export interface Finding {
  /** Stable for the life of the finding: `<detector>/<cluster>/<namespace>/<workload>`, without the cluster where the telemetry has none. */
  id: string;
  detector: DetectorName;
  destination: Destination;
  signal: string;
  observed: number;
  expected: number;
  lower: number;
  upper: number;
  score: number;
  threshold: number;
  layers: Layer[];
  /** Which part of the score fired (baseline-backed detectors only). */
  part?: AnomalyPart;
  topCallers: CallerContribution[];
  /** Unix milliseconds. */
  firstSeenMs: number;
  lastSeenMs: number;
  /** True when the last poll failed and this is what was known before it. */
  stale: boolean;
}

/** A label of an Istio metric that a detector cannot work without on one layer. */
export interface RequiredLabel {
  metric: string;
  label: string;
  /** The layer the metric belongs to: a mesh without that layer at all does not need the label. */
  layer: Layer;
}
