import {
  MAX_POINTS_PER_SERIES,
  warmUp,
  warmupRange,
  type RangeQueryApi,
  type WarmupOptions,
  type WarmupTarget,
} from '../../../src/app/warmup';
import type { MeshSnapshot } from '../../../src/core/mesh';
import type { BlindSet } from '../../../src/core/detectors/requirements';
import { PrometheusQueryError, PrometheusUnavailable } from '../../../src/errors';
import type { RangeSeries } from '../../../src/signals/types';
import { logSink } from '../../helpers/log-sink';

const MINUTE = 60_000;
/** A time on a whole minute, as live polls are aligned. */
const END = Date.UTC(2026, 0, 12);

type Range = { startMs: number; endMs: number; stepMs: number };

/** Answers range queries from a function, like a Prometheus holding that history; records what was asked. */
class FakeRangeQueries implements RangeQueryApi {
  readonly asked: Range[] = [];
  /** Calls that fail (before any succeeds). */
  failures = 0;
  onFailure: () => void = () => undefined;

  constructor(private readonly answer: (range: Range) => RangeSeries[]) {}

  async queryRange(_promql: string, range: Range): Promise<{ data: RangeSeries[]; warnings: string[] }> {
    this.asked.push(range);
    if (this.failures > 0) {
      this.failures -= 1;
      this.onFailure();
      throw new PrometheusUnavailable('connection refused', { url: 'http://prometheus', query: 'mesh' });
    }
    return { data: this.answer(range), warnings: [] };
  }
}

/** `count` request series of the mesh query, with a sample at each step of the range where `has(t)`. */
const meshSeries =
  (count: number, has: (timeMs: number) => boolean = () => true) =>
  (range: Range): RangeSeries[] =>
    Array.from({ length: count }, (_, i) => {
      const samples: Array<[number, number]> = [];
      for (let t = range.startMs; t <= range.endMs; t += range.stepMs) if (has(t)) samples.push([t, 1]);
      return {
        labels: {
          destination_workload_namespace: 'shop',
          destination_workload: `w${i}`,
          source_workload_namespace: 'shop',
          source_workload: 'frontend',
          source_principal: 'spiffe://cluster.local/ns/shop/sa/frontend',
          connection_security_policy: 'mutual_tls',
          meshwatch_kind: 'requests',
        },
        samples,
      };
    });

/** Records what the warm-up replays: each step's time and blind set, not the samples (they are many). */
function recorder(): WarmupTarget & { times: number[]; blinds: BlindSet[] } {
  const times: number[] = [];
  const blinds: BlindSet[] = [];
  return {
    meshQuery: 'mesh',
    times,
    blinds,
    learn(snapshot: MeshSnapshot, blind: BlindSet) {
      times.push(snapshot.timeMs);
      blinds.push(blind);
    },
  };
}

const options = (over: Partial<WarmupOptions>): WarmupOptions => ({
  lookbackMs: 60 * MINUTE,
  stepMs: MINUTE,
  maxSamplesPerQuery: 1_000_000,
  endMs: END,
  blind: new Set(),
  retryDelayMs: 0,
  ...over,
});

const steps = (r: Range): number => (r.endMs - r.startMs) / r.stepMs + 1;

describe('the warm-up range', () => {
  it('ends one step before the first live poll and starts a lookback earlier, on whole steps', () => {
    expect(warmupRange(END, 60 * MINUTE, MINUTE)).toEqual({
      startMs: END - 60 * MINUTE,
      lastMs: END - MINUTE,
    });
  });

  it('aligns an end between steps down and a start between steps up', () => {
    expect(warmupRange(END + 30_000, 10 * MINUTE, MINUTE)).toEqual({
      startMs: END - 9 * MINUTE,
      lastMs: END,
    });
  });

  it('is empty with no lookback, or a lookback that holds no whole step', () => {
    expect([
      warmupRange(END, 0, MINUTE),
      warmupRange(END + 30_000, 20_000, MINUTE),
      warmupRange(END + 30_000, 30_000, MINUTE),
    ]).toEqual([undefined, undefined, { startMs: END, lastMs: END }]);
  });
});

