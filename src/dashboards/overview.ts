/**
 * Mesh security overview: the dashboard opened first when paged. It answers "who called what,
 * denied, in plaintext, since when" for the whole mesh and links each destination to the workload
 * dashboard.
 */
import { DENIED_SIGNAL } from '../core/detectors/unauthorized';
import { dashboard, datasourceVariable, override, stat, table, timeseries, row } from './builders';
import { DASHBOARD_UIDS, DASHBOARD_TAG, meshwatchDashboardsLink, workloadDataLink } from './links';
import type { Dashboard, Transformation } from './model';

/*
 * The mesh-wide mTLS share is computed from Istio's counters, not from meshwatch_mtls_ratio: the
 * gauge is per destination, and an average of ratios would weigh a 1 req/s service like the
 * busiest one. Requests and TCP connections both count (a plaintext database connection is as
 * bad as a plaintext request), server side only: the client side always says "unknown".
 */
const SERVER_SIDE_TRAFFIC =
  '{__name__=~"istio_requests_total|istio_tcp_connections_opened_total", reporter="destination"';
const MTLS_SHARE =
  `sum(rate(${SERVER_SIDE_TRAFFIC}, connection_security_policy="mutual_tls"}[$__rate_interval]))\n` +
  `/\nsum(rate(${SERVER_SIDE_TRAFFIC}}[$__rate_interval]))`;

const DESTINATION_BY = 'destination_namespace, destination_workload';

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
      'mTLS coverage, plaintext edges, denied requests, new callers and open findings across the mesh.',
    tags: [DASHBOARD_TAG, 'istio', 'security'],
    variables: [datasourceVariable()],
    links: [meshwatchDashboardsLink()],
    from: 'now-6h',
    panels: [
      row('Encryption'),
      stat({
        title: 'Traffic over mTLS',
        description:
          'Share of requests and TCP connections that reached their destination over mutual TLS, mesh-wide, as seen by the server side.',
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
          'The mesh-wide mTLS share over time, and the least covered destinations (meshwatch_mtls_ratio, bottom 5).',
        unit: 'percentunit',
        min: 0,
        max: 1,
        width: 18,
        queries: [
          { expr: MTLS_SHARE, legend: 'mesh' },
          {
            expr: 'bottomk(5, meshwatch_mtls_ratio < 1)',
            legend: '{{destination_namespace}}/{{destination_workload}}',
          },
        ],
        links: [workloadDataLink('series')],
      }),
      table({
        title: 'Plaintext edges',
        description:
          'Callers sending requests or TCP connections without mutual TLS, by destination (top callers per destination). Empty is the goal.',
        unit: 'reqps',
        width: 24,
        noValue: 'no plaintext traffic',
        queries: [
          {
            expr:
              `sort_desc(sum by (${DESTINATION_BY}, source_workload_namespace, source_workload) ` +
              '(meshwatch_plaintext_requests_per_second))',
          },
        ],
        transformations: [
          organize({
            destination_namespace: 'Destination namespace',
            destination_workload: 'Destination workload',
            source_workload_namespace: 'Caller namespace',
            source_workload: 'Caller workload',
            Value: 'Plaintext requests/s',
          }),
        ],
        links: [workloadDataLink('table')],
      }),
      row('Authorization'),
      timeseries({
        title: 'Denied requests by destination',
        description: `Requests denied by authorization (401/403, as the unauthorized detector counts them: ${DENIED_SIGNAL}).`,
        unit: 'reqps',
        width: 12,
        noValue: 'no denied requests',
        queries: [
          {
            expr: `sum by (${DESTINATION_BY}) (meshwatch_signal_observed{signal="${DENIED_SIGNAL}"}) > 0`,
            legend: '{{destination_namespace}}/{{destination_workload}}',
          },
        ],
        links: [workloadDataLink('series')],
      }),
      timeseries({
        title: 'Denied requests by caller',
        description:
          'Denied requests per second by caller identity (SPIFFE principal) and destination, top callers per destination. "unknown" is a caller without mTLS.',
        unit: 'reqps',
        width: 12,
        noValue: 'no denied requests',
        queries: [
          {
            expr: `sum by (source_principal, ${DESTINATION_BY}) (meshwatch_unauthorized_requests_per_second) > 0`,
            legend: '{{source_principal}} -> {{destination_namespace}}/{{destination_workload}}',
          },
        ],
        links: [workloadDataLink('series')],
      }),
      row('Findings'),
      stat({
        title: 'Open findings by detector',
        description: 'Findings meshwatch holds open now, by detector.',
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
              '  meshwatch_anomaly_score\n' +
              '    >= ignoring(destination_namespace, destination_workload) group_left()\n' +
              '  meshwatch_detector_threshold\n))',
          },
        ],
        transformations: [
          organize({
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
          'Callers that started calling a destination they had not called in the learning window, with the time meshwatch first saw them in this time range and their peak rate. An edge leaves this list once it is no longer new (detectors.new_caller.new_for).',
        unit: 'reqps',
        width: 24,
        noValue: 'no new callers in this time range',
        queries: [
          {
            expr:
              `max by (${DESTINATION_BY}, source_principal) ` +
              '(max_over_time(meshwatch_new_caller_requests_per_second[$__range]))',
          },
          {
            // timestamp() of the raw series is its scrape time, so the earliest one in the range
            // is the first sight (to scrape precision); Grafana wants milliseconds.
            expr:
              `min by (${DESTINATION_BY}, source_principal) ` +
              '(min_over_time(timestamp(meshwatch_new_caller_requests_per_second)[$__range:])) * 1000',
          },
        ],
        transformations: [
          { id: 'merge', options: {} },
          organize({
            destination_namespace: 'Destination namespace',
            destination_workload: 'Destination workload',
            source_principal: 'Caller',
            'Value #B': 'First seen',
            'Value #A': 'Peak requests/s',
          }),
        ],
        overrides: [override({ id: 'byName', options: 'First seen' }, { unit: 'dateTimeAsIso' })],
        links: [workloadDataLink('table')],
      }),
    ],
  });
}
