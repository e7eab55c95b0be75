/**
 * `npm run bench:soak`: the real daemon (`meshwatch run`, with the shipped NODE_OPTIONS) polling
 * a real Prometheus every second for a long while (30 minutes by default), on the simulator's
 * shop mesh with churn (a proxy restart, so a counter reset, every `--restart-every`; a caller
 * never seen before every few minutes) and incidents (denial spikes, plaintext fallbacks, new
 * callers) whose truth is known. It reports the daemon's RSS and heap over time (start, peak,
 * end, the second half's slope), polls, failures and skipped polls, and the findings against the
 * scenario's truth: each incident found or missed, and every finding no incident explains.
 *
 *   npm run -s bench:soak -- [--minutes N] [--incident-every S] [--restart-every S] [--json]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FindingJson } from '../src/app/findings-document';
import { loadScenario } from '../src/sim/load';
import { startSimulator } from '../src/sim/server';
import { backfillHistory } from '../scripts/lib/backfill';
import { freePort, waitFor } from '../scripts/lib/net';
import { startPrometheus } from '../scripts/lib/prometheus';
import { repoPath } from '../scripts/lib/repo';
import { count, option } from './args';
import { shippedNodeOptions } from './shipped';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const SCENARIO = repoPath('scenarios', 'demo.yaml');
// The warm-up replays this much history at the live step, as the demo does: baselines and known
// edges are real when the daemon goes live.
const HISTORY_MS = 60 * MINUTE;
const HISTORY_STEP_MS = 5 * SECOND;
const RATE_WINDOW_S = 20;
// Live scrapes fill a rate window before the first incident, so that no half-empty window reads low.
const SETTLE_MS = (RATE_WINDOW_S + 20) * SECOND;
const INCIDENT_MS = 60 * SECOND;
// A finding that opens this long after its incident ended is not counted as finding it.
const GRACE_MS = 60 * SECOND;

/** Edges of the shop mesh that its calls do not have: each is a new caller once. */
const NEW_EDGES: ReadonlyArray<[string, string]> = [
  ['shop/cart', 'shop/payments'],
  ['shop/catalog', 'shop/cart'],
  ['shop/cart', 'data/ledger'],
  ['istio-system/ingress', 'shop/catalog'],
  ['shop/payments', 'shop/cart'],
  ['shop/frontend', 'data/ledger'],
  ['shop/catalog', 'shop/payments'],
  ['istio-system/ingress', 'shop/cart'],
  ['shop/catalog', 'data/ledger'],
  ['shop/payments', 'shop/catalog'],
  ['istio-system/ingress', 'shop/payments'],
  ['shop/cart', 'shop/frontend'],
  ['shop/catalog', 'shop/frontend'],
  ['shop/payments', 'shop/frontend'],
  ['data/ledger', 'shop/payments'],
];
/** The proxies that restart, in turn: `[workload, replica]`. */
const RESTARTS: ReadonlyArray<[string, number]> = [
  ['shop/frontend', 0],
  ['shop/cart', 1],
  ['shop/catalog', 0],
  ['istio-system/ingress', 1],
  ['shop/payments', 0],
  ['data/ledger', 0],
  ['shop/frontend', 1],
  ['shop/catalog', 1],
];

/** One incident of the soak, and the detector that must find it. */
interface Planned {
  yaml: string;
  detector: string;
  destination: string;
  what: string;
  atMs: number;
}

