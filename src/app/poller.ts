import { quoteQuery } from '../adapters/prometheus/decode';
import type { BodySink } from '../adapters/prometheus/types';
import type { Config } from '../config/types';
import {
  allRequiredLabels,
  blindDetectors,
  blindness,
  checkedMetrics,
  meshLayers,
  REQUIRED_LABELS,
  type BlindSet,
  type TelemetryState,
} from '../core/detectors/requirements';
import { DetectionEngine, type EngineResult } from '../core/engine';
import { destinationKey } from '../core/keys';
import type { FindingTransition } from '../core/findings';
import type { MeshSnapshot } from '../core/mesh';
import type { DetectorName, Finding, Layer } from '../core/types';
import type { Logger } from '../adapters/logger';
import type { MeshwatchMetrics } from '../adapters/metrics/metrics';
import { PrometheusResponseError } from '../errors';
import { decodeTelemetry, labelPresence, requiredLabelsQuery, type LabelPresence } from '../signals/labels';
import { MeshDecoder } from '../signals/mesh-decoder';
import type { InstantSample } from '../signals/types';
import { engineOptions, meshQueryOf } from './engine-options';
import { describeError } from './errors';
import { findingsDocument, type FindingsDocument } from './findings-document';

/** The part of the Prometheus client a poll needs. */
export interface InstantQueryApi {
  query(
    promql: string,
    options?: { timeMs?: number; signal?: AbortSignal },
  ): Promise<{ data: InstantSample[]; warnings: string[] }>;
  queryWith<T>(
    promql: string,
    sink: (query: string) => BodySink<T>,
    options?: { timeMs?: number; signal?: AbortSignal },
  ): Promise<T>;
}

/** What a poller is built from. */
export interface PollerDeps {
  config: Config;
  prometheus: InstantQueryApi;
  metrics: MeshwatchMetrics;
  logger: Logger;
  /** Wall clock, for timestamps of success; evaluation time comes with each poll. */
  now?: () => number;
}

const DETECTORS: readonly DetectorName[] = ['unauthorized', 'new_caller', 'plaintext', 'traffic', 'errors'];
const REQUIRED = allRequiredLabels();

/**
 * The poll use case: query Prometheus, decode the mesh, run the detection engine, update
 * findings and metrics. A poll never throws: a failure is counted, logged with its query and
 * cause, and leaves the last findings in place, marked stale.
 */
export class Poller {
  readonly engine: DetectionEngine;
  /** The mesh query, also replayed over history by the warm-up. */
  readonly meshQuery: string;
  readonly labelsQuery = requiredLabelsQuery(REQUIRED);
  /** Decodes the mesh query's answers, with the strings of the mesh interned from one poll to the next. */
  readonly decoder = new MeshDecoder();
  private readonly now: () => number;
  private missingLabels = new Set<string>();
  /** The last poll (or warm-up step) refused series over a cap. */
  private atCapacity = false;
  /** A poll has read Istio telemetry; and the last one saw none at all after that (a scrape gap). */
  private sawTelemetry = false;
  private inGap = false;
  /** After a gap, detectors wait until this evaluation time: one whole rate window of new samples. */
  private resumeAtMs: number | undefined;
  private layers: readonly Layer[] | undefined;
  private lastAttemptMs: number | undefined;
  private lastSuccessMs: number | undefined;
  private lastError: string | undefined;

  constructor(private readonly deps: PollerDeps) {
    this.now = deps.now ?? Date.now;
    this.engine = new DetectionEngine(engineOptions(deps.config));
    this.meshQuery = meshQueryOf(deps.config);
    for (const detector of DETECTORS) {
      deps.metrics.detectorThreshold.set({ detector }, deps.config.detectors[detector].threshold);
      deps.metrics.findingsOpen.set({ detector }, 0);
    }
    for (const reason of ['capacity', 'evicted']) deps.metrics.seriesDropped.inc({ reason }, 0);
  }

