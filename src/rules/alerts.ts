import { dashboardUrl, workloadDashboardUrl } from '../dashboards/links';
import type { DetectorName } from '../core/types';
import {
  CONNECTION_RATE_SIGNAL,
  DENIED_SIGNAL,
  ERROR_RATIO_SIGNAL,
  NEW_CALLER_SIGNAL,
  PLAINTEXT_SIGNAL,
  TRAFFIC_SIGNALS,
} from './signals';
import { DESTINATION, firedPart, pickSignal, SCORE, signalGauge, threshold, topCallers, type SignalRef } from './templates';
import type { AlertRule, RuleGroup } from './types';

/** What the generated rules depend on outside meshwatch itself. */
export interface AlertRuleOptions {
  /** Base URL of docs/runbooks in the repository; each alert links `<base>/<alert>.md`. */
  runbookBaseUrl: string;
  /** The Prometheus `job` label of meshwatch's scrape target (MeshwatchDown looks for it). */
  job: string;
  /** Base URL of the Grafana that has meshwatch's dashboards; alerts link them as `dashboard_url`. */
  grafanaUrl: string;
}

/** The options the committed rules are generated with. */
export const DEFAULT_ALERT_RULE_OPTIONS: AlertRuleOptions = {
  runbookBaseUrl: 'https://github.com/meshwatch/meshwatch/blob/main/docs/runbooks',
  job: 'meshwatch',
  // kube-prometheus-stack's Grafana service, as seen from inside the cluster; set it with --grafana-url.
  grafanaUrl: 'http://kube-prometheus-stack-grafana.monitoring.svc',
};

/** Only this alert pages; every other alert is a `warning` for the chat/ticket receiver. */
export const PAGE_SEVERITY = 'critical';
/** Severity of every alert that does not page. */
export const WARNING_SEVERITY = 'warning';

interface DetectorAlert {
  alert: string;
  detector: DetectorName;
  severity: string;
  for: string;
  summary: string;
  description: string;
}

const observed = (signal: SignalRef, format: 'rate' | 'ratio' = 'rate'): string =>
  signalGauge('observed', signal, format);
const expected = (signal: SignalRef, format: 'rate' | 'ratio' = 'rate'): string =>
  signalGauge('expected', signal, format);
const band = (signal: SignalRef, format: 'rate' | 'ratio' = 'rate'): string =>
  `${signalGauge('lower', signal, format)} to ${signalGauge('upper', signal, format)}`;
const scored = (detector: DetectorName): string => `score ${SCORE}, threshold ${threshold(detector)}`;

/*
 * The per-caller gauges carry `layer`: `http` for istio_requests_total (sidecars and waypoints),
 * `tcp` for istio_tcp_* (sidecars, ztunnel, waypoints). A denial is a 401/403 at L7 and a
 * connection closed with response_flags DENY by ztunnel at L4; the runbook's first step differs
 * (the 403s of a sidecar or waypoint, or the ztunnel on the destination's node), so each caller
 * says which. A gauge without the label (a meshwatch older than the layer) was HTTP only.
 */
const DENIAL_LAYER = '{{ if eq $c.Labels.layer "tcp" }}tcp: L4 deny{{ else }}http: 401/403{{ end }}';
const LAYER = '{{ with $c.Labels.layer }}{{ . }}{{ else }}http{{ end }}';
/*
 * A plaintext caller's cluster is named when it is not the destination's own: the destination's
 * is already in the sentence, and `unknown` (a caller the proxy could not identify, e.g. from
 * outside the mesh) adds nothing to `unknown/unknown`.
 */
const CALLER_CLUSTER =
  '{{ if and $c.Labels.source_cluster (ne $c.Labels.source_cluster "unknown") (ne $c.Labels.source_cluster $labels.destination_cluster) }}' +
  ' from cluster {{ $c.Labels.source_cluster }}{{ end }}';
// The traffic detector scores requests/s or connections/s, whichever the destination has.
const TRAFFIC_SIGNAL = { variable: '$signal' };
const TRAFFIC_UNIT = `{{ if eq $signal "${CONNECTION_RATE_SIGNAL}" }}connections{{ else }}requests{{ end }}`;

