import type { Logger } from '../adapters/logger';
import type { BlindSet } from '../core/detectors/requirements';
import type { MeshSnapshot } from '../core/mesh';
import { decodeMeshRange } from '../signals/mesh';
import type { RangeSeries } from '../signals/types';
import { PrometheusQueryError } from '../errors';
import { describeError } from './errors';

/** Prometheus refuses a range query of more than 11,000 points per series. */
export const MAX_POINTS_PER_SERIES = 11_000;

/**
 * The first chunk's steps, before the series count is known: small enough that even a mesh of
 * 100,000 series stays under Prometheus's default --query.max-samples (50 million).
 */
export const FIRST_CHUNK_POINTS = 60;

/** The range-query part of the Prometheus client the warm-up needs. */
export interface RangeQueryApi {
  queryRange(
    promql: string,
    range: { startMs: number; endMs: number; stepMs: number },
    options?: { signal?: AbortSignal },
  ): Promise<{ data: RangeSeries[]; warnings: string[] }>;
}

/** What the warm-up replays history into. */
export interface WarmupTarget {
  meshQuery: string;
  learn(snapshot: MeshSnapshot, blind: BlindSet): void;
}

/** What shapes the warm-up. */
export interface WarmupOptions {
  lookbackMs: number;
  stepMs: number;
  maxSamplesPerQuery: number;
  /** The first live poll's time: history ends one step before it. */
  endMs: number;
  blind: BlindSet;
  /** Wait before retrying a failed chunk. */
  retryDelayMs: number;
  signal?: AbortSignal;
}

/** What a warm-up did, for the log and the tests. */
export interface WarmupReport {
  chunks: number;
  /** Steps that had data, replayed into the engine. */
  steps: number;
  firstDataMs: number | undefined;
  lastDataMs: number | undefined;
  durationMs: number;
}

/**
 * The steps a warm-up replays: multiples of the step (as live polls are aligned to multiples of
 * the interval) from `endMs - lookbackMs` to the last one before `endMs`; undefined when there is
 * nothing to replay.
 */
export function warmupRange(
  endMs: number,
  lookbackMs: number,
  stepMs: number,
): { startMs: number; lastMs: number } | undefined {
  const lastMs = Math.floor((endMs - 1) / stepMs) * stepMs;
  const startMs = Math.ceil((endMs - lookbackMs) / stepMs) * stepMs;
  return lookbackMs > 0 && startMs <= lastMs ? { startMs, lastMs } : undefined;
}

/**
 * Rebuilds baselines and known edges from Prometheus history: the live poll's query over
 * `lookbackMs` with `query_range`, in chunks that keep under Prometheus's 11,000 points per
 * series and under `maxSamplesPerQuery` samples in all (sized from the series count of the chunk
 * before; a chunk Prometheus refuses as too large is halved), each step replayed through the same
 * engine call as a live poll. A chunk that fails otherwise (Prometheus down) is retried until it
 * succeeds or the signal aborts: meshwatch stays unready meanwhile rather than start with a
 * baseline that thinks the mesh is empty. Less history than the lookback is fine.
 */
export async function warmUp(
  prometheus: RangeQueryApi,
  target: WarmupTarget,
  options: WarmupOptions,
  logger: Logger,
  now: () => number = Date.now,
): Promise<WarmupReport> {
  const started = now();
  const report: WarmupReport = {
    chunks: 0,
    steps: 0,
    firstDataMs: undefined,
    lastDataMs: undefined,
    durationMs: 0,
  };
  const range = warmupRange(options.endMs, options.lookbackMs, options.stepMs);
  if (!range) {
    logger.info('warm-up skipped: warmup.lookback is 0s');
    return report;
  }
  const totalSteps = (range.lastMs - range.startMs) / options.stepMs + 1;
  let pointsPerChunk = FIRST_CHUNK_POINTS;
  // Lowered each time Prometheus refuses a chunk as too large, so later chunks stay under it.
  let ceiling = MAX_POINTS_PER_SERIES;
  let chunkStart = range.startMs;
  logger.info(
    {
      from: new Date(range.startMs).toISOString(),
      to: new Date(range.lastMs).toISOString(),
      steps: totalSteps,
      stepSeconds: options.stepMs / 1000,
    },
    'warm-up: rebuilding baselines and known edges from Prometheus history',
  );
  while (chunkStart <= range.lastMs) {
    const chunkEnd = Math.min(chunkStart + (pointsPerChunk - 1) * options.stepMs, range.lastMs);
    let series: RangeSeries[];
    try {
      series = await fetchChunk(prometheus, target.meshQuery, chunkStart, chunkEnd, options, logger);
    } catch (err) {
      // Prometheus refuses a chunk that loads too many samples (422) or points (400): ask for less.
      if (!(err instanceof PrometheusQueryError) || err.status >= 500 || pointsPerChunk === 1) throw err;
      ceiling = Math.max(1, Math.floor(pointsPerChunk / 2));
      pointsPerChunk = ceiling;
      logger.warn(
        { error: describeError(err), stepsPerChunk: pointsPerChunk },
        'warm-up: Prometheus refused the chunk; asking for fewer steps',
      );
      continue;
    }
    const snapshots = decodeMeshRange(series);
    for (const snapshot of snapshots) target.learn(snapshot, options.blind);
    report.chunks += 1;
    report.steps += snapshots.length;
    if (snapshots.length > 0) {
      report.firstDataMs ??= snapshots[0]?.timeMs;
      report.lastDataMs = snapshots.at(-1)?.timeMs;
    }
    const done = (chunkEnd - range.startMs) / options.stepMs + 1;
    logger.info(
      {
        progress: `${Math.round((100 * done) / totalSteps)}%`,
        through: new Date(chunkEnd).toISOString(),
        series: series.length,
        stepsWithData: report.steps,
      },
      'warm-up progress',
    );
    // Size the next chunk from this one's series: many series, fewer steps per query.
    pointsPerChunk = Math.max(
      1,
      Math.min(ceiling, Math.floor(options.maxSamplesPerQuery / Math.max(series.length, 1))),
    );
    chunkStart = chunkEnd + options.stepMs;
  }
  report.durationMs = now() - started;
  return report;
}

async function fetchChunk(
  prometheus: RangeQueryApi,
  query: string,
  startMs: number,
  endMs: number,
  options: WarmupOptions,
  logger: Logger,
): Promise<RangeSeries[]> {
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const result = await prometheus.queryRange(
        query,
        { startMs, endMs, stepMs: options.stepMs },
        { signal: options.signal },
      );
      for (const warning of result.warnings)
        logger.warn({ query, warning }, 'Prometheus returned a warning with the history; it may be partial');
      return result.data;
    } catch (err) {
      options.signal?.throwIfAborted();
      if (err instanceof PrometheusQueryError && err.status < 500) throw err;
      logger.error(
        {
          error: describeError(err),
          attempt,
          from: new Date(startMs).toISOString(),
          to: new Date(endMs).toISOString(),
          retryInSeconds: options.retryDelayMs / 1000,
        },
        'warm-up: fetching history failed; retrying (meshwatch stays unready until warm-up completes)',
      );
      await delay(options.retryDelayMs, options.signal);
    }
  }
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
