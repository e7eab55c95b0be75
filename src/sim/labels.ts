/**
 * Istio's standard-metric labels for one side of a request, following the stats plugin: who reports,
 * what each side knows of its peer, and how TLS shows in the principals and the security policy.
 */
import type { Protocol, Tls, Workload } from './scenario';

/** `source` (client sidecar) or `destination` (server sidecar). */
export type Reporter = 'source' | 'destination';

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

/** What one series says about a request stream. */
export interface SeriesLabels {
  reporter: Reporter;
  from: Workload;
  to: Workload;
  protocol: Protocol;
  tls: Tls;
  /** HTTP status; undefined for tcp. */
  code: number | undefined;
  responseFlags: string;
  trustDomain: string;
  cluster: string;
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

const principal = (trustDomain: string, w: Workload) =>
  `spiffe://${trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;

function peer(w: Workload, known: boolean, cluster: string) {
  return known
    ? {
        workload: w.name,
        namespace: w.namespace,
        app: w.app,
        revision: w.version ?? 'latest',
        version: w.version ?? 'unknown',
        cluster,
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

/** The full label set of one series, in `LABEL_NAMES` order. */
export function istioLabels(s: SeriesLabels): Record<LabelName, string> {
  const mutual = s.tls === 'mutual';
  // A server learns its client's workload from the metadata-exchange header (http, grpc), which
  // needs a client sidecar, or from the mTLS handshake (tcp); a client learns its server's the same way.
  const fromKnown = s.from.mesh && (s.reporter === 'source' || s.protocol !== 'tcp' || mutual);
  const toKnown = s.to.mesh && (s.reporter === 'destination' || s.protocol !== 'tcp' || mutual);
  const src = peer(s.from, fromKnown, s.cluster);
  const dst = peer(s.to, toKnown, s.cluster);
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
    destination_principal: mutual ? principal(s.trustDomain, s.to) : 'unknown',
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

const escapeValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** Renders `{name="value",...}`, leaving out names in `omit` (tcp series have no response code). */
export function renderLabels(labels: Record<LabelName, string>, omit: readonly LabelName[] = []): string {
  const parts: string[] = [];
  for (const name of LABEL_NAMES) {
    if (!omit.includes(name)) parts.push(`${name}="${escapeValue(labels[name])}"`);
  }
  return `{${parts.join(',')}}`;
}
