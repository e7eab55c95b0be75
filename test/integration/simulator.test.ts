import { compileMesh } from '../../src/sim/mesh';
import { samplesAt } from '../../src/sim/exposition';
import { startPrometheus, removeDir, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/ports';
import {
  backfillToBlocks,
  scenarioFrom,
  startSimulatorForTest,
  type TestSimulator,
} from '../helpers/simulator';

interface VectorResult {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

async function query(
  prom: RunningPrometheus,
  path: string,
  params: Record<string, string>,
): Promise<VectorResult[]> {
  const res = await fetch(`${prom.url}/api/v1/${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; data: { result: VectorResult[] }; error?: string };
  if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
  return body.data.result;
}

// Flat, noiseless rates high enough that a 10-second rate is within a few percent of the mean.
const STEADY = `
name: steady
seed: 7
workloads:
  - { name: web, namespace: shop, replicas: 2 }
  - { name: api, namespace: shop, replicas: 2 }
  - { name: legacy, namespace: old, dataplane: none }
calls:
  - { from: shop/web, to: shop/api, rate: 100, codes: { 200: 0.9, 403: 0.1 } }
  - { from: old/legacy, to: shop/api, rate: 50 }
restarts:
  - { workload: shop/api, replica: 1, at: 10m }
`;

describe('simulator scraped by a real Prometheus', () => {
  let sim: TestSimulator;
  let prom: RunningPrometheus;

  beforeAll(async () => {
    sim = await startSimulatorForTest({ scenario: { yaml: STEADY }, epochMs: Date.now() - 3_600_000 });
    prom = await startPrometheus({ targets: [sim.target] });
  });
  afterAll(async () => {
    await prom?.stop();
    await sim?.stop();
    if (prom) removeDir(prom.dir);
  });

  it('answers sum by destination, caller, code and policy of the destination-side rate with the scenario rates', async () => {
    const promql =
      'sum by (source_workload, destination_workload, response_code, connection_security_policy) ' +
      '(rate(istio_requests_total{reporter="destination"}[10s]))';
    await waitFor('ten scrapes, so the 10s window is full', async () => {
      const up = await query(prom, 'query', { query: 'count_over_time(up[10s])' });
      return Number(up[0]?.value?.[1] ?? 0) >= 10;
    });
    const result = await query(prom, 'query', { query: promql });
    const rows = result
      .map((r) => ({ ...r.metric, rate: Math.round(Number(r.value?.[1]) / 5) * 5 }))
      .sort((a, b) => b.rate - a.rate);
    expect(rows).toEqual([
      {
        source_workload: 'web',
        destination_workload: 'api',
        response_code: '200',
        connection_security_policy: 'mutual_tls',
        rate: 90,
      },
      {
        source_workload: 'unknown',
        destination_workload: 'api',
        response_code: '200',
        connection_security_policy: 'none',
        rate: 50,
      },
      {
        source_workload: 'web',
        destination_workload: 'api',
        response_code: '403',
        connection_security_policy: 'mutual_tls',
        rate: 10,
      },
    ]);
  });
});

describe('backfilled history followed by the live simulator', () => {
  const DAY = 86_400_000;
  const scenario = scenarioFrom({ file: 'quiet.yaml' });
  const backfillEnd = Math.floor(Date.now() / 30_000) * 30_000;
  const epochMs = backfillEnd - DAY;
  let sim: TestSimulator;
  let prom: RunningPrometheus;
  let dir = '';

  beforeAll(async () => {
    const blocks = await backfillToBlocks({
      scenario,
      epochMs,
      fromMs: epochMs,
      toMs: backfillEnd,
      stepMs: 30_000,
    });
    dir = blocks.dir;
    sim = await startSimulatorForTest({ scenario, epochMs });
    prom = await startPrometheus({ targets: [sim.target], dataDir: blocks.dataDir });
  });
  afterAll(async () => {
    await prom?.stop();
    await sim?.stop();
    if (prom) removeDir(prom.dir);
    if (dir) removeDir(dir);
  });

  it('answers a query_range over the backfilled day with the values the model gives at each step', async () => {
    const promql = 'sum by (destination_workload) (istio_requests_total{reporter="destination"})';
    const start = epochMs + 6 * 3_600_000;
    const result = await query(prom, 'query_range', {
      query: promql,
      start: String(start / 1000),
      end: String((start + 3_600_000) / 1000),
      step: '900',
    });
    const mesh = compileMesh(scenario, epochMs);
    const expected: Record<string, [number, string][]> = {};
    for (let t = start; t <= start + 3_600_000; t += 900_000) {
      const sums = new Map<string, number>();
      for (const { series, value } of samplesAt(mesh, t)) {
        if (series.metric !== 'istio_requests_total' || !series.labels.includes('reporter="destination"'))
          continue;
        const workload = /destination_workload="([^"]+)"/.exec(series.labels)?.[1] ?? '';
        sums.set(workload, (sums.get(workload) ?? 0) + value);
      }
      for (const [workload, sum] of sums) (expected[workload] ??= []).push([t / 1000, String(sum)]);
    }
    const actual = Object.fromEntries(result.map((r) => [r.metric.destination_workload, r.values]));
    expect(actual).toEqual(expected);
  });

  it('continues every counter across the seam between backfill and live scrapes without a reset', async () => {
    await waitFor('three live scrapes', async () => {
      const up = await query(prom, 'query', { query: 'count_over_time(up[1m])' });
      return Number(up[0]?.value?.[1] ?? 0) >= 3;
    });
    const window = `${Math.ceil((Date.now() - backfillEnd) / 1000) + 90}s`;
    const resets = await query(prom, 'query', { query: `sum(resets(istio_requests_total[${window}]))` });
    const series = await query(prom, 'query', {
      query: `count(count_over_time(istio_requests_total[${window}]) > 3)`,
    });
    expect({
      resets: resets[0]?.value?.[1],
      seriesSpanningTheSeam: Number(series[0]?.value?.[1]) > 20,
    }).toEqual({
      resets: '0',
      seriesSpanningTheSeam: true,
    });
  });
});

describe('backfill of ambient telemetry', () => {
  it('writes ztunnel, waypoint and L4-deny series that promtool turns into blocks', async () => {
    const epochMs = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 3_600_000;
    const blocks = await backfillToBlocks({
      scenario: {
        file: 'ambient-waypoint.yaml',
        set: [
          'incidents=[{kind: denial_spike, at: 1h, duration: 30m, from: shop/payments, to: data/ledger, rate: 5, denial: l4}]',
        ],
      },
      epochMs,
      fromMs: epochMs,
      toMs: epochMs + 2 * 3_600_000,
      stepMs: 60_000,
    });
    removeDir(blocks.dir);
    // 59 series at every step once they exist, and the denied connections' closed DENY series.
    expect(blocks.samples).toBeGreaterThan(59 * 100);
  });
});

describe('simulator start with a week of history', () => {
  it.each([
    ['quiet.yaml', 45],
    ['ambient.yaml', 42],
    ['ambient-waypoint.yaml', 59],
    ['mixed.yaml', 46],
    ['multicluster.yaml', 66],
  ])(
    'starts %s and serves its first scrape quickly with an epoch 7 days in the past',
    async (file, series) => {
      const started = performance.now();
      const sim = await startSimulatorForTest({
        scenario: { file },
        epochMs: Date.now() - 7 * 86_400_000,
      });
      const body = await (await fetch(`${sim.url}/metrics`)).text();
      const elapsedMs = performance.now() - started;
      await sim.stop();
      console.log(
        `${file}: start + first scrape with a 7-day-old epoch: ${elapsedMs.toFixed(0)} ms, ${body.length} bytes`,
      );
      expect({
        fast: elapsedMs < 2000,
        series: body.split('\n').filter((l) => l.startsWith('istio_')).length,
      }).toEqual({
        fast: true,
        series,
      });
    },
  );
});
