import type { Logger } from '../adapters/logger';
import type { Config } from '../config/types';
import type { BlindSet } from '../core/detectors/requirements';
import type { MeshSnapshot } from '../core/mesh';
import { decodeMeshRange } from '../signals/mesh';
import type { RangeSeries } from '../signals/types';
import { PrometheusQueryError } from '../errors';
import { meshQueryOf } from './engine-options';
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
  /** The live poll's query, replayed over the recent part of history at `stepMs`. */
  meshQuery: string;
  /**
   * The same query with a rate window of `coarseStepMs`, so that each coarse step counts all the
   * traffic since the one before, replayed over the older part; unset, every step of the lookback
   * is replayed with `meshQuery`.
   */
  coarseMeshQuery?: string;
  learn(snapshot: MeshSnapshot, blind: BlindSet): void;
}

/** How far a warm-up has got, after each chunk. */
export interface WarmupProgress {
  plannedSteps: number;
  doneSteps: number;
  /** Estimated from the pace so far (steps done per second of warm-up); 0 once done. */
  remainingMs: number;
}

/** What shapes the warm-up. */
export interface WarmupOptions {
  lookbackMs: number;
  /** The live resolution: the step of the recent part of history (all of it without a coarse step). */
  stepMs: number;
  /**
   * The step of the older part of history, learned from rates over the whole step; 0, unset or
   * equal to `stepMs`: every step of the lookback is replayed at `stepMs`.
   */
  coarseStepMs?: number;
  /** The recent part replayed at `stepMs` when there is a coarse step (rounded up to whole coarse steps). */
  recentMs?: number;
  maxSamplesPerQuery: number;
  /** The first live poll's time: history ends one step before it. */
  endMs: number;
  blind: BlindSet;
  /** Wait before retrying a failed chunk. */
  retryDelayMs: number;
  signal?: AbortSignal;
  /** Called after each chunk (and once before the first), e.g. to publish progress as metrics. */
  onProgress?: (progress: WarmupProgress) => void;
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
 * One resolution of the warm-up: steps `startMs`, `startMs + stepMs`, ... `lastMs` of `query`,
 * each learned at its time plus `shiftMs`.
 */
export interface WarmupPhase {
  resolution: 'coarse' | 'live';
  startMs: number;
  lastMs: number;
  stepMs: number;
  /**
   * A coarse step at t is the rate over (t - step, t]: it is learned at the middle of that span, so
   * that its hour-of-day and hour-of-week are those of the traffic it measured, not the next hour's.
   */
  shiftMs: number;
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
 * The two resolutions of a warm-up. Baselines learn with weights per second of data, not per
 * value (levels and noise decay by the time between values, a seasonal hour gains the hours of
 * data it saw), so a week of hourly rates teaches the seasonal profiles and the slow level what a
 * week of minutes does, at 1/60 of the steps; the known edges see every edge that carried traffic
 * in any hour, since each coarse rate covers its whole step. Only the short-term state (the fast
 * level, the noise at the live rate window, the recent shape) needs the live resolution, and it
 * forgets within hours: so the last `recentMs` is replayed at `stepMs` with the live query.
 * Coarse steps end on multiples of the coarse step, each covering the hour before it, the first
 * from the start of the lookback; the live part starts one step after the last coarse one, so no
 * traffic between the two is missed. Without a coarse step, one live phase as before.
 */
export function warmupPlan(
  endMs: number,
  o: Pick<WarmupOptions, 'lookbackMs' | 'stepMs' | 'coarseStepMs' | 'recentMs'>,
): WarmupPhase[] {
  const whole = warmupRange(endMs, o.lookbackMs, o.stepMs);
  if (!whole) return [];
  const coarse = o.coarseStepMs ?? 0;
  const liveOnly: WarmupPhase[] = [{ resolution: 'live', ...whole, stepMs: o.stepMs, shiftMs: 0 }];
  if (coarse <= o.stepMs) return liveOnly;
  const firstCoarse = Math.ceil(whole.startMs / coarse) * coarse + coarse;
  const lastCoarse = Math.floor((endMs - (o.recentMs ?? 0)) / coarse) * coarse;
  if (lastCoarse < firstCoarse) return liveOnly;
  const liveStart = lastCoarse + o.stepMs;
  return [
    { resolution: 'coarse', startMs: firstCoarse, lastMs: lastCoarse, stepMs: coarse, shiftMs: -coarse / 2 },
    ...(liveStart <= whole.lastMs
      ? [
          {
            resolution: 'live' as const,
            startMs: liveStart,
            lastMs: whole.lastMs,
            stepMs: o.stepMs,
            shiftMs: 0,
          },
        ]
      : []),
  ];
}

/**
 * The mesh query with a rate window of the coarse step, so that each coarse step of the warm-up
 * counts all the traffic since the one before; undefined without a coarse step.
 */
export function coarseMeshQueryOf(config: Config): string | undefined {
  const { coarseStepMs, stepMs } = config.warmup;
  if (coarseStepMs <= stepMs) return undefined;
  return meshQueryOf({ ...config, poll: { ...config.poll, rateWindowMs: coarseStepMs } });
}

const stepsOf = (phase: WarmupPhase): number => (phase.lastMs - phase.startMs) / phase.stepMs + 1;

/**
 * Rebuilds baselines and known edges from Prometheus history: the live poll's query over
 * `lookbackMs` with `query_range`, at two resolutions (see `warmupPlan`), in chunks that keep under
 * Prometheus's 11,000 points per series and under `maxSamplesPerQuery` samples in all (sized from
 * the series count of the chunk before; a chunk Prometheus refuses as too large is halved), each
 * step replayed through the same engine call as a live poll. A chunk that fails otherwise
 * (Prometheus down) is retried until it succeeds or the signal aborts: meshwatch stays unready
 * meanwhile rather than start with a baseline that thinks the mesh is empty. Less history than
 * the lookback is fine.
 */
export async function warmUp(
  prometheus: RangeQueryApi,
  target: WarmupTarget,
  options: WarmupOptions,
  logger: Logger,
  now: () => number = Date.now,
): Promise<WarmupReport> {
  const started = now();
  const phases = warmupPlan(
    options.endMs,
    target.coarseMeshQuery === undefined ? { ...options, coarseStepMs: 0 } : options,
  );
  const plannedSteps = phases.reduce((sum, phase) => sum + stepsOf(phase), 0);
  const report: WarmupReport = {
    chunks: 0,
    steps: 0,
    firstDataMs: undefined,
    lastDataMs: undefined,
    durationMs: 0,
  };
  const first = phases[0];
  if (!first) {
    logger.info('warm-up skipped: warmup.lookback is 0s');
    options.onProgress?.({ plannedSteps: 0, doneSteps: 0, remainingMs: 0 });
    return report;
  }
  logger.info(
    {
      from: new Date(first.startMs + first.shiftMs).toISOString(),
      to: new Date(phases.at(-1)?.lastMs ?? first.lastMs).toISOString(),
      steps: plannedSteps,
      phases: phases.map((p) => ({
        resolution: p.resolution,
        from: new Date(p.startMs).toISOString(),
        steps: stepsOf(p),
        stepSeconds: p.stepMs / 1000,
      })),
    },
    'warm-up: rebuilding baselines and known edges from Prometheus history',
  );
  const pace = new Pace(plannedSteps, started, now);
  options.onProgress?.(pace.progress());
  const chunking = { pointsPerChunk: FIRST_CHUNK_POINTS, ceiling: MAX_POINTS_PER_SERIES };
  for (const phase of phases) {
    const query = phase.resolution === 'coarse' ? (target.coarseMeshQuery ?? '') : target.meshQuery;
    await replayPhase(prometheus, { ...target, meshQuery: query }, phase, chunking, {
      options,
      logger,
      report,
      pace,
    });
  }
  report.durationMs = now() - started;
  options.onProgress?.({ plannedSteps: plannedSteps, doneSteps: plannedSteps, remainingMs: 0 });
  return report;
}

/** Steps done against steps planned, and the time left at the pace so far. */
class Pace {
  private done = 0;

