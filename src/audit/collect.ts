/**
 * Reads the audit's lookback from Prometheus: the daemon's mesh query with a one-hour rate window
 * at one-hour steps (as the warm-up's coarse phase does), so each step counts all the traffic of
 * the hour before it, decoded and judged by the same code as a live poll; then one look at what
 * the telemetry says about each destination's pods.
 */
import { meshQueryOf } from '../app/engine-options';
import { FIRST_CHUNK_POINTS, MAX_POINTS_PER_SERIES } from '../app/warmup';
import type { PrometheusClient } from '../adapters/prometheus/types';
import type { Config } from '../config/types';
import { servedPlaintext } from '../core/detectors/plaintext';
import { attributeToWorkloads, volumeSamples } from '../core/detectors/signals';
import type { EdgeSample } from '../core/mesh';
import type { Caller, Destination } from '../core/types';
import { PrometheusQueryError } from '../errors';
import { decodeMeshRange } from '../signals/mesh';
import { matchAny } from '../signals/promql';
import { formatRange, serverSide } from '../signals/selectors';
import type { InstantSample, RangeSeries } from '../signals/types';
import {
  destinationKey,
  type AuditHistory,
  type CallerLabels,
  type DestinationLabels,
  type HistoryEdge,
  type LayerSecurity,
  type Volume,
  type WorkloadFacts,
} from './types';

/** The audit's step and rate window: an hour, so that rate × 3600 is the hour's count. */
export const AUDIT_STEP_MS = 3_600_000;

/** The part of the Prometheus client the audit reads with. */
export type AuditPrometheus = Pick<PrometheusClient, 'query' | 'queryRange'>;

/** What to read. */
export interface CollectOptions {
  fromMs: number;
  toMs: number;
  config: Config;
  /** Only destinations in these namespaces; unset: all. */
  namespaces?: string[];
  /** Called before the first chunk and after each, with the hours read and the hours planned. */
  onProgress?(done: number, total: number): void;
  signal?: AbortSignal;
}

/**
 * The evaluation times of the history: `toMs` and the whole hours before it whose hour
 * (t - 1h, t] lies within [fromMs, toMs]; undefined when the range holds no whole hour. Steps end
 * at `toMs` rather than on clock hours so that a lookback of 7d reads exactly the last 168 hours.
 */
export function auditSteps(fromMs: number, toMs: number): { firstMs: number; lastMs: number } | undefined {
  const hours = Math.floor((toMs - fromMs) / AUDIT_STEP_MS);
  return hours >= 1 ? { firstMs: toMs - (hours - 1) * AUDIT_STEP_MS, lastMs: toMs } : undefined;
}

/**
 * Reads every edge of the lookback, hour by hour, and the facts of each destination. Range
 * queries are chunked as the warm-up's are: under Prometheus's 11,000 points per series and
 * `warmup.max_samples_per_query` samples (sized from the series count of the chunk before; a
 * chunk Prometheus refuses as too large is halved). Unlike the daemon's warm-up, a failure is not
 * retried: the audit is a command, and its user sees the error.
 */
export async function collectHistory(
  client: AuditPrometheus,
  options: CollectOptions,
): Promise<AuditHistory> {
  const { config, namespaces } = options;
  const query = meshQueryOf(config, {
    rateWindowMs: AUDIT_STEP_MS,
    ...(namespaces === undefined ? {} : { destinationNamespaces: namespaces }),
  });
  const edges = new EdgeTable(namespaces);
  const steps = auditSteps(options.fromMs, options.toMs);
  const total = steps === undefined ? 0 : (steps.lastMs - steps.firstMs) / AUDIT_STEP_MS + 1;
  options.onProgress?.(0, total);
  if (steps !== undefined) {
    let done = 0;
    await readChunks(
      client,
      query,
      steps,
      config.warmup.maxSamplesPerQuery,
      options.signal,
      (series, hours) => {
        for (const snapshot of decodeMeshRange(series))
          edges.addHour(snapshot.timeMs - AUDIT_STEP_MS, snapshot.samples);
        done += hours;
        options.onProgress?.(done, total);
      },
    );
  }
  return {
    fromMs: options.fromMs,
    toMs: options.toMs,
    stepMs: AUDIT_STEP_MS,
    edges: edges.edges(),
    workloads: withWaypointPrincipals(await workloadFacts(client, options), edges.waypointPrincipals),
  };
}

