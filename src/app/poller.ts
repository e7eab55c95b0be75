import type { Config } from '../config/types';
import {
  assessPlaintext,
  PLAINTEXT_REQUIRED_LABELS,
  type PlaintextResult,
} from '../core/detectors/plaintext';
import { FindingTracker, type FindingTransition } from '../core/findings';
import type { Finding } from '../core/types';
import type { Logger } from '../adapters/logger';
import type { MeshwatchMetrics } from '../adapters/metrics/metrics';
import { decodeRequiredLabels, requiredLabelsQuery, type LabelPresence } from '../signals/labels';
import { decodeMesh, meshQuery } from '../signals/mesh';
import type { EdgeSample } from '../core/mesh';
import type { InstantSample } from '../signals/types';
import { describeError } from './errors';

/** The part of the Prometheus client a poll needs. */
export interface InstantQueryApi {
  query(
    promql: string,
    options?: { timeMs?: number; signal?: AbortSignal },
  ): Promise<{ data: InstantSample[]; warnings: string[] }>;
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

/** Names the callers' numbers per destination: enough to act on, bounded for the exporter. */
const TOP_CALLERS = 10;

/**
 * The poll use case: query Prometheus, decode the signals, run the detectors, update findings
 * and metrics. A poll never throws: a failure is counted, logged with its query and cause, and
 * leaves the last findings in place, marked stale.
 */
export class Poller {
  private readonly tracker = new FindingTracker();
  private readonly now: () => number;
  private readonly securityQuery: string;
  private readonly labelsQuery = requiredLabelsQuery(PLAINTEXT_REQUIRED_LABELS);
  private missingLabels = new Set<string>();
  private lastAttemptMs: number | undefined;
  private lastSuccessMs: number | undefined;
  private lastError: string | undefined;

  constructor(private readonly deps: PollerDeps) {
    this.now = deps.now ?? Date.now;
    this.securityQuery = meshQuery({
      serverReporters: deps.config.telemetry.serverReporters,
      rateWindowMs: deps.config.poll.rateWindowMs,
      denialCodes: ['401', '403'],
    });
    deps.metrics.detectorThreshold.set({ detector: 'plaintext' }, deps.config.detectors.plaintext.threshold);
  }

  /** One poll evaluated at `atMs`. Resolves when done, whether it succeeded or not. */
  async poll(atMs: number, signal?: AbortSignal): Promise<void> {
    const { metrics, logger } = this.deps;
    const started = this.now();
    this.lastAttemptMs = started;
    metrics.pollsTotal.inc();
    const endTimer = metrics.pollDuration.startTimer();
    try {
      const [security, labels] = await Promise.all([
        this.query(this.securityQuery, atMs, signal),
        this.query(this.labelsQuery, atMs, signal),
      ]);
      const presence = decodeRequiredLabels(PLAINTEXT_REQUIRED_LABELS, labels);
      this.reportLabels(presence);
      const plaintextBlind = presence.some((p) => !p.present && p.metric === 'istio_requests_total');
      const plaintext = plaintextBlind ? this.blind() : this.detectPlaintext(decodeMesh(security), atMs);

      metrics.prometheusUp.set(1);
      metrics.lastPollSuccess.set(this.now() / 1000);
      this.lastSuccessMs = this.now();
      this.lastError = undefined;
      const seconds = endTimer();
      logger.debug(
        {
          evaluatedAt: new Date(atMs).toISOString(),
          durationSeconds: round(seconds),
          series: security.length,
          findings: this.tracker.findings().length,
          plaintextDestinations: plaintext?.assessments.length,
        },
        'poll done',
      );
    } catch (err) {
      endTimer();
      metrics.pollFailuresTotal.inc();
      metrics.prometheusUp.set(0);
      this.tracker.markStale();
      const described = describeError(err);
      this.lastError = described.message;
      logger.error(
        { error: described, evaluatedAt: new Date(atMs).toISOString() },
        'poll failed; keeping the last findings, marked stale',
      );
    }
  }

  /** The body of /api/v1/findings. */
  findingsDocument(): FindingsDocument {
    const findings = this.tracker.findings();
    return {
      status: this.lastAttemptMs === undefined ? 'pending' : this.lastError === undefined ? 'ok' : 'stale',
      last_poll: iso(this.lastAttemptMs),
      last_success: iso(this.lastSuccessMs),
      error: this.lastError ?? null,
      findings: findings.map(toJson),
    };
  }

  /** Open findings, for tests and the demo. */
  findings(): Finding[] {
    return this.tracker.findings();
  }

