/**
 * Mesh security overview: the dashboard opened first when paged. It answers "who called what,
 * denied, in plaintext, since when" for the whole mesh and links each destination to the workload
 * dashboard.
 */
import { DENIED_SIGNAL } from '../rules/signals';
import {
  clusterVariable,
  dashboard,
  datasourceVariable,
  override,
  PER_SECOND,
  stat,
  table,
  timeseries,
  row,
} from './builders';
import { DASHBOARD_UIDS, DASHBOARD_TAG, meshwatchDashboardsLink, workloadDataLink } from './links';
import type { Dashboard, Transformation } from './model';

/** The destinations of the clusters picked in `$cluster` (All is `.*`, which also matches no label). */
const IN_CLUSTER = 'destination_cluster=~"$cluster"';

/*
 * The mesh-wide mTLS share is computed from Istio's counters, not from meshwatch_mtls_ratio: the
 * gauge is per destination, and an average of ratios would weigh a 1 req/s service like the
 * busiest one. Requests and TCP connections both count (a plaintext database connection is as
 * bad as a plaintext request), server side only: the client side always says "unknown". The
 * share counts what is mutual_tls rather than what is "none", because ztunnel writes plaintext as
 * "unknown". Waypoints count too, since plaintext sent to a waypoint shows only there; their
 * series repeat traffic the destination's ztunnel also reports (its hop from the waypoint, over
 * mTLS), which weighs waypoint-fronted workloads more in the share but never hides plaintext.
 */
const SERVER_SIDE_TRAFFIC =
  '{__name__=~"istio_requests_total|istio_tcp_connections_opened_total", reporter=~"destination|waypoint", ' +
  IN_CLUSTER;
const MTLS_SHARE =
  `sum(rate(${SERVER_SIDE_TRAFFIC}, connection_security_policy="mutual_tls"}[$__rate_interval]))\n` +
  `/\nsum(rate(${SERVER_SIDE_TRAFFIC}}[$__rate_interval]))`;

/** A destination is its cluster, namespace and workload: the same name in two clusters is two. */
const DESTINATION_BY = 'destination_cluster, destination_namespace, destination_workload';
/** A destination in a legend; the cluster is empty on a mesh without cluster labels. */
const DESTINATION_LEGEND = '{{destination_namespace}}/{{destination_workload}} ({{destination_cluster}})';
/** The destination columns of a table that also names callers, in order. */
const DESTINATION_COLUMNS = {
  destination_cluster: 'Destination cluster',
  destination_namespace: 'Destination namespace',
  destination_workload: 'Destination workload',
};

/*
 * STRICT readiness per destination, once: min by destination, so that two replicas watching the
 * same namespaces (or one restarted mid-scrape) count a destination once, and as blocked if either
 * saw plaintext there.
 */
const READY_BY_DESTINATION = `min by (${DESTINATION_BY}) (meshwatch_strict_mtls_ready{${IN_CLUSTER}})`;

/** Hides the Time column of instant tables and orders and names the rest. */
function organize(columns: Record<string, string>, exclude: string[] = []): Transformation {
  return {
    id: 'organize',
    options: {
      excludeByName: Object.fromEntries(['Time', ...exclude].map((c) => [c, true])),
      indexByName: Object.fromEntries(Object.keys(columns).map((c, i) => [c, i])),
      renameByName: columns,
    },
  };
}

