/**
 * The warm-up against a real Prometheus: a large simulated mesh's history backfilled with promtool
 * (as the tests do), then the daemon's own `warmUp` into a detection engine, at the shipped
 * schedule (hourly steps over the lookback, the last two hours at the live step) and, with
 * `--every-step`, at the old one (every step at the live step) in the same run.
 *
 * Time is split between meshwatch and Prometheus: a range query's wall time, less the CPU this
 * process spent in it (reading and decoding the answer, which is meshwatch's work), is time spent
 * waiting on Prometheus; meshwatch's time is the warm-up's wall time less that wait. The costs per
 * series and step (one sample of the answer is one series at one step) extrapolate Prometheus's
 * part to the design's large mesh: 2,000 destinations, 108,000 series per step, 7 days at the
 * default schedule. meshwatch's part is extrapolated from a step of history measured in memory on a
 * mesh of that size (`--large-destinations`, 2,000 by default; a smaller one is scaled linearly, for
 * a quick run), since its cost per series grows with the mesh; the linear figure from the small
 * mesh is kept beside it (`..._linear`).
 *
 * Run after a build: node dist/bench/warmup.js [--destinations N] [--days D] [--every-step]
 * [--large-destinations N] [--json]
 * (npm run -s bench:warmup -- --json); the last line of --json is one JSON object.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { createLogger } from '../src/adapters/logger';
import { createPrometheusClient } from '../src/adapters/prometheus/client';
import { engineOptions, meshQueryOf } from '../src/app/engine-options';
import {
  coarseMeshQueryOf,
  warmUp,
  warmupPlan,
  type RangeQueryApi,
  type WarmupPhase,
} from '../src/app/warmup';
import { parseConfig } from '../src/config/load';
import { DetectionEngine } from '../src/core/engine';
import { backfillHistory } from '../scripts/lib/backfill';
import { removeDir, startPrometheus } from '../scripts/lib/prometheus';
import { count } from './args';
import { historyStepSeconds } from './harness';

const DAY = 86_400_000;
/** The design's large mesh: 2,000 destinations, about 54 series each in one poll's answer. */
const LARGE_DESTINATIONS = 2000;
const LARGE_SERIES = 108_000;
const LARGE_DAYS = 7;
/** Callers per destination in the simulated mesh (each also a destination). */
const CALLERS = 4;
/** The simulated mesh is scraped once a minute, the resolution of the backfilled counters. */
const SCRAPE_MS = 60_000;
const SCHEDULES = {
  'two-resolution': 'warmup: { step: 1m, coarse_step: 1h, recent: 2h }',
  'every-step': 'warmup: { step: 1m, coarse_step: 0s }',
} as const;
type Schedule = keyof typeof SCHEDULES;

/**
 * A mesh of `destinations` workloads in 20 namespaces, each called by the next `CALLERS` over
 * mTLS with a daily curve, a weekend dip and minute-scale noise, some requests denied (403) and
 * some failing (503): requests, denials and 5xx series for every destination.
 */
function largeMesh(destinations: number): Record<string, unknown> {
  const id = (d: number): string => `team-${d % 20}/svc-${d}`;
  const workloads = Array.from({ length: destinations }, (_, d) => ({
    name: `svc-${d}`,
    namespace: `team-${d % 20}`,
    version: 'v1',
  }));
  const calls = Array.from({ length: destinations }, (_, d) =>
    Array.from({ length: Math.min(CALLERS, destinations - 1) }, (_, c) => ({
      from: id((d + c + 1) % destinations),
      to: id(d),
      rate: 1 + ((d * 7 + c * 3) % 20),
      codes: { 200: 0.97, 403: 0.01, 503: 0.02 },
    })),
  ).flat();
  return {
    name: 'warmup-bench',
    description: `${destinations} destinations, ${CALLERS} callers each`,
    seed: 1,
    pattern: { daily_amplitude: 0.5, peak_hour: 14, weekend_factor: 0.6, noise: 0.1 },
    workloads,
    calls,
  };
}

/** Time and volume of the range queries of one resolution. */
interface QueryCost {
  queries: number;
  waitMs: number;
  samples: number;
}

/** Wraps the client: counts queries and samples, and the time spent waiting on Prometheus per step. */
function measured(client: RangeQueryApi, costs: Map<number, QueryCost>): RangeQueryApi {
  return {
    async queryRange(promql, range, options) {
      const cost = costs.get(range.stepMs) ?? { queries: 0, waitMs: 0, samples: 0 };
      costs.set(range.stepMs, cost);
      const cpu = process.cpuUsage();
      const started = performance.now();
      const answer = await client.queryRange(promql, range, options);
      const used = process.cpuUsage(cpu);
      cost.waitMs += Math.max(0, performance.now() - started - (used.user + used.system) / 1000);
      cost.queries += 1;
      cost.samples += answer.data.reduce((sum, s) => sum + s.samples.length, 0);
      return answer;
    },
  };
}

