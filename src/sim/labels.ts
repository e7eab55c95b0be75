/**
 * Istio's standard-metric labels as Envoy writes them (sidecars and waypoints), following the stats
 * plugin: who reports, what each side knows of its peer, and how TLS shows in the principals and the
 * security policy. ztunnel's labels are in ztunnel-labels.ts.
 */
import type { Peer, Protocol, Tls, Workload } from './scenario';

/** `source` (client sidecar), `destination` (server sidecar) or `waypoint` (an ambient waypoint). */
export type EnvoyReporter = 'source' | 'destination' | 'waypoint';

/** Label names in the order the simulator writes them; `namespace` and `pod` are the target's. */
export const LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_canonical_service',
  'source_canonical_revision',
  'source_version',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
  'namespace',
  'pod',
] as const;

/** One label name. */
export type LabelName = (typeof LABEL_NAMES)[number];

/** What one Envoy series says about a request stream. */
export interface SeriesLabels {
  reporter: EnvoyReporter;
  from: Workload;
  to: Workload;
  protocol: Protocol;
  tls: Tls;
  /** HTTP status; undefined for tcp. */
  code: number | undefined;
  responseFlags: string;
  /**
   * A waypoint's request that never reached a backend (its policy denied it): the waypoint names
   * the destination from the endpoint it picked, so without one every destination workload label
   * is unknown and only the destination service is known (istio_stats, ServerGateway reporter).
   */
  noEndpoint?: boolean;
  trustDomain: string;
  /** The reporting pod and its namespace. */
  pod: string;
  podNamespace: string;
}

// Envoy maps the HTTP status of a gRPC local reply to a gRPC status (grpc/http_utilities).
const GRPC_STATUS: Record<number, string> = {
  200: '0',
  400: '13',
  401: '16',
  403: '7',
  404: '12',
  429: '14',
};

/** The gRPC status Istio reports next to an HTTP status on a gRPC call. */
export function grpcStatusFor(code: number): string {
  if (GRPC_STATUS[code] !== undefined) return GRPC_STATUS[code];
  if (code === 504) return '4';
  if (code >= 500) return code === 501 ? '12' : '14';
  return '2';
}

/** A peer's SPIFFE id. */
export const principal = (trustDomain: string, w: Peer) =>
  `spiffe://${trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;

/**
 * A peer's labels as an Envoy sees them. From a sidecar's metadata exchange the version is the
 * pod's `version` label (`unknown` without one); from Istio's workload discovery, which is how a
 * waypoint and a sidecar learn ambient peers, it is the canonical revision (`latest` without one).
 */
function peer(w: Workload, known: boolean, discovered: boolean) {
  return known
    ? {
        workload: w.name,
        namespace: w.namespace,
        app: w.app,
        revision: w.version ?? 'latest',
        version: w.version ?? (discovered ? 'latest' : 'unknown'),
        cluster: w.cluster,
      }
    : {
        workload: 'unknown',
        namespace: 'unknown',
        app: 'unknown',
        revision: 'latest',
        version: 'unknown',
        cluster: 'unknown',
      };
}

/**
 * Whether a sidecar learns its peer's workload: from the peer sidecar's metadata-exchange header
 * (http, grpc), from the mTLS handshake (tcp), or, for an ambient peer, only over HBONE (mTLS),
 * where Istio looks the peer up by address; ztunnel adds no metadata header to plaintext.
 */
function sidecarKnows(peerDataplane: Workload['dataplane'], protocol: Protocol, mutual: boolean) {
  if (peerDataplane === 'sidecar') return protocol !== 'tcp' || mutual;
  return peerDataplane === 'ambient' && mutual;
}

/** The full label set of one Envoy series, in `LABEL_NAMES` order. */
export function istioLabels(s: SeriesLabels): Record<LabelName, string> {
  const mutual = s.tls === 'mutual';
  // A waypoint is only reached over HBONE, which carries the client's identity and metadata, and
  // it reports the backend it picked as the destination.
  const fromKnown = s.reporter !== 'destination' || sidecarKnows(s.from.dataplane, s.protocol, mutual);
  const toKnown = s.reporter !== 'source' || sidecarKnows(s.to.dataplane, s.protocol, mutual);
  const waypoint = s.reporter === 'waypoint';
  const src = peer(s.from, fromKnown, waypoint || s.from.dataplane === 'ambient');
  const dst = peer(s.to, toKnown && !s.noEndpoint, waypoint || s.to.dataplane === 'ambient');
  const isGrpc = s.protocol === 'grpc';
  return {
    reporter: s.reporter,
    source_workload: src.workload,
    source_workload_namespace: src.namespace,
    source_principal: mutual ? principal(s.trustDomain, s.from) : 'unknown',
    source_app: src.app,
    source_canonical_service: src.app,
    source_canonical_revision: src.revision,
    source_version: src.version,
    source_cluster: src.cluster,
    destination_workload: dst.workload,
    destination_workload_namespace: dst.namespace,
    destination_principal: mutual && !s.noEndpoint ? principal(s.trustDomain, s.to) : 'unknown',
    destination_app: dst.app,
    destination_canonical_service: dst.app,
    destination_canonical_revision: dst.revision,
    destination_version: dst.version,
    destination_service: `${s.to.service}.${s.to.namespace}.svc.cluster.local`,
    destination_service_name: s.to.service,
    destination_service_namespace: s.to.namespace,
    destination_cluster: dst.cluster,
    request_protocol: s.protocol,
    response_code: s.code === undefined ? '' : String(s.code),
    grpc_response_status: isGrpc && s.code !== undefined ? grpcStatusFor(s.code) : '',
    response_flags: s.responseFlags,
    // Only the server side knows how the connection was secured; the client side always says unknown.
    connection_security_policy: s.reporter === 'source' ? 'unknown' : mutual ? 'mutual_tls' : 'none',
    namespace: s.podNamespace,
    pod: s.pod,
  };
}

/** `{name="value",...}` of `names` in their order, leaving out those in `omit`. */
export function renderLabelSet<N extends string>(
  names: readonly N[],
  labels: Record<N, string>,
  omit: readonly N[] = [],
): string {
  const parts: string[] = [];
  for (const name of names) {
    if (!omit.includes(name)) parts.push(`${name}="${escapeValue(labels[name])}"`);
  }
  return `{${parts.join(',')}}`;
}

const escapeValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** Renders an Envoy label set, leaving out names in `omit` (tcp series have no response code). */
export function renderLabels(labels: Record<LabelName, string>, omit: readonly LabelName[] = []): string {
  return renderLabelSet(LABEL_NAMES, labels, omit);
}