async function readChunks(
  client: AuditPrometheus,
  query: string,
  steps: { firstMs: number; lastMs: number },
  maxSamples: number,
  signal: AbortSignal | undefined,
  onChunk: (series: RangeSeries[], hours: number) => void,
): Promise<void> {
  let points = FIRST_CHUNK_POINTS;
  let ceiling = MAX_POINTS_PER_SERIES;
  let start = steps.firstMs;
  while (start <= steps.lastMs) {
    const end = Math.min(start + (points - 1) * AUDIT_STEP_MS, steps.lastMs);
    let series: RangeSeries[];
    try {
      series = (
        await client.queryRange(query, { startMs: start, endMs: end, stepMs: AUDIT_STEP_MS }, { signal })
      ).data;
    } catch (err) {
      // Prometheus refuses a chunk that loads too many samples (422) or points (400): ask for less.
      if (!(err instanceof PrometheusQueryError) || err.status >= 500 || points === 1) throw err;
      ceiling = Math.max(1, Math.floor(points / 2));
      points = ceiling;
      continue;
    }
    onChunk(series, (end - start) / AUDIT_STEP_MS + 1);
    points = Math.max(1, Math.min(ceiling, Math.floor(maxSamples / Math.max(series.length, 1))));
    start = end + AUDIT_STEP_MS;
  }
}

interface EdgeAccumulator {
  edge: HistoryEdge;
  layers: { requests: LayerSecurity; connections: LayerSecurity };
}

const emptyVolume = (): Volume => ({ requests: 0, connections: 0, denied: 0, plaintext: 0, mtls: 0 });

/** The edges of the history, built hour by hour. */
class EdgeTable {
  private readonly byKey = new Map<string, EdgeAccumulator>();
  /** Per destination (`destinationKey`), the principals of its waypoints (see `noteWaypoints`). */
  readonly waypointPrincipals = new Map<string, Set<string>>();
  private readonly scope: ReadonlySet<string> | undefined;

  constructor(namespaces: readonly string[] | undefined) {
    this.scope = namespaces === undefined ? undefined : new Set(namespaces);
  }

  /**
   * Adds one hour (the step at `startMs + 1h`, a rate over that hour) to the edges, counting as
   * the daemon does: requests and connections once each (`volumeSamples`: not the destination
   * ztunnel's view of a waypoint's own connection), mTLS from that volume, plaintext as the
   * plaintext detector serves it (`servedPlaintext`: not the connections a waypoint carried a
   * plaintext caller's requests on, not the connections an L4 policy refused), denials of both
   * layers, with a waypoint's denials given their workload (`attributeToWorkloads`).
   */
  addHour(startMs: number, snapshot: readonly EdgeSample[]): void {
    const samples = attributeToWorkloads(snapshot).filter(
      (s) => this.scope === undefined || this.scope.has(s.destination.namespace),
    );
    this.noteWaypoints(samples);
    const hour = new Map<
      string,
      { destination: Destination; caller: Caller; volume: Volume; layers: EdgeAccumulator['layers'] }
    >();
    const slot = (s: EdgeSample) => {
      const key = edgeKey(s.destination, s.caller);
      let entry = hour.get(key);
      if (!entry) {
        entry = {
          destination: s.destination,
          caller: s.caller,
          volume: emptyVolume(),
          layers: emptyLayers(),
        };
        hour.set(key, entry);
      }
      return entry;
    };
    const count = (s: EdgeSample): number => (s.rate > 0 ? s.rate * (AUDIT_STEP_MS / 1000) : 0);
    for (const s of volumeSamples(samples)) {
      const n = count(s);
      if (n === 0) continue;
      const entry = slot(s);
      const layer = s.kind === 'requests' ? entry.layers.requests : entry.layers.connections;
      if (s.kind === 'requests') entry.volume.requests += n;
      else entry.volume.connections += n;
      if (s.policy === 'mutual_tls') {
        entry.volume.mtls += n;
        layer.mtls += n;
      }
    }
    for (const { sample, rate } of servedPlaintext(samples).values()) {
      const n = rate * (AUDIT_STEP_MS / 1000);
      const entry = slot(sample);
      entry.volume.plaintext += n;
      (sample.kind === 'requests' ? entry.layers.requests : entry.layers.connections).plaintext += n;
    }
    for (const s of samples) {
      if (s.kind !== 'denied' && s.kind !== 'denied_connections') continue;
      const n = count(s);
      if (n > 0) slot(s).volume.denied += n;
    }
    for (const [key, { destination, caller, volume, layers }] of hour)
      this.add(key, startMs, destination, caller, volume, layers);
  }

