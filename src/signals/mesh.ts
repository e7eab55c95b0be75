import type { EdgeKind, EdgeSample, MeshSnapshot } from '../core/mesh';
import { NO_CALLER } from '../core/mesh';
import { matchAny } from './promql';
import { formatRange, serverSide } from './selectors';
import type { InstantSample, RangeSeries } from './types';

const DESTINATION = 'destination_workload_namespace, destination_workload';
const EDGE = `${DESTINATION}, source_workload_namespace, source_workload, source_principal`;

/** What shapes the mesh query. */
export interface MeshQueryOptions {
  serverReporters: readonly string[];
  rateWindowMs: number;
  /** Response codes that count as denied (401 and 403 by default). */
  denialCodes: readonly string[];
}

/**
 * The one query per poll (and per step of history): server-side rates per edge for requests
 * and TCP connections split by connection security policy, denied requests per edge, and 5xx
 * per destination. Only server-side reporters are selected, because every in-mesh request is
 * also counted by the client sidecar, whose `connection_security_policy` is always `unknown`.
 * Aggregation happens in Prometheus; `label_replace` tags each part so one round trip serves all.
 */
export function meshQuery(options: MeshQueryOptions): string {
  const server = serverSide(options.serverReporters);
  const range = formatRange(options.rateWindowMs);
  const part = (kind: EdgeKind, by: string, metric: string, extra = ''): string =>
    `label_replace(sum by (${by}) (rate(${metric}{${server}${extra}}[${range}])), "meshwatch_kind", "${kind}", "", "")`;
  return [
    part('requests', `${EDGE}, connection_security_policy`, 'istio_requests_total'),
    part('tcp_connections', `${EDGE}, connection_security_policy`, 'istio_tcp_connections_opened_total'),
    part('denied', EDGE, 'istio_requests_total', `,${matchAny('response_code', options.denialCodes)}`),
    part('server_errors', DESTINATION, 'istio_requests_total', ',response_code=~"5.."'),
  ].join(' or ');
}

const KINDS = new Set<string>(['requests', 'tcp_connections', 'denied', 'server_errors']);

/** Decodes one sample of the mesh query; undefined for samples without a destination workload. */
function decodeOne(labels: Record<string, string>, value: number): EdgeSample | undefined {
  const workload = labels.destination_workload;
  const kind = labels.meshwatch_kind ?? '';
  if (!workload || !Number.isFinite(value) || !KINDS.has(kind)) return undefined;
  return {
    destination: { namespace: labels.destination_workload_namespace ?? '', workload },
    caller:
      kind === 'server_errors'
        ? NO_CALLER
        : {
            principal: labels.source_principal || 'unknown',
            namespace: labels.source_workload_namespace || 'unknown',
            workload: labels.source_workload || 'unknown',
          },
    policy: labels.connection_security_policy ?? '',
    kind: kind as EdgeKind,
    rate: value,
  };
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
