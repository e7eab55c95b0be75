import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { createPrometheusClient } from '../../src/adapters/prometheus/client';
import { engineOptions } from '../../src/app/engine-options';
import { warmUp } from '../../src/app/warmup';
import { parseConfig } from '../../src/config/load';
import { DetectionEngine } from '../../src/core/engine';
import type { FindingTransition } from '../../src/core/findings';
import { meshQuery } from '../../src/signals/mesh';
import { backfillHistory } from '../../scripts/lib/backfill';
import { requireBuild } from './meshwatch';
import { promtoolBinary } from './prometheus';

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
}): Promise<ReplayedTransition[]> {
  const config = parseConfig(options.configYaml ?? '', {}, { prometheusUrl: options.prometheusUrl }, 'test');
  const engine = new DetectionEngine(engineOptions(config));
  const client = createPrometheusClient(config.prometheus);
  const query = meshQuery({
    serverReporters: config.telemetry.serverReporters,
    rateWindowMs: config.poll.rateWindowMs,
    denialCodes: config.detectors.unauthorized.denialCodes.map(String),
  });
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
          for (const t of engine.observe(s, true).transitions) transitions.push({ ...t, atMs: s.timeMs });
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