  /**
   * A destination a waypoint serves sees the waypoint's own connections at its ztunnel
   * (`reporter="destination"`, mTLS, the waypoint as source): their principals, less the callers
   * the waypoint itself reported, are the waypoint's. A caller that bypassed the waypoint over
   * mTLS in the same hour cannot be told from it by metrics and is counted among them.
   */
  private noteWaypoints(samples: readonly EdgeSample[]): void {
    const viaWaypoint = new Map<string, Set<string>>();
    for (const s of samples) {
      if (s.kind !== 'tcp_connections' || s.reporter !== 'waypoint') continue;
      const key = destinationKey(destinationLabels(s.destination));
      const callers = viaWaypoint.get(key) ?? new Set<string>();
      callers.add(s.caller.principal);
      viaWaypoint.set(key, callers);
    }
    if (viaWaypoint.size === 0) return;
    for (const s of samples) {
      if (s.kind !== 'tcp_connections' || s.reporter !== 'destination' || s.policy !== 'mutual_tls') continue;
      if (!(s.rate > 0) || s.caller.principal === 'unknown') continue;
      const key = destinationKey(destinationLabels(s.destination));
      if (viaWaypoint.get(key)?.has(s.caller.principal) !== false) continue;
      const principals = this.waypointPrincipals.get(key) ?? new Set<string>();
      principals.add(s.caller.principal);
      this.waypointPrincipals.set(key, principals);
    }
  }

  private add(
    key: string,
    startMs: number,
    destination: Destination,
    caller: Caller,
    volume: Volume,
    layers: EdgeAccumulator['layers'],
  ): void {
    let acc = this.byKey.get(key);
    if (!acc) {
      acc = {
        edge: {
          destination: destinationLabels(destination),
          caller: callerLabels(caller),
          total: emptyVolume(),
          hours: [],
          firstSeenMs: startMs,
          lastSeenMs: startMs + AUDIT_STEP_MS,
        },
        layers: emptyLayers(),
      };
      this.byKey.set(key, acc);
    }
    const { edge } = acc;
    for (const field of VOLUME_FIELDS) edge.total[field] += volume[field];
    for (const layer of ['requests', 'connections'] as const) {
      acc.layers[layer].mtls += layers[layer].mtls;
      acc.layers[layer].plaintext += layers[layer].plaintext;
    }
    edge.hours.push({ startMs, volume });
    edge.firstSeenMs = Math.min(edge.firstSeenMs, startMs);
    edge.lastSeenMs = Math.max(edge.lastSeenMs, startMs + AUDIT_STEP_MS);
  }

  /** The edges, each with its hours oldest first, in a stable order (destination, then caller). */
  edges(): HistoryEdge[] {
    return [...this.byKey.keys()].sort().map((key) => {
      const { edge, layers } = this.byKey.get(key) as EdgeAccumulator;
      edge.hours.sort((a, b) => a.startMs - b.startMs);
      return { ...edge, layers };
    });
  }
}

const VOLUME_FIELDS = ['requests', 'connections', 'denied', 'plaintext', 'mtls'] as const;

const emptyLayers = (): EdgeAccumulator['layers'] => ({
  requests: { mtls: 0, plaintext: 0 },
  connections: { mtls: 0, plaintext: 0 },
});

function edgeKey(d: Destination, c: Caller): string {
  return [d.cluster, d.namespace, d.workload, c.cluster, c.namespace, c.workload, c.principal].join('\u0000');
}

function destinationLabels(d: Destination): DestinationLabels {
  return {
    destination_cluster: d.cluster,
    destination_namespace: d.namespace,
    destination_workload: d.workload,
  };
}

function callerLabels(c: Caller): CallerLabels {
  return {
    source_principal: c.principal,
    source_workload_namespace: c.namespace,
    source_workload: c.workload,
    source_cluster: c.cluster,
  };
}

/** The facts with each waypoint-served destination's waypoint principals, sorted. */
function withWaypointPrincipals(
  facts: Map<string, WorkloadFacts>,
  principals: ReadonlyMap<string, ReadonlySet<string>>,
): Map<string, WorkloadFacts> {
  for (const [key, set] of principals) {
    const known = facts.get(key) ?? { services: [], waypoint: true, ambient: true };
    facts.set(key, { ...known, waypoint_principals: [...set].sort() });
  }
  return facts;
}

const FACT_LABELS =
  'destination_cluster, destination_workload_namespace, destination_workload, destination_app, destination_version, destination_canonical_service, destination_service_namespace, destination_service_name, reporter';

/**
 * The queries for what the telemetry says about each destination's pods over the lookback: the
 * label sets its server-side series had, one series per set (`group`), for requests and for
 * connections (the TCP one also by policy, which tells ztunnel from a sidecar: see `factsOf`).
 */
export function workloadFactsQueries(
  config: Config,
  lookbackMs: number,
  namespaces?: readonly string[],
): { requests: string; connections: string } {
  const scope = namespaces === undefined ? '' : `,${matchAny('destination_workload_namespace', namespaces)}`;
  const server = serverSide(config.telemetry.serverReporters);
  const range = formatRange(Math.max(1000, Math.ceil(lookbackMs / 1000) * 1000));
  const of = (metric: string, extra: string): string =>
    `group by (${FACT_LABELS}${extra}) (last_over_time(${metric}{${server}${scope}}[${range}]))`;
  return {
    requests: of('istio_requests_total', ''),
    connections: of('istio_tcp_connections_opened_total', ', connection_security_policy'),
  };
}