/*
 * The `for:` of each detector alert. meshwatch_anomaly_score carries no hysteresis (it is each
 * poll's judgement, polls every 30s by default), so `for:` is what keeps a one-poll blip quiet.
 * - unauthorized 1m: the page. Three consecutive polls over the threshold (one more than the
 *   daemon's open_after_polls 2), so a single burst of 403s from a bad rollout does not wake
 *   anyone, while a real spike pages about two minutes after it starts (rate window + 1m).
 * - new_caller 1m: a new edge's requests stay in the score for the whole rate window (2m), so
 *   even one request from a new caller outlasts 1m and is reported; shorter glitches are not.
 * - plaintext 5m: plaintext traffic is a standing misconfiguration (a caller without a sidecar,
 *   a PERMISSIVE PeerAuthentication), not a burst; 5m skips pods that talk before their sidecar
 *   is ready and still reports every lasting case the same day.
 * - traffic 10m: request rates swing with deploys, autoscaling and client retries; a drop or
 *   surge that matters lasts longer than a rollout. It is a warning, so waiting costs little.
 * - errors 5m: a 5xx burst shorter than that is usually a rollout's restarts, and the daemon
 *   already needs 3 polls to open a finding.
 */
const DETECTOR_ALERTS: readonly DetectorAlert[] = [
  {
    alert: 'MeshUnauthorizedAccessSpike',
    detector: 'unauthorized',
    severity: PAGE_SEVERITY,
    for: '1m',
    summary: 'A workload is receiving a spike of denied requests (401/403) or connections (L4 deny).',
    description:
      `${DESTINATION} is denying ${observed(DENIED_SIGNAL)} requests or connections/s ` +
      `(401/403 at a sidecar or waypoint, DENY at ztunnel) against a baseline of ` +
      `${expected(DENIED_SIGNAL)}/s (normal band ${band(DENIED_SIGNAL)}/s); ${scored('unauthorized')}. ` +
      `Top denied callers: ${topCallers('meshwatch_unauthorized_requests_per_second', '{{ $c.Labels.source_principal }}', DENIAL_LAYER)}.`,
  },
  {
    alert: 'MeshNewCaller',
    detector: 'new_caller',
    severity: WARNING_SEVERITY,
    for: '1m',
    summary: 'A caller that was never seen before is calling a workload.',
    description:
      `${DESTINATION} receives ${observed(NEW_CALLER_SIGNAL)} requests or connections/s from callers it had ` +
      `not seen in the learning window (before: ${expected(NEW_CALLER_SIGNAL)}/s); ${scored('new_caller')}. ` +
      `New callers: ${topCallers('meshwatch_new_caller_requests_per_second', '{{ $c.Labels.source_principal }}', LAYER)}.`,
  },
  {
    alert: 'MeshPlaintextTraffic',
    detector: 'plaintext',
    severity: WARNING_SEVERITY,
    for: '5m',
    summary: 'A workload receives traffic without mutual TLS.',
    description:
      `${DESTINATION} receives ${observed(PLAINTEXT_SIGNAL)} plaintext requests or connections/s ` +
      `(expected ${expected(PLAINTEXT_SIGNAL)}/s); ${scored('plaintext')}. Plaintext callers: ` +
      topCallers(
        'meshwatch_plaintext_requests_per_second',
        `{{ $c.Labels.source_workload_namespace }}/{{ $c.Labels.source_workload }}${CALLER_CLUSTER}`,
        LAYER,
      ) +
      '.',
  },
  {
    alert: 'MeshTrafficAnomaly',
    detector: 'traffic',
    severity: WARNING_SEVERITY,
    for: '10m',
    summary: "A workload's request or connection rate is outside its usual band.",
    description:
      `${pickSignal(TRAFFIC_SIGNAL.variable, TRAFFIC_SIGNALS)}${DESTINATION} receives ${observed(TRAFFIC_SIGNAL)} ` +
      `${TRAFFIC_UNIT}/s against a baseline of ${expected(TRAFFIC_SIGNAL)}/s ` +
      `(normal band ${band(TRAFFIC_SIGNAL)}/s): ${firedPart('traffic')}; ${scored('traffic')}.`,
  },
  {
    alert: 'MeshErrorRateAnomaly',
    detector: 'errors',
    severity: WARNING_SEVERITY,
    for: '5m',
    summary: "A workload's share of 5xx responses is above its usual band.",
    description:
      `${observed(ERROR_RATIO_SIGNAL, 'ratio')} of the requests to ${DESTINATION} end in 5xx against a ` +
      `baseline of ${expected(ERROR_RATIO_SIGNAL, 'ratio')} (normal up to ` +
      `${signalGauge('upper', ERROR_RATIO_SIGNAL, 'ratio')}); ${scored('errors')}.`,
  },
];

// One alert per detector (the list above names each DetectorName once; a unit test checks it).
const ALERT_OF_DETECTOR = Object.fromEntries(DETECTOR_ALERTS.map((a) => [a.detector, a])) as Record<
  DetectorName,
  DetectorAlert
>;

/** A detector's alert name, severity and summary, shared by the rules and the direct push to Alertmanager. */
export function detectorAlert(detector: DetectorName): { alert: string; severity: string; summary: string } {
  const { alert, severity, summary } = ALERT_OF_DETECTOR[detector];
  return { alert, severity, summary };
}