/** The soak's incidents, from `startMs` (wall clock) every `everyMs` until `endMs`. */
function planIncidents(startMs: number, endMs: number, everyMs: number): Planned[] {
  const planned: Planned[] = [];
  let edge = 0;
  for (let i = 0, atMs = startMs; atMs + INCIDENT_MS <= endMs; i++, atMs += everyMs) {
    const turn = i % 4;
    if (turn === 1) {
      planned.push({
        yaml: '{kind: denial_spike, from: shop/frontend, to: shop/payments, rate: 25, denial: rbac',
        detector: 'unauthorized',
        destination: 'shop/payments',
        what: 'frontend denied at payments (25/s)',
        atMs,
      });
    } else if (turn === 3) {
      planned.push({
        yaml: '{kind: plaintext_fallback, from: shop/frontend, to: shop/cart, share: 0.5',
        detector: 'plaintext',
        destination: 'shop/cart',
        what: 'frontend to cart half plaintext',
        atMs,
      });
    } else {
      const [from, to] = NEW_EDGES[edge++ % NEW_EDGES.length] as [string, string];
      // Each edge is new once; after the list is used up, the rest of the run has none.
      if (edge > NEW_EDGES.length) continue;
      planned.push({
        yaml: `{kind: new_caller, from: ${from}, to: ${to}, rate: 1`,
        detector: 'new_caller',
        destination: to,
        what: `${from} calls ${to} for the first time`,
        atMs,
      });
    }
  }
  return planned;
}

/** The `--set` overrides that put the plan (and the restarts) into the shop scenario. */
function scenarioOverrides(
  planned: readonly Planned[],
  epochMs: number,
  restartsFromMs: number,
  endMs: number,
  restartEveryMs: number,
): string[] {
  const offset = (ms: number): string => `${Math.round((ms - epochMs) / SECOND)}s`;
  const incidents = planned.map(
    (p) => `${p.yaml}, at: ${offset(p.atMs)}, duration: ${INCIDENT_MS / SECOND}s}`,
  );
  const restarts: string[] = [];
  for (let i = 0, atMs = restartsFromMs; atMs < endMs; i++, atMs += restartEveryMs) {
    const [workload, replica] = RESTARTS[i % RESTARTS.length] as [string, number];
    restarts.push(`{workload: ${workload}, replica: ${replica}, at: ${offset(atMs)}}`);
  }
  return [`incidents=[${incidents.join(', ')}]`, `restarts=[${restarts.join(', ')}]`];
}

/** One look at the daemon. */
interface Sample {
  atS: number;
  rssBytes: number;
  heapBytes: number;
  polls: number;
  failures: number;
  skipped: number;
  open: number;
}

