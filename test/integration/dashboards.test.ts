import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboardJsonPath, meshwatchDashboards } from '../../src/dashboards/files';
import type { Dashboard, QueryPanel } from '../../src/dashboards/model';
import {
  interpolate,
  legendLabels,
  panelQueries,
  rateIntervalSeconds,
  variableQueries,
  type PanelQuery,
} from '../../src/dashboards/queries';
import { startMeshwatch, waitForMetrics, type RunningMeshwatch } from '../helpers/meshwatch';
import { freePort } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { startSimulatorForTest, type TestSimulator } from '../helpers/simulator';

/*
 * Every panel and variable of the committed dashboards, run against real data: the simulated mesh
 * with a denial spike, a plaintext fallback and a new caller into shop/payments, scraped by a real
 * Prometheus that also scrapes meshwatch. Queries are read from grafana/*.json and substituted as
 * Grafana would; each must return data of the shape its panel draws.
 */
const SCRAPE_SECONDS = 1;
const INCIDENTS_AT_S = 15;
const SCENARIO = `
name: dashboards-proof
description: A small shop; at ${INCIDENTS_AT_S}s cart is denied by payments, frontend falls back to plaintext and reports starts calling payments.
seed: 7
trust_domain: cluster.local
pattern: { daily_amplitude: 0, peak_hour: 14, weekend_factor: 1, noise: 0.05 }
workloads:
  - { name: frontend, namespace: shop, replicas: 2 }
  - { name: cart, namespace: shop }
  - { name: payments, namespace: shop }
  - { name: reports, namespace: shop }
  - { name: ledger, namespace: data, service_account: ledger-db }
calls:
  - { from: shop/frontend, to: shop/cart, rate: 10, codes: { 200: 0.98, 503: 0.02 } }
  - { from: shop/frontend, to: shop/payments, rate: 5, codes: { 200: 0.97, 503: 0.03 } }
  - { from: shop/cart, to: data/ledger, rate: 0.5, protocol: tcp }
  # payments also serves TCP, so that the workload dashboard's connection panel has data.
  - { from: data/ledger, to: shop/payments, rate: 0.5, protocol: tcp }
incidents:
  - { kind: denial_spike, at: ${INCIDENTS_AT_S}s, duration: 10m, from: shop/cart, to: shop/payments, rate: 20 }
  - { kind: plaintext_fallback, at: ${INCIDENTS_AT_S}s, duration: 10m, from: shop/frontend, to: shop/payments, share: 0.3 }
  - { kind: new_caller, at: ${INCIDENTS_AT_S}s, duration: 10m, from: shop/reports, to: shop/payments, rate: 2 }
`;
// The workload dashboard is checked on the destination all three incidents hit, in the cluster
// the simulator's sidecars report (Istio's default cluster id).
const CHOSEN = { cluster: 'Kubernetes', namespace: 'shop', workload: 'payments' };

type PromData =
  | { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: [number, string] }> }
  | {
      resultType: 'matrix';
      result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
    };

async function promGet(url: string): Promise<{ status: string; data?: unknown; error?: string }> {
  const res = await fetch(url);
  return (await res.json()) as { status: string; data?: unknown; error?: string };
}

/** What is wrong with a query's result for its panel, or nothing. */
function shapeProblems(q: PanelQuery, panel: QueryPanel, data: PromData): string[] {
  const series =
    data.resultType === 'vector'
      ? data.result.map((r) => ({ metric: r.metric, values: [Number(r.value[1])] }))
      : data.result.map((r) => ({ metric: r.metric, values: r.values.map((v) => Number(v[1])) }));
  if (series.length === 0) return ['returned no series'];
  const problems: string[] = [];
  const finite = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  if (finite.length === 0) problems.push('returned only NaN/Inf values');
  // Every label the legend or a table link names must be on every series, or Grafana shows blanks.
  const linkLabels =
    panel.type === 'table'
      ? panel.fieldConfig.defaults.links.flatMap((l) =>
          [...l.url.matchAll(/__data\.fields\.(\w+)/g)].map((m) => m[1] ?? ''),
        )
      : [];
  for (const label of [...legendLabels(q.legendFormat), ...linkLabels]) {
    const without = series.filter((s) => !(label in s.metric));
    if (without.length > 0)
      problems.push(`series without label ${label}: ${JSON.stringify(without[0]?.metric)}`);
  }
  if (q.unit === 'percentunit' && finite.some((v) => v < 0 || v > 1))
    problems.push(`a ratio outside 0..1: ${finite.find((v) => v < 0 || v > 1)}`);
  // A panel with value mappings shows only the values it maps (0/1 gauges, the kind of mesh).
  const mapped = new Set(
    panel.fieldConfig.defaults.mappings.flatMap((m) => Object.keys(m.options).map(Number)),
  );
  if (mapped.size > 0 && finite.some((v) => !mapped.has(v)))
    problems.push(`a value without a mapping: ${finite.find((v) => !mapped.has(v))}`);
  return problems;
}