describe('the warm-up', () => {
  it(`never asks for more than ${MAX_POINTS_PER_SERIES} steps in one query and covers the lookback once`, async () => {
    const prometheus = new FakeRangeQueries(meshSeries(1));
    const target = recorder();
    const lookbackSteps = 30_000;
    const report = await warmUp(
      prometheus,
      target,
      options({ lookbackMs: lookbackSteps * MINUTE }),
      logSink().logger,
      () => END,
    );
    const start = END - lookbackSteps * MINUTE;
    // The first chunk is small (the series count is unknown); later ones are sized from it.
    expect(prometheus.asked.map(steps)).toEqual([60, 11_000, 11_000, 7_940]);
    expect(prometheus.asked[0]).toEqual({ startMs: start, endMs: start + 59 * MINUTE, stepMs: MINUTE });
    expect(prometheus.asked.slice(1).map((r, i) => r.startMs - (prometheus.asked[i]?.endMs ?? NaN))).toEqual([
      MINUTE,
      MINUTE,
      MINUTE,
    ]);
    expect(prometheus.asked.at(-1)?.endMs).toBe(END - MINUTE);
    expect(report).toEqual({
      chunks: 4,
      steps: lookbackSteps,
      firstDataMs: start,
      lastDataMs: END - MINUTE,
      durationMs: 0,
    });
  });

  it('halves the chunk when Prometheus refuses it as too large, and still covers the lookback once', async () => {
    // Like Prometheus's --query.max-samples: a 422 for any range over 25 steps.
    const inner = meshSeries(1);
    const prometheus = new FakeRangeQueries((range) => {
      if ((range.endMs - range.startMs) / range.stepMs + 1 > 25) {
        throw new PrometheusQueryError('query processing would load too many samples into memory', {
          status: 422,
          errorType: 'execution',
          query: 'mesh',
        });
      }
      return inner(range);
    });
    const target = recorder();
    const { logger } = logSink();
    await warmUp(prometheus, target, options({ lookbackMs: 100 * MINUTE, stepMs: MINUTE }), logger);
    expect(prometheus.asked.map(steps)).toEqual([60, 30, 15, 15, 15, 15, 15, 15, 10]);
    expect(target.times).toHaveLength(100);
    expect(new Set(target.times).size).toBe(100);
  });

  it('keeps series x steps within maxSamplesPerQuery after the first chunk', async () => {
    const prometheus = new FakeRangeQueries(meshSeries(40));
    await warmUp(
      prometheus,
      recorder(),
      options({ lookbackMs: 2000 * MINUTE, maxSamplesPerQuery: 10_000 }),
      logSink().logger,
    );
    expect(prometheus.asked.map(steps)).toEqual([60, 250, 250, 250, 250, 250, 250, 250, 190]);
    expect(prometheus.asked.slice(1).filter((r) => 40 * steps(r) > 10_000)).toEqual([]);
  });

  it('replays the steps that have data in time order, with the blind set, skipping gaps', async () => {
    // Data on even minutes only: odd minutes are a gap (Prometheus had nothing), not a quiet mesh.
    const prometheus = new FakeRangeQueries(meshSeries(3, (t) => (t / MINUTE) % 2 === 0));
    const target = recorder();
    const blind: BlindSet = new Set(['plaintext:http', 'plaintext:tcp'] as const);
    const report = await warmUp(
      prometheus,
      target,
      options({ lookbackMs: 2000 * MINUTE, blind }),
      logSink().logger,
      () => END,
    );
    const expected = Array.from({ length: 1000 }, (_, i) => END - 2000 * MINUTE + 2 * i * MINUTE);
    expect(target.times).toEqual(expected);
    expect(target.blinds.every((b) => b === blind)).toBe(true);
    expect(report).toEqual({
      chunks: 2,
      steps: 1000,
      firstDataMs: expected[0],
      lastDataMs: expected.at(-1),
      durationMs: 0,
    });
  });

  it('uses what history there is when Prometheus holds less than the lookback', async () => {
    const since = END - 30 * MINUTE;
    const prometheus = new FakeRangeQueries(meshSeries(1, (t) => t >= since));
    const target = recorder();
    const report = await warmUp(
      prometheus,
      target,
      options({ lookbackMs: 7 * 1440 * MINUTE }),
      logSink().logger,
    );
    expect([report.steps, report.firstDataMs, report.lastDataMs]).toEqual([30, since, END - MINUTE]);
    expect(target.times).toHaveLength(30);
  });

  it('retries a failing chunk until it succeeds, logging each failure', async () => {
    const prometheus = new FakeRangeQueries(meshSeries(1));
    prometheus.failures = 2;
    const { lines, logger } = logSink();
    const target = recorder();
    const report = await warmUp(prometheus, target, options({}), logger, () => END);
    const range = { startMs: END - 60 * MINUTE, endMs: END - MINUTE, stepMs: MINUTE };
    expect(prometheus.asked).toEqual([range, range, range]);
    expect(report).toEqual({
      chunks: 1,
      steps: 60,
      firstDataMs: range.startMs,
      lastDataMs: range.endMs,
      durationMs: 0,
    });
    expect(lines.filter((l) => l.level === 'error').map((l) => [l.msg, l.attempt])).toEqual([
      ['warm-up: fetching history failed; retrying (meshwatch stays unready until warm-up completes)', 1],
      ['warm-up: fetching history failed; retrying (meshwatch stays unready until warm-up completes)', 2],
    ]);
  });

  it('stops without a query when the signal is already aborted', async () => {
    const prometheus = new FakeRangeQueries(meshSeries(1));
    const controller = new AbortController();
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(
      warmUp(prometheus, recorder(), options({ signal: controller.signal }), logSink().logger),
    ).rejects.toBe(reason);
    expect(prometheus.asked).toEqual([]);
  });

  it('stops retrying when the signal aborts between attempts', async () => {
    const prometheus = new FakeRangeQueries(meshSeries(1));
    const controller = new AbortController();
    const reason = new Error('shutting down');
    prometheus.failures = Infinity;
    prometheus.onFailure = () => {
      if (prometheus.asked.length === 2) controller.abort(reason);
    };
    const target = recorder();
    await expect(
      warmUp(prometheus, target, options({ signal: controller.signal }), logSink().logger),
    ).rejects.toBe(reason);
    expect(prometheus.asked).toHaveLength(2);
    expect(target.times).toEqual([]);
  });

  it('skips the warm-up with a log line when the lookback is 0', async () => {
    const prometheus = new FakeRangeQueries(meshSeries(1));
    const { lines, logger } = logSink();
    const report = await warmUp(prometheus, recorder(), options({ lookbackMs: 0 }), logger, () => END);
    expect(report).toEqual({
      chunks: 0,
      steps: 0,
      firstDataMs: undefined,
      lastDataMs: undefined,
      durationMs: 0,
    });
    expect(prometheus.asked).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual(['warm-up skipped: warmup.lookback is 0s']);
  });
});