  /** One poll for `slotMs`, evaluated poll.query_offset before it. Resolves when done, whether it succeeded or not. */
  async poll(slotMs: number, signal?: AbortSignal): Promise<void> {
    const { metrics, logger } = this.deps;
    // Remote-write backends (Mimir, Thanos Receive) get the newest samples late: a rate() window
    // ending at the slot would be missing its last seconds and read as a drop.
    const atMs = slotMs - this.deps.config.poll.queryOffsetMs;
    this.lastAttemptMs = this.now();
    metrics.pollsTotal.inc();
    const endTimer = metrics.pollDuration.startTimer();
    try {
      const [mesh, labels] = await Promise.all([
        this.deps.prometheus.queryWith(this.meshQuery, (query) => this.decoder.sink(query), {
          timeMs: atMs,
          signal,
        }),
        this.query(this.labelsQuery, atMs, signal),
      ]);
      this.warn(this.meshQuery, mesh.warnings);
      // A sum of rates is never NaN or infinite: such an answer is broken (an exporter, a query
      // engine) and is refused whole, as any wrong answer is; reading the rest of it would take
      // those series as gone: a drop in traffic, and the close of the findings they carry.
      if (mesh.nonFinite !== undefined) throw nonFiniteAnswer(this.meshQuery, mesh.nonFinite);
      const blind = this.holdAfterGap(atMs, this.checkLabels(labels));
      const result = this.engine.observe({ timeMs: atMs, samples: mesh.samples }, true, blind);
      this.publish(result);

      metrics.prometheusUp.set(1);
      metrics.lastPollSuccess.set(this.now() / 1000);
      this.lastSuccessMs = this.now();
      this.lastError = undefined;
      const seconds = endTimer();
      logger.debug(
        {
          evaluatedAt: new Date(atMs).toISOString(),
          durationSeconds: Math.round(seconds * 1000) / 1000,
          series: mesh.series,
          findings: this.engine.findings().length,
          blind: [...blind],
        },
        'poll done',
      );
    } catch (err) {
      endTimer();
      metrics.pollFailuresTotal.inc();
      metrics.prometheusUp.set(0);
      this.engine.markStale();
      const described = describeError(err);
      this.lastError = described.message;
      logger.error(
        { error: described, evaluatedAt: new Date(atMs).toISOString() },
        'poll failed; keeping the last findings, marked stale',
      );
    }
  }

  /** Feeds one step of history to the engine (warm start): the same code as a live poll, without findings. */
  learn(snapshot: MeshSnapshot, blind: BlindSet): void {
    this.engine.observe(snapshot, false, blind);
    this.publishState();
  }

  /** Checks the telemetry's labels once (for the warm-up) and returns the detectors that are blind. */
  async checkTelemetry(atMs: number, signal?: AbortSignal): Promise<BlindSet> {
    return this.checkLabels(await this.query(this.labelsQuery, atMs, signal));
  }

  /** The body of /api/v1/findings. */
  findingsDocument(): FindingsDocument {
    return findingsDocument(this.engine.findings(), this.lastAttemptMs, this.lastSuccessMs, this.lastError);
  }

  /** Open findings. */
  findings(): Finding[] {
    return this.engine.findings();
  }

  /**
   * Runs with `config` from the next poll on (a config reload): the engine is retuned, keeping its
   * baselines, known edges and findings, and the thresholds are published at once. What the poller
   * fixed at start (the mesh query) is the caller's to keep unchanged (src/app/reload.ts).
   */
  reconfigure(config: Config): void {
    this.deps.config = config;
    const transitions = this.engine.retune(engineOptions(config));
    for (const detector of DETECTORS) {
      this.deps.metrics.detectorThreshold.set({ detector }, config.detectors[detector].threshold);
    }
    for (const t of transitions) logTransition(this.deps.logger, t);
  }

  private async query(
    promql: string,
    atMs: number,
    signal: AbortSignal | undefined,
  ): Promise<InstantSample[]> {
    const result = await this.deps.prometheus.query(promql, { timeMs: atMs, signal });
    this.warn(promql, result.warnings);
    return result.data;
  }