describe('the dashboards against a live mesh, Prometheus and meshwatch', () => {
  let sim: TestSimulator | undefined;
  let prometheus: RunningPrometheus | undefined;
  let mw: RunningMeshwatch | undefined;

  afterAll(async () => {
    await mw?.stop('SIGKILL');
    await sim?.stop();
    await prometheus?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('show data of the expected shape in every panel and every variable', async () => {
    const committed: Dashboard[] = Object.values(meshwatchDashboards()).map(
      (d) => JSON.parse(readFileSync(join(__dirname, '..', '..', dashboardJsonPath(d)), 'utf8')) as Dashboard,
    );
    const mwPort = await freePort();
    sim = await startSimulatorForTest({ scenario: { yaml: SCENARIO }, epochMs: Date.now() });
    prometheus = await startPrometheus({
      targets: [sim.target],
      scrapeInterval: `${SCRAPE_SECONDS}s`,
      extraScrapeConfigs: [
        '  - job_name: meshwatch',
        '    static_configs:',
        `      - targets: ["127.0.0.1:${mwPort}"]`,
      ].join('\n'),
    });
    mw = await startMeshwatch({
      prometheus: { url: prometheus.url, timeout: '900ms' },
      poll: { interval: '1s', rate_window: '10s' },
      warmup: { lookback: '0s' },
      // No history: the mesh before the incidents is learned live, in the first seconds.
      detectors: { new_caller: { learning_period: '5s' } },
      server: { port: mwPort },
    });
    const startedS = Date.now() / 1000;

    const payments =
      'destination_cluster="Kubernetes",destination_namespace="shop",destination_workload="payments"';
    await waitForMetrics(
      mw,
      'denied, plaintext and new callers of shop/payments and a score over its threshold',
      (text) =>
        text.includes(`meshwatch_unauthorized_requests_per_second{${payments}`) &&
        text.includes(`meshwatch_plaintext_requests_per_second{${payments}`) &&
        text.includes(`meshwatch_new_caller_requests_per_second{${payments}`) &&
        /meshwatch_findings_open\{detector="unauthorized"\} [1-9]/.test(text),
      60_000,
    );
    // Two more scrapes of meshwatch and enough samples for $__rate_interval.
    await new Promise((r) => setTimeout(r, 5_000));

    const endS = Math.floor(Date.now() / 1000);
    const intervalS = 1;
    const values: Record<string, string> = {
      ...CHOSEN,
      __interval: `${intervalS}s`,
      __rate_interval: `${rateIntervalSeconds(intervalS, SCRAPE_SECONDS)}s`,
      __range: `${Math.ceil(endS - startedS)}s`,
    };
    const failures: string[] = [];
    let checked = 0;

    for (const d of committed) {
      for (const v of variableQueries(d)) {
        const selector = interpolate(v.selector, values);
        const body = await promGet(
          `${prometheus.url}/api/v1/label/${v.label}/values?match[]=${encodeURIComponent(selector)}&start=${startedS}&end=${endS}`,
        );
        checked++;
        const got = (body.data as string[] | undefined) ?? [];
        const want = CHOSEN[v.variable as keyof typeof CHOSEN];
        if (body.status !== 'success')
          failures.push(`${d.title}, variable ${v.variable}, ${selector}: ${body.error}`);
        else if (got.length === 0 || (want !== undefined && !got.includes(want)))
          failures.push(
            `${d.title}, variable ${v.variable}, ${selector}: values ${JSON.stringify(got)} lack ${want}`,
          );
      }
      for (const q of panelQueries(d)) {
        const panel = d.panels.find((p) => p.type !== 'row' && p.title === q.panel) as QueryPanel;
        const expr = interpolate(q.expr, values);
        const url = q.instant
          ? `${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${endS}`
          : `${prometheus.url}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${Math.floor(startedS)}&end=${endS}&step=${intervalS}`;
        const body = await promGet(url);
        checked++;
        const problems =
          body.status === 'success'
            ? shapeProblems(q, panel, body.data as PromData)
            : [`error: ${body.error}`];
        for (const p of problems)
          failures.push(`${d.title}, panel "${q.panel}" (${q.refId}): ${p}\n  query: ${expr}`);
      }
    }

    // The zero-trust panels by value: cart and data/ledger only ever saw mTLS, payments takes
    // frontend's plaintext fallback, so 2 of 3 destinations are ready, 1 is blocked, 1 caller is left.
    const overview = committed.find((d) => d.uid === 'meshwatch-overview') as Dashboard;
    const zeroTrust: Record<string, number[]> = {};
    for (const title of [
      'Destinations ready for STRICT mTLS',
      'Destinations blocked from STRICT mTLS',
      'Plaintext callers left',
    ]) {
      const q = panelQueries(overview).find((p) => p.panel === title) as PanelQuery;
      const body = await promGet(
        `${prometheus.url}/api/v1/query?query=${encodeURIComponent(interpolate(q.expr, values))}&time=${endS}`,
      );
      // Prometheus's avg is a running mean: equal to 2/3 only to about 15 digits.
      zeroTrust[title] = (body.data as { result: Array<{ value: [number, string] }> }).result.map((r) =>
        Number(Number(r.value[1]).toFixed(9)),
      );
    }
    expect(zeroTrust).toEqual({
      'Destinations ready for STRICT mTLS': [Number((2 / 3).toFixed(9))],
      'Destinations blocked from STRICT mTLS': [1],
      'Plaintext callers left': [1],
    });

    expect(failures).toEqual([]);
    expect(checked).toBe(
      committed.reduce((n, d) => n + panelQueries(d).length + variableQueries(d).length, 0),
    );
  });
});
