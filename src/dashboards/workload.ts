/**
 * Workload dashboard: one destination workload through meshwatch's eyes (each signal against its
 * baseline and band, each score against its threshold, the denied, plaintext and new callers) and
 * through Istio's own counters, so the two can be compared side by side.
 */
import type { DetectorName } from '../core/types';
import {
  CONNECTION_RATE_SIGNAL,
  DENIED_SIGNAL,
  ERROR_RATIO_SIGNAL,
  NEW_CALLER_SIGNAL,
  PLAINTEXT_SIGNAL,
  REQUEST_RATE_SIGNAL,
} from '../rules/signals';
import {
  clusterVariable,
  CONNECTIONS_PER_SECOND,
  dashboard,
  datasourceVariable,
  labelValuesVariable,
  override,
  PER_SECOND,
  REQUESTS_PER_SECOND,
  row,
  thresholdLine,
  timeseries,
  type PanelDraft,
} from './builders';
import { DASHBOARD_TAG, DASHBOARD_UIDS, meshwatchDashboardsLink } from './links';
import type { Dashboard, FieldOverride } from './model';

/** meshwatch's series for the chosen destination. */
const DESTINATION =
  'destination_cluster=~"$cluster", destination_namespace="$namespace", destination_workload="$workload"';
/** Istio's series for the chosen workload (Istio names the namespace label differently). */
const ISTIO_DESTINATION =
  'destination_cluster=~"$cluster", destination_workload_namespace="$namespace", destination_workload="$workload"';
/*
 * Istio's server side for requests is the sidecar (reporter="destination") or, in ambient mode,
 * the waypoint (reporter="waypoint"); one request is reported by one of them. The caller's side
 * counts every request again, so it is left out. Connections are read at reporter="destination"
 * only (the sidecar or the ztunnel on the workload's node): a waypoint's TCP series are the same
 * connections again, tunnelled.
 */
const ISTIO_REQUESTS = `reporter=~"destination|waypoint", ${ISTIO_DESTINATION}`;
const ISTIO_CONNECTIONS = `reporter="destination", ${ISTIO_DESTINATION}`;

/** One signal a detector scores, and the unit it is shown in. */
export interface ScoredSignal {
  signal: string;
  unit: string;
}

/** A detector's signals (one, or one per kind of destination), and their title on the dashboard. */
export interface SignalPanelSpec {
  detector: DetectorName;
  title: string;
  signals: readonly [ScoredSignal, ...ScoredSignal[]];
}

/** The signals each detector scores, in the order the dashboard shows them. */
export const SIGNAL_PANELS: readonly SignalPanelSpec[] = [
  {
    detector: 'unauthorized',
    title: 'Denied requests and connections',
    signals: [{ signal: DENIED_SIGNAL, unit: PER_SECOND }],
  },
  {
    detector: 'new_caller',
    title: 'Requests and connections from new callers',
    signals: [{ signal: NEW_CALLER_SIGNAL, unit: PER_SECOND }],
  },
  {
    detector: 'plaintext',
    title: 'Plaintext requests and connections',
    signals: [{ signal: PLAINTEXT_SIGNAL, unit: PER_SECOND }],
  },
  {
    detector: 'traffic',
    title: 'Request or connection rate',
    // A destination that serves HTTP is scored on requests, one seen only at L4 on connections.
    signals: [
      { signal: REQUEST_RATE_SIGNAL, unit: REQUESTS_PER_SECOND },
      { signal: CONNECTION_RATE_SIGNAL, unit: CONNECTIONS_PER_SECOND },
    ],
  },
  {
    detector: 'errors',
    title: 'Server error (5xx) ratio',
    signals: [{ signal: ERROR_RATIO_SIGNAL, unit: 'percentunit' }],
  },
];