/** The value of an unlabelled sample in a Prometheus exposition, NaN when absent. */
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** `VmRSS` or `VmHWM` of a process, in bytes. */
function procMemory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The log levels whose lines the report counts, by message. */
const WARNING_LEVELS = new Set(['warn', 'error', 'fatal']);

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const minutes = count('--minutes', 30);
  const incidentEveryMs = count('--incident-every', 150) * SECOND;
  const restartEveryMs = count('--restart-every', 90) * SECOND;
  const sampleEveryMs = count('--sample-every', 10) * SECOND;
  const json = process.argv.includes('--json');
  const say = (line: string): void => void process.stderr.write(`${line}\n`);

  const dir = mkdtempSync(join(tmpdir(), 'meshwatch-soak-'));
  const stops: Array<() => Promise<unknown> | unknown> = [
    () => rmSync(dir, { recursive: true, force: true }),
  ];
  try {
    const historyEndMs = Math.floor(Date.now() / SECOND) * SECOND;
    const epochMs = historyEndMs - HISTORY_MS;
    const dataDir = join(dir, 'tsdb');
    mkdirSync(dataDir);
    // The story is planned from when meshwatch will be live: backfill, Prometheus and the warm-up
    // take under a minute here; incidents planned too early only shorten the first one.
    const liveMs = historyEndMs + SETTLE_MS;
    const endMs = liveMs + minutes * MINUTE;
    const planned = planIncidents(liveMs + SETTLE_MS, endMs - GRACE_MS, incidentEveryMs);
    const set = scenarioOverrides(planned, epochMs, liveMs, endMs, restartEveryMs);
    say(
      `soak: ${minutes} min, ${planned.length} incidents, a proxy restart every ${restartEveryMs / SECOND}s`,
    );
    await backfillHistory({
      scenarioFile: SCENARIO,
      set,
      epochMs,
      ranges: [{ fromMs: epochMs, toMs: historyEndMs, stepMs: HISTORY_STEP_MS }],
      dir,
      dataDir,
    });
    const sim = await startSimulator({
      scenario: loadScenario(SCENARIO, set),
      epochMs,
      host: '127.0.0.1',
      port: 0,
    });
    stops.push(() => sim.stop());
    const prometheus = await startPrometheus({ targets: [`127.0.0.1:${sim.port}`], dataDir });
    stops.push(async () => {
      await prometheus.stop();
      rmSync(prometheus.dir, { recursive: true, force: true });
    });

    const port = await freePort();
    const configFile = join(dir, 'meshwatch.yml');
    writeFileSync(
      configFile,
      [
        `prometheus: { url: "${prometheus.url}", timeout: 900ms }`,
        `poll: { interval: 1s, rate_window: ${RATE_WINDOW_S}s }`,
        `warmup: { lookback: ${HISTORY_MS / MINUTE}m, step: ${HISTORY_STEP_MS / SECOND}s }`,
        `server: { host: 127.0.0.1, port: ${port} }`,
        'log: { level: info }',
        '',
      ].join('\n'),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, historyEndMs + RATE_WINDOW_S * SECOND - Date.now())));
    const child = spawn(
      process.execPath,
      [repoPath('dist', 'src', 'cli', 'main.js'), 'run', '--config', configFile],
      {
        env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: option('--node-options', shippedNodeOptions()) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    let logLines = 0;
    const logCounts = new Map<string, number>();
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        logLines++;
        try {
          const { level, msg } = JSON.parse(line) as { level: string; msg: string };
          if (WARNING_LEVELS.has(level))
            logCounts.set(`${level}: ${msg}`, (logCounts.get(`${level}: ${msg}`) ?? 0) + 1);
        } catch {
          logCounts.set('(not JSON)', (logCounts.get('(not JSON)') ?? 0) + 1);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    stops.push(() => child.exitCode === null && child.kill('SIGKILL'));
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      'meshwatch to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`meshwatch exited with ${child.exitCode}: ${stderr}`);
        return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true;
      },
      120_000,
    );
    const t0 = Date.now();
    say(`meshwatch ready after ${((t0 - historyEndMs) / SECOND).toFixed(0)}s; polling every second`);

    const samples: Sample[] = [];
    const findings = new Map<string, FindingJson>();
    let nextSay = 0;
    while (Date.now() < endMs) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const doc = (await (await fetch(`${url}/api/v1/findings`)).json()) as { findings: FindingJson[] };
      // A finding's id is its detector and destination: a second incident there is a new episode.
      for (const f of doc.findings) findings.set(`${f.id}@${f.first_seen}`, f);
      const sample: Sample = {
        atS: Math.round((Date.now() - t0) / SECOND),
        rssBytes: procMemory(child.pid as number, 'VmRSS'),
        heapBytes: metric(text, 'nodejs_heap_size_used_bytes'),
        polls: metric(text, 'meshwatch_polls_total'),
        failures: metric(text, 'meshwatch_poll_failures_total'),
        skipped: metric(text, 'meshwatch_polls_skipped_total'),
        open: doc.findings.length,
      };
      samples.push(sample);
      if (sample.atS >= nextSay) {
        nextSay += 60;
        say(
          `  ${String(Math.round(sample.atS / 60)).padStart(3)} min  rss ${mib(sample.rssBytes)}  heap ${mib(sample.heapBytes)}` +
            `  polls ${sample.polls}  failures ${sample.failures}  skipped ${sample.skipped}  open findings ${sample.open}`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(sampleEveryMs, Math.max(0, endMs - Date.now()))));
    }
    const peakRss = procMemory(child.pid as number, 'VmHWM');
    child.kill('SIGTERM');
    const exitCode = await exited;

    const report = judge(planned, [...findings.values()]);
    const first = samples[0] as Sample;
    const last = samples[samples.length - 1] as Sample;
    const half = samples.slice(Math.floor(samples.length / 2));
    const result = {
      minutes,
      polls: last.polls - first.polls,
      failures: last.failures - first.failures,
      skipped: last.skipped - first.skipped,
      rss_bytes: { start: first.rssBytes, peak: peakRss, end: last.rssBytes },
      heap_bytes: {
        start: first.heapBytes,
        peak: Math.max(...samples.map((s) => s.heapBytes)),
        end: last.heapBytes,
      },
      // Over the second half, as a share of its mean: flat is near 0.
      heap_second_half_growth: growth(half.map((s) => [s.atS, s.heapBytes])),
      rss_second_half_growth: growth(half.map((s) => [s.atS, s.rssBytes])),
      curve: samples
        .filter((_, i) => i % Math.max(1, Math.round(60_000 / sampleEveryMs)) === 0)
        .map((s) => ({ at_s: s.atS, rss_bytes: s.rssBytes, heap_bytes: s.heapBytes })),
      incidents: report.incidents,
      found: report.incidents.filter((i) => i.found).length,
      missed: report.incidents.filter((i) => !i.found).length,
      unexplained_findings: report.unexplained,
      warnings_logged: Object.fromEntries(logCounts),
      log_lines: logLines,
      exit_code: exitCode,
    };
    say(
      `soak done: ${result.polls} polls, ${result.failures} failures, ${result.skipped} skipped; ` +
        `rss ${mib(first.rssBytes)} -> peak ${mib(peakRss)} -> ${mib(last.rssBytes)}; ` +
        `heap ${mib(result.heap_bytes.start)} -> peak ${mib(result.heap_bytes.peak)} -> ${mib(result.heap_bytes.end)} ` +
        `(second half ${(result.heap_second_half_growth * 100).toFixed(1)}%); ` +
        `incidents found ${result.found}/${planned.length}, unexplained findings ${report.unexplained.length}; exit ${exitCode}`,
    );
    for (const i of report.incidents)
      say(`  ${i.found ? 'found ' : 'MISSED'} ${i.what}${i.found ? ` after ${i.after_s}s` : ''}`);
    for (const f of report.unexplained)
      say(`  unexplained: ${f.detector} at ${f.destination} since ${f.first_seen}`);
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    if (exitCode !== 0) process.exitCode = 1;
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

