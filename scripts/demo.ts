/**
 * `npm run demo`: the whole story on this machine, no cluster needed. A week of a simulated shop
 * mesh is backfilled into a real Prometheus (evaluating the shipped alert rules, sending to a real
 * Alertmanager whose pager and chat receivers are a webhook served here); meshwatch warms up over
 * that history and polls; the simulator goes live with the same epoch, so the counters continue;
 * then cart goes bad: plaintext towards catalog, a first call to payments, a spike of 403s from
 * payments. Findings (opened, closed, explained) and pages are printed as they happen. Ctrl-C
 * stops everything it started; so does an error at any step.
 *
 *   npm run demo                  run until Ctrl-C
 *   npm run demo -- --once        stop after the first page (used by the test of this command)
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/adapters/logger';
import { createPrometheusClient } from '../src/adapters/prometheus/client';
import { startDaemon } from '../src/app/daemon';
import type { FindingJson } from '../src/app/findings-document';
import { parseConfig } from '../src/config/load';
import { RULE_FILE_PATH } from '../src/rules/targets';
import { loadScenario } from '../src/sim/load';
import type { Incident } from '../src/sim/scenario';
import { startSimulator } from '../src/sim/server';
import { packageVersion } from '../src/version';
import { loopbackAlertmanagerConfig, startAlertmanager, startWebhookReceiver } from './lib/alertmanager';
import { backfillHistory } from './lib/backfill';
import { ensureDebianPackages } from './lib/binaries';
import { freePort } from './lib/net';
import { startPrometheus } from './lib/prometheus';
import { repoPath } from './lib/repo';
import { closedLine, findingChanges, notificationLines, openedLine } from './lib/timeline';

const SCENARIO = repoPath('scenarios', 'demo.yaml');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const WEEK = 7 * 24 * 60 * MINUTE;
// The week is written every 5 minutes (a few seconds of work); the last hour every 5 seconds,
// because rate() over the demo's 20s window needs two samples in it: that hour is what the
// warm-up replays, poll by poll, so the baselines and known edges are real when it goes live.
const WEEK_STEP_MS = 5 * MINUTE;
const DENSE_MS = 60 * MINUTE;
const DENSE_STEP_MS = 5 * SECOND;
const RATE_WINDOW_MS = 20 * SECOND;
// From the simulator going live to the story's start: Alertmanager and Prometheus start (a few
// seconds), then a full rate window of live scrapes before meshwatch polls.
const SETTLE_MS = RATE_WINDOW_MS + 10 * SECOND;

/** Raised when Ctrl-C (or SIGTERM) arrives during a step: not an error, the demo just stops. */
class Interrupted extends Error {}

