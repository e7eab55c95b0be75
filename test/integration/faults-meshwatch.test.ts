import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { backfillScenario, HOUR, MINUTE } from '../helpers/history';
import { samplesOf } from '../helpers/metrics-text';
import { MESHWATCH_CLI, requireBuild, startMeshwatch, waitForMetrics } from '../helpers/meshwatch';
import { freePort, waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { startSimulatorForTest, type TestSimulator } from '../helpers/simulator';
import { startSlowProxy, type SlowProxy } from '../helpers/slow-proxy';

// Faults of meshwatch's own process: signals while it works, and a filesystem it cannot write.
// The Alertmanager rows (restart, Alertmanager down or slow) are in faults-meshwatch-alertmanager.

/** A quiet mesh: nothing in it is a finding, so any finding is a false one. */
const QUIET = `
name: quiet-pair
seed: 5
trust_domain: cluster.local
pattern: { daily_amplitude: 0, weekend_factor: 1, noise: 0 }
workloads:
  - { name: frontend, namespace: shop }
  - { name: catalog, namespace: shop }
calls:
  - { from: shop/frontend, to: shop/catalog, rate: 20 }
`;

/** A poll is two instant queries (the mesh, the labels); the warm-up's history is range queries. */
const isInstantQuery = (url: string): boolean => url.split('?')[0] === '/api/v1/query';
const isRangeQuery = (url: string): boolean => url.split('?')[0] === '/api/v1/query_range';
/** Held until the test releases it: longer than any test runs. */
const HELD_MS = 9 * MINUTE;

type LogLine = Record<string, unknown>;
const messages = (lines: LogLine[]): string[] => lines.map((l) => String(l.msg));
const problems = (lines: LogLine[]): LogLine[] =>
  lines.filter((l) => l.level === 'error' || l.level === 'fatal');

/** Waits until the real Prometheus has two scrapes of the mesh, so a rate over it is not empty. */
async function waitForRates(prometheus: RunningPrometheus): Promise<void> {
  await waitFor(
    'Prometheus to have rates of the simulated mesh',
    async () => {
      const query = encodeURIComponent('sum(rate(istio_requests_total[10s]))');
      const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${query}`)).json()) as {
        data: { result: unknown[] };
      };
      return body.data.result.length > 0;
    },
    30000,
    250,
  );
}

describe('meshwatch on SIGTERM while it works', () => {
  let sim: TestSimulator;
  let prometheus: RunningPrometheus;
  let proxy: SlowProxy;

  beforeAll(async () => {
    sim = await startSimulatorForTest({ scenario: { yaml: QUIET }, epochMs: Date.now() - 60_000 });
    prometheus = await startPrometheus({ targets: [sim.target] });
    await waitForRates(prometheus);
    proxy = await startSlowProxy(prometheus.url);
  });

  afterAll(async () => {
    await proxy?.close();
    await prometheus?.stop();
    await sim?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('lets the poll in flight against a slow Prometheus finish, keeps its result and exits 0', async () => {
    // The real Prometheus answers the poll's queries only once the test releases them.
    proxy.delay((_method, url) => (isInstantQuery(url) ? HELD_MS : 0));
    const mw = await startMeshwatch({
      prometheus: { url: proxy.url, timeout: '10m' },
      warmup: { lookback: '0s' },
      poll: { interval: '10m', rate_window: '10s' },
      shutdown: { timeout: '5m' },
      log: { level: 'debug' },
    });
    try {
      await waitFor(
        "the poll's two queries held at the proxy",
        async () => proxy.inFlight().filter((r) => isInstantQuery(r.url)).length === 2,
        30000,
        100,
      );
      mw.child.kill('SIGTERM');
      await waitFor(
        '/readyz to answer 503',
        async () => (await fetch(`${mw.url}/readyz`)).status === 503,
        15000,
        100,
      );
      // Shutting down, the process waits for the poll and still serves /metrics meanwhile.
      const during = await mw.metrics();
      expect(mw.child.exitCode).toBeNull();
      expect(messages(mw.logLines())).toContain('shutting down: unready, no new polls');
      expect(samplesOf(during, 'meshwatch_polls_total')[0]?.value).toBe(1);
      expect(samplesOf(during, 'meshwatch_poll_failures_total')[0]?.value).toBe(0);

      proxy.release();
      expect(await mw.stop()).toBe(0);
      const lines = mw.logLines();
      const said = messages(lines);
      // The poll finished after the shutdown began, before the process stopped.
      expect(said.indexOf('shutting down: unready, no new polls')).toBeLessThan(said.indexOf('poll done'));
      expect(said.at(-1)).toBe('stopped');
      expect(said).not.toContain('the poll in flight did not finish in time; aborting it');
      expect(lines.find((l) => l.msg === 'poll done')).toMatchObject({
        findings: 0,
        series: expect.any(Number),
      });
      expect(Number(lines.find((l) => l.msg === 'poll done')?.series)).toBeGreaterThan(0);
      expect(said).not.toContain('finding opened');
      expect(problems(lines)).toEqual([]);
    } finally {
      proxy.delay(0);
      proxy.release();
      await mw.stop('SIGKILL');
    }
  });
});

describe('meshwatch on SIGTERM during the warm-up', () => {
  let prometheus: RunningPrometheus;
  let dir: string;
  let proxy: SlowProxy;

  beforeAll(async () => {
    // Six hours of the quiet shop's history ending now: the daemon looks back from the present.
    const nowMs = Date.now();
    const fromMs = Math.floor((nowMs - 6 * HOUR) / MINUTE) * MINUTE;
    const history = await backfillScenario({
      scenario: 'quiet.yaml',
      epochMs: fromMs,
      ranges: [[fromMs, nowMs]],
      stepMs: MINUTE,
    });
    dir = history.dir;
    prometheus = await startPrometheus({ dataDir: history.dataDir });
    proxy = await startSlowProxy(prometheus.url);
  }, 180_000);

  afterAll(async () => {
    await proxy?.close();
    await prometheus?.stop();
    removeDir(dir);
  });

  it('stops the warm-up at once, never polls, logs no failure and exits 0', async () => {
    // The first chunk of history comes back; the second is still being fetched when SIGTERM arrives.
    let ranges = 0;
    proxy.delay((_method, url) => (isRangeQuery(url) && ++ranges > 1 ? HELD_MS : 0));
    const mw = await startMeshwatch({
      prometheus: { url: proxy.url, timeout: '10m' },
      warmup: { lookback: '1d', step: '1m' },
      poll: { interval: '10m', rate_window: '3m' },
      shutdown: { timeout: '5m' },
      log: { level: 'debug' },
    });
    try {
      await waitFor(
        'the second chunk of history held at the proxy',
        async () => ranges >= 2 && proxy.inFlight().some((r) => isRangeQuery(r.url)),
        60000,
        100,
      );
      const during = await waitForMetrics(
        mw,
        'warm-up progress',
        (t) => (samplesOf(t, 'meshwatch_warmup_steps', { state: 'done' })[0]?.value ?? 0) > 0,
      );
      expect(samplesOf(during, 'meshwatch_warmup_complete')[0]?.value).toBe(0);
      expect(samplesOf(during, 'meshwatch_polls_total')[0]?.value).toBe(0);
      expect(await (await fetch(`${mw.url}/readyz`)).text()).toContain('warming up');

      const started = Date.now();
      mw.child.kill('SIGTERM');
      expect(await mw.exited).toBe(0);
      // Nothing to wait for: the chunk in flight is abandoned, not awaited (shutdown.timeout is 5 minutes).
      expect(Date.now() - started).toBeLessThan(60000);
      await waitFor(
        'the proxy to see the request abandoned',
        async () => proxy.inFlight().length === 0,
        10000,
        100,
      );

      const lines = mw.logLines();
      const said = messages(lines);
      expect(said).toContain('shutting down: unready, no new polls');
      expect(said.at(-1)).toBe('stopped');
      expect(said).not.toContain('warm-up complete; polling');
      expect(said.filter((m) => m.startsWith('poll '))).toEqual([]);
      expect(said).not.toContain('finding opened');
      expect(problems(lines)).toEqual([]);
    } finally {
      await mw.stop('SIGKILL');
    }
  });
});

/**
 * The unshare flags and the script that make every mount read-only in a mount namespace of the
 * daemon's own (root: `-m`; otherwise a user namespace too, `-rm`), if this machine allows it:
 * checked by running it once and failing to write into `dir`.
 */
function readOnlyNamespace(dir: string): { flags: string[]; script: string[] } | undefined {
  const script = [
    'set -e',
    "for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do",
    '  case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/pts|/mnt/*) continue;; esac',
    '  mount -o remount,bind,ro "$m"',
    'done',
    `if touch "${dir}/probe" 2>/dev/null; then echo "${dir} is writable" >&2; exit 97; fi`,
  ];
  const flags =
    process.getuid?.() === 0 ? ['-m', '--propagation', 'private'] : ['-rm', '--propagation', 'private'];
  const probe = spawnSync('unshare', [...flags, 'sh', '-c', script.join('\n')], { encoding: 'utf8' });
  return probe.status === 0 ? { flags, script } : undefined;
}

describe('meshwatch on a read-only filesystem', () => {
  let sim: TestSimulator;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    sim = await startSimulatorForTest({ scenario: { yaml: QUIET }, epochMs: Date.now() - 60_000 });
    prometheus = await startPrometheus({ targets: [sim.target] });
    await waitForRates(prometheus);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await sim?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('polls for many rounds with every filesystem read-only, opens no file for writing, and exits 0', async () => {
    requireBuild();
    const dir = mkdtempSync(join(tmpdir(), 'meshwatch-ro-'));
    const configFile = join(dir, 'meshwatch.yml');
    const port = await freePort();
    writeFileSync(
      configFile,
      stringify({
        prometheus: { url: prometheus.url, timeout: '900ms' },
        warmup: { lookback: '5m', step: '1s', coarse_step: '0s' },
        poll: { interval: '1s', rate_window: '10s' },
        server: { host: '127.0.0.1', port },
        log: { level: 'debug' },
      }),
    );
    // In a mount namespace of its own, every mount is remounted read-only before node starts: a
    // write anywhere (cwd, TMPDIR, HOME, /tmp, the repository) fails with EROFS, root or not.
    // /proc, /sys and /dev stay as they are (devices, not storage).
    const isolation = readOnlyNamespace(dir);
    const run = [
      `cd "${dir}"`,
      `exec env HOME="${dir}" TMPDIR="${dir}" PATH="$PATH" "${process.execPath}" "${MESHWATCH_CLI}" run --config "${configFile}"`,
    ];
    // Where mount namespaces are not allowed, the open files below are the whole proof.
    process.stdout.write(
      `read-only proof: ${isolation ? `unshare ${isolation.flags.join(' ')}, every mount read-only` : 'no mount namespace here: /proc/<pid>/fd only'}\n`,
    );
    const child = isolation
      ? spawn('unshare', [...isolation.flags, 'sh', '-c', [...isolation.script, ...run].join('\n')], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { PATH: process.env.PATH ?? '' },
        })
      : spawn('sh', ['-c', run.join('\n')], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { PATH: process.env.PATH ?? '' },
        });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    const lines = (): LogLine[] =>
      out
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as LogLine);
    try {
      await waitFor(
        `meshwatch to poll 10 times on the read-only filesystem (stderr: ${err})`,
        async () => {
          if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${err}${out}`);
          const text = await (await fetch(`${url}/metrics`)).text();
          return (samplesOf(text, 'meshwatch_polls_total')[0]?.value ?? 0) >= 10;
        },
        90000,
        250,
      );
      // The same process (sh exec'd node): its open files are all that it could be writing to.
      const pid = child.pid as number;
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain(MESHWATCH_CLI);
      if (isolation)
        expect(readFileSync(`/proc/${pid}/mountinfo`, 'utf8')).toMatch(/^\S+ \S+ \S+ \S+ \/ ro[, ]/m);
      const writable = readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
        let target: string;
        try {
          target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return []; // closed meanwhile
        }
        // Pipes, sockets, eventfds and /dev/null are not storage.
        if (!target.startsWith('/') || target.startsWith('/dev/')) return [];
        const flags = Number.parseInt(
          /flags:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0',
          8,
        );
        // O_WRONLY 01, O_RDWR 02.
        return (flags & 3) !== 0 ? [target] : [];
      });
      expect(writable).toEqual([]);

      const text = await (await fetch(`${url}/metrics`)).text();
      expect(samplesOf(text, 'meshwatch_warmup_complete')[0]?.value).toBe(1);
      expect(samplesOf(text, 'meshwatch_prometheus_up')[0]?.value).toBe(1);
      expect(samplesOf(text, 'meshwatch_poll_failures_total')[0]?.value).toBe(0);
      const doc = (await (await fetch(`${url}/api/v1/findings`)).json()) as {
        status: string;
        findings: unknown[];
      };
      expect(doc).toMatchObject({ status: 'ok', findings: [] });

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const said = messages(lines());
      expect(said.filter((m) => m === 'poll done').length).toBeGreaterThanOrEqual(10);
      expect(said.at(-1)).toBe('stopped');
      expect(problems(lines())).toEqual([]);
      expect(lines().filter((l) => l.level === 'warn')).toEqual([]);
      expect(err).toBe('');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      removeDir(dir);
    }
  });
});
