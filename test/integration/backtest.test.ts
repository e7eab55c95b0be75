import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { BacktestJson } from '../../src/app/backtest';
import { chromiumBinary, loadPage, screenshot } from '../helpers/chromium';
import { backfillScenario, DAY, EPOCH_MS, HOUR, MINUTE } from '../helpers/history';
import { MESHWATCH_CLI, requireBuild } from '../helpers/meshwatch';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';

const run = promisify(execFile);

/**
 * `meshwatch backtest` (the built CLI) over a day of quiet history and a denial spike from cart
 * against payments, backfilled into a real Prometheus: the first day warms up the baselines, the
 * replay covers the hour before the 30-minute spike and its end.
 */
const STEP = MINUTE;
const FROM = EPOCH_MS + DAY;
const INCIDENT = EPOCH_MS + DAY + HOUR;
const INCIDENT_END = INCIDENT + 30 * MINUTE;
const TO = INCIDENT + 45 * MINUTE;
const ARTIFACT = resolve(__dirname, '../../artifacts/backtest-report.png');

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('meshwatch backtest over a backfilled denial spike', () => {
  let prometheus: RunningPrometheus;
  let dir: string;
  let historyDir: string;
  let report: BacktestJson;
  let stderr: string;
  const html = (): string => join(dir, 'report.html');

  beforeAll(async () => {
    requireBuild();
    chromiumBinary();
    dir = mkdtempSync(join(tmpdir(), 'meshwatch-backtest-'));
    const history = await backfillScenario({
      scenario: 'denial-spike.yaml',
      set: [`incidents[0].at=${(INCIDENT - EPOCH_MS) / 1000}s`],
      ranges: [[EPOCH_MS, TO]],
      stepMs: STEP,
    });
    historyDir = history.dir;
    prometheus = await startPrometheus({ dataDir: history.dataDir });
    const config = join(dir, 'meshwatch.yml');
    // The daemon's config as the scenario tests use it: a 3m rate window over 1m history steps.
    writeFileSync(config, 'poll: { rate_window: 3m }\nwarmup: { lookback: 1d }\n');
    const out = await run(process.execPath, [
      MESHWATCH_CLI,
      'backtest',
      '--from',
      rfc3339(FROM),
      '--to',
      String(TO / 1000),
      '--config',
      config,
      '--prometheus-url',
      prometheus.url,
      '--step',
      '1m',
      '--json',
      '--html',
      html(),
    ]);
    report = JSON.parse(out.stdout) as BacktestJson;
    stderr = out.stderr;
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    if (historyDir) removeDir(historyDir);
    if (dir) removeDir(dir);
  });

  it('finds the spike on payments within a few polls, caused by cart, and closes it after the spike', () => {
    // A short range: no progress display, and Prometheus had nothing to warn about.
    expect(stderr).toBe('');
    // The spike also raises payments' request rate and comes from an edge never seen before, so
    // the traffic and new_caller detectors rightly report payments too; nothing else, nothing before.
    expect(report.findings.every((f) => f.destination_workload === 'payments')).toBe(true);
    expect(Math.min(...report.findings.map((f) => Date.parse(f.start)))).toBeGreaterThanOrEqual(INCIDENT);
    const denials = report.findings.filter((f) => f.detector === 'unauthorized');
    expect(denials).toEqual([
      {
        detector: 'unauthorized',
        destination_cluster: 'Kubernetes',
        destination_namespace: 'shop',
        destination_workload: 'payments',
        source_principal: 'spiffe://cluster.local/ns/shop/sa/cart',
        start: expect.any(String),
        end: expect.any(String),
        peak_score: expect.any(Number),
      },
    ]);
    const startMs = Date.parse(denials[0]?.start ?? '');
    expect((startMs - INCIDENT) / STEP).toBeLessThanOrEqual(3);
    expect(Date.parse(denials[0]?.end ?? '')).toBeGreaterThan(INCIDENT_END);
    expect(denials[0]?.peak_score).toBeGreaterThan(5);
    process.stdout.write(`backtest findings:\n${report.findings.map((f) => JSON.stringify(f)).join('\n')}\n`);
  });

  it('pages with MeshUnauthorizedAccessSpike once the score has held for the rule for: (1m)', () => {
    const pages = report.alerts.filter((a) => a.severity === 'critical');
    expect(pages).toEqual([
      {
        alertname: 'MeshUnauthorizedAccessSpike',
        severity: 'critical',
        destination_cluster: 'Kubernetes',
        destination_namespace: 'shop',
        destination_workload: 'payments',
        start: expect.any(String),
        end: expect.any(String),
      },
    ]);
    const startMs = Date.parse(pages[0]?.start ?? '');
    expect(startMs).toBeGreaterThanOrEqual(INCIDENT + MINUTE);
    expect((startMs - INCIDENT) / STEP).toBeLessThanOrEqual(4);
    expect(report.alerts.every((a) => a.destination_workload === 'payments')).toBe(true);
    process.stdout.write(`backtest alerts:\n${report.alerts.map((a) => JSON.stringify(a)).join('\n')}\n`);
  });

  it('writes an HTML report that loads in headless Chromium without console messages, every chart rendered', async () => {
    const page = await loadPage(html());
    expect(page.consoleMessages).toEqual([]);
    const charts = page.dom.match(/<figure [^>]*data-chart=/g) ?? [];
    const rendered = page.dom.match(/<figure [^>]*data-rendered="true"/g) ?? [];
    // One chart per (detector, destination) with a finding.
    expect(charts.length).toBe(new Set(report.findings.map((f) => f.detector)).size);
    expect(rendered.length).toBe(charts.length);
    expect(page.dom).toContain(`data-charts-rendered="${charts.length}"`);
    mkdirSync(resolve(ARTIFACT, '..'), { recursive: true });
    await screenshot(html(), ARTIFACT);
    expect(statSync(ARTIFACT).size).toBeGreaterThan(10_000);
  }, 60_000);
});
