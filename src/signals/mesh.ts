import type { EdgeKind, EdgeSample, MeshSnapshot } from '../core/mesh';
import type { Caller } from '../core/types';
import { NO_CALLER } from '../core/mesh';
import { Interner } from './interner';
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
  /**
   * Only destinations in these namespaces (`meshwatch audit --namespace`); unset: all. A request a
   * waypoint denied names no destination workload namespace (`unknown`, or empty and so absent),
   * so denials keep those too: attribution by service (`attributeToWorkloads`) places them, and
   * the caller drops the ones that land outside.
   */
  destinationNamespaces?: readonly string[];
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
  const scope = (values: readonly string[]): string =>
    options.destinationNamespaces === undefined
      ? ''
      : `,${matchAny('destination_workload_namespace', values)}`;
  const inScope = scope(options.destinationNamespaces ?? []);
  const part = (kind: EdgeKind, by: string, metric: string, extra = ''): string =>
    `label_replace(sum by (${by}) (rate(${metric}{${server}${kind === 'denied' ? scope([...(options.destinationNamespaces ?? []), 'unknown', '']) : inScope}${extra}}[${range}])), "meshwatch_kind", "${kind}", "", "")`;
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
          `label_replace(group by (${DESTINATION}, ${SERVICE}) (istio_requests_total{reporter="waypoint",destination_workload!="unknown"${inScope}}), "meshwatch_kind", "service_workload", "", "")`,
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

/** The labels of the mesh query's answer that decoding reads, each at its slot in `MeshLabels`. */
export const MESH_LABELS = [
  'destination_cluster',
  'destination_workload_namespace',
  'destination_workload',
  'source_cluster',
  'source_workload_namespace',
  'source_workload',
  'source_principal',
  'connection_security_policy',
  'reporter',
  'destination_service_namespace',
  'destination_service_name',
  'meshwatch_kind',
] as const;

/** One series' values of `MESH_LABELS`, by slot; undefined where the series lacks the label. */
export type MeshLabels = Array<string | undefined>;

/** The slot of each label in `MeshLabels`. */
export const MESH_SLOT: ReadonlyMap<string, number> = new Map(MESH_LABELS.map((name, i) => [name, i]));

const [DC, DNS, DW, SC, SNS, SW, SP, POLICY, REPORTER, SVC_NS, SVC_NAME, KIND] = MESH_LABELS.map(
  (_, i) => i,
) as [number, number, number, number, number, number, number, number, number, number, number, number];

/** What every sample of one series shares: all but its rate. */
export type SampleTemplate = Omit<EdgeSample, 'rate'>;

/**
 * Decodes one series' labels into what its samples share; undefined for series without a
 * destination workload. Prometheus drops empty label values, so a label Istio wrote as `""`
 * arrives absent: a missing caller label is `unknown` like Istio's own unknown, a missing cluster
 * is empty (no cluster label). Strings go through `interner`, so every poll's samples share one
 * `Destination` and one `Caller` object per workload.
 */
export function sampleTemplate(labels: MeshLabels, interner: Interner): SampleTemplate | undefined {
  const workload = labels[DW];
  const kind = labels[KIND] ?? '';
  if (!KINDS.has(kind)) return undefined;
  const known = workload !== undefined && workload !== '' && workload !== 'unknown';
  // A denial a waypoint answered itself: only its service says where it was going.
  const byService = !known && kind === 'denied' && labels[SVC_NAME] !== undefined;
  if (!known && !byService) return undefined;
  const str = (slot: number, fallback: string): string => interner.string(labels[slot] || fallback);
  const template: SampleTemplate = {
    destination: byService
      ? interner.destination('', str(SVC_NS, ''), '')
      : interner.destination(str(DC, ''), str(DNS, ''), interner.string(workload as string)),
    caller: kind === 'server_errors' || kind === 'service_workload' ? NO_CALLER : callerOf(labels, interner),
    policy: interner.string(labels[POLICY] ?? ''),
    kind: kind as EdgeKind,
    reporter: kind === 'tcp_connections' ? interner.string(labels[REPORTER] ?? '') : '',
  };
  if (byService || kind === 'service_workload') {
    template.service = interner.string(`${labels[SVC_NS] ?? ''}/${labels[SVC_NAME] ?? ''}`);
  }
  return template;
}

/** The caller the `source_*` labels name (interned). */
export function callerOf(labels: MeshLabels, interner: Interner): Caller {
  const str = (slot: number): string => interner.string(labels[slot] || 'unknown');
  return interner.caller(str(SP), str(SNS), str(SW), interner.string(labels[SC] ?? ''));
}

/** A sample of a series: its template with this rate (and this caller). */
export function withRate(t: SampleTemplate, rate: number, caller: Caller = t.caller): EdgeSample {
  const sample: EdgeSample = {
    destination: t.destination,
    caller,
    policy: t.policy,
    kind: t.kind,
    reporter: t.reporter,
    rate,
  };
  if (t.service !== undefined) sample.service = t.service;
  return sample;
}

/** The `MeshLabels` of a decoded series' labels. */
export function meshLabels(labels: Readonly<Record<string, string>>): MeshLabels {
  const out: MeshLabels = new Array<string | undefined>(MESH_LABELS.length).fill(undefined);
  for (const name in labels) {
    const slot = MESH_SLOT.get(name);
    if (slot !== undefined) out[slot] = labels[name];
  }
  return out;
}

/** Decodes the mesh query's instant vector. */
export function decodeMesh(samples: readonly InstantSample[], interner = new Interner()): EdgeSample[] {
  const out: EdgeSample[] = [];
  for (const { labels, value } of samples) {
    if (!Number.isFinite(value)) continue;
    const template = sampleTemplate(meshLabels(labels), interner);
    if (template) out.push(withRate(template, value));
  }
  return out;
}

/**
 * Turns the mesh query's range matrix into one snapshot per step, oldest first, so that history
 * is replayed through the very code a live poll runs. Steps with no sample at all are a gap
 * (Prometheus had no data), not a quiet mesh, and are left out. Each series' labels are decoded
 * once, not once per step.
 */
export function decodeMeshRange(series: readonly RangeSeries[], interner = new Interner()): MeshSnapshot[] {
  const byTime = new Map<number, EdgeSample[]>();
  for (const { labels, samples } of series) {
    const template = sampleTemplate(meshLabels(labels), interner);
    if (!template) continue;
    for (const [timeMs, value] of samples) {
      if (!Number.isFinite(value)) continue;
      const sample = withRate(template, value);
      const bucket = byTime.get(timeMs);
      if (bucket) bucket.push(sample);
      else byTime.set(timeMs, [sample]);
    }
  }
  return [...byTime.keys()]
    .sort((a, b) => a - b)
    .map((timeMs) => ({ timeMs, samples: byTime.get(timeMs) as EdgeSample[] }));
}