/** The Mesh security overview dashboard. */
export function overviewDashboard(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.overview,
    title: 'meshwatch / Mesh security overview',
    description:
      'mTLS coverage, plaintext edges, denied requests and connections, new callers and open findings across the mesh, by cluster.',
    tags: [DASHBOARD_TAG, 'istio', 'security'],
    variables: [datasourceVariable(), clusterVariable('meshwatch_signal_observed')],
    links: [meshwatchDashboardsLink()],
    from: 'now-6h',
    panels: [
      row('Encryption'),
      stat({
        title: 'Traffic over mTLS',
        description:
          'Share of requests and TCP connections that reached their destination over mutual TLS, in the chosen clusters, as seen by the server side (sidecars, ztunnel and waypoints).',
        unit: 'percentunit',
        decimals: 2,
        min: 0,
        max: 1,
        width: 6,
        thresholds: [
          { color: 'red', value: null },
          { color: 'orange', value: 0.95 },
          { color: 'green', value: 1 },
        ],
        queries: [{ expr: MTLS_SHARE, legend: 'mTLS share' }],
      }),
      timeseries({
        title: 'Traffic over mTLS, trend',
        description:
          'The mTLS share of the chosen clusters over time, and the least covered destinations (meshwatch_mtls_ratio, bottom 5).',
        unit: 'percentunit',
        min: 0,
        max: 1,
        width: 18,
        queries: [
          { expr: MTLS_SHARE, legend: 'mesh' },
          { expr: `bottomk(5, meshwatch_mtls_ratio{${IN_CLUSTER}} < 1)`, legend: DESTINATION_LEGEND },
        ],
        links: [workloadDataLink('series')],
      }),
      table({
        title: 'Plaintext edges',
        description:
          'Callers sending requests (layer http) or TCP connections (layer tcp) without mutual TLS, by destination (top callers per destination): a sidecar\'s server side says "none", ztunnel\'s says "unknown". A caller "unknown/unknown" is outside the mesh. Empty is the goal.',
        unit: PER_SECOND,
        width: 24,
        noValue: 'no plaintext traffic',
        queries: [
          {
            expr:
              `sort_desc(sum by (${DESTINATION_BY}, source_cluster, source_workload_namespace, source_workload, layer) ` +
              `(meshwatch_plaintext_requests_per_second{${IN_CLUSTER}}))`,
          },
        ],
        transformations: [
          organize({
            ...DESTINATION_COLUMNS,
            source_cluster: 'Caller cluster',
            source_workload_namespace: 'Caller namespace',
            source_workload: 'Caller workload',
            layer: 'Layer',
            Value: 'Plaintext requests or connections/s',
          }),
        ],
        links: [workloadDataLink('table')],
      }),
      row('Zero trust'),
      stat({
        title: 'Destinations ready for STRICT mTLS',
        description:
          'Share of destination workloads in the chosen clusters that no plaintext caller reached over audit.lookback (default 7d): they could take a STRICT PeerAuthentication without breaking a caller. meshwatch judges what its warm-up (warmup.lookback) and its polls since have seen (meshwatch_strict_mtls_ready); `meshwatch audit` names the blockers and writes the policies. 100% is the goal.',
        unit: 'percentunit',
        decimals: 1,
        min: 0,
        max: 1,
        width: 8,
        thresholds: [
          { color: 'red', value: null },
          { color: 'orange', value: 0.5 },
          { color: 'green', value: 1 },
        ],
        queries: [{ expr: `avg(${READY_BY_DESTINATION})`, legend: 'ready' }],
      }),
      stat({
        title: 'Destinations blocked from STRICT mTLS',
        description:
          'Destination workloads a plaintext caller reached over audit.lookback: a STRICT PeerAuthentication would refuse that caller. The Plaintext edges table names the callers of now.',
        unit: 'short',
        decimals: 0,
        width: 8,
        noValue: 'none',
        thresholds: [
          { color: 'green', value: null },
          { color: 'red', value: 1 },
        ],
        queries: [{ expr: `count(${READY_BY_DESTINATION} == 0)`, legend: 'blocked' }],
      }),
      stat({
        title: 'Plaintext callers left',
        description:
          'Caller workloads (by cluster, namespace and workload) sending requests or TCP connections without mutual TLS to any destination now, each counted once however many destinations it calls: the callers to move into the mesh before STRICT. Callers outside the mesh all count as one (unknown/unknown); each destination names at most limits.top_callers callers.',
        unit: 'short',
        decimals: 0,
        width: 8,
        noValue: 'none',
        thresholds: [
          { color: 'green', value: null },
          { color: 'red', value: 1 },
        ],
        queries: [
          {
            expr:
              'count(count by (source_cluster, source_workload_namespace, source_workload) ' +
              `(meshwatch_plaintext_requests_per_second{${IN_CLUSTER}} > 0))`,
            legend: 'plaintext callers',
          },
        ],
      }),
      row('Authorization'),
      timeseries({
        title: 'Denied requests and connections by destination',
        description: `Requests denied by authorization (401/403 at a sidecar or waypoint) and TCP connections denied at L4 (response_flags DENY at ztunnel), as the unauthorized detector counts them (${DENIED_SIGNAL}).`,
        unit: PER_SECOND,
        width: 12,
        noValue: 'no denials',
        queries: [
          {
            expr: `sum by (${DESTINATION_BY}) (meshwatch_signal_observed{signal="${DENIED_SIGNAL}", ${IN_CLUSTER}}) > 0`,
            legend: DESTINATION_LEGEND,
          },
        ],
        links: [workloadDataLink('series')],
      }),
      timeseries({
        title: 'Denied requests and connections by caller',
        description:
          'Denials per second by caller identity (SPIFFE principal), layer and destination, top callers per destination. Layer http: 401/403; tcp: connections denied by ztunnel. "unknown" is a caller without mTLS; behind a waypoint, ztunnel\'s L4 denials name the waypoint\'s identity.',
        unit: PER_SECOND,
        width: 12,
        noValue: 'no denials',
        queries: [
          {
            expr:
              `sum by (source_principal, layer, ${DESTINATION_BY}) ` +
              `(meshwatch_unauthorized_requests_per_second{${IN_CLUSTER}}) > 0`,
            legend: `{{source_principal}} [{{layer}}] -> ${DESTINATION_LEGEND}`,
          },
        ],
        links: [workloadDataLink('series')],
      }),
      row('Findings'),
      stat({
        title: 'Open findings by detector',
        description: 'Findings meshwatch holds open now, by detector, in every cluster.',
        unit: 'short',
        decimals: 0,
        width: 10,
        thresholds: [
          { color: 'green', value: null },
          { color: 'red', value: 1 },
        ],
        queries: [{ expr: 'sum by (detector) (meshwatch_findings_open)', legend: '{{detector}}' }],
      }),
      table({
        title: 'Workloads over their threshold',
        description:
          'Destinations whose anomaly score is at or over its detector threshold now; open one for its signals and callers.',
        unit: 'none',
        decimals: 1,
        width: 14,
        noValue: 'all scores under their thresholds',
        queries: [
          {
            // ignoring(destination): the threshold is per detector, exported by the same meshwatch.
            expr:
              `sort_desc(max by (detector, ${DESTINATION_BY}) (\n` +
              `  meshwatch_anomaly_score{${IN_CLUSTER}}\n` +
              '    >= ignoring(destination_cluster, destination_namespace, destination_workload) group_left()\n' +
              '  meshwatch_detector_threshold\n))',
          },
        ],
        transformations: [
          organize({
            destination_cluster: 'Cluster',
            destination_namespace: 'Namespace',
            destination_workload: 'Workload',
            detector: 'Detector',
            Value: 'Score',
          }),
        ],
        links: [workloadDataLink('table')],
      }),
      table({
        title: 'New callers',
        description:
          'Callers that started calling a destination they had not called in the learning window, over HTTP or only at L4 (layer tcp), with the time meshwatch first saw them in this time range and their peak rate. An edge leaves this list once it is no longer new (detectors.new_caller.new_for).',
        unit: PER_SECOND,
        width: 24,
        noValue: 'no new callers in this time range',
        queries: [
          {
            expr:
              `max by (${DESTINATION_BY}, source_principal, layer) ` +
              `(max_over_time(meshwatch_new_caller_requests_per_second{${IN_CLUSTER}}[$__range]))`,
          },
          {
            // timestamp() of the raw series is its scrape time, so the earliest one in the range
            // is the first sight (to scrape precision); Grafana wants milliseconds.
            expr:
              `min by (${DESTINATION_BY}, source_principal, layer) ` +
              `(min_over_time(timestamp(meshwatch_new_caller_requests_per_second{${IN_CLUSTER}})[$__range:])) * 1000`,
          },
        ],
        transformations: [
          { id: 'merge', options: {} },
          organize({
            ...DESTINATION_COLUMNS,
            source_principal: 'Caller',
            layer: 'Layer',
            'Value #B': 'First seen',
            'Value #A': 'Peak requests or connections/s',
          }),
        ],
        overrides: [override({ id: 'byName', options: 'First seen' }, { unit: 'dateTimeAsIso' })],
        links: [workloadDataLink('table')],
      }),
    ],
  });
}