  /** Counts and logs the warnings Prometheus sent with an answer. */
  private warn(promql: string, warnings: readonly string[]): void {
    for (const warning of warnings) {
      this.deps.metrics.queryWarningsTotal.inc();
      this.deps.logger.warn(
        { query: promql, warning },
        'Prometheus returned a warning with the result; it may be partial',
      );
    }
  }

  private publish(result: EngineResult): void {
    const { metrics, logger } = this.deps;
    metrics.publishAssessments(result.detections, this.deps.config.limits.exportBands);
    metrics.publishPlaintext(result.mtlsRatios, result.plaintextCallers);
    metrics.publishStrictReady(this.engine.strictReadiness());
    metrics.publishCallers(metrics.unauthorizedRate, result.unauthorizedCallers);
    metrics.publishCallers(metrics.newCallerRate, result.newCallers);
    const open = this.engine.findings();
    for (const detector of DETECTORS) {
      metrics.findingsOpen.set({ detector }, open.filter((f) => f.detector === detector).length);
    }
    this.publishState();
    for (const t of result.transitions) logTransition(logger, t);
  }

  private publishState(): void {
    const { metrics } = this.deps;
    for (const [detector, count] of Object.entries(this.engine.tracked())) {
      metrics.trackedSeries.set({ detector }, count);
    }
    const drops = this.engine.drainDrops();
    for (const [reason, count] of Object.entries(drops)) {
      if (count > 0) metrics.seriesDropped.inc({ reason }, count);
    }
    this.reportCapacity(drops.capacity);
  }

  /**
   * After a gap in the whole mesh's telemetry (every target unscrapeable), the first rate window
   * holds only the samples since scrapes resumed: rate() reads it low, a drop that is not there.
   * Every detector waits one rate window (blind: nothing scored, nothing learned) before it resumes.
   */
  private holdAfterGap(atMs: number, blind: BlindSet): BlindSet {
    if (this.layers?.length === 0) {
      // Telemetry that has not appeared yet is not a gap: nothing has a baseline to misjudge.
      this.inGap = this.sawTelemetry;
      return blind;
    }
    this.sawTelemetry = true;
    if (this.inGap) {
      this.inGap = false;
      this.resumeAtMs = atMs + this.deps.config.poll.rateWindowMs;
      this.deps.logger.info(
        { resumeAt: new Date(this.resumeAtMs).toISOString() },
        'Istio telemetry is back after a gap; the detectors resume once a whole rate window has been scraped again',
      );
    }
    if (this.resumeAtMs === undefined || atMs >= this.resumeAtMs) {
      this.resumeAtMs = undefined;
      return blind;
    }
    for (const detector of DETECTORS) this.deps.metrics.detectorBlind.set({ detector }, 1);
    return new Set(DETECTORS.flatMap((d) => [`${d}:http`, `${d}:tcp`] as const));
  }

  /** Says once, when refusals start, that a cap is reached: a metric alone is easy to miss while it counts. */
  private reportCapacity(refused: number): void {
    if (refused > 0 && !this.atCapacity) {
      const { maxDestinations, maxEdges } = this.deps.config.limits;
      this.deps.logger.warn(
        { refused, tracked: this.engine.tracked(), maxDestinations, maxEdges },
        'at capacity: refusing new series over limits.max_destinations or limits.max_edges; new callers and destinations go unwatched until it is raised or the churn ends',
      );
    }
    this.atCapacity = refused > 0;
  }

  /**
   * Publishes what telemetry the mesh has and which labels are missing, says so in the log on each
   * change, and returns the (detector, layer) pairs that cannot be read.
   */
  private checkLabels(samples: InstantSample[]): BlindSet {
    const state = decodeTelemetry(REQUIRED, samples);
    const presence = labelPresence(REQUIRED, state);
    const blind = blindness(state);
    const blindNames = new Set(blindDetectors(blind));
    this.deps.metrics.publishLabelPresence(presence);
    this.deps.metrics.publishTelemetry(
      checkedMetrics().map((metric) => ({ metric, present: state.present.has(metric) })),
      DETECTORS.map((detector) => ({ detector, blind: blindNames.has(detector) })),
    );
    this.reportLayers(state);
    const missing = new Set(
      presence.filter((p) => !p.present && p.reason !== 'no_telemetry').map((p) => `${p.metric}/${p.label}`),
    );
    for (const p of presence) this.reportChange(p);
    this.missingLabels = missing;
    return blind;
  }

