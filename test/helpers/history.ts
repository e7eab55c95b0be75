import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { createPrometheusClient } from '../../src/adapters/prometheus/client';
import { engineOptions, meshQueryOf } from '../../src/app/engine-options';
import { warmUp } from '../../src/app/warmup';
import { parseConfig } from '../../src/config/load';
import { DetectionEngine, type EngineResult } from '../../src/core/engine';
import type { FindingTransition } from '../../src/core/findings';
import { backfillHistory } from '../../scripts/lib/backfill';
import { requireBuild } from './meshwatch';
import { promtoolBinary, removeDir, startPrometheus, type RunningPrometheus } from './prometheus';

/** A fixed Monday 00:00 UTC: scenario tests run on the same history whatever the date. */
export const EPOCH_MS = Date.UTC(2026, 0, 5);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * Writes a shipped scenario's history with the built `meshwatch simulate --backfill` (plain
 * Node: the simulator runs many times slower inside Jest's sandbox) over each range, and turns
 * the files into TSDB blocks with promtool. Several ranges leave holes: a Prometheus outage.
 */
export async function backfillScenario(options: {
  scenario: string;
  set?: string[];
  ranges: Array<[fromMs: number, toMs: number]>;
  stepMs: number;
  epochMs?: number;
  /** Write into this TSDB folder (several scenarios at different epochs can share one Prometheus). */
  dataDir?: string;
}): Promise<{ dir: string; dataDir: string }> {
  requireBuild();
  promtoolBinary();
  const dir = mkdtempSync(join(tmpdir(), 'meshwatch-history-'));
  const dataDir = options.dataDir ?? join(dir, 'data');
  await backfillHistory({
    scenarioFile: resolve(__dirname, '../../scenarios', options.scenario),
    set: options.set ?? [],
    epochMs: options.epochMs ?? EPOCH_MS,
    ranges: options.ranges.map(([fromMs, toMs]) => ({ fromMs, toMs, stepMs: options.stepMs })),
    dir,
    dataDir,
  });
  return { dir, dataDir };
}

/**
 * Backfills several scenarios, each at its own epoch, into one TSDB (promtool runs one at a time
 * into the shared folder; the simulator writes are fast) and starts a real Prometheus on it.
 * `stop()` stops it and removes the folder.
 */
export async function prometheusOnHistory(
  prefix: string,
  backfills: ReadonlyArray<Omit<Parameters<typeof backfillScenario>[0], 'dataDir'>>,
): Promise<{ prometheus: RunningPrometheus; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dataDir = join(dir, 'data');
  for (const backfill of backfills) {
    // Each backfill's own folder held only its scratch files; the blocks are in `dataDir`.
    removeDir((await backfillScenario({ ...backfill, dataDir })).dir);
  }
  const prometheus = await startPrometheus({ dataDir });
  return {
    prometheus,
    stop: async () => {
      await prometheus.stop();
      removeDir(dir);
    },
  };
}

/** A finding that opened or closed during a replay, with the step it happened at. */
export interface ReplayedTransition extends FindingTransition {
  atMs: number;
}

/**
 * Replays history from a real Prometheus through the detection engine exactly as the daemon
 * would: [learnFrom, evalFrom) as warm-up (learning only), then each step of [evalFrom, evalTo]
 * as a live poll (findings open and close). Returns the transitions, in order.
 */
export async function replayHistory(options: {
  prometheusUrl: string;
  /** YAML overrides of the daemon configuration (rate window, thresholds...). */
  configYaml?: string;
  learnFromMs: number;
  evalFromMs: number;
  evalToMs: number;
  stepMs: number;
  /** Sees the engine's result of every live step, e.g. to check what was assessed. */
  onLiveStep?: (result: EngineResult, timeMs: number) => void;
}): Promise<ReplayedTransition[]> {
  const config = parseConfig(options.configYaml ?? '', {}, { prometheusUrl: options.prometheusUrl }, 'test');
  const engine = new DetectionEngine(engineOptions(config));
  const client = createPrometheusClient(config.prometheus);
  const query = meshQueryOf(config);
  const logger = pino({ level: 'silent' });
  const transitions: ReplayedTransition[] = [];
  const common = {
    stepMs: options.stepMs,
    maxSamplesPerQuery: 1_000_000,
    blind: new Set<never>(),
    retryDelayMs: 0,
  };
  try {
    await warmUp(
      client,
      { meshQuery: query, learn: (s) => engine.observe(s, false) },
      { ...common, lookbackMs: options.evalFromMs - options.learnFromMs, endMs: options.evalFromMs },
      logger,
    );
    await warmUp(
      client,
      {
        meshQuery: query,
        learn: (s) => {
          const result = engine.observe(s, true);
          options.onLiveStep?.(result, s.timeMs);
          for (const t of result.transitions) transitions.push({ ...t, atMs: s.timeMs });
        },
      },
      { ...common, lookbackMs: options.evalToMs - options.evalFromMs + 1, endMs: options.evalToMs + 1 },
      logger,
    );
  } finally {
    client.close();
  }
  return transitions;
}

/** One incident of a scenario test: its history in Prometheus and the finding it must open. */
export interface IncidentCase {
  epochMs: number;
  /** When the live part starts (the history before it is warm-up) and the incident starts. */
  evalFromMs: number;
  incidentMs: number;
  evalToMs: number;
  stepMs: number;
  configYaml: string;
  /** The finding's id, `<detector>/<destination key>`. */
  finding: string;
  withinPolls: number;
}

/**
 * Replays one incident case as the daemon would and checks what every scenario test checks: no
 * finding at all before the incident, the expected one opened within `withinPolls` polls.
 * Returns it, its delay in polls, and a line for the test's output naming what else opened.
 */
export async function expectIncidentFound(
  prometheusUrl: string,
  c: IncidentCase,
): Promise<{ hit: ReplayedTransition | undefined; polls: number; line: string }> {
  const transitions = await replayHistory({
    prometheusUrl,
    configYaml: c.configYaml,
    learnFromMs: c.epochMs,
    evalFromMs: c.evalFromMs,
    evalToMs: c.evalToMs,
    stepMs: c.stepMs,
  });
  const opened = transitions.filter((t) => t.kind === 'opened');
  // Quiet before the incident: no finding of any kind.
  expect(opened.filter((t) => t.atMs < c.incidentMs).map((t) => t.finding.id)).toEqual([]);
  const hit = opened.find((t) => t.finding.id === c.finding);
  expect(hit).toBeDefined();
  const polls = ((hit?.atMs ?? Infinity) - c.incidentMs) / c.stepMs;
  expect(polls).toBeLessThanOrEqual(c.withinPolls);
  const others =
    opened
      .filter((t) => t !== hit)
      .map((t) => `${t.finding.id}@+${(t.atMs - c.incidentMs) / c.stepMs}`)
      .join(', ') || 'nothing';
  return {
    hit,
    polls,
    line: `${c.finding} after ${polls} polls (1 poll = ${c.stepMs / 60_000} min); also opened: ${others}`,
  };
}