/** How the four lines of a signal are drawn: `suffix` tells apart the lines of two signals. */
function bandOverrides(suffix: string, unit?: string): FieldOverride[] {
  const withUnit = (properties: Record<string, unknown>) => (unit ? { ...properties, unit } : properties);
  return [
    override(
      { id: 'byName', options: `observed${suffix}` },
      withUnit({ 'custom.lineWidth': 2, 'custom.fillOpacity': 0 }),
    ),
    override(
      { id: 'byName', options: `expected${suffix}` },
      withUnit({ 'custom.lineStyle': { fill: 'dash', dash: [4, 4] }, 'custom.fillOpacity': 0 }),
    ),
    // The band is the area between the two edges, drawn as a shade rather than two more lines.
    override(
      { id: 'byName', options: `upper${suffix}` },
      withUnit({
        'custom.fillBelowTo': `lower${suffix}`,
        'custom.lineWidth': 0,
        'custom.fillOpacity': 15,
        color: { mode: 'fixed', fixedColor: 'green' },
      }),
    ),
    override(
      { id: 'byName', options: `lower${suffix}` },
      withUnit({
        'custom.lineWidth': 0,
        'custom.fillOpacity': 0,
        color: { mode: 'fixed', fixedColor: 'green' },
      }),
    ),
  ];
}

function signalPanel(s: SignalPanelSpec): PanelDraft {
  const [first, ...others] = s.signals;
  const names = s.signals.map((x) => x.signal);
  const one = others.length === 0;
  // With more than one signal, the lines keep the signal's name, and each signal its own unit.
  const gauge = (name: string) =>
    one
      ? `max(meshwatch_signal_${name}{signal="${first.signal}", ${DESTINATION}})`
      : `max by (signal) (meshwatch_signal_${name}{signal=~"${names.join('|')}", ${DESTINATION}})`;
  const legend = (name: string) => (one ? name : `${name} {{signal}}`);
  return timeseries({
    title: `${s.title}: observed and expected`,
    description: one
      ? `meshwatch's ${first.signal} for this workload (observed), its baseline (expected) and the normal band (lower to upper).`
      : `meshwatch's ${names.join(' or ')} for this workload (observed), its baseline (expected) and the normal band (lower to upper): one of them, by what the workload serves (requests for HTTP, connections for a workload seen only at L4).`,
    unit: first.unit,
    min: 0,
    width: 16,
    queries: ['observed', 'expected', 'lower', 'upper'].map((name) => ({
      expr: gauge(name),
      legend: legend(name),
    })),
    overrides: one ? bandOverrides('') : s.signals.flatMap((x) => bandOverrides(` ${x.signal}`, x.unit)),
  });
}

function scorePanel(s: SignalPanelSpec): PanelDraft {
  return timeseries({
    title: `${s.detector} score`,
    description: `The ${s.detector} detector's anomaly score for this workload; at or over the dashed threshold line it reports an anomaly.`,
    unit: 'none',
    min: 0,
    width: 8,
    queries: [
      { expr: `max(meshwatch_anomaly_score{detector="${s.detector}", ${DESTINATION}})`, legend: 'score' },
      { expr: `max(meshwatch_detector_threshold{detector="${s.detector}"})`, legend: 'threshold' },
    ],
    overrides: [thresholdLine('B')],
  });
}

