import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Assessment, Caller, DetectorName, Destination, Layer } from '../../core/types';
import type { BandExport } from '../../config/types';
import type { LabelPresence } from '../../signals/labels';
import { SnapshotGauge, type SnapshotValue } from './snapshot-gauge';

// destination_cluster is always a label name; where the telemetry has no cluster label its value
// is empty, which Prometheus stores as no label: a single-cluster mesh without cluster labels
// keeps the series it had, and one that gains a second cluster does not rename every series.
const DEST = ['destination_cluster', 'destination_namespace', 'destination_workload'] as const;

// The detectors whose band is learned; new_caller's and plaintext's are constants.
const LEARNED: ReadonlySet<DetectorName> = new Set(['traffic', 'errors', 'unauthorized']);

/** A caller's rate on one layer of one destination, as the per-caller gauges take it. */
export type CallerRate = { destination: Destination; caller: Caller; rate: number; layer: Layer };

/**
 * meshwatch's own metrics and its findings as gauges, on a registry of its own (never
 * prom-client's global one, so that tests and embedders get exactly these series).
 */
export class MeshwatchMetrics {
  readonly registry = new Registry();

  readonly buildInfo = this.gauge(
    'meshwatch_build_info',
    'Always 1; the version label says which build runs.',
    ['version'],
  );
  readonly prometheusUp = this.gauge(
    'meshwatch_prometheus_up',
    '1 if the last poll reached Prometheus, else 0.',
  );
  readonly pollsTotal = this.counter('meshwatch_polls_total', 'Polls started.');
  readonly pollFailuresTotal = this.counter(
    'meshwatch_poll_failures_total',
    'Polls that failed (Prometheus unreachable, query error, bad answer).',
  );
  readonly pollsSkippedTotal = this.counter(
    'meshwatch_polls_skipped_total',
    'Scheduled polls skipped because the previous one was still running.',
  );
  readonly pollDuration = new Histogram({
    name: 'meshwatch_poll_duration_seconds',
    help: 'Duration of a poll: queries, decoding and detection.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly lastPollSuccess = this.gauge(
    'meshwatch_last_poll_success_timestamp_seconds',
    'Unix time of the last successful poll.',
  );
  readonly queryWarningsTotal = this.counter(
    'meshwatch_prometheus_query_warnings_total',
    'Warnings Prometheus (or Thanos/Mimir) returned with query results, e.g. partial responses.',
  );
  readonly alertmanagerPushFailures = this.counter(
    'meshwatch_alertmanager_push_failures_total',
    'Failed direct pushes of findings to Alertmanager (only with alertmanager.url set).',
  );
  readonly requiredLabelsPresent = this.gauge(
    'meshwatch_required_labels_present',
    '0 when Istio telemetry lacks a label a detector needs (stripped from a metric that has series), or has no Istio metric at all; 1 otherwise, also for a metric this kind of mesh does not have.',
    ['metric', 'label'],
  );
  readonly telemetryPresent = this.gauge(
    'meshwatch_telemetry_present',
    '1 when Prometheus has series of this Istio metric: istio_requests_total (HTTP, from sidecars and waypoints), istio_tcp_connections_opened_total (TCP, from sidecars, ztunnel and waypoints). Only TCP: an ambient mesh without waypoints.',
    ['metric'],
  );
  readonly detectorBlind = this.gauge(
    'meshwatch_detector_blind',
    '1 when the detector cannot read telemetry the mesh has (a label it needs is stripped, or there is no Istio telemetry at all): it reports nothing there, even during an attack.',
    ['detector'],
  );
  readonly warmupComplete = this.gauge(
    'meshwatch_warmup_complete',
    '1 once baselines are rebuilt from history.',
  );
  readonly warmupSteps = this.gauge(
    'meshwatch_warmup_steps',
    'Steps of history the warm-up replays: planned in all, and done so far.',
    ['state'],
  );
  readonly warmupRemaining = this.gauge(
    'meshwatch_warmup_remaining_seconds',
    'Estimated time until the warm-up is done, from its pace so far; 0 once it is.',
  );
  readonly findingsOpen = this.gauge('meshwatch_findings_open', 'Open findings by detector.', ['detector']);
  readonly configLastReloadSuccessful = this.gauge(
    'meshwatch_config_last_reload_successful',
    '1 if the last reload of the config file (SIGHUP, POST /-/reload) succeeded, or none was tried; 0 if it failed and the previous config still runs.',
  );
  readonly configLastReloadSuccess = this.gauge(
    'meshwatch_config_last_reload_success_timestamp_seconds',
    'Unix time the running config was loaded: at start, then at each successful reload.',
  );

  readonly anomalyScore = this.snapshot(
    'meshwatch_anomaly_score',
    'Current anomaly score, 0 = normal; compare with meshwatch_detector_threshold.',
    ['detector', ...DEST],
  );
  readonly anomalyPart = this.snapshot(
    'meshwatch_anomaly_part',
    'Always 1, for the part of a baseline-backed score that is largest now: part="level" (outside the seasonal band), "shape" (an unusual course of the series) or "new_range" (beyond every value it has had).',
    ['detector', ...DEST, 'part'],
  );
  readonly detectorThreshold = this.gauge(
    'meshwatch_detector_threshold',
    'Score at which the detector reports an anomaly.',
    ['detector'],
  );
  readonly signalObserved = this.snapshot(
    'meshwatch_signal_observed',
    'Value the detector saw (rates per second, ratios 0..1).',
    ['signal', ...DEST],
  );
  readonly signalExpected = this.snapshot('meshwatch_signal_expected', "The baseline's expected value now.", [
    'signal',
    ...DEST,
  ]);
  readonly signalLower = this.snapshot('meshwatch_signal_lower', 'Lower edge of the normal band.', [
    'signal',
    ...DEST,
  ]);
  readonly signalUpper = this.snapshot('meshwatch_signal_upper', 'Upper edge of the normal band.', [
    'signal',
    ...DEST,
  ]);
  readonly plaintextRate = this.gauge(
    'meshwatch_plaintext_requests_per_second',
    'Plaintext requests (layer http) and TCP connections (layer tcp) per second, by caller (top callers only).',
    [...DEST, 'source_cluster', 'source_workload_namespace', 'source_workload', 'layer'],
  );
  readonly unauthorizedRate = this.gauge(
    'meshwatch_unauthorized_requests_per_second',
    'Denied requests per second by caller: layer http by status code (401/403), layer tcp connections refused by an L4 AuthorizationPolicy (ztunnel DENY); top callers of each destination only.',
    [...DEST, 'source_principal', 'layer'],
  );
  readonly newCallerRate = this.gauge(
    'meshwatch_new_caller_requests_per_second',
    'Requests (layer http) or connections (layer tcp) per second of a caller new to the destination, while the edge counts as new.',
    [...DEST, 'source_principal', 'layer'],
  );
  readonly trackedSeries = this.gauge(
    'meshwatch_tracked_series',
    'Series (destinations, or edges for new_caller) whose state is kept, by detector; a destination whose traffic moves between connections and requests has two for a while.',
    ['detector'],
  );
  readonly seriesDropped = new Counter({
    name: 'meshwatch_series_dropped_total',
    help: 'Series not tracked: refused over the capacity limit (counted at every poll that sees them), or evicted after not being seen.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly mtlsRatio = this.snapshot(
    'meshwatch_mtls_ratio',
    "Share of a destination's requests and connections over mTLS, 0..1 (each once: a waypoint's connection to the workload is not counted again).",
    [...DEST],
  );
  readonly strictMtlsReady = this.snapshot(
    'meshwatch_strict_mtls_ready',
    '1 when no plaintext caller reached the destination over audit.lookback (it could take a STRICT PeerAuthentication), 0 when one did; as far as meshwatch has seen: its warm-up (warmup.lookback) and polls since, so with a warm-up shorter than audit.lookback it judges the shorter span. A destination only ever seen over mTLS is 1. Absent while the plaintext detector is blind on every layer (meshwatch_detector_blind).',
    [...DEST],
  );

  constructor(version: string) {
    this.buildInfo.set({ version }, 1);
    this.prometheusUp.set(0);
    this.warmupComplete.set(0);
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Replaces every detector's per-destination gauges with this poll's assessments. All detectors
   * run in one poll, so a reset-and-set of the whole set (synchronous, so no scrape sees it half
   * done) drops the series of destinations that went away.
   */
  publishAssessments(
    detections: ReadonlyArray<{
      detector: DetectorName;
      threshold: number;
      assessments: readonly Assessment[];
    }>,
    bands: BandExport = 'all',
  ): void {
    const score: SnapshotValue[] = [];
    const part: SnapshotValue[] = [];
    const observed: SnapshotValue[] = [];
    const expected: SnapshotValue[] = [];
    const lower: SnapshotValue[] = [];
    const upper: SnapshotValue[] = [];
    for (const { detector, threshold, assessments } of detections) {
      this.detectorThreshold.set({ detector }, threshold);
      for (const a of assessments) {
        const dest = destLabels(a.destination);
        score.push({ labels: { detector, ...dest }, value: a.score });
        if (a.part !== undefined) part.push({ labels: { detector, ...dest, part: a.part }, value: 1 });
        // One label set for the four signal gauges: they are read, never changed.
        const labels = { signal: a.signal, ...dest };
        observed.push({ labels, value: a.observed });
        if (bands === 'none' || (bands === 'learned' && !LEARNED.has(detector))) continue;
        expected.push({ labels, value: a.expected });
        lower.push({ labels, value: a.lower });
        upper.push({ labels, value: a.upper });
      }
    }
    this.anomalyScore.replace(score);
    this.anomalyPart.replace(part);
    this.signalObserved.replace(observed);
    this.signalExpected.replace(expected);
    this.signalLower.replace(lower);
    this.signalUpper.replace(upper);
  }

  /** Replaces the mTLS ratios and the per-caller plaintext rates. */
  publishPlaintext(
    ratios: ReadonlyArray<{ destination: Destination; ratio: number }>,
    callers: readonly CallerRate[],
  ): void {
    this.mtlsRatio.replace(
      ratios.map(({ destination, ratio }) => ({ labels: destLabels(destination), value: ratio })),
    );
    this.plaintextRate.reset();
    for (const { destination, caller, rate, layer } of callers) {
      // inc: callers told apart by principal alone (an old ztunnel names plaintext callers' identity) add up.
      this.plaintextRate.inc(
        {
          ...destLabels(destination),
          source_cluster: caller.cluster,
          source_workload_namespace: caller.namespace,
          source_workload: caller.workload,
          layer,
        },
        rate,
      );
    }
  }

  /** Replaces `meshwatch_strict_mtls_ready` with the readiness of every remembered destination. */
  publishStrictReady(readiness: ReadonlyArray<{ destination: Destination; ready: boolean }>): void {
    this.strictMtlsReady.replace(
      readiness.map(({ destination, ready }) => ({ labels: destLabels(destination), value: ready ? 1 : 0 })),
    );
  }

  /** Replaces a per-caller gauge's series with this poll's callers. */
  publishCallers(gauge: Gauge<string>, callers: readonly CallerRate[]): void {
    gauge.reset();
    for (const { destination, caller, rate, layer } of callers) {
      // Callers without an identity share source_principal="unknown": their rates add up.
      gauge.inc({ ...destLabels(destination), source_principal: caller.principal, layer }, rate);
    }
  }

  /** Sets `meshwatch_required_labels_present` for each checked label. */
  publishLabelPresence(presence: readonly LabelPresence[]): void {
    for (const p of presence)
      this.requiredLabelsPresent.set({ metric: p.metric, label: p.label }, p.present ? 1 : 0);
  }

  /** Sets `meshwatch_telemetry_present` and `meshwatch_detector_blind`. */
  publishTelemetry(
    metrics: ReadonlyArray<{ metric: string; present: boolean }>,
    detectors: ReadonlyArray<{ detector: DetectorName; blind: boolean }>,
  ): void {
    for (const { metric, present } of metrics) this.telemetryPresent.set({ metric }, present ? 1 : 0);
    for (const { detector, blind } of detectors) this.detectorBlind.set({ detector }, blind ? 1 : 0);
  }

  private snapshot(name: string, help: string, labelNames: readonly string[]): SnapshotGauge {
    return new SnapshotGauge(name, help, labelNames, this.registry);
  }

  private gauge(name: string, help: string, labelNames: string[] = []): Gauge<string> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private counter(name: string, help: string): Counter<string> {
    return new Counter({ name, help, registers: [this.registry] });
  }
}

function destLabels(d: Destination): Record<(typeof DEST)[number], string> {
  return {
    destination_cluster: d.cluster,
    destination_namespace: d.namespace,
    destination_workload: d.workload,
  };
}
