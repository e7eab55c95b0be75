import {
  warmUp,
  warmupPlan,
  type RangeQueryApi,
  type WarmupOptions,
  type WarmupProgress,
} from '../../../src/app/warmup';
import type { RangeSeries } from '../../../src/signals/types';
import { logSink } from '../../helpers/log-sink';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A Monday 00:00 UTC, where live polls start. */
const END = Date.UTC(2026, 0, 12);

type Asked = { promql: string; startMs: number; endMs: number; stepMs: number };

/** Answers each range query with one request series holding a sample at every step; records what was asked. */
class FakeHistory implements RangeQueryApi {
  readonly asked: Asked[] = [];

  constructor(private readonly clock?: { ms: number; perQueryMs: number }) {}

  async queryRange(
    promql: string,
    range: { startMs: number; endMs: number; stepMs: number },
  ): Promise<{ data: RangeSeries[]; warnings: string[] }> {
    this.asked.push({ promql, ...range });
    if (this.clock) this.clock.ms += this.clock.perQueryMs;
    const samples: Array<[number, number]> = [];
    for (let t = range.startMs; t <= range.endMs; t += range.stepMs) samples.push([t, 1]);
    const labels = {
      destination_workload_namespace: 'shop',
      destination_workload: 'cart',
      source_workload_namespace: 'shop',
      source_workload: 'frontend',
      source_principal: 'spiffe://cluster.local/ns/shop/sa/frontend',
      connection_security_policy: 'mutual_tls',
      meshwatch_kind: 'requests',
    };
    return { data: [{ labels, samples }], warnings: [] };
  }
}

const options = (over: Partial<WarmupOptions>): WarmupOptions => ({
  lookbackMs: 7 * DAY,
  stepMs: MINUTE,
  coarseStepMs: HOUR,
  recentMs: 2 * HOUR,
  maxSamplesPerQuery: 1_000_000,
  endMs: END,
  blind: new Set(),
  retryDelayMs: 0,
  ...over,
});

describe('the two-resolution warm-up plan', () => {
  it('takes hourly steps over the week, each learned at the middle of its hour, then the last two hours at the live step', () => {
    expect(warmupPlan(END, options({}))).toEqual([
      {
        resolution: 'coarse',
        startMs: END - 7 * DAY + HOUR,
        lastMs: END - 2 * HOUR,
        stepMs: HOUR,
        shiftMs: -HOUR / 2,
      },
      {
        resolution: 'live',
        startMs: END - 2 * HOUR + MINUTE,
        lastMs: END - MINUTE,
        stepMs: MINUTE,
        shiftMs: 0,
      },
    ]);
  });

  it('rounds the recent part up to a whole coarse step when the first live poll is between hours', () => {
    const end = END + 20 * MINUTE + 30_000;
    const [coarse, live] = warmupPlan(end, options({}));
    expect([coarse?.lastMs, live?.startMs, live?.lastMs]).toEqual([
      END - 2 * HOUR,
      END - 2 * HOUR + MINUTE,
      END + 20 * MINUTE,
    ]);
  });

  it('replays every step at the live step without a coarse step, with one no coarser than the step, or a lookback too short', () => {
    const everyStep = [
      { resolution: 'live', startMs: END - 7 * DAY, lastMs: END - MINUTE, stepMs: MINUTE, shiftMs: 0 },
    ];
    expect(warmupPlan(END, options({ coarseStepMs: 0 }))).toEqual(everyStep);
    expect(warmupPlan(END, options({ coarseStepMs: undefined }))).toEqual(everyStep);
    expect(warmupPlan(END, options({ coarseStepMs: MINUTE }))).toEqual(everyStep);
    expect(warmupPlan(END, options({ lookbackMs: 150 * MINUTE }))).toEqual([
      { resolution: 'live', startMs: END - 150 * MINUTE, lastMs: END - MINUTE, stepMs: MINUTE, shiftMs: 0 },
    ]);
  });

  it('is all coarse with no recent part, and empty with no lookback', () => {
    expect(warmupPlan(END, options({ recentMs: 0 })).map((p) => [p.resolution, p.startMs, p.lastMs])).toEqual(
      [['coarse', END - 7 * DAY + HOUR, END]],
    );
    expect(warmupPlan(END, options({ lookbackMs: 0 }))).toEqual([]);
  });
});