async function workloadFacts(
  client: AuditPrometheus,
  options: CollectOptions,
): Promise<Map<string, WorkloadFacts>> {
  const queries = workloadFactsQueries(options.config, options.toMs - options.fromMs, options.namespaces);
  const at = { timeMs: options.toMs, signal: options.signal };
  const [requests, connections] = await Promise.all([
    client.query(queries.requests, at),
    client.query(queries.connections, at),
  ]);
  return factsOf(requests.data, connections.data);
}

interface FactTally {
  apps: Set<string>;
  versions: Set<string>;
  canonical: Set<string>;
  services: Set<string>;
  waypoint: boolean;
  sidecarRequests: boolean;
  destinationTcp: boolean;
  ztunnelPolicy: boolean;
}

/**
 * The facts of each destination from the label sets of its server-side series. `app` is what the
 * proxies report as `destination_app`: the pods' `app` label, except where they have none and
 * the proxy falls back to the canonical service (ztunnel always reports the canonical service).
 * A label is kept
 * only where all its series agree on one known value: a policy's selector built from a label the
 * pods do not all share would leave some of them unprotected. Ambient (ztunnel in front of the
 * workload) shows as connections reported by the destination side with no sidecar requests for
 * the workload, or as a destination-side TCP policy of `unknown`, which only ztunnel writes on
 * its server side (src/core/mesh.ts `isPlaintextPolicy`); a waypoint reporting for it is
 * ambient too. A sidecar workload that serves TCP alone cannot be told from an ambient one by
 * these metrics and is taken for ambient only if one of those holds.
 */
export function factsOf(
  requests: readonly InstantSample[],
  connections: readonly InstantSample[],
): Map<string, WorkloadFacts> {
  const tallies = new Map<string, FactTally>();
  const tallyOf = (labels: Record<string, string>): FactTally | undefined => {
    const workload = labels.destination_workload;
    if (workload === undefined || workload === '' || workload === 'unknown') return undefined;
    const key = destinationKey({
      destination_cluster: labels.destination_cluster ?? '',
      destination_namespace: labels.destination_workload_namespace ?? '',
      destination_workload: workload,
    });
    let tally = tallies.get(key);
    if (!tally) {
      tally = {
        apps: new Set(),
        versions: new Set(),
        canonical: new Set(),
        services: new Set(),
        waypoint: false,
        sidecarRequests: false,
        destinationTcp: false,
        ztunnelPolicy: false,
      };
      tallies.set(key, tally);
    }
    // Prometheus drops empty values: an absent label is one of the values the series disagree on.
    tally.apps.add(labels.destination_app ?? '');
    tally.versions.add(labels.destination_version ?? '');
    tally.canonical.add(labels.destination_canonical_service ?? '');
    const name = labels.destination_service_name;
    if (name !== undefined && name !== '' && name !== 'unknown')
      tally.services.add(`${labels.destination_service_namespace ?? ''}/${name}`);
    if (labels.reporter === 'waypoint') tally.waypoint = true;
    return tally;
  };
  for (const { labels } of requests) {
    const tally = tallyOf(labels);
    if (tally && labels.reporter === 'destination') tally.sidecarRequests = true;
  }
  for (const { labels } of connections) {
    const tally = tallyOf(labels);
    if (!tally || labels.reporter !== 'destination') continue;
    tally.destinationTcp = true;
    if (labels.connection_security_policy === 'unknown') tally.ztunnelPolicy = true;
  }
  const out = new Map<string, WorkloadFacts>();
  for (const key of [...tallies.keys()].sort()) {
    const t = tallies.get(key) as FactTally;
    const facts: WorkloadFacts = {
      services: [...t.services].sort(),
      waypoint: t.waypoint,
      ambient: t.waypoint || t.ztunnelPolicy || (t.destinationTcp && !t.sidecarRequests),
    };
    const app = single(t.apps);
    // `latest` is the canonical revision's default for pods without a version label, which
    // Istio's proxies report as the version (ztunnel always; a sidecar where the label is
    // missing: kiali/kiali#4206): a selector on it would match no pod.
    const version = single(t.versions, ['latest']);
    const canonical = single(t.canonical);
    if (app !== undefined) facts.app = app;
    if (version !== undefined) facts.version = version;
    if (canonical !== undefined) facts.canonical_service = canonical;
    out.set(key, facts);
  }
  return out;
}

/** The one known value the series agree on; undefined if they disagree or it is a placeholder. */
function single(values: ReadonlySet<string>, placeholders: readonly string[] = []): string | undefined {
  if (values.size !== 1) return undefined;
  const [value] = values as Set<string>;
  return value === undefined || value === '' || value === 'unknown' || placeholders.includes(value)
    ? undefined
    : value;
}