  constructor(
    private readonly planned: number,
    private readonly startedMs: number,
    private readonly now: () => number,
  ) {}

  add(steps: number): WarmupProgress {
    this.done = Math.min(this.planned, this.done + steps);
    return this.progress();
  }

  progress(): WarmupProgress {
    const elapsed = this.now() - this.startedMs;
    // No estimate before the first chunk: 0 steps done says nothing about the pace.
    const remainingMs =
      this.done === 0 ? (this.planned === 0 ? 0 : NaN) : (elapsed / this.done) * (this.planned - this.done);
    return { plannedSteps: this.planned, doneSteps: this.done, remainingMs };
  }
}

/** Chunk sizing carried from one chunk (and phase) to the next. */
interface Chunking {
  pointsPerChunk: number;
  /** Lowered each time Prometheus refuses a chunk as too large, so later chunks stay under it. */
  ceiling: number;
}

/** Replays one phase chunk by chunk into the target. */
async function replayPhase(
  prometheus: RangeQueryApi,
  target: WarmupTarget,
  phase: WarmupPhase,
  chunking: Chunking,
  run: { options: WarmupOptions; logger: Logger; report: WarmupReport; pace: Pace },
): Promise<void> {
  const { options, logger, report } = run;
  let chunkStart = phase.startMs;
  while (chunkStart <= phase.lastMs) {
    const chunkEnd = Math.min(chunkStart + (chunking.pointsPerChunk - 1) * phase.stepMs, phase.lastMs);
    let series: RangeSeries[];
    try {
      series = await fetchChunk(
        prometheus,
        target.meshQuery,
        { startMs: chunkStart, endMs: chunkEnd, stepMs: phase.stepMs },
        run,
      );
    } catch (err) {
      // Prometheus refuses a chunk that loads too many samples (422) or points (400): ask for less.
      if (!(err instanceof PrometheusQueryError) || err.status >= 500 || chunking.pointsPerChunk === 1)
        throw err;
      chunking.ceiling = Math.max(1, Math.floor(chunking.pointsPerChunk / 2));
      chunking.pointsPerChunk = chunking.ceiling;
      logger.warn(
        { error: describeError(err), stepsPerChunk: chunking.pointsPerChunk },
        'warm-up: Prometheus refused the chunk; asking for fewer steps',
      );
      continue;
    }
    const snapshots = decodeMeshRange(series);
    for (const snapshot of snapshots) {
      const learned =
        phase.shiftMs === 0 ? snapshot : { ...snapshot, timeMs: snapshot.timeMs + phase.shiftMs };
      target.learn(learned, options.blind);
    }
    report.chunks += 1;
    report.steps += snapshots.length;
    if (snapshots.length > 0) {
      report.firstDataMs ??= (snapshots[0]?.timeMs ?? 0) + phase.shiftMs;
      report.lastDataMs = (snapshots.at(-1)?.timeMs ?? 0) + phase.shiftMs;
    }
    const progress = run.pace.add((chunkEnd - chunkStart) / phase.stepMs + 1);
    options.onProgress?.(progress);
    logger.info(
      {
        progress: `${Math.round((100 * progress.doneSteps) / progress.plannedSteps)}%`,
        resolution: phase.resolution,
        through: new Date(chunkEnd).toISOString(),
        series: series.length,
        stepsWithData: report.steps,
        remainingSeconds: Math.round(progress.remainingMs / 1000),
      },
      'warm-up progress',
    );
    // Size the next chunk from this one's series: many series, fewer steps per query.
    chunking.pointsPerChunk = Math.max(
      1,
      Math.min(chunking.ceiling, Math.floor(options.maxSamplesPerQuery / Math.max(series.length, 1))),
    );
    chunkStart = chunkEnd + phase.stepMs;
  }
}

async function fetchChunk(
  prometheus: RangeQueryApi,
  query: string,
  range: { startMs: number; endMs: number; stepMs: number },
  run: { options: WarmupOptions; logger: Logger; report: WarmupReport },
): Promise<RangeSeries[]> {
  const { options, logger } = run;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const result = await prometheus.queryRange(query, range, { signal: options.signal });
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
          from: new Date(range.startMs).toISOString(),
          to: new Date(range.endMs).toISOString(),
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
