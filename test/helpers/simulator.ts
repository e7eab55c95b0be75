import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { writeBackfill } from '../../src/sim/backfill';
import { loadScenario } from '../../src/sim/load';
import { parseScenario } from '../../src/sim/parse-scenario';
import type { Scenario } from '../../src/sim/scenario';
import { startSimulator, type RunningSimulator } from '../../src/sim/server';
import { promtoolBinary } from './prometheus';

/** A scenario given as a shipped file name (`quiet.yaml`), YAML text, or an already parsed one. */
export type ScenarioInput = { file: string; set?: string[] } | { yaml: string } | Scenario;

/** Resolves a ScenarioInput; `file` is relative to the repository's scenarios/ folder unless absolute. */
export function scenarioFrom(input: ScenarioInput): Scenario {
  if ('file' in input) {
    const path = input.file.startsWith('/')
      ? input.file
      : join(__dirname, '..', '..', 'scenarios', input.file);
    return loadScenario(path, input.set ?? []);
  }
  if ('yaml' in input) return parseScenario(input.yaml, 'test scenario');
  return input;
}

/** A simulator on a free loopback port plus its `host:port` for Prometheus targets. */
export interface TestSimulator extends RunningSimulator {
  target: string;
  scenario: Scenario;
  epochMs: number;
}

/** Starts the simulator on 127.0.0.1 with a free port; `stop()` it in `afterAll`. */
export async function startSimulatorForTest(options: {
  scenario: ScenarioInput;
  epochMs: number;
  clock?: () => number;
}): Promise<TestSimulator> {
  const scenario = scenarioFrom(options.scenario);
  const running = await startSimulator({ scenario, epochMs: options.epochMs, clock: options.clock });
  return { ...running, target: `127.0.0.1:${running.port}`, scenario, epochMs: options.epochMs };
}

/** The TSDB folder made by `backfillToBlocks`, and what went into it. */
export interface BackfilledBlocks {
  /** Pass as `dataDir` to startPrometheus. */
  dataDir: string;
  /** Temporary folder holding the OpenMetrics file and the data dir; remove it with removeDir. */
  dir: string;
  samples: number;
  promtoolMs: number;
}

/**
 * Writes a scenario's history over [fromMs, toMs] as OpenMetrics and turns it into TSDB blocks with
 * `promtool tsdb create-blocks-from openmetrics`, ready for a Prometheus to start on.
 */
export async function backfillToBlocks(options: {
  scenario: ScenarioInput;
  epochMs: number;
  fromMs: number;
  toMs: number;
  stepMs?: number;
}): Promise<BackfilledBlocks> {
  const promtool = promtoolBinary();
  const dir = mkdtempSync(join(tmpdir(), 'meshwatch-backfill-'));
  const file = join(dir, 'history.om');
  const dataDir = join(dir, 'data');
  const out = createWriteStream(file);
  const summary = await writeBackfill({
    scenario: scenarioFrom(options.scenario),
    epochMs: options.epochMs,
    fromMs: options.fromMs,
    toMs: options.toMs,
    stepMs: options.stepMs ?? 30_000,
    out,
  });
  out.end();
  await finished(out);
  const started = Date.now();
  await promisify(execFile)(
    promtool,
    ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, dataDir],
    {
      maxBuffer: 16 << 20,
    },
  );
  return { dataDir, dir, samples: summary.samples, promtoolMs: Date.now() - started };
}

/**
 * A small mesh with one plaintext edge from an in-mesh caller (it has a sidecar, so Istio knows its
 * workload): frontend -> catalog over mTLS, legacy/reporting -> catalog in plaintext, flat rates.
 */
export const PLAINTEXT_IN_MESH_SCENARIO = `
name: plaintext-in-mesh
seed: 3
trust_domain: cluster.local
pattern: { daily_amplitude: 0, weekend_factor: 1, noise: 0 }
workloads:
  - { name: frontend, namespace: shop }
  - { name: catalog, namespace: shop }
  - { name: reporting, namespace: legacy }
calls:
  - { from: shop/frontend, to: shop/catalog, rate: 20 }
  - { from: legacy/reporting, to: shop/catalog, rate: 2, tls: plaintext }
`;
