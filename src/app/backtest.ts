/**
 * `meshwatch backtest`: replays the detectors over a range of Prometheus history with the
 * daemon's own code and configuration, and reports the findings and alerts it would have raised.
 */
import type { Logger } from '../adapters/logger';
import type { Config } from '../config/types';
import { DetectionEngine } from '../core/engine';
import type { DetectorName } from '../core/types';
import { PrometheusQueryError } from '../errors';
import { shippedDetectorAlertRules, type DetectorAlertRule } from './backtest/alerts';
import { BacktestRecorder, DEFAULT_RECORDER_LIMITS, type RecorderLimits } from './backtest/recorder';
import type { BacktestJson, BacktestResult } from './backtest/types';
import { engineOptions, meshQueryOf } from './engine-options';
import { warmUp, type RangeQueryApi } from './warmup';

/** The result types, re-exported so callers need only this module. */
export type {
  BacktestAlert,
  BacktestFinding,
  BacktestJson,
  BacktestResult,
  SignalChart,
} from './backtest/types';

/** The range replayed: findings may open at any step of [fromMs, toMs]. */
export interface BacktestRange {
  fromMs: number;
  toMs: number;
  /** Time between two replayed polls (the daemon's poll.interval by default). */
  stepMs: number;
}

/** What a backtest runs with: passed in, so tests can give a fake Prometheus and a clock-free logger. */
export interface BacktestDeps {
  config: Config;
  prometheus: RangeQueryApi;
  logger: Logger;
  /** Called after each chunk of history with the share done (0..1) and the phase. */
  onProgress?: (fraction: number, phase: 'warm-up' | 'replay') => void;
  /** Defaults to the shipped rules' names, severities and `for:`. */
  alertRules?: Record<DetectorName, DetectorAlertRule>;
  limits?: RecorderLimits;
}

// A CLI run should fail with Prometheus's error rather than wait for it forever as the daemon's
// warm-up does; a couple of retries ride over a blip.
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 1000;

/**
 * Warms up over `warmup.lookback` before `fromMs` (learning only, at `warmup.step`, exactly as the
 * daemon does at start), then replays each step of the range as a live poll.
 */
export async function runBacktest(deps: BacktestDeps, range: BacktestRange): Promise<BacktestResult> {
  const { config, logger } = deps;
  const engine = new DetectionEngine(engineOptions(config));
  const recorder = new BacktestRecorder(
    deps.alertRules ?? shippedDetectorAlertRules(),
    deps.limits ?? DEFAULT_RECORDER_LIMITS,
  );
  const query = meshQueryOf(config);
  const lookbackMs = config.warmup.lookbackMs;
  const firstMs = range.fromMs - lookbackMs;
  const span = Math.max(1, range.toMs - firstMs);
  const abort = new AbortController();
  let failures = 0;
  let phase: 'warm-up' | 'replay' = 'warm-up';
  const prometheus: RangeQueryApi = {
    queryRange: async (promql, r, options) => {
      try {
        const answer = await deps.prometheus.queryRange(promql, r, options);
        failures = 0;
        deps.onProgress?.((r.endMs - firstMs) / span, phase);
        return answer;
      } catch (err) {
        // A 4xx is Prometheus refusing a chunk as too large: the warm-up asks for less, no retry.
        const refused = err instanceof PrometheusQueryError && err.status < 500;
        if (!refused && ++failures >= ATTEMPTS) abort.abort(err);
        throw err;
      }
    },
  };
  const common = {
    maxSamplesPerQuery: config.warmup.maxSamplesPerQuery,
    // Detectors whose labels are missing are the daemon's startup check; a backtest reports what the engine saw.
    blind: new Set<never>(),
    retryDelayMs: RETRY_DELAY_MS,
    signal: abort.signal,
  };
  const warm = await warmUp(
    prometheus,
    { meshQuery: query, learn: (s) => engine.observe(s, false) },
    { ...common, stepMs: config.warmup.stepMs, lookbackMs, endMs: range.fromMs },
    logger,
  );
  phase = 'replay';
  await warmUp(
    prometheus,
    { meshQuery: query, learn: (s) => recorder.step(s.timeMs, engine.observe(s, true)) },
    // The live part is a warm-up whose every step counts as a poll: [fromMs, toMs] inclusive.
    { ...common, stepMs: range.stepMs, lookbackMs: range.toMs - range.fromMs + 1, endMs: range.toMs + 1 },
    logger,
  );
  deps.onProgress?.(1, 'replay');
  return recorder.result({ ...range, warmupSteps: warm.steps });
}

/** The `--json` document: RFC 3339 times, `end` null for what was still open at the end of the range. */
export function backtestJson(result: BacktestResult): BacktestJson {
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    findings: result.findings.map((f) => ({
      detector: f.detector,
      destination_cluster: f.destination.cluster,
      destination_namespace: f.destination.namespace,
      destination_workload: f.destination.workload,
      source_principal: f.sourcePrincipal,
      start: iso(f.startMs),
      end: f.endMs === null ? null : iso(f.endMs),
      peak_score: f.peakScore,
    })),
    alerts: result.alerts.map((a) => ({
      alertname: a.alertname,
      severity: a.severity,
      destination_cluster: a.destination.cluster,
      destination_namespace: a.destination.namespace,
      destination_workload: a.destination.workload,
      start: iso(a.startMs),
      end: a.endMs === null ? null : iso(a.endMs),
    })),
  };
}
