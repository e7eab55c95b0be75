import type { EdgeKind, EdgeSample, MeshSnapshot } from '../core/mesh';
import { NO_CALLER } from '../core/mesh';
import { matchAny } from './promql';
import { formatRange, serverSide } from './selectors';
import type { InstantSample, RangeSeries } from './types';

const DESTINATION = 'destination_cluster, destination_workload_namespace, destination_workload';
const EDGE = `${DESTINATION}, source_cluster, source_workload_namespace, source_workload, source_principal`;
const SERVICE = 'destination_service_namespace, destination_service_name';

/** What shapes the mesh query. */
export interface MeshQueryOptions {
  serverReporters: readonly string[];
  rateWindowMs: number;
  /** Response codes that count as denied (401 and 403 by default). */
  denialCodes: readonly string[];
  /** `response_flags` of TCP connections that count as denied (ztunnel's `DENY` by default). */
  denialFlags: readonly string[];
}

/**
 * The one query per poll (and per step of history): server-side rates per edge, aggregated in
 * Prometheus, with `label_replace` tagging each part so that one round trip serves all. Only
 * server-side reporters are selected (sidecars' and ztunnel's `destination`, waypoints'
 * `waypoint`), because every in-mesh request is also counted by the client side, whose
 * `connection_security_policy` is always `unknown`. The parts:
 * - requests per edge and connection security policy (`istio_requests_total`: sidecars and
 *   waypoints; each request is reported by exactly one server side, its sidecar or its waypoint);
 * - TCP connections opened per edge, policy and reporter (`istio_tcp_connections_opened_total`:
 *   sidecars' TCP listeners, ztunnel, waypoints); the reporter tells a waypoint's view of an edge
 *   from the destination ztunnel's view of the waypoint's own connection, which must not be added;
 * - requests denied by status code per edge (401/403), with the destination service: a waypoint
 *   names the destination workload from the backend it picked, so a request its policy denied
 *   has none (`destination_workload="unknown"`), only the service;
 * - where waypoints are server side, the workloads each waypoint reaches behind each service,
 *   which tell whose service those denials were for;
 * - connections denied at L4 per edge and policy: ztunnel counts a connection an
 *   AuthorizationPolicy refuses as opened (flags `-`) and then closed with `response_flags="DENY"`,
 *   so the denial is read from the closed counter;
 * - 5xx per destination.
 * Clusters are part of every edge: the same namespace and workload in two clusters are two.
 */
export function meshQuery(options: MeshQueryOptions): string {
  const server = serverSide(options.serverReporters);
  const range = formatRange(options.rateWindowMs);
  const part = (kind: EdgeKind, by: string, metric: string, extra = ''): string =>
    `label_replace(sum by (${by}) (rate(${metric}{${server}${extra}}[${range}])), "meshwatch_kind", "${kind}", "", "")`;
  return [
    part('requests', `${EDGE}, connection_security_policy`, 'istio_requests_total'),
    part(
      'tcp_connections',
      `${EDGE}, connection_security_policy, reporter`,
      'istio_tcp_connections_opened_total',
    ),
    part(
      'denied',
      `${EDGE}, ${SERVICE}`,
      'istio_requests_total',
      `,${matchAny('response_code', options.denialCodes)}`,
    ),
    part(
      'denied_connections',
      `${EDGE}, connection_security_policy`,
      'istio_tcp_connections_closed_total',
      `,${matchAny('response_flags', options.denialFlags)}`,
    ),
    part('server_errors', DESTINATION, 'istio_requests_total', ',response_code=~"5.."'),
    ...(options.serverReporters.includes('waypoint')
      ? [
          `label_replace(group by (${DESTINATION}, ${SERVICE}) (istio_requests_total{reporter="waypoint",destination_workload!="unknown"}), "meshwatch_kind", "service_workload", "", "")`,
        ]
      : []),
  ].join(' or ');
}

const KINDS = new Set<string>([
  'requests',
  'tcp_connections',
  'denied',
  'denied_connections',
  'server_errors',
  'service_workload',
]);

/**
 * Decodes one sample of the mesh query; undefined for samples without a destination workload.
 * Prometheus drops empty label values, so a label Istio wrote as `""` arrives absent: a missing
 * caller label is `unknown` like Istio's own unknown, a missing cluster is empty (no cluster label).
 */
function decodeOne(labels: Record<string, string>, value: number): EdgeSample | undefined {
  const workload = labels.destination_workload;
  const kind = labels.meshwatch_kind ?? '';
  if (!Number.isFinite(value) || !KINDS.has(kind)) return undefined;
  const known = workload !== undefined && workload !== '' && workload !== 'unknown';
  // A denial a waypoint answered itself: only its service says where it was going.
  const byService = !known && kind === 'denied' && labels.destination_service_name !== undefined;
  if (!known && !byService) return undefined;
  const sample: EdgeSample = {
    destination: byService
      ? { cluster: '', namespace: labels.destination_service_namespace ?? '', workload: '' }
      : {
          cluster: labels.destination_cluster ?? '',
          namespace: labels.destination_workload_namespace ?? '',
          workload: workload as string,
        },
    caller:
      kind === 'server_errors' || kind === 'service_workload'
        ? NO_CALLER
        : {
            principal: labels.source_principal || 'unknown',
            namespace: labels.source_workload_namespace || 'unknown',
            workload: labels.source_workload || 'unknown',
            cluster: labels.source_cluster ?? '',
          },
    policy: labels.connection_security_policy ?? '',
    kind: kind as EdgeKind,
    reporter: kind === 'tcp_connections' ? (labels.reporter ?? '') : '',
    rate: value,
  };
  if (byService || kind === 'service_workload') {
    sample.service = `${labels.destination_service_namespace ?? ''}/${labels.destination_service_name ?? ''}`;
  }
  return sample;
}

/** Decodes the mesh query's instant vector. */
export function decodeMesh(samples: readonly InstantSample[]): EdgeSample[] {
  const out: EdgeSample[] = [];
  for (const { labels, value } of samples) {
    const sample = decodeOne(labels, value);
    if (sample) out.push(sample);
  }
  return out;
}

/**
 * Turns the mesh query's range matrix into one snapshot per step, oldest first, so that history
 * is replayed through the very code a live poll runs. Steps with no sample at all are a gap
 * (Prometheus had no data), not a quiet mesh, and are left out.
 */
export function decodeMeshRange(series: readonly RangeSeries[]): MeshSnapshot[] {
  const byTime = new Map<number, EdgeSample[]>();
  for (const { labels, samples } of series) {
    for (const [timeMs, value] of samples) {
      const sample = decodeOne(labels, value);
      if (!sample) continue;
      const bucket = byTime.get(timeMs);
      if (bucket) bucket.push(sample);
      else byTime.set(timeMs, [sample]);
    }
  }
  return [...byTime.keys()]
    .sort((a, b) => a - b)
    .map((timeMs) => ({ timeMs, samples: byTime.get(timeMs) as EdgeSample[] }));
}
