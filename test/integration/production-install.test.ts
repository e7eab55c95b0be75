/**
 * Stands in for building the image (no Docker engine here): installs what the Dockerfile's runtime stage
 * holds (npm ci --omit=dev plus dist/src) into a clean folder and runs meshwatch from it against a real
 * Prometheus, so a runtime need for a dev dependency fails here rather than in a cluster.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { prepareProductionInstall } from '../../scripts/production-install';
import { requireBuild } from '../helpers/meshwatch';
import { samplesOf } from '../helpers/metrics-text';
import { freePort, waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { startSimulatorForTest, type TestSimulator, PLAINTEXT_IN_MESH_SCENARIO } from '../helpers/simulator';

const ROOT = resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};
const CONFIGS = ['deploy/base', 'deploy/overlays/kube-prometheus-stack', 'deploy/overlays/mimir'];

describe('meshwatch installed as the runtime image holds it (production dependencies only)', () => {
  let dir: string;
  let cli: string;
  let sim: TestSimulator;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    requireBuild();
    dir = prepareProductionInstall({ root: ROOT });
    cli = join(dir, 'dist/src/cli/main.js');
    sim = await startSimulatorForTest({
      scenario: { yaml: PLAINTEXT_IN_MESH_SCENARIO },
      epochMs: Date.now() - 60_000,
    });
    prometheus = await startPrometheus({ targets: [sim.target] });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await sim?.stop();
    removeDir(prometheus?.dir ?? '');
    removeDir(dir ?? '');
  });

  it('holds no dev dependency', () => {
    const present = Object.keys(pkg.devDependencies).filter((name) =>
      existsSync(join(dir, 'node_modules', name)),
    );
    expect(present).toEqual([]);
  });

  it.each(CONFIGS)('passes check-config on the ConfigMap configuration of %s', (folder) => {
    const file = join(ROOT, folder, 'meshwatch.yml');
    const result = spawnSync(process.execPath, [cli, 'check-config', file], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    expect([result.status, result.stdout, result.stderr]).toEqual([0, `${file}: ok\n`, '']);
  });

  it('runs the base configuration against a real Prometheus: ready, polling, finding, and stops cleanly on SIGTERM', async () => {
    // The base configuration, pointed at the test's Prometheus and sped up; everything else as shipped.
    const config = parse(readFileSync(join(ROOT, 'deploy/base/meshwatch.yml'), 'utf8')) as Record<
      string,
      never
    >;
    const port = await freePort();
    const work = mkdtempSync(join(tmpdir(), 'meshwatch-production-run-'));
    const file = join(work, 'meshwatch.yml');
    writeFileSync(
      file,
      stringify({
        ...config,
        prometheus: { url: prometheus.url, timeout: '900ms' },
        poll: { interval: '1s', rate_window: '10s' },
        server: { host: '127.0.0.1', port },
      }),
    );
    const child = spawn(process.execPath, [cli, 'run', '--config', file], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor(
        `/readyz to answer 200 (output: ${output})`,
        async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200,
        60_000,
        250,
      );
      await waitFor(
        'the plaintext finding',
        async () => {
          const body = (await (await fetch(`${url}/api/v1/findings`)).json()) as { findings: unknown[] };
          return body.findings.length > 0;
        },
        30_000,
        250,
      );
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(samplesOf(text, 'meshwatch_build_info').map(({ labels, value }) => ({ labels, value }))).toEqual(
        [{ labels: { version: pkg.version }, value: 1 }],
      );
      expect(samplesOf(text, 'meshwatch_prometheus_up')[0]?.value).toBe(1);
      // The footprint on a tiny mesh, for docs/install.md's sizing (read before stopping).
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      console.log(`production install: meshwatch RSS ${Math.round(Number(rss) / 1024)} MiB`);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    removeDir(work);
  });
});
