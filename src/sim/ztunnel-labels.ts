/**
 * ztunnel's labels on `istio_tcp_*`, in the order ztunnel writes them: its `CommonTrafficLabels`
 * (istio/ztunnel src/proxy/metrics.rs), then the locality labels, then the scrape target's
 * `namespace` and `pod`. Every value ztunnel does not know is `unknown`, never empty.
 */
import { principal, renderLabelSet } from './labels';
import type { Peer } from './scenario';

/** `source` (the client's ztunnel, outbound) or `destination` (the server's ztunnel, inbound). */
export type ZtunnelReporter = 'source' | 'destination';

/** Label names in ztunnel's order. */
export const ZTUNNEL_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_service',
  'destination_service_namespace',
  'destination_service_name',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
  'source_region',
  'source_zone',
  'destination_region',
  'destination_zone',
  'namespace',
  'pod',
] as const;

/** One ztunnel label name. */
export type ZtunnelLabelName = (typeof ZTUNNEL_LABEL_NAMES)[number];

/** What one ztunnel series says about a connection stream. */
export interface ZtunnelSeriesLabels {
  reporter: ZtunnelReporter;
  /** The pod at the other end of the TCP connection (a waypoint after one), found by its address. */
  source: Peer;
  /** The pod the connection goes to (the waypoint, on the client side of a waypoint call). */
  destination: Peer;
  /** The Service the client addressed: `destination_service*`. */
  service: { name: string; namespace: string };
  /** HBONE (mTLS): the principals are known and the policy is mutual_tls; else plaintext, unknown. */
  mutual: boolean;
  responseFlags: string;
  trustDomain: string;
  /** The ztunnel pod that reports. */
  pod: string;
}

/**
 * ztunnel fills the workload labels from the workload's xDS entry: the canonical service is also
 * the app, and the canonical revision (`latest` without a version label) is also the version.
 */
function workloadLabels(w: Peer) {
  const revision = w.version ?? 'latest';
  return { workload: w.name, canonical: w.app, revision, namespace: w.namespace, cluster: w.cluster };
}

/** The full label set of one ztunnel series, in `ZTUNNEL_LABEL_NAMES` order. */
export function ztunnelLabels(s: ZtunnelSeriesLabels): Record<ZtunnelLabelName, string> {
  const src = workloadLabels(s.source);
  const dst = workloadLabels(s.destination);
  return {
    reporter: s.reporter,
    source_workload: src.workload,
    source_canonical_service: src.canonical,
    source_canonical_revision: src.revision,
    source_workload_namespace: src.namespace,
    // Only the TLS handshake sets the source principal: plaintext gives unknown even for a known pod.
    source_principal: s.mutual ? principal(s.trustDomain, s.source) : 'unknown',
    source_app: src.canonical,
    source_version: src.revision,
    source_cluster: src.cluster,
    destination_service: `${s.service.name}.${s.service.namespace}.svc.cluster.local`,
    destination_service_namespace: s.service.namespace,
    destination_service_name: s.service.name,
    destination_workload: dst.workload,
    destination_canonical_service: dst.canonical,
    destination_canonical_revision: dst.revision,
    destination_workload_namespace: dst.namespace,
    // From xDS, not the handshake: the destination's identity even in plaintext.
    destination_principal: principal(s.trustDomain, s.destination),
    destination_app: dst.canonical,
    destination_version: dst.revision,
    destination_cluster: dst.cluster,
    request_protocol: 'tcp',
    response_flags: s.responseFlags,
    // ztunnel has no `none`: plaintext (passthrough) is `unknown`.
    connection_security_policy: s.mutual ? 'mutual_tls' : 'unknown',
    // The simulator gives pods no topology labels, so ztunnel's locality lookups find nothing.
    source_region: 'unknown',
    source_zone: 'unknown',
    destination_region: 'unknown',
    destination_zone: 'unknown',
    namespace: 'istio-system',
    pod: s.pod,
  };
}

/** Renders a ztunnel label set. */
export function renderZtunnelLabels(labels: Record<ZtunnelLabelName, string>): string {
  return renderLabelSet(ZTUNNEL_LABEL_NAMES, labels);
}
