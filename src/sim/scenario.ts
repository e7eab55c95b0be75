/**
 * The validated scenario: what the simulator models. Produced by `parseScenario` from a YAML file
 * (docs/scenarios.md). Times are offsets from the epoch in ms.
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

/** Peer-authentication mode of a workload's data plane: `strict` refuses plaintext callers. */
export type MtlsMode = 'permissive' | 'strict';

/**
 * How a workload is in the mesh: an Envoy `sidecar` in each pod, `ambient` (its node's ztunnel
 * carries its traffic, and an optional waypoint its L7), or `none` (not in the mesh at all).
 */
export type Dataplane = 'sidecar' | 'ambient' | 'none';

/** What Istio knows of a pod's owner: enough for the workload, app and principal labels. */
export interface Peer {
  name: string;
  namespace: string;
  /** Istio cluster id, the `*_cluster` labels. */
  cluster: string;
  serviceAccount: string;
  /** `app` label, also the canonical service. */
  app: string;
  /** `version` label, also the canonical revision; undefined when the pods have none. */
  version: string | undefined;
}

/** A Kubernetes workload (Deployment) and the Service in front of it. */
export interface Workload extends Peer {
  /**
   * How calls, incidents and messages name it: `namespace/name`, or `cluster/namespace/name` when
   * the same namespace and name are in two clusters.
   */
  id: string;
  /** `cluster/namespace/name`, unique in the scenario. */
  key: string;
  /** Number of pods; each has its own counters. */
  replicas: number;
  dataplane: Dataplane;
  mtls: MtlsMode;
  /** Kubernetes Service name, used in `destination_service`. */
  service: string;
  /** The `key` of the waypoint its L7 traffic goes through (ambient workloads only). */
  waypoint: string | undefined;
}

/** An ambient waypoint: an Envoy Deployment that takes the L7 traffic of the workloads that use it. */
export interface Waypoint extends Peer {
  /** `namespace/name`, or `cluster/namespace/name` when that is in two clusters. */
  id: string;
  /** `cluster/namespace/name`. */
  key: string;
  replicas: number;
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
  /** L4 connections per request of an http/grpc call (what ztunnel counts); 1 for tcp. */
  connectionsPerRequest: number;
}

/**
 * A proxy restart: that pod's counters start again from 0 at `atMs`. A sidecar or waypoint pod is
 * named by its workload (or waypoint) id and replica; a ztunnel by its cluster and node index.
 */
export type Restart =
  | { proxy: 'sidecar'; workload: string; replica: number; atMs: number }
  | { proxy: 'waypoint'; waypoint: string; replica: number; atMs: number }
  | { proxy: 'ztunnel'; cluster: string; node: number; atMs: number };

/**
 * How a denial looks in Istio's metrics: `rbac` 403, `jwt` 401, `ext_authz` 403 with flag UAEX
 * (HTTP, by a sidecar or a waypoint), `l4` a connection refused by an L4 AuthorizationPolicy.
 */
export type DenialKind = 'rbac' | 'jwt' | 'ext_authz' | 'l4';

interface Timed {
  atMs: number;
  durationMs: number;
}

interface Denial extends Timed {
  from: string;
  to: string;
  denial: DenialKind;
  /** http or grpc for HTTP denials, tcp for `l4`. */
  protocol: Protocol;
  tls: Tls;
  /** L4 connections per denied request (HTTP denials behind a waypoint); 1 for `l4`. */
  connectionsPerRequest: number;
}

/** A caller gets `rate` denied requests (or, for `l4`, connections) per second against a destination. */
export interface DenialSpike extends Denial {
  kind: 'denial_spike';
  rate: number;
}

/** Like a denial spike, but the rate grows linearly from `startRate` to `endRate` over the duration. */
export interface DenialRamp extends Denial {
  kind: 'denial_ramp';
  startRate: number;
  endRate: number;
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

/**
 * A workload with the namespace, name and service account of an existing one (so the same SPIFFE
 * principal) runs in another cluster and makes `call`: an impersonation, or an unplanned rollout.
 */
export interface TwinWorkload extends Timed {
  kind: 'twin_workload';
  /** The twin itself; its `id` is always `cluster/namespace/name`. */
  twin: Workload;
  /** The id of the workload it copies. */
  of: string;
  call: Call;
}

/** A timed incident. */
export type Incident =
  DenialSpike | DenialRamp | NewCaller | PlaintextFallback | TrafficChange | ErrorBurst | TwinWorkload;

/** A whole validated scenario. */
export interface Scenario {
  name: string;
  description: string;
  seed: number;
  trustDomain: string;
  /** Default Istio cluster id of workloads and waypoints (`Kubernetes`, as in Istio). */
  cluster: string;
  /** Every cluster in the scenario (the default one first): each has `nodes` nodes and ztunnels. */
  clusters: string[];
  /** Nodes per cluster; each runs one ztunnel for the ambient pods placed on it. */
  nodes: number;
  workloads: Workload[];
  waypoints: Waypoint[];
  calls: Call[];
  restarts: Restart[];
  incidents: Incident[];
}
