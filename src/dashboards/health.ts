/**
 * meshwatch health: is the watcher itself working? A quiet overview means nothing unless polls
 * succeed, Prometheus answers, warm-up is done, no series are dropped, meshwatch sees the Istio
 * telemetry of the kind of mesh it runs on and that telemetry has the labels the detectors need.
 */
import {
  booleanMapping,
  dashboard,
  datasourceVariable,
  override,
  row,
  stat,
  table,
  timeseries,
  valueMapping,
} from './builders';
import { DASHBOARD_TAG, DASHBOARD_UIDS, meshwatchDashboardsLink } from './links';
import type { Dashboard } from './model';

const RED_UNDER_ONE = [
  { color: 'red', value: null },
  { color: 'green', value: 1 },
];
const RED_FROM_ONE = [
  { color: 'green', value: null },
  { color: 'red', value: 1 },
];

/*
 * The kind of mesh, from which of Istio's two metrics Prometheus has (meshwatch_telemetry_present):
 * 2 x requests + 1 x TCP connections, so that each combination is one value to name. ztunnel
 * writes only istio_tcp_*, so an ambient mesh without waypoints is TCP only; sidecars and
 * waypoints write istio_requests_total, and istio_tcp_* for TCP traffic.
 */
const MESH_KIND =
  '2 * max by (instance) (meshwatch_telemetry_present{metric="istio_requests_total"})\n' +
  '+ max by (instance) (meshwatch_telemetry_present{metric="istio_tcp_connections_opened_total"})';
const MESH_KINDS = valueMapping([
  { value: '0', text: 'no Istio telemetry', color: 'red' },
  { value: '1', text: 'L4 only: ambient without waypoints', color: 'green' },
  { value: '2', text: 'HTTP only: sidecars', color: 'green' },
  { value: '3', text: 'HTTP and TCP: sidecars, waypoints or both', color: 'green' },
]);

/** Hides the Time column of an instant table, orders the columns and names them. */
function columns(names: Record<string, string>) {
  return {
    id: 'organize',
    options: {
      excludeByName: { Time: true },
      indexByName: Object.fromEntries(Object.keys(names).map((c, i) => [c, i])),
      renameByName: names,
    },
  };
}