  /** Logs the kind of mesh the telemetry shows, when it is first seen and when it changes. */
  private reportLayers(state: TelemetryState): void {
    const layers = meshLayers(state);
    if (this.layers !== undefined && this.layers.join() === layers.join()) return;
    this.layers = layers;
    if (layers.length === 0) {
      this.deps.logger.warn(
        { layers, blindDetectors: DETECTORS },
        'no Istio telemetry in Prometheus (neither istio_requests_total nor istio_tcp_connections_opened_total): is Istio scraped (sidecars, ztunnel, waypoints)? Every detector reports nothing until it is',
      );
      return;
    }
    const httpOnly = DETECTORS.filter((d) => !REQUIRED_LABELS[d].some((r) => r.layer === 'tcp'));
    const kind =
      layers.length === 2
        ? 'HTTP and TCP telemetry (sidecars, ambient with waypoints, or a mix)'
        : layers[0] === 'tcp'
          ? `TCP telemetry only: an ambient mesh without waypoints (ztunnel), or sidecars serving only TCP; traffic scores connection rates, unauthorized counts L4 denials, and ${httpOnly.join(', ')} has nothing to score (no HTTP telemetry)`
          : 'HTTP telemetry only (sidecars without TCP services)';
    this.deps.logger.info(
      { layers, metrics: [...state.present].sort() },
      `Istio telemetry in Prometheus: ${kind}`,
    );
  }

  private reportChange(p: LabelPresence): void {
    const key = `${p.metric}/${p.label}`;
    // No telemetry at all is one line (reportLayers), not one per label.
    if (!p.present && p.reason !== 'no_telemetry' && !this.missingLabels.has(key)) {
      const detectors = DETECTORS.filter((d) =>
        REQUIRED_LABELS[d].some((r) => r.metric === p.metric && r.label === p.label),
      );
      const layer = p.layer.toUpperCase();
      this.deps.logger.warn(
        { metric: p.metric, label: p.label, layer: p.layer, reason: p.reason, blindDetectors: detectors },
        p.reason === 'metric_absent'
          ? `no ${p.metric} series in Prometheus although the mesh has ${layer} telemetry (dropped to save cardinality?): detectors that cannot read ${layer} traffic until it is back: ${detectors.join(', ')}`
          : `Istio telemetry lacks the label ${p.label} on ${p.metric} (stripped by the mesh's telemetry settings?): detectors that cannot read ${layer} traffic until it is back: ${detectors.join(', ')}`,
      );
    } else if (p.present && this.missingLabels.has(key)) {
      this.deps.logger.info(
        { metric: p.metric, label: p.label },
        `the label ${p.label} on ${p.metric} is back`,
      );
    }
  }
}

/** The error for a mesh answer holding NaN or ±Inf rates. */
function nonFiniteAnswer(query: string, series: number): PrometheusResponseError {
  return new PrometheusResponseError(
    `Prometheus returned ${series} series whose rate is NaN, +Inf or -Inf for query ${quoteQuery(query)}; a sum of rates never is, so the answer is not used`,
    { query },
  );
}

function logTransition(logger: Logger, t: FindingTransition): void {
  const f = t.finding;
  const fields = {
    detector: f.detector,
    destination: destinationKey(f.destination),
    signal: f.signal,
    layers: f.layers,
    part: f.part,
    observed: f.observed,
    expected: f.expected,
    score: f.score,
    threshold: f.threshold,
    topCallers: f.topCallers.map(
      (c) =>
        `${c.caller.principal !== 'unknown' ? c.caller.principal : `${c.caller.namespace}/${c.caller.workload}`} (${c.layer})`,
    ),
  };
  if (t.kind === 'opened') logger.warn(fields, 'finding opened');
  else logger.info(fields, 'finding closed');
}
