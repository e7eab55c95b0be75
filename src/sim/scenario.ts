/**
 * The validated scenario: what the simulator models. Produced by `parseScenario` from a YAML file
 * (docs/scenarios.md) or built in code (`syntheticScenario`). Times are offsets from the epoch in ms.
 */

/** Daily and weekly shape of a call's rate, plus its minute-scale jitter. */
export interface Pattern {
  /** 0..1: the rate swings by this share of the mean over a day (a cosine). */
  dailyAmplitude: number;
  /** UTC hour (0..24) at which the daily cycle peaks. */
  peakHour: number;
  /** Rates on Saturday and Sunday (UTC) are multiplied by this. */
  weekendFactor: number;
  /** 0..1: relative standard deviation of the rate from minute to minute. */
  noise: number;
}

/** Peer-authentication mode of a workload's sidecar: `strict` refuses plaintext callers. */
export type MtlsMode = 'permissive' | 'strict';

/** A Kubernetes workload (Deployment) and the Service in front of it. */
export interface Workload {
  /** `namespace/name`, how calls and incidents refer to it. */
  id: string;
  name: string;
  namespace: string;
  serviceAccount: string;
  /** Number of pods; each has its own counters. */
  replicas: number;
  /** Has an Istio sidecar. Without one it reports nothing and is `unknown` to its peers. */
  mesh: boolean;
  mtls: MtlsMode;
  /** `app` label, also the canonical service. */
  app: string;
  /** `version` label; undefined gives `unknown` (and canonical revision `latest`), as in Istio. */
  version: string | undefined;
  /** Kubernetes Service name, used in `destination_service`. */
  service: string;
}

/** Application protocol of a call: http and grpc count requests, tcp counts connections. */
export type Protocol = 'http' | 'grpc' | 'tcp';

/** Transport security of a call. */
export type Tls = 'mutual' | 'plaintext';

/** A response code and the share of the call's requests that get it. */
export interface CodeShare {
  code: number;
  share: number;
}

/** An edge: `from` calls `to` at a mean rate. */
export interface Call {
  from: string;
  to: string;
  /** Weekday mean rate: requests per second (http, grpc) or TCP connections per second. */
  rate: number;
  protocol: Protocol;
  /** Shares sum to 1; empty for tcp. */
  codes: CodeShare[];
  tls: Tls;
  pattern: Pattern;
}

/** A sidecar restart: that pod's counters start again from 0 at `atMs`. */
export interface Restart {
  workload: string;
  replica: number;
  atMs: number;
}

/** How a denial looks in Istio's metrics. */
export type DenialKind = 'rbac' | 'jwt' | 'ext_authz';

interface Timed {
  atMs: number;
  durationMs: number;
}

/** A caller gets `rate` denied requests per second against a destination. */
export interface DenialSpike extends Timed {
  kind: 'denial_spike';
  from: string;
  to: string;
  rate: number;
  denial: DenialKind;
  protocol: 'http' | 'grpc';
  tls: Tls;
}

/** Like a denial spike, but the rate grows linearly from `startRate` to `endRate` over the duration. */
export interface DenialRamp extends Timed {
  kind: 'denial_ramp';
  from: string;
  to: string;
  startRate: number;
  endRate: number;
  denial: DenialKind;
  protocol: 'http' | 'grpc';
  tls: Tls;
}

/** A caller that never called the destination starts calling it. */
export interface NewCaller extends Timed {
  kind: 'new_caller';
  call: Call;
}

/** A share of an existing call's traffic goes plaintext. */
export interface PlaintextFallback extends Timed {
  kind: 'plaintext_fallback';
  from: string;
  to: string;
  share: number;
}

/** Every call into a destination is multiplied by `factor` (0.1 is a drop, 5 a surge). */
export interface TrafficChange extends Timed {
  kind: 'traffic_change';
  to: string;
  factor: number;
}

/** A share of a destination's http/grpc responses become `code` (a 5xx). */
export interface ErrorBurst extends Timed {
  kind: 'error_burst';
  to: string;
  share: number;
  code: number;
}

/** A timed incident. */
export type Incident = DenialSpike | DenialRamp | NewCaller | PlaintextFallback | TrafficChange | ErrorBurst;

/** A whole validated scenario. */
export interface Scenario {
  name: string;
  description: string;
  seed: number;
  trustDomain: string;
  /** Istio cluster id, the `*_cluster` labels. */
  cluster: string;
  workloads: Workload[];
  calls: Call[];
  restarts: Restart[];
  incidents: Incident[];
}
