/**
 * Workload dashboard: one destination workload through meshwatch's eyes (each signal against its
 * baseline and band, each score against its threshold, the denied and plaintext callers) and
 * through Istio's own counters, so the two can be compared side by side.
 */
import { ERROR_RATIO_SIGNAL } from '../core/detectors/errors';
import { NEW_CALLER_SIGNAL } from '../core/detectors/new-caller';
import { PLAINTEXT_SIGNAL } from '../core/detectors/plaintext';
import { DENIED_SIGNAL } from '../core/detectors/unauthorized';
import { REQUEST_RATE_SIGNAL } from '../core/engine';
import type { DetectorName } from '../core/types';
import {
  dashboard,
  datasourceVariable,
  labelValuesVariable,
  override,
  row,
  thresholdLine,
  timeseries,
  type PanelDraft,
} from './builders';
import { DASHBOARD_TAG, DASHBOARD_UIDS, meshwatchDashboardsLink } from './links';
import type { Dashboard } from './model';

/** meshwatch's series for the chosen destination. */
const DESTINATION = 'destination_namespace="$namespace", destination_workload="$workload"';
/**
 * Istio's server-side series for the chosen workload: reporter="destination" only, since every
 * request is also counted by the caller's sidecar and adding both would double it.
 */
const ISTIO_SERVER_SIDE =
  'reporter="destination", destination_workload_namespace="$namespace", destination_workload="$workload"';

/** A detector's signal, its title on the dashboard and its unit. */
export interface SignalPanelSpec {
  detector: DetectorName;
  signal: string;
  title: string;
  unit: string;
}

/** The signal each detector scores, in the order the dashboard shows them. */
export const SIGNAL_PANELS: readonly SignalPanelSpec[] = [
  { detector: 'unauthorized', signal: DENIED_SIGNAL, title: 'Denied requests', unit: 'reqps' },
  { detector: 'new_caller', signal: NEW_CALLER_SIGNAL, title: 'Requests from new callers', unit: 'reqps' },
  {
    detector: 'plaintext',
    signal: PLAINTEXT_SIGNAL,
    title: 'Plaintext requests and connections',
    unit: 'reqps',
  },
  { detector: 'traffic', signal: REQUEST_RATE_SIGNAL, title: 'Request rate', unit: 'reqps' },
  { detector: 'errors', signal: ERROR_RATIO_SIGNAL, title: 'Server error (5xx) ratio', unit: 'percentunit' },
];

function signalPanel(s: SignalPanelSpec): PanelDraft {
  const gauge = (name: string) => `max(meshwatch_signal_${name}{signal="${s.signal}", ${DESTINATION}})`;
  return timeseries({
    title: `${s.title}: observed and expected`,
    description: `meshwatch's ${s.signal} for this workload (observed), its baseline (expected) and the normal band (lower to upper).`,
    unit: s.unit,
    min: 0,
    width: 16,
    queries: [
      { expr: gauge('observed'), legend: 'observed' },
      { expr: gauge('expected'), legend: 'expected' },
      { expr: gauge('lower'), legend: 'lower' },
      { expr: gauge('upper'), legend: 'upper' },
    ],
    overrides: [
      override({ id: 'byName', options: 'observed' }, { 'custom.lineWidth': 2, 'custom.fillOpacity': 0 }),
      override(
        { id: 'byName', options: 'expected' },
        { 'custom.lineStyle': { fill: 'dash', dash: [4, 4] }, 'custom.fillOpacity': 0 },
      ),
      // The band is the area between the two edges, drawn as a shade rather than two more lines.
      override(
        { id: 'byName', options: 'upper' },
        {
          'custom.fillBelowTo': 'lower',
          'custom.lineWidth': 0,
          'custom.fillOpacity': 15,
          color: { mode: 'fixed', fixedColor: 'green' },
        },
      ),
      override(
        { id: 'byName', options: 'lower' },
        { 'custom.lineWidth': 0, 'custom.fillOpacity': 0, color: { mode: 'fixed', fixedColor: 'green' } },
      ),
    ],
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
      "One destination workload: each signal against its baseline and band, each score against its threshold, its denied and plaintext callers, and Istio's own request panels.",
    tags: [DASHBOARD_TAG, 'istio', 'security'],
    variables: [
      datasourceVariable(),
      labelValuesVariable('namespace', 'destination_namespace', 'meshwatch_signal_observed', 'Namespace'),
      labelValuesVariable(
        'workload',
        'destination_workload',
        'meshwatch_signal_observed{destination_namespace="$namespace"}',
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
          'Denied (401/403) requests per second to this workload by caller identity, top callers only.',
        unit: 'reqps',
        width: 12,
        noValue: 'no denied requests',
        queries: [
          {
            expr: `sum by (source_principal) (meshwatch_unauthorized_requests_per_second{${DESTINATION}}) > 0`,
            legend: '{{source_principal}}',
          },
        ],
      }),
      timeseries({
        title: 'Plaintext callers',
        description:
          'Requests and TCP connections per second reaching this workload without mutual TLS, by caller.',
        unit: 'reqps',
        width: 12,
        noValue: 'no plaintext traffic',
        queries: [
          {
            expr:
              'sum by (source_workload_namespace, source_workload) ' +
              `(meshwatch_plaintext_requests_per_second{${DESTINATION}})`,
            legend: '{{source_workload_namespace}}/{{source_workload}}',
          },
        ],
      }),
      row('Signals against their baselines, scores against their thresholds'),
      ...SIGNAL_PANELS.flatMap((s) => [signalPanel(s), scorePanel(s)]),
      row('Istio telemetry (server side)'),
      timeseries({
        title: 'Requests by response code, mTLS split',
        description:
          'istio_requests_total{reporter="destination"} for this workload by response code and connection security policy (mutual_tls or none).',
        unit: 'reqps',
        width: 12,
        queries: [
          {
            expr:
              'sum by (response_code, connection_security_policy) ' +
              `(rate(istio_requests_total{${ISTIO_SERVER_SIDE}}[$__rate_interval]))`,
            legend: '{{response_code}} {{connection_security_policy}}',
          },
        ],
      }),
      timeseries({
        title: 'Requests by caller',
        description:
          'istio_requests_total{reporter="destination"} for this workload by calling workload and identity.',
        unit: 'reqps',
        width: 12,
        queries: [
          {
            expr:
              'sum by (source_workload_namespace, source_workload, source_principal) ' +
              `(rate(istio_requests_total{${ISTIO_SERVER_SIDE}}[$__rate_interval]))`,
            legend: '{{source_workload_namespace}}/{{source_workload}} ({{source_principal}})',
          },
        ],
      }),
    ],
  });
}