/** The meshwatch health dashboard. */
export function healthDashboard(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.health,
    title: 'meshwatch / Health',
    description:
      "meshwatch's own state: polls and failures, poll duration, Prometheus reachability, warm-up, tracked and dropped series, the kind of mesh it sees, blind detectors and required telemetry labels.",
    tags: [DASHBOARD_TAG],
    variables: [datasourceVariable()],
    links: [meshwatchDashboardsLink()],
    from: 'now-6h',
    panels: [
      row('Status'),
      stat({
        title: 'Prometheus reachable',
        description:
          'Whether the last poll reached Prometheus (meshwatch_prometheus_up), per meshwatch instance.',
        unit: 'none',
        width: 6,
        height: 5,
        thresholds: RED_UNDER_ONE,
        mappings: [booleanMapping('reachable', 'unreachable')],
        queries: [{ expr: 'meshwatch_prometheus_up', legend: '{{instance}}' }],
      }),
      stat({
        title: 'Warm-up',
        description:
          'Whether baselines and known edges were rebuilt from history (meshwatch_warmup_complete); /readyz answers 200 once they are.',
        unit: 'none',
        width: 6,
        height: 5,
        thresholds: RED_UNDER_ONE,
        mappings: [booleanMapping('complete', 'in progress')],
        queries: [{ expr: 'meshwatch_warmup_complete', legend: '{{instance}}' }],
      }),
      stat({
        title: 'Since the last successful poll',
        description:
          'Time since a poll last completed; more than a few poll intervals means findings are stale (MeshwatchStale).',
        unit: 's',
        decimals: 0,
        width: 6,
        height: 5,
        thresholds: [
          { color: 'green', value: null },
          { color: 'orange', value: 120 },
          { color: 'red', value: 600 },
        ],
        // > 0: the gauge is 0 until the first poll succeeds, which is not 55 years ago.
        queries: [
          { expr: 'time() - (meshwatch_last_poll_success_timestamp_seconds > 0)', legend: '{{instance}}' },
        ],
      }),
      table({
        title: 'Build',
        description: 'The meshwatch version each instance runs.',
        unit: 'none',
        width: 6,
        height: 5,
        queries: [{ expr: 'meshwatch_build_info' }],
        transformations: [
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, Value: true, __name__: true },
              indexByName: { instance: 0, version: 1 },
              renameByName: {},
            },
          },
        ],
      }),
      row('Polls'),
      timeseries({
        title: 'Polls and failures',
        description:
          'Polls started, failed (Prometheus unreachable, query error, bad answer) and skipped because the previous one was still running.',
        unit: 'ops',
        width: 12,
        queries: [
          {
            expr: 'sum by (instance) (rate(meshwatch_polls_total[$__rate_interval]))',
            legend: 'polls {{instance}}',
          },
          {
            expr: 'sum by (instance) (rate(meshwatch_poll_failures_total[$__rate_interval]))',
            legend: 'failures {{instance}}',
          },
          {
            expr: 'sum by (instance) (rate(meshwatch_polls_skipped_total[$__rate_interval]))',
            legend: 'skipped {{instance}}',
          },
        ],
      }),
      timeseries({
        title: 'Poll duration',
        description:
          'Quantiles of the time a poll takes (queries, decoding, detection); it must stay well under poll.interval.',
        unit: 's',
        width: 12,
        queries: [0.5, 0.9, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(meshwatch_poll_duration_seconds_bucket[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      }),
      timeseries({
        title: 'Prometheus reachability',
        description:
          '1 while polls reach Prometheus, 0 while they do not; and the warnings (partial responses) that came with query results.',
        unit: 'none',
        width: 12,
        min: 0,
        queries: [
          { expr: 'meshwatch_prometheus_up', legend: 'reachable {{instance}}' },
          {
            expr: 'sum by (instance) (rate(meshwatch_prometheus_query_warnings_total[$__rate_interval]))',
            legend: 'query warnings/s {{instance}}',
          },
        ],
      }),
      timeseries({
        title: 'Warm-up',
        description: '0 while baselines are being rebuilt from history, 1 once done.',
        unit: 'none',
        width: 12,
        min: 0,
        max: 1,
        queries: [{ expr: 'meshwatch_warmup_complete', legend: '{{instance}}' }],
      }),
      row('Series'),
      timeseries({
        title: 'Tracked series by detector',
        description:
          'Destinations (or edges, for new_caller) whose state meshwatch keeps; memory grows with these.',
        unit: 'short',
        width: 12,
        queries: [{ expr: 'sum by (detector) (meshwatch_tracked_series)', legend: '{{detector}}' }],
      }),
      timeseries({
        title: 'Dropped series by reason',
        description:
          'Series not tracked because the limits are reached (capacity: those go unwatched, MeshwatchCapacityExceeded) or evicted after not being seen (evicted: normal churn).',
        unit: 'cps',
        width: 12,
        queries: [
          {
            expr: 'sum by (reason) (rate(meshwatch_series_dropped_total[$__rate_interval]))',
            legend: '{{reason}}',
          },
        ],
      }),
      row('Telemetry'),
      stat({
        title: 'Kind of mesh',
        description:
          "What meshwatch sees in Prometheus: Istio's request metric (sidecars, waypoints), its TCP metric (sidecars, ztunnel, waypoints), both or neither. Without requests (ambient without waypoints) the errors detector has nothing to score, and that is not missing telemetry.",
        unit: 'none',
        width: 8,
        height: 6,
        thresholds: RED_UNDER_ONE,
        mappings: [MESH_KINDS],
        queries: [{ expr: MESH_KIND, legend: '{{instance}}' }],
      }),
      table({
        title: 'Istio telemetry present',
        description:
          'Whether Prometheus has any series of each Istio metric meshwatch reads (meshwatch_telemetry_present). An absent metric is normal when this kind of mesh does not write it.',
        unit: 'none',
        width: 8,
        height: 6,
        mappings: [
          valueMapping([
            { value: '1', text: 'present', color: 'green' },
            { value: '0', text: 'absent', color: 'blue' },
          ]),
        ],
        overrides: [
          override(
            { id: 'byName', options: 'Present' },
            { 'custom.cellOptions': { type: 'color-background' } },
          ),
        ],
        queries: [{ expr: 'max by (metric) (meshwatch_telemetry_present)' }],
        transformations: [columns({ metric: 'Metric', Value: 'Present' })],
      }),
      table({
        title: 'Blind detectors',
        description:
          'Detectors that cannot read telemetry this mesh has (meshwatch_detector_blind): a label they need is stripped, or there is no Istio telemetry at all. A blind detector reports nothing, even during an attack (MeshwatchTelemetryLabelsMissing).',
        unit: 'none',
        width: 8,
        height: 6,
        thresholds: RED_FROM_ONE,
        mappings: [
          valueMapping([
            { value: '1', text: 'blind', color: 'red' },
            { value: '0', text: 'sees', color: 'green' },
          ]),
        ],
        overrides: [
          override(
            { id: 'byName', options: 'Blind' },
            { 'custom.cellOptions': { type: 'color-background' } },
          ),
        ],
        queries: [{ expr: 'max by (detector) (meshwatch_detector_blind)' }],
        transformations: [columns({ detector: 'Detector', Value: 'Blind' })],
      }),
      table({
        title: 'Required telemetry labels',
        description:
          'Each Istio label a detector needs and whether Istio telemetry has it; 0 is a stripped label (or no Istio telemetry at all), never a metric this kind of mesh does not write (MeshwatchTelemetryLabelsMissing).',
        unit: 'none',
        width: 24,
        thresholds: RED_UNDER_ONE,
        mappings: [booleanMapping('present', 'missing')],
        overrides: [
          override(
            { id: 'byName', options: 'Present' },
            { 'custom.cellOptions': { type: 'color-background' } },
          ),
        ],
        queries: [{ expr: 'max by (metric, label) (meshwatch_required_labels_present)' }],
        transformations: [columns({ metric: 'Metric', label: 'Label', Value: 'Present' })],
      }),
    ],
  });
}