/** One schedule's warm-up, measured. */
async function run(url: string, schedule: Schedule, endMs: number, lookbackMs: number) {
  const config = parseConfig(SCHEDULES[schedule], {}, { prometheusUrl: url }, 'bench');
  const engine = new DetectionEngine(engineOptions(config));
  const client = createPrometheusClient({ ...config.prometheus, timeoutMs: 120_000 });
  const costs = new Map<number, QueryCost>();
  const warmup = { ...config.warmup, lookbackMs };
  const started = performance.now();
  try {
    const report = await warmUp(
      measured(client, costs),
      {
        meshQuery: meshQueryOf(config),
        coarseMeshQuery: coarseMeshQueryOf(config),
        learn: (s, blind) => engine.observe(s, false, blind),
      },
      { ...warmup, maxSamplesPerQuery: 1_000_000, endMs, blind: new Set(), retryDelayMs: 1000 },
      createLogger('silent'),
    );
    const wallMs = performance.now() - started;
    const total = [...costs.values()].reduce(
      (sum, c) => ({
        queries: sum.queries + c.queries,
        waitMs: sum.waitMs + c.waitMs,
        samples: sum.samples + c.samples,
      }),
      { queries: 0, waitMs: 0, samples: 0 },
    );
    const meshwatchSeconds = (wallMs - total.waitMs) / 1000;
    // The default schedule over the design's 7 days, at the design's 108,000 series per step.
    const largePlan = warmupPlan(endMs, { ...warmup, lookbackMs: LARGE_DAYS * DAY });
    const largeSteps = stepsOf(largePlan);
    const perSeriesStep = meshwatchSeconds / Math.max(total.samples, 1);
    // Linear from this mesh's cost per series-step; it understates a large mesh, whose cost per
    // series grows as its state outgrows the caches: see `atScale` for the measured figure.
    const meshwatchLarge = perSeriesStep * LARGE_SERIES * largeSteps;
    // Prometheus's cost per answered sample differs by resolution (an hourly rate reads 60 times
    // the raw samples of a 1-minute one): extrapolated per resolution.
    const prometheusLarge = largePlan.reduce((sum, p) => {
      const cost = costs.get(p.stepMs);
      const steps = (p.lastMs - p.startMs) / p.stepMs + 1;
      return sum + (cost ? (cost.waitMs / 1000 / Math.max(cost.samples, 1)) * LARGE_SERIES * steps : 0);
    }, 0);
    return {
      schedule,
      steps: stepsOf(warmupPlan(endMs, warmup)),
      steps_with_data: report.steps,
      queries: total.queries,
      samples: total.samples,
      series: Math.round(total.samples / Math.max(report.steps, 1)),
      wall_seconds: round(wallMs / 1000),
      meshwatch_seconds: round(meshwatchSeconds),
      prometheus_seconds: round(total.waitMs / 1000),
      meshwatch_seconds_per_step: round(meshwatchSeconds / Math.max(report.steps, 1), 6),
      meshwatch_microseconds_per_series_step: round(perSeriesStep * 1e6),
      prometheus_microseconds_per_sample: Object.fromEntries(
        [...costs].map(([stepMs, c]) => [
          `${stepMs / 1000}s`,
          round((c.waitMs * 1000) / Math.max(c.samples, 1)),
        ]),
      ),
      extrapolated_2000x7d_steps: largeSteps,
      extrapolated_2000x7d_meshwatch_seconds: round(meshwatchLarge),
      extrapolated_2000x7d_prometheus_seconds: round(prometheusLarge),
      extrapolated_2000x7d_seconds: round(meshwatchLarge + prometheusLarge),
      tracked: engine.tracked(),
    };
  } finally {
    client.close();
  }
}

/**
 * A run's result with meshwatch's extrapolated time from the cost per step measured at scale; the
 * linear extrapolation is kept beside it.
 */
function atScale<
  R extends {
    extrapolated_2000x7d_steps: number;
    extrapolated_2000x7d_meshwatch_seconds: number;
    extrapolated_2000x7d_prometheus_seconds: number;
  },
