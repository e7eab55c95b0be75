import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries';
import { freePort, waitFor } from './net';

/** Options for a throwaway Prometheus on loopback. */
export interface PrometheusOptions {
  /** `host:port` targets scraped as job `targets`. */
  targets?: string[];
  scrapeInterval?: string;
  evaluationInterval?: string;
  ruleFiles?: string[];
  /** Extra text appended under `scrape_configs:` (already indented). */
  extraScrapeConfigs?: string;
  /** Use this TSDB folder (e.g. made by `promtool tsdb create-blocks-from openmetrics`). */
  dataDir?: string;
  /** Alertmanager `host:port` to send alerts to. */
  alertmanager?: string;
  extraArgs?: string[];
  /** Listen on this port rather than a free one (to stand in for a Prometheus that was down). */
  port?: number;
  /** Readiness check replacing the plain-HTTP `/-/ready` fetch, e.g. when `--web.config.file` adds TLS or auth. */
  readyProbe?: (port: number) => Promise<boolean>;
}

/** A running Prometheus started by a test; `stop()` it in `afterAll`. */
export interface RunningPrometheus {
  url: string;
  port: number;
  dataDir: string;
  dir: string;
  stop(): Promise<void>;
  /** Starts it again on the same port and data, after `stop()`. */
  start(): Promise<void>;
  logs(): string;
}

/** Path of the `prometheus` binary, or an error naming the package to install. */
export const prometheusBinary = (): string => requireBinary(['prometheus'], 'prometheus');
/** Path of `promtool`, or an error naming the package to install. */
export const promtoolBinary = (): string => requireBinary(['promtool'], 'prometheus');

/** Starts Prometheus from the Debian package on 127.0.0.1 in a temporary folder. */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const binary = prometheusBinary();
  const dir = mkdtempSync(join(tmpdir(), 'meshwatch-prom-'));
  const dataDir = options.dataDir ?? join(dir, 'data');
  const port = options.port ?? (await freePort());
  const configFile = join(dir, 'prometheus.yml');
  const lines = [
    'global:',
    `  scrape_interval: ${options.scrapeInterval ?? '1s'}`,
    `  evaluation_interval: ${options.evaluationInterval ?? '1s'}`,
  ];
  if (options.ruleFiles?.length) {
    lines.push('rule_files:', ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`));
  }
  if (options.alertmanager) {
    lines.push(
      'alerting:',
      '  alertmanagers:',
      '    - static_configs:',
      `        - targets: [${JSON.stringify(options.alertmanager)}]`,
    );
  }
  lines.push('scrape_configs:');
  if (options.targets?.length) {
    lines.push(
      '  - job_name: targets',
      '    static_configs:',
      `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    );
  }
  if (options.extraScrapeConfigs) lines.push(options.extraScrapeConfigs);
  if (!options.targets?.length && !options.extraScrapeConfigs) lines.push('  []');
  writeFileSync(configFile, lines.join('\n') + '\n');

  let child: ChildProcess | undefined;
  let output = '';
  const url = `http://127.0.0.1:${port}`;

  const start = async (): Promise<void> => {
    output = '';
    child = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=60d',
        '--web.enable-lifecycle',
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<never>((_, reject) =>
      child?.once('exit', (code) => reject(new Error(`prometheus exited with ${code}:\n${output}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([
      waitFor(
        'prometheus to be ready',
        async () => (options.readyProbe ? options.readyProbe(port) : (await fetch(`${url}/-/ready`)).ok),
        60000,
      ),
      exited,
    ]);
  };

  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 10000);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill('SIGTERM');
    });
  };

  await start();
  return {
    url,
    port,
    dataDir,
    dir,
    start,
    stop: async () => {
      await stop();
    },
    logs: () => output,
  };
}

/** Removes a folder made by a test helper. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
