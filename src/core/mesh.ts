import type { Caller, Destination, Layer } from './types';

/** What a server-side rate counts. */
export type EdgeKind =
  'requests' | 'tcp_connections' | 'denied' | 'denied_connections' | 'server_errors' | 'service_workload';

/**
 * One server-side rate of one (caller, destination) edge, decoded from a
 * `sum by (...) (rate(...{reporter=~"destination|waypoint"}[w]))`:
 * - `requests`: HTTP and gRPC requests (`istio_requests_total`), split by connection security policy;
 * - `tcp_connections`: TCP connections opened (`istio_tcp_connections_opened_total`), split by policy
 *   and reporter, from sidecars' TCP listeners, ztunnel and waypoints;
 * - `denied`: requests answered with a denial code (401/403);
 * - `denied_connections`: connections closed with a denial flag (ztunnel's `DENY`), split by policy;
 * - `server_errors`: 5xx per destination (the caller is `NO_CALLER`);
 * - `service_workload`: not a rate but a fact: a workload a waypoint reaches behind a service,
 *   which names the destination of the requests a waypoint denied (see `attributeToWorkloads`).
 */
export interface EdgeSample {
  destination: Destination;
  caller: Caller;
  /** `connection_security_policy`: `mutual_tls`, `none`, `unknown`; empty where the query does not split by it. */
  policy: string;
  kind: EdgeKind;
  /** The `reporter` of `tcp_connections` samples (`destination` or `waypoint`); empty for the other kinds. */
  reporter: string;
  /** Per second. */
  rate: number;
  /**
   * `<namespace>/<name>` of the destination service, where the destination workload is not
   * known (a request a waypoint denied never reached a workload; its destination workload is
   * empty here) and on `service_workload` samples; undefined elsewhere.
   */
  service?: string;
}

/** Everything one poll (or one step of history) saw of the mesh. */
export interface MeshSnapshot {
  timeMs: number;
  samples: readonly EdgeSample[];
}

/** The caller every per-destination sum is attributed to. */
export const NO_CALLER: Caller = Object.freeze({
  principal: 'unknown',
  namespace: 'unknown',
  workload: 'unknown',
  cluster: '',
});

/** The layer a kind of sample comes from. */
export function layerOf(kind: EdgeKind): Layer {
  return kind === 'tcp_connections' || kind === 'denied_connections' ? 'tcp' : 'http';
}

/**
 * Whether a server-side `connection_security_policy` means the traffic arrived without mutual TLS.
 * - `none`: a sidecar's or a waypoint's server side received plaintext (no peer and local SPIFFE
 *   identity on the connection).
 * - `unknown`: ztunnel's inbound passthrough (plaintext into an ambient workload); ztunnel never
 *   writes `none`, so this is the only way plaintext into an ambient workload shows. A current
 *   sidecar never writes `unknown` on its server side (istio_stats sets the policy from the peer
 *   and local principals before every report); only the legacy Wasm stats plugin, or a Telemetry
 *   override whose expression fails, does, and then it means "mTLS not proven", which for a
 *   zero-trust mesh is not mTLS either.
 * - `mutual_tls`: mTLS, on every proxy.
 * An empty policy (the label is absent) says nothing either way; only server-side series are ever
 * judged, because every client side says `unknown`.
 */
export function isPlaintextPolicy(policy: string): boolean {
  return policy === 'none' || policy === 'unknown';
}