/** The runbook of `alert`: `<baseUrl>/<alert>.md`. */
export function runbookUrl(baseUrl: string, alert: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${alert}.md`;
}

/**
 * Compares each destination's score with its detector's threshold from the same meshwatch
 * (matching on every label but the destination's, so job and instance pair up): the threshold
 * lives in the daemon's config only, and the alert's value is the score. A destination is its
 * cluster, namespace and workload: the same namespace and name in two clusters are two alerts.
 */
export function scoreOverThreshold(detector: DetectorName): string {
  return [
    `meshwatch_anomaly_score{detector="${detector}"}`,
    '  >= ignoring(destination_cluster, destination_namespace, destination_workload) group_left()',
    `meshwatch_detector_threshold{detector="${detector}"}`,
  ].join('\n');
}

/** The alerts on meshwatch's findings, one per detector. */
export function detectorAlertRules(options: AlertRuleOptions): AlertRule[] {
  return DETECTOR_ALERTS.map((a) => ({
    alert: a.alert,
    expr: scoreOverThreshold(a.detector),
    for: a.for,
    labels: { severity: a.severity },
    annotations: {
      summary: a.summary,
      description: a.description,
      runbook_url: runbookUrl(options.runbookBaseUrl, a.alert),
      dashboard_url: workloadDashboardUrl(
        options.grafanaUrl,
        '{{ $labels.destination_cluster }}',
        '{{ $labels.destination_namespace }}',
        '{{ $labels.destination_workload }}',
      ),
    },
  }));
}

// The series of the meshwatch that raised a health alert (its scrape target's job and instance).
const SAME_MESHWATCH = 'job="%s",instance="%s"';
const SAME_MESHWATCH_ARGS = '$labels.job $labels.instance';

/**
 * The alerts on meshwatch itself: a watcher that is down, blind or stale must say so, or a quiet
 * mesh and a broken meshwatch look the same. They are warnings, not pages: the promise is a page
 * on an unauthorized-access spike only.
 */
export function healthAlertRules(options: AlertRuleOptions): AlertRule[] {
  const rule = (alert: string, expr: string, forDuration: string, summary: string, description: string) => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity: WARNING_SEVERITY },
    annotations: {
      summary,
      description,
      runbook_url: runbookUrl(options.runbookBaseUrl, alert),
      dashboard_url: dashboardUrl(options.grafanaUrl, 'health'),
    },
  });
  return [
    // `absent(... == 1)` also fires when the target is gone altogether (no ServiceMonitor, a
    // renamed job), which `up == 0` alone would miss. 5m rides over a rolling restart.
    rule(
      'MeshwatchDown',
      `absent(up{job="${options.job}"} == 1)`,
      '5m',
      'meshwatch is down or not scraped: no mesh alert can fire.',
      `No target of job ${options.job} has been up for 5 minutes, so Prometheus has no meshwatch findings ` +
        'and the mesh alerts (MeshUnauthorizedAccessSpike included) cannot fire.',
    ),
    // Until the warm-up is done the gauge is 0 without a poll having failed; MeshwatchStale
    // covers a warm-up that never ends. 5m = 10 polls: longer than a Prometheus restart.
    rule(
      'MeshwatchPrometheusUnreachable',
      'meshwatch_prometheus_up == 0\n  and on(job, instance)\nmeshwatch_warmup_complete == 1',
      '5m',
      'meshwatch cannot query Prometheus: its findings are stale.',
      'meshwatch {{ $labels.instance }} has failed to query Prometheus for 5 minutes; its findings are ' +
        'stale and no mesh alert can start or end until it reaches Prometheus again.',
    ),
    // Counts from the last good poll, or from the process start if there was none yet (the
    // gauge is 0 then), so a warm-up that hangs and a scheduler that stops are caught too.
    rule(
      'MeshwatchStale',
      [
        'time() - (',
        '    meshwatch_last_poll_success_timestamp_seconds > 0',
        '  or',
        '    process_start_time_seconds and on(job, instance) meshwatch_last_poll_success_timestamp_seconds == 0',
        ') > 600',
      ].join('\n'),
      '5m',
      'meshwatch has not completed a poll for 15 minutes.',
      'meshwatch {{ $labels.instance }} last completed a poll {{ $value | humanizeDuration }} ago ' +
        '(or started that long ago and has not completed one): its findings and scores are out of date.',
    ),
    // 10m: a label is only reported missing when no series at all carries it, which a mesh
    // with traffic does not do by chance; the wait covers a telemetry config being rolled out.
    // The gauge is 0 for a stripped label, for a metric dropped while its layer is there (the
    // closed-connections counter without which L4 denials are invisible), or for no Istio
    // telemetry at all; never for a metric this kind of mesh does not have (no
    // istio_requests_total in an ambient mesh without waypoints). meshwatch_telemetry_present
    // tells the three apart in the description.
    // No second alert on meshwatch_detector_blind: it is 1 for exactly these causes, so it would
    // fire with this one every time; the description names the blind detectors from it instead.
    rule(
      'MeshwatchTelemetryLabelsMissing',
      'meshwatch_required_labels_present == 0',
      '10m',
      'Istio telemetry lacks a label meshwatch needs, or there is none: some detectors are blind.',
      `{{ if printf \`meshwatch_telemetry_present{${SAME_MESHWATCH},metric="%s"} == 1\` ${SAME_MESHWATCH_ARGS} $labels.metric | query }}` +
        'The {{ $labels.metric }} series in Prometheus carry no {{ $labels.label }} label: it is stripped ' +
        '(an Istio Telemetry tagOverride, or a Prometheus relabelling or recording rule)' +
        `{{ else if printf \`max(meshwatch_telemetry_present{${SAME_MESHWATCH}}) == 1\` ${SAME_MESHWATCH_ARGS} | query }}` +
        'Prometheus has no {{ $labels.metric }} series at all, although the mesh has Istio telemetry: ' +
        'the metric is dropped at scrape time or by a relabelling{{ else }}' +
        'Prometheus holds no Istio telemetry at all (no istio_requests_total and no ' +
        'istio_tcp_connections_opened_total series): the sidecars, ztunnels and waypoints are not scraped{{ end }}, ' +
        'so the detectors that need it report nothing, even during an attack. Blind detectors: ' +
        `{{ range $i, $d := printf \`meshwatch_detector_blind{${SAME_MESHWATCH}} == 1\` ${SAME_MESHWATCH_ARGS} | query | sortByLabel "detector" }}` +
        '{{ if $i }}, {{ end }}{{ $d.Labels.detector }}{{ else }}none reported{{ end }}.',
    ),
    // A series refused at capacity is counted again at every poll that sees it, so the counter
    // keeps rising for as long as anything goes unwatched. 10m spans 20 polls at the default
    // 30s, so it holds the alert between polls, and it clears 10m after the last refusal.
    // The warm-up replays history through the same tables: its drops (a burst at process start,
    // from a mesh that may be gone) are kept out by requiring the warm-up to have been complete
    // for the whole window, which also keeps a restart's counter reset out. for: 0s, since past the
    // warm-up every refusal is a real unwatched series (a new caller with one request is refused
    // for only a rate window), and waiting would let exactly that one through.
    rule(
      'MeshwatchCapacityExceeded',
      [
        'increase(meshwatch_series_dropped_total{reason="capacity"}[10m]) > 0',
        '  and on(job, instance)',
        'min_over_time(meshwatch_warmup_complete[10m]) == 1',
      ].join('\n'),
      '0s',
      'meshwatch is at its series limit: new callers and destinations go unwatched.',
      'meshwatch {{ $labels.instance }} is refusing to track new series ({{ $value | printf "%.0f" }} refusals ' +
        'in the last 10 minutes; a refused series counts again at each poll) because a detector is full: it ' +
        'already tracks limits.max_destinations destinations or limits.max_edges edges. New series are not ' +
        'tracked: a new caller is not reported as new, and a new destination gets no baseline, so its ' +
        'traffic, errors and denials are not scored. Raise limits.max_destinations or limits.max_edges ' +
        '(meshwatch_tracked_series shows which detector is full); memory grows with them, so raise ' +
        "meshwatch's memory request and limit too.",
    ),
    // 10m, as Prometheus's own PrometheusBadConfig: an edit being fixed in the next minutes is not a
    // page-worthy state, a file left broken is (the next restart fails on it).
    rule(
      'MeshwatchConfigReloadFailed',
      'meshwatch_config_last_reload_successful == 0',
      '10m',
      'meshwatch failed to reload its configuration: it still runs the previous one.',
      'meshwatch {{ $labels.instance }} could not reload its config file (SIGHUP or POST /-/reload) ' +
        'and still runs the configuration it had: the change is not in effect, and a restart would ' +
        'fail on the same file. Its log line "reloading the configuration failed" names the key.',
    ),
  ];
}

/** The rule groups meshwatch ships: findings first, then meshwatch's own health. */
export function meshwatchRuleGroups(options: AlertRuleOptions = DEFAULT_ALERT_RULE_OPTIONS): RuleGroup[] {
  return [
    { name: 'meshwatch.mesh', rules: detectorAlertRules(options) },
    { name: 'meshwatch.health', rules: healthAlertRules(options) },
  ];
}

/** Every alert's name, in the order of the rule file. */
export function alertNames(): string[] {
  return meshwatchRuleGroups().flatMap((g) => g.rules.map((r) => r.alert));
}
