/** Data types of the pure core: signals in, findings out. No I/O depends on these. */

/** A destination workload, the unit every detector reports on. */
export interface Destination {
  namespace: string;
  workload: string;
}

/** A caller as Istio's server-side telemetry names it. */
export interface Caller {
  /** SPIFFE identity, or `unknown` when the connection was not mTLS. */
  principal: string;
  namespace: string;
  workload: string;
}

/** Names of the detectors, as they appear in the `detector` label. */
export type DetectorName = 'unauthorized' | 'new_caller' | 'plaintext' | 'traffic' | 'errors';

/** A caller's part in a finding. */
export interface CallerContribution {
  caller: Caller;
  /** Requests (or TCP connections) per second. */
  rate: number;
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
  /** Highest contributing callers first. */
  topCallers: CallerContribution[];
}

/** An open anomaly with its explanation, as served by /api/v1/findings. */
export interface Finding {
  /** Stable for the life of the finding: `<detector>/<namespace>/<workload>`. */
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
  topCallers: CallerContribution[];
  /** Unix milliseconds. */
  firstSeenMs: number;
  lastSeenMs: number;
  /** True when the last poll failed and this is what was known before it. */
  stale: boolean;
}

/** A label of an Istio metric that a detector cannot work without. */
export interface RequiredLabel {
  metric: string;
  label: string;
  /**
   * When the metric has no series at all: false means that is itself a problem (no request
   * telemetry reaches Prometheus); true means it is normal (a mesh without TCP traffic).
   */
  metricOptional: boolean;
}