/** The Workload dashboard. */
export function workloadDashboard(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.workload,
    title: 'meshwatch / Workload',
    description:
      "One destination workload: each signal against its baseline and band, each score against its threshold, its denied, plaintext and new callers, and Istio's own request and connection panels. Pick its cluster when the same namespace and workload exist in two.",
    tags: [DASHBOARD_TAG, 'istio', 'security'],
    variables: [
      datasourceVariable(),
      clusterVariable('meshwatch_signal_observed'),
      labelValuesVariable(
        'namespace',
        'destination_namespace',
        'meshwatch_signal_observed{destination_cluster=~"$cluster"}',
        'Namespace',
      ),
      labelValuesVariable(
        'workload',
        'destination_workload',
        'meshwatch_signal_observed{destination_cluster=~"$cluster", destination_namespace="$namespace"}',
        'Workload',
      ),
    ],
    links: [meshwatchDashboardsLink()],
    from: 'now-6h',
    panels: [
      row('Callers'),
      timeseries({
        title: 'Denied callers',
        description:
          'Denials per second of this workload by caller identity and layer, top callers only: http is a 401/403 at its sidecar or waypoint, tcp a connection its ztunnel closed with DENY (behind a waypoint, that caller is the waypoint). A sidecar denying a TCP connection leaves no mark in the metrics and is not counted.',
        unit: PER_SECOND,
        width: 8,
        noValue: 'no denials',
        queries: [
          {
            expr: `sum by (source_principal, layer) (meshwatch_unauthorized_requests_per_second{${DESTINATION}}) > 0`,
            legend: '{{source_principal}} [{{layer}}]',
          },
        ],
      }),
      timeseries({
        title: 'Plaintext callers',
        description:
          'Requests (http) and TCP connections (tcp) per second reaching this workload without mutual TLS, by caller and its cluster; unknown/unknown is a caller outside the mesh.',
        unit: PER_SECOND,
        width: 8,
        noValue: 'no plaintext traffic',
        queries: [
          {
            expr:
              'sum by (source_cluster, source_workload_namespace, source_workload, layer) ' +
              `(meshwatch_plaintext_requests_per_second{${DESTINATION}})`,
            legend: '{{source_workload_namespace}}/{{source_workload}} ({{source_cluster}}) [{{layer}}]',
          },
        ],
      }),
      timeseries({
        title: 'New callers',
        description:
          'Requests or connections per second of callers new to this workload (not seen in the learning window), by identity and layer, while the edge counts as new.',
        unit: PER_SECOND,
        width: 8,
        noValue: 'no new callers',
        queries: [
          {
            expr: `sum by (source_principal, layer) (meshwatch_new_caller_requests_per_second{${DESTINATION}})`,
            legend: '{{source_principal}} [{{layer}}]',
          },
        ],
      }),
      row('Signals against their baselines, scores against their thresholds'),
      ...SIGNAL_PANELS.flatMap((s) => [signalPanel(s), scorePanel(s)]),
      row('Istio telemetry (server side)'),
      timeseries({
        title: 'Requests by response code, mTLS split',
        description:
          "istio_requests_total for this workload by response code, connection security policy (mutual_tls or none) and reporter: destination is its sidecar, waypoint its waypoint (ambient mode). A 403 is an AuthorizationPolicy denial or the application's own answer.",
        unit: REQUESTS_PER_SECOND,
        width: 8,
        queries: [
          {
            expr:
              'sum by (response_code, connection_security_policy, reporter) ' +
              `(rate(istio_requests_total{${ISTIO_REQUESTS}}[$__rate_interval]))`,
            legend: '{{response_code}} {{connection_security_policy}} ({{reporter}})',
          },
        ],
      }),
      timeseries({
        title: 'Requests by caller',
        description:
          'istio_requests_total for this workload by calling workload, identity and cluster, from its sidecar or waypoint.',
        unit: REQUESTS_PER_SECOND,
        width: 8,
        queries: [
          {
            expr:
              'sum by (source_cluster, source_workload_namespace, source_workload, source_principal) ' +
              `(rate(istio_requests_total{${ISTIO_REQUESTS}}[$__rate_interval]))`,
            legend:
              '{{source_workload_namespace}}/{{source_workload}} ({{source_principal}}, {{source_cluster}})',
          },
        ],
      }),
      timeseries({
        title: 'Connections by caller, mTLS split',
        description:
          'istio_tcp_connections_opened_total{reporter="destination"} for this workload (its sidecar, or the ztunnel on its node) by caller and connection security policy: mutual_tls, none (sidecar plaintext) or unknown (ztunnel plaintext). Behind a waypoint the caller here is the waypoint; the original caller is in "Requests by caller".',
        unit: CONNECTIONS_PER_SECOND,
        width: 8,
        queries: [
          {
            expr:
              'sum by (source_workload_namespace, source_workload, source_principal, connection_security_policy) ' +
              `(rate(istio_tcp_connections_opened_total{${ISTIO_CONNECTIONS}}[$__rate_interval]))`,
            legend:
              '{{source_workload_namespace}}/{{source_workload}} ({{source_principal}}) {{connection_security_policy}}',
          },
        ],
      }),
    ],
  });
}