/** Each incident found (a finding of its detector at its destination in its window) or not, and the findings no incident explains. */
function judge(
  planned: readonly Planned[],
  findings: readonly FindingJson[],
): {
  incidents: Array<{ what: string; detector: string; found: boolean; after_s?: number }>;
  unexplained: Array<{ detector: string; destination: string; first_seen: string }>;
} {
  const destinationOf = (f: FindingJson): string => `${f.destination_namespace}/${f.destination_workload}`;
  const within = (p: Planned, f: FindingJson): boolean => {
    const at = Date.parse(f.first_seen);
    return at >= p.atMs && at <= p.atMs + INCIDENT_MS + GRACE_MS && destinationOf(f) === p.destination;
  };
  const incidents = planned.map((p) => {
    const hit = findings.find((f) => f.detector === p.detector && within(p, f));
    return {
      what: p.what,
      detector: p.detector,
      found: hit !== undefined,
      ...(hit ? { after_s: Math.round((Date.parse(hit.first_seen) - p.atMs) / SECOND) } : {}),
    };
  });
  // A finding of another detector at an incident's destination in its window (a denial spike
  // also lifts the request rate) is explained by it; anything else is a false finding.
  const unexplained = findings
    .filter((f) => !planned.some((p) => within(p, f)))
    .map((f) => ({ detector: f.detector, destination: destinationOf(f), first_seen: f.first_seen }));
  return { incidents, unexplained };
}

/** Least-squares slope of `points` times their span, over their mean: the growth across them. */
function growth(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const span = (points[n - 1] as [number, number])[0] - (points[0] as [number, number])[0];
  return sxx === 0 ? 0 : ((sxy / sxx) * span) / my;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:soak failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