>(
  result: R,
  stepSeconds: number,
): R & { extrapolated_2000x7d_meshwatch_seconds_linear: number; step_seconds_at_2000: number } {
  const meshwatch = stepSeconds * result.extrapolated_2000x7d_steps;
  return {
    ...result,
    step_seconds_at_2000: round(stepSeconds),
    extrapolated_2000x7d_meshwatch_seconds_linear: result.extrapolated_2000x7d_meshwatch_seconds,
    extrapolated_2000x7d_meshwatch_seconds: round(meshwatch),
    extrapolated_2000x7d_seconds: round(meshwatch + result.extrapolated_2000x7d_prometheus_seconds),
  };
}

const stepsOf = (plan: WarmupPhase[]): number =>
  plan.reduce((n, p) => n + (p.lastMs - p.startMs) / p.stepMs + 1, 0);

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

async function main(): Promise<void> {
  const destinations = count('--destinations', 150, 2);
  const days = count('--days', 2);
  const json = process.argv.includes('--json');
  const schedules: Schedule[] = process.argv.includes('--every-step')
    ? ['every-step', 'two-resolution']
    : ['two-resolution'];
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'meshwatch-bench-warmup-'));
  // History ends at a whole hour in the past (Prometheus keeps 60 days in the bench's instance).
  const endMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - DAY;
  const fromMs = endMs - days * DAY - 3_600_000;
  try {
    const scenarioFile = join(dir, 'mesh.yaml');
    writeFileSync(scenarioFile, stringify(largeMesh(destinations)));
    let started = performance.now();
    log(`backfilling ${days} days of ${destinations} destinations at ${SCRAPE_MS / 1000}s...`);
    const dataDir = join(dir, 'data');
    await backfillHistory({
      scenarioFile,
      set: [],
      epochMs: fromMs,
      ranges: [{ fromMs, toMs: endMs, stepMs: SCRAPE_MS }],
      dir,
      dataDir,
    });
    log(`backfilled in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const prometheus = await startPrometheus({ dataDir });
    const results = [];
    try {
      for (const schedule of schedules) {
        started = performance.now();
        const result = await run(prometheus.url, schedule, endMs, days * DAY);
        results.push(result);
        log(
          `${schedule}: ${result.steps} steps, ${result.queries} queries, ${result.series} series/step, ` +
            `meshwatch ${result.meshwatch_seconds} s (${result.meshwatch_microseconds_per_series_step} µs per series-step), ` +
            `Prometheus ${result.prometheus_seconds} s; 2,000 destinations x 7 days: ${result.extrapolated_2000x7d_seconds} s ` +
            `(meshwatch ${result.extrapolated_2000x7d_meshwatch_seconds} s, Prometheus ${result.extrapolated_2000x7d_prometheus_seconds} s)`,
        );
      }
    } finally {
      await prometheus.stop();
    }
    const found = results.find((r) => r.schedule === 'two-resolution');
    const previous = results.find((r) => r.schedule === 'every-step');
    if (!found) throw new Error('the two-resolution run is missing');
    // The cost per step measured on a mesh of the design's size in memory (range answers decoded
    // and learned as the warm-up does), which the extrapolation takes instead of the linear one.
    const largeDestinations = count('--large-destinations', LARGE_DESTINATIONS);
    log(`measuring a step of history at ${largeDestinations} destinations in memory...`);
    const stepSeconds =
      (await historyStepSeconds(largeDestinations)) * (LARGE_DESTINATIONS / largeDestinations);
    const shipped = atScale(found, stepSeconds);
    const old = previous && atScale(previous, stepSeconds);
    const summary =
      `warm-up of ${destinations} destinations x ${days} days (${shipped.series} series/step): ` +
      `${shipped.steps} steps in ${shipped.queries} queries, meshwatch ${shipped.meshwatch_seconds} s, ` +
      `Prometheus ${shipped.prometheus_seconds} s` +
      (old
        ? ` (every step: ${old.steps} steps, meshwatch ${old.meshwatch_seconds} s, Prometheus ${old.prometheus_seconds} s)`
        : '') +
      `; extrapolated to ${LARGE_DESTINATIONS} destinations x ${LARGE_DAYS} days: ${shipped.extrapolated_2000x7d_seconds} s` +
      ` (meshwatch ${shipped.extrapolated_2000x7d_meshwatch_seconds} s at ${shipped.step_seconds_at_2000} s a step, Prometheus ${shipped.extrapolated_2000x7d_prometheus_seconds} s)` +
      (old ? ` (every step: ${old.extrapolated_2000x7d_seconds} s)` : '');
    console.log(summary);
    if (json) {
      console.log(
        JSON.stringify({
          destinations,
          days,
          ...shipped,
          ...(old ? { every_step: old } : {}),
        }),
      );
    }
  } finally {
    removeDir(dir);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
