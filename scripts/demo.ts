/**
 * `npm run demo`: the whole pipeline on this machine, no cluster needed. A simulated mesh (with a
 * caller that talks plaintext) is scraped by a real Prometheus; meshwatch polls that Prometheus
 * and the finding is printed as it appears. Ctrl-C stops everything it started; so does an error.
 *
 *   npm run demo                  run until Ctrl-C
 *   npm run demo -- --once        stop after the first finding (used by the test of this command)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../src/adapters/logger';
import { createPrometheusClient } from '../src/adapters/prometheus/client';
import { startDaemon, type Daemon } from '../src/app/daemon';
import { parseConfig } from '../src/config/load';
import type { FindingJson } from '../src/app/findings-document';
import { loadScenario } from '../src/sim/load';
import { startSimulator } from '../src/sim/server';
import { packageVersion } from '../src/version';
import { ensureDebianPackages } from './lib/binaries';
import { freePort } from './lib/net';
import { startPrometheus, type RunningPrometheus } from './lib/prometheus';

const SCENARIO = resolve(__dirname, '../../scenarios/demo.yaml');

async function main(): Promise<number> {
  const once = process.argv.includes('--once');
  const t0 = Date.now();
  const say = (line: string): void => {
    const s = Math.round((Date.now() - t0) / 1000);
    process.stdout.write(
      `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`,
    );
  };
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch {
        // keep cleaning up the rest
      }
    }
    cleanups.length = 0;
  };
  let interrupted: (() => void) | undefined;
  const stopped = new Promise<void>((r) => (interrupted = r));
  process.once('SIGINT', () => interrupted?.());
  process.once('SIGTERM', () => interrupted?.());

  try {
    ensureDebianPackages([{ binary: 'prometheus', debianPackage: 'prometheus' }], say);
    const dir = mkdtempSync(join(tmpdir(), 'meshwatch-demo-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    const scenario = loadScenario(SCENARIO);
    const sim = await startSimulator({
      scenario,
      epochMs: Date.now(),
      host: '127.0.0.1',
      port: await freePort(),
    });
    cleanups.push(() => sim.stop());
    say(
      `simulated mesh "${scenario.name}" (${scenario.workloads.length} workloads) serving Istio metrics at ${sim.url}/metrics`,
    );

    const meshwatchPort = await freePort();
    const prometheus: RunningPrometheus = await startPrometheus({
      targets: [new URL(sim.url).host],
      extraScrapeConfigs: [
        '  - job_name: meshwatch',
        '    static_configs:',
        `      - targets: ["127.0.0.1:${meshwatchPort}"]`,
      ].join('\n'),
    });
    cleanups.push(() => prometheus.stop());
    cleanups.push(() => rmSync(prometheus.dir, { recursive: true, force: true }));
    say(`Prometheus ready at ${prometheus.url} (scraping the mesh every second)`);

    const config = parseConfig(
      [
        `prometheus: { url: "${prometheus.url}", timeout: 1500ms }`,
        'poll: { interval: 2s, rate_window: 20s }',
        `server: { host: 127.0.0.1, port: ${meshwatchPort} }`,
        'log: { level: info }',
      ].join('\n'),
      {},
      {},
      'demo',
    );
    const logFile = join(dir, 'meshwatch.log');
    const client = createPrometheusClient(config.prometheus);
    cleanups.push(() => client.close());
    const daemon: Daemon = await startDaemon({
      config,
      logger: createLogger('info', createWriteStream(logFile)),
      prometheus: client,
      version: packageVersion(),
    });
    cleanups.push(() => daemon.stop('demo finished'));
    const base = `http://127.0.0.1:${daemon.port}`;
    say(`meshwatch polling every 2s; open:`);
    say(`    findings   ${base}/api/v1/findings`);
    say(`    metrics    ${base}/metrics`);
    say(`    Prometheus ${prometheus.url}/graph?g0.expr=meshwatch_anomaly_score`);
    say(`    JSON logs  ${logFile}`);
    say(`waiting for the simulated incident (${describeIncidents(scenario)})...`);

    const seen = new Map<string, FindingJson>();
    const found = new Promise<void>((resolveFound) => {
      const timer = setInterval(() => {
        const doc = daemon.poller.findingsDocument();
        for (const f of doc.findings) {
          if (!seen.has(f.id)) {
            say(
              `FINDING ${f.detector} at ${f.destination_namespace}/${f.destination_workload}: ${explain(f)}`,
            );
            if (once) resolveFound();
          }
          seen.set(f.id, f);
        }
        for (const id of [...seen.keys()]) {
          if (!doc.findings.some((f) => f.id === id)) {
            say(`resolved ${id}`);
            seen.delete(id);
          }
        }
      }, 500);
      cleanups.push(() => clearInterval(timer));
    });
    if (!once) say('press Ctrl-C to stop');
    await Promise.race([found, stopped]);
    say('stopping meshwatch, Prometheus and the simulator');
    await cleanup();
    say('done: nothing left running');
    return 0;
  } catch (err) {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    await cleanup();
    return 1;
  }
}

function explain(f: FindingJson): string {
  const callers = f.top_callers
    .map(
      (c) =>
        `${c.source_workload_namespace}/${c.source_workload} (${c.source_principal}) ${c.rate.toFixed(2)}/s`,
    )
    .join(', ');
  return `${f.observed.toFixed(2)} plaintext req/s (expected ${f.expected}), score ${f.score.toFixed(1)} >= ${f.threshold}; from ${callers || 'unknown callers'}`;
}

function describeIncidents(scenario: ReturnType<typeof loadScenario>): string {
  return (
    scenario.incidents.map((i) => `${i.kind} ${Math.round(i.atMs / 1000)}s after start`).join('; ') || 'none'
  );
}

void main().then((code) => process.exit(code));