async function main(): Promise<number> {
  const once = process.argv.includes('--once');
  const t0 = Date.now();
  const say = (line: string): void => {
    process.stdout.write(`[${clock(Math.round((Date.now() - t0) / 1000))}] ${line}\n`);
  };

  const abort = new AbortController();
  const interrupted = new Promise<never>((_, reject) =>
    abort.signal.addEventListener('abort', () => reject(new Interrupted('interrupted'))),
  );
  interrupted.catch(() => undefined);
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());

  // Every started thing registers its stop; a step still starting when Ctrl-C arrives registers
  // its stop when it is up, and cleanup waits for it, so nothing is left behind either way.
  const cleanups: Array<() => unknown> = [];
  const inflight = new Set<Promise<unknown>>();
  const step = <T>(started: Promise<T>, stop?: (value: T) => unknown): Promise<T> => {
    if (!stop) return Promise.race([started, interrupted]);
    const tracked = started.then((value) => {
      cleanups.push(() => stop(value));
      return value;
    });
    // Only steps that start something are waited for: they end by themselves (ready or failed).
    inflight.add(tracked);
    const settled = (): boolean => inflight.delete(tracked);
    tracked.then(settled, settled);
    return Promise.race([tracked, interrupted]);
  };
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled([...inflight]);
    for (const stop of cleanups.reverse()) {
      try {
        await stop();
      } catch {
        // keep stopping the rest
      }
    }
    cleanups.length = 0;
  };

  try {
    ensureDebianPackages(
      [
        { binary: 'prometheus', debianPackage: 'prometheus' },
        { binary: 'promtool', debianPackage: 'prometheus' },
        { binary: 'prometheus-alertmanager', debianPackage: 'prometheus-alertmanager' },
      ],
      say,
    );
    const dir = mkdtempSync(join(tmpdir(), 'meshwatch-demo-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    const historyEndMs = Math.floor(Date.now() / SECOND) * SECOND;
    const epochMs = historyEndMs - WEEK;
    const dataDir = join(dir, 'tsdb');
    mkdirSync(dataDir);
    say(
      `backfilling a week of scenarios/demo.yaml into ${dataDir} (meshwatch simulate --backfill, promtool)...`,
    );
    await step(
      backfillHistory({
        scenarioFile: SCENARIO,
        set: [],
        epochMs,
        ranges: [
          { fromMs: epochMs, toMs: historyEndMs - DENSE_MS - WEEK_STEP_MS, stepMs: WEEK_STEP_MS },
          { fromMs: historyEndMs - DENSE_MS, toMs: historyEndMs, stepMs: DENSE_STEP_MS },
        ],
        dir,
        dataDir,
        signal: abort.signal,
      }),
    );
    say(`history written: ${new Date(epochMs).toISOString()} to ${new Date(historyEndMs).toISOString()}`);

    // The simulator goes live before Prometheus so that, once meshwatch polls, every rate window
    // is full of live samples (a window half empty makes rate() read low: false traffic drops).
    // The incidents keep the spacing written in the scenario, counted from when meshwatch polls.
    const storyStartMs = Date.now() + SETTLE_MS;
    const written = loadScenario(SCENARIO);
    const toStory = (atMs: number): number => Math.ceil((storyStartMs + atMs - WEEK - epochMs) / SECOND);
    const scenario = loadScenario(
      SCENARIO,
      written.incidents.map((incident, i) => `incidents[${i}].at=${toStory(incident.atMs)}s`),
    );
    const sim = await step(startSimulator({ scenario, epochMs, host: '127.0.0.1', port: 0 }), (s) =>
      s.stop(),
    );
    say(`simulated mesh live at ${sim.url}/metrics (same epoch: the counters continue the week)`);

    const webhook = await step(startWebhookReceiver(), (w) => w.stop());
    const alertmanager = await step(
      startAlertmanager(
        loopbackAlertmanagerConfig(webhook.url, {
          group_wait: '1s',
          group_interval: '2s',
          repeat_interval: '1h',
        }),
      ),
      async (am) => {
        await am.stop();
        rmSync(am.dir, { recursive: true, force: true });
      },
    );
    say(`Alertmanager ready at ${alertmanager.url} (shipped routing; pager and chat post to this demo)`);

    const meshwatchPort = await freePort();
    const prometheus = await step(
      startPrometheus({
        targets: [`127.0.0.1:${sim.port}`],
        dataDir,
        ruleFiles: [repoPath(RULE_FILE_PATH)],
        alertmanager: alertmanager.target,
        extraScrapeConfigs: [
          '  - job_name: meshwatch',
          '    static_configs:',
          `      - targets: ["127.0.0.1:${meshwatchPort}"]`,
        ].join('\n'),
      }),
      async (p) => {
        await p.stop();
        rmSync(p.dir, { recursive: true, force: true });
      },
    );
    say(
      `Prometheus ready at ${prometheus.url} on that week, with ${RULE_FILE_PATH} (evaluated every second)`,
    );

    // The test setup of the daemon: polls every 2s over a 20s rate window, so the story takes
    // minutes; the alert rules keep their shipped for:, so a page comes a minute after its finding.
    const config = parseConfig(
      [
        `prometheus: { url: "${prometheus.url}", timeout: 1500ms }`,
        `poll: { interval: 2s, rate_window: ${RATE_WINDOW_MS / SECOND}s }`,
        `warmup: { lookback: ${DENSE_MS / MINUTE}m, step: ${DENSE_STEP_MS / SECOND}s }`,
        `server: { host: 127.0.0.1, port: ${meshwatchPort} }`,
        'log: { level: info }',
      ].join('\n'),
      {},
      {},
      'demo',
    );
    say(`letting Prometheus scrape the live mesh for one rate window (${RATE_WINDOW_MS / SECOND}s)...`);
    await step(new Promise((r) => setTimeout(r, RATE_WINDOW_MS)));
    const logFile = join(dir, 'meshwatch.log');
    const client = createPrometheusClient(config.prometheus);
    cleanups.push(() => client.close());
    const daemon = await step(
      startDaemon({
        config,
        logger: createLogger('info', createWriteStream(logFile)),
        prometheus: client,
        version: packageVersion(),
      }),
      (d) => d.stop('demo finished'),
    );
    const warmupStartMs = Date.now();
    await step(daemon.warmedUp);
    say(
      `meshwatch warmed up over the last ${DENSE_MS / MINUTE} minutes of history in ${((Date.now() - warmupStartMs) / 1000).toFixed(1)}s; polling every 2s`,
    );

    const base = `http://127.0.0.1:${daemon.port}`;
    say('open:');
    say(`    findings      ${base}/api/v1/findings`);
    say(`    metrics       ${base}/metrics`);
    say(`    alerts        ${prometheus.url}/alerts`);
    say(`    Alertmanager  ${alertmanager.url}`);
    say(`    JSON logs     ${logFile}`);
    say('the story:');
    for (const incident of written.incidents) {
      const atS = Math.round((toStory(incident.atMs) * SECOND + epochMs - t0) / SECOND);
      say(`    at ${clock(atS)}  ${describeIncident(incident)}`);
    }
    if (!once) say('press Ctrl-C to stop');

    const seen = new Map<string, FindingJson>();
    let notified = 0;
    const paged = new Promise<void>((resolvePaged) => {
      const timer = setInterval(() => {
        const { opened, closed } = findingChanges(seen, daemon.poller.findingsDocument().findings);
        for (const f of opened) {
          say(openedLine(f));
          seen.set(f.id, f);
        }
        for (const f of closed) {
          say(closedLine(f));
          seen.delete(f.id);
        }
        for (const n of webhook.notifications.slice(notified)) {
          for (const line of notificationLines(n)) say(line);
          if (once && n.receiver === 'pager' && n.status === 'firing') resolvePaged();
        }
        notified = webhook.notifications.length;
      }, 500);
      cleanups.push(() => clearInterval(timer));
    });
    await step(paged);
    say('stopping meshwatch, the simulator, Prometheus and Alertmanager');
    await cleanup();
    say('done: nothing left running');
    return 0;
  } catch (err) {
    if (err instanceof Interrupted) {
      say('interrupted: stopping everything started so far');
      await cleanup();
      say('done: nothing left running');
      return 0;
    }
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    await cleanup();
    return 1;
  }
}

/** Seconds since the demo started as mm:ss. */
function clock(seconds: number): string {
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

/** One incident of the story in words. */
function describeIncident(incident: Incident): string {
  switch (incident.kind) {
    case 'plaintext_fallback':
      return `${incident.from} falls back to plaintext towards ${incident.to} (${incident.share * 100}% of its calls)`;
    case 'new_caller':
      return `${incident.call.from} starts calling ${incident.call.to}, which it never called (${incident.call.rate}/s)`;
    case 'denial_spike':
      return incident.denial === 'l4'
        ? `${incident.from} floods ${incident.to} with connections an L4 policy denies (${incident.rate}/s)`
        : `${incident.from} hammers ${incident.to} and is denied by authorization (${incident.rate}/s)`;
    case 'denial_ramp':
      return `denials from ${incident.from} at ${incident.to} ramp up to ${incident.endRate}/s`;
    case 'traffic_change':
      return `traffic into ${incident.to} changes x${incident.factor}`;
    case 'error_burst':
      return `${incident.share * 100}% of ${incident.to}'s responses become ${incident.code}`;
    case 'twin_workload':
      return `a copy of ${incident.of} in cluster ${incident.twin.cluster} starts calling ${incident.call.to} (${incident.call.rate}/s)`;
  }
}

void main().then((code) => process.exit(code));