  private async query(
    promql: string,
    atMs: number,
    signal: AbortSignal | undefined,
  ): Promise<InstantSample[]> {
    const result = await this.deps.prometheus.query(promql, { timeMs: atMs, signal });
    for (const warning of result.warnings) {
      this.deps.metrics.queryWarningsTotal.inc();
      this.deps.logger.warn(
        { query: promql, warning },
        'Prometheus returned a warning with the result; it may be partial',
      );
    }
    return result.data;
  }

  private detectPlaintext(samples: EdgeSample[], atMs: number): PlaintextResult {
    const { config, metrics, logger } = this.deps;
    const settings = config.detectors.plaintext;
    const result = assessPlaintext(samples, {
      threshold: settings.threshold,
      rateWindowSeconds: config.poll.rateWindowMs / 1000,
      topCallers: TOP_CALLERS,
    });
    const transitions = this.tracker.update('plaintext', result.assessments, settings, atMs);
    metrics.publishAssessments([
      { detector: 'plaintext', threshold: settings.threshold, assessments: result.assessments },
    ]);
    metrics.publishPlaintext(result.mtlsRatios, result.plaintextCallers);
    metrics.findingsOpen.set(
      { detector: 'plaintext' },
      this.tracker.findings().filter((f) => f.detector === 'plaintext').length,
    );
    for (const t of transitions) logTransition(logger, t);
    return result;
  }

  /** Without its labels the detector says nothing at all, rather than "no plaintext". */
  private blind(): undefined {
    const threshold = this.deps.config.detectors.plaintext.threshold;
    this.deps.metrics.publishAssessments([{ detector: 'plaintext', threshold, assessments: [] }]);
    this.deps.metrics.publishPlaintext([], []);
    return undefined;
  }

  private reportLabels(presence: LabelPresence[]): void {
    this.deps.metrics.publishLabelPresence(presence);
    const missing = new Set(presence.filter((p) => !p.present).map((p) => `${p.metric}/${p.label}`));
    for (const p of presence) {
      const key = `${p.metric}/${p.label}`;
      if (!p.present && !this.missingLabels.has(key)) {
        this.deps.logger.warn(
          { metric: p.metric, label: p.label, reason: p.reason },
          p.reason === 'metric_absent'
            ? `no ${p.metric} series in Prometheus: is Istio telemetry scraped? The plaintext detector cannot see anything`
            : `Istio telemetry lacks the label ${p.label} on ${p.metric} (stripped by the mesh's telemetry settings?): the plaintext detector cannot tell plaintext from mTLS and reports nothing`,
        );
      } else if (p.present && this.missingLabels.has(key)) {
        this.deps.logger.info(
          { metric: p.metric, label: p.label },
          `the label ${p.label} on ${p.metric} is back`,
        );
      }
    }
    this.missingLabels = missing;
  }
}

/** The JSON document of /api/v1/findings. */
export interface FindingsDocument {
  /** `pending` before the first poll, `stale` when the last poll failed. */
  status: 'pending' | 'ok' | 'stale';
  last_poll: string | null;
  last_success: string | null;
  error: string | null;
  findings: FindingJson[];
}

/** One finding as served by the API (snake_case, RFC 3339 times). */
export interface FindingJson {
  id: string;
  detector: string;
  destination_namespace: string;
  destination_workload: string;
  signal: string;
  observed: number;
  expected: number;
  lower: number;
  upper: number;
  score: number;
  threshold: number;
  top_callers: Array<{
    source_principal: string;
    source_workload_namespace: string;
    source_workload: string;
    rate: number;
  }>;
  first_seen: string;
  last_seen: string;
  stale: boolean;
}

function toJson(f: Finding): FindingJson {
  return {
    id: f.id,
    detector: f.detector,
    destination_namespace: f.destination.namespace,
    destination_workload: f.destination.workload,
    signal: f.signal,
    observed: f.observed,
    expected: f.expected,
    lower: f.lower,
    upper: f.upper,
    score: f.score,
    threshold: f.threshold,
    top_callers: f.topCallers.map((c) => ({
      source_principal: c.caller.principal,
      source_workload_namespace: c.caller.namespace,
      source_workload: c.caller.workload,
      rate: c.rate,
    })),
    first_seen: new Date(f.firstSeenMs).toISOString(),
    last_seen: new Date(f.lastSeenMs).toISOString(),
    stale: f.stale,
  };
}

function logTransition(logger: Logger, t: FindingTransition): void {
  const f = t.finding;
  const fields = {
    detector: f.detector,
    destination: `${f.destination.namespace}/${f.destination.workload}`,
    observed: f.observed,
    score: f.score,
    threshold: f.threshold,
    topCallers: f.topCallers.map((c) => `${c.caller.namespace}/${c.caller.workload}`),
  };
  if (t.kind === 'opened') logger.warn(fields, 'finding opened');
  else logger.info(fields, 'finding closed');
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const round = (x: number): number => Math.round(x * 1000) / 1000;