describe('the two-resolution warm-up', () => {
  it('asks for the coarse query at the coarse step, then the live one, and learns coarse steps at mid-hour', async () => {
    const prometheus = new FakeHistory();
    const times: number[] = [];
    await warmUp(
      prometheus,
      { meshQuery: 'live', coarseMeshQuery: 'hourly', learn: (s) => times.push(s.timeMs) },
      options({ lookbackMs: DAY }),
      logSink().logger,
    );
    expect(prometheus.asked.map((a) => [a.promql, a.stepMs, a.startMs, a.endMs])).toEqual([
      ['hourly', HOUR, END - DAY + HOUR, END - 2 * HOUR],
      ['live', MINUTE, END - 2 * HOUR + MINUTE, END - MINUTE],
    ]);
    expect(times.slice(0, 2)).toEqual([END - DAY + HOUR / 2, END - DAY + (3 * HOUR) / 2]);
    expect(times[21]).toBe(END - 2 * HOUR - HOUR / 2);
    expect(times[22]).toBe(END - 2 * HOUR + MINUTE);
    expect(times).toHaveLength(22 + 119);
  });

  it('replays every step with the live query when the target has no coarse query', async () => {
    const prometheus = new FakeHistory();
    await warmUp(
      prometheus,
      { meshQuery: 'live', learn: () => undefined },
      options({ lookbackMs: DAY }),
      logSink().logger,
    );
    expect(prometheus.asked.map((a) => [a.promql, a.stepMs])).toEqual(
      prometheus.asked.map(() => ['live', MINUTE]),
    );
    expect(prometheus.asked.reduce((n, a) => n + (a.endMs - a.startMs) / a.stepMs + 1, 0)).toBe(1440);
  });

  it('reports steps planned and done and the time left at the pace so far, in the log and to the callback', async () => {
    // Each query takes 10 s of the fake clock; chunks of 100 steps (100 samples of one series).
    const clock = { ms: 0, perQueryMs: 10_000 };
    const prometheus = new FakeHistory(clock);
    const progress: WarmupProgress[] = [];
    const { lines, logger } = logSink();
    await warmUp(
      prometheus,
      { meshQuery: 'live', coarseMeshQuery: 'hourly', learn: () => undefined },
      options({ lookbackMs: 2 * DAY, maxSamplesPerQuery: 100, onProgress: (p) => progress.push(p) }),
      logger,
      () => clock.ms,
    );
    // 46 hourly steps (one chunk of at most 60 at first), then 119 minutes in chunks of 100 and 19.
    expect(prometheus.asked.map((a) => (a.endMs - a.startMs) / a.stepMs + 1)).toEqual([46, 100, 19]);
    expect(progress).toEqual([
      { plannedSteps: 165, doneSteps: 0, remainingMs: NaN },
      { plannedSteps: 165, doneSteps: 46, remainingMs: (10_000 / 46) * 119 },
      { plannedSteps: 165, doneSteps: 146, remainingMs: (20_000 / 146) * 19 },
      { plannedSteps: 165, doneSteps: 165, remainingMs: 0 },
      { plannedSteps: 165, doneSteps: 165, remainingMs: 0 },
    ]);
    expect(
      lines
        .filter((l) => l.msg === 'warm-up progress')
        .map((l) => [l.progress, l.resolution, l.remainingSeconds]),
    ).toEqual([
      ['28%', 'coarse', 26],
      ['88%', 'live', 3],
      ['100%', 'live', 0],
    ]);
  });
});
