import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort, waitFor } from './ports';

/** The built CLI; integration tests run the real executable, as users and Kubernetes do. */
export const MESHWATCH_CLI = resolve(__dirname, '../../dist/src/cli/main.js');

/** A meshwatch process started by a test. */
export interface RunningMeshwatch {
  url: string;
  port: number;
  child: ChildProcess;
  /** The config file it runs with (`--config`), in a temporary folder removed by `stop`. */
  configFile: string;
  /** Everything it wrote to stdout (JSON log lines) and stderr. */
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines. */
  logLines(): Array<Record<string, unknown>>;
  metrics(): Promise<string>;
  findings(): Promise<{ status: string; findings: Array<Record<string, unknown>> }>;
  /** Sends `signal` (unless one was sent already) and resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Fails with a clear message when the build is missing, rather than a confusing spawn error. */
export function requireBuild(): void {
  if (!existsSync(MESHWATCH_CLI)) {
    throw new Error(
      `${MESHWATCH_CLI} is missing: run \`npm run build\` first (\`npm test\` does it for you)`,
    );
  }
}

/** Starts `meshwatch run` with `config` (merged over a fast test setup) written to a temporary file. */
export async function startMeshwatch(
  config: Record<string, unknown>,
  options: { env?: Record<string, string>; waitReady?: boolean } = {},
): Promise<RunningMeshwatch> {
  requireBuild();
  const dir = mkdtempSync(join(tmpdir(), 'meshwatch-run-'));
  const requested = (config.server as { port?: number } | undefined)?.port;
  const port = requested ?? (await freePort());
  const file = join(dir, 'meshwatch.yml');
  const server = (config.server as Record<string, unknown> | undefined) ?? {};
  writeFileSync(file, stringify({ ...config, server: { host: '127.0.0.1', ...server, port } }));
  const child = spawn(process.execPath, [MESHWATCH_CLI, 'run', '--config', file], {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const url = `http://127.0.0.1:${port}`;

  if (options.waitReady !== false) {
    await waitFor(
      `meshwatch to answer on ${url}/livez (stderr: ${err})`,
      async () => {
        if (child.exitCode !== null) throw new Error(`meshwatch exited with ${child.exitCode}: ${err}${out}`);
        return (await fetch(`${url}/livez`)).ok;
      },
      30000,
    );
  }

  return {
    url,
    port,
    child,
    configFile: file,
    stdout: () => out,
    stderr: () => err,
    logLines: () =>
      out
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    findings: async () =>
      (await (await fetch(`${url}/api/v1/findings`)).json()) as {
        status: string;
        findings: Array<Record<string, unknown>>;
      },
    exited: exit,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null && !child.killed) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
      const code = await exit;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Waits until `/metrics` has a sample that satisfies `predicate`. */
export async function waitForMetrics(
  mw: RunningMeshwatch,
  what: string,
  predicate: (text: string) => boolean,
  timeoutMs = 60000,
): Promise<string> {
  let last = '';
  await waitFor(
    what,
    async () => {
      last = await mw.metrics();
      return predicate(last);
    },
    timeoutMs,
    250,
  );
  return last;
}
