import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../src/sim/server';
import { samplesOf } from '../helpers/metrics-text';
import { startMeshwatch, waitForMetrics, type RunningMeshwatch } from '../helpers/meshwatch';
import { waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { scenarioFrom } from '../helpers/simulator';

/**
 * Data that is wrong, live: a real Prometheus scrapes two simulated meshes every second and
 * meshwatch polls it every second. The faults come one after the other on the same daemon, as
 * they would in one cluster's life: pod restarts (counter resets), a target leaving service
 * discovery and coming back, every target unscrapeable for minutes, labels stripped and restored.
 * Both meshes are all mTLS at flat rates, so every finding would be false.
 */
const SHOP = scenarioFrom({ file: 'fault-restarts.yaml' });
const BILLING = scenarioFrom({
  yaml: `
name: fault-billing
seed: 12
trust_domain: cluster.local
pattern: { daily_amplitude: 0, weekend_factor: 1, noise: 0 }
workloads:
  - { name: invoices, namespace: billing }
  - { name: ledger, namespace: billing }
calls:
  - { from: billing/invoices, to: billing/ledger, rate: 15 }
`,
});

const GAP_MS = 3 * 60_000;

/** Prometheus's configuration: both targets (or `targets`), optionally dropping `labelDrop`. */
function prometheusYaml(targets: string[], labelDrop?: string): string {
  const lines = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: targets',
    '    static_configs:',
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
  ];
  if (labelDrop) {
    lines.push('    metric_relabel_configs:', '      - action: labeldrop', `        regex: ${labelDrop}`);
  }
  return lines.join('\n') + '\n';
}

/** Rewrites Prometheus's config file and reloads it, as a config-reloader sidecar would. */
async function reconfigure(prometheus: RunningPrometheus, yaml: string): Promise<void> {
  writeFileSync(join(prometheus.dir, 'prometheus.yml'), yaml);
  const res = await fetch(`${prometheus.url}/-/reload`, { method: 'POST' });
  expect(res.status).toBe(200);
}

/** The value of a PromQL expression now in Prometheus (NaN when it has no result). */
async function promValue(prometheus: RunningPrometheus, expr: string): Promise<number> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
  return Number(body.data.result[0]?.value[1] ?? NaN);
}

const value = (text: string, name: string, labels: Record<string, string> = {}): number =>
  samplesOf(text, name, labels)[0]?.value ?? NaN;

const polls = async (mw: RunningMeshwatch): Promise<number> =>
  value(await mw.metrics(), 'meshwatch_polls_total');

/** Waits until meshwatch has completed `n` more polls than now. */
async function morePolls(mw: RunningMeshwatch, n: number): Promise<void> {
  const from = await polls(mw);
  await waitForMetrics(mw, `${n} more polls`, (t) => value(t, 'meshwatch_polls_total') >= from + n, 120_000);
}

/** The traffic baseline of a destination as exported now. */
const trafficOf = (text: string, workload: string) => ({
  observed: value(text, 'meshwatch_signal_observed', {
    signal: 'requests_per_second',
    destination_workload: workload,
  }),
  expected: value(text, 'meshwatch_signal_expected', {
    signal: 'requests_per_second',
    destination_workload: workload,
  }),
  score: value(text, 'meshwatch_anomaly_score', { detector: 'traffic', destination_workload: workload }),
});

describe('meshwatch on live data that is wrong', () => {
  let shop: RunningSimulator;
  let billing: RunningSimulator;
  let prometheus: RunningPrometheus;
  let mw: RunningMeshwatch;
  const epochMs = Date.now() - 30_000;

  const opened = () => mw.logLines().filter((l) => l.msg === 'finding opened');
  // The highest score of each detector and destination seen since the last report: how close a row came.
  const peaks = new Map<string, number>();
  let watcher: NodeJS.Timeout | undefined;
  const reportPeaks = (row: string): void => {
    const text = [...peaks].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
    process.stdout.write(`${row}: peak scores ${text}\n`);
    peaks.clear();
  };
  const linesAfter = (index: number) => mw.logLines().slice(index);

  beforeAll(async () => {
    shop = await startSimulator({ scenario: SHOP, epochMs });
    billing = await startSimulator({ scenario: BILLING, epochMs });
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${shop.port}`, `127.0.0.1:${billing.port}`] });
    mw = await startMeshwatch({
      prometheus: { url: prometheus.url, timeout: '900ms' },
      poll: { interval: '1s', rate_window: '10s' },
      // No history: the baselines learn live (12 polls), and edges of the first 20 s are the known mesh.
      warmup: { lookback: '0s' },
      detectors: { new_caller: { learning_period: '20s' } },
      log: { level: 'info' },
    });
    // Armed: the traffic detector scores every destination.
    await waitForMetrics(
      mw,
      'traffic scores for catalog, cart and ledger',
      (t) => ['catalog', 'cart', 'ledger'].every((w) => Number.isFinite(trafficOf(t, w).score)),
      90_000,
    );
    watcher = setInterval(() => {
      mw.metrics().then(
        (t) => {
          for (const x of samplesOf(t, 'meshwatch_anomaly_score')) {
            const key = `${x.labels.detector}/${x.labels.destination_workload}`;
            peaks.set(key, Math.max(peaks.get(key) ?? 0, x.value));
          }
        },
        () => undefined,
      );
    }, 500);
  }, 120_000);

  afterEach(() => reportPeaks(expect.getState().currentTestName ?? ''));

  afterAll(async () => {
    clearInterval(watcher);
    await mw?.stop('SIGKILL');
    await prometheus?.stop();
    await shop?.stop();
    await billing?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('reads pod restarts (counter resets) as no change: no traffic, denial or new-caller finding', async () => {
    // The scenario restarts sidecars from 1m30s to 1m55s after its epoch; Prometheus sees the resets.
    await waitFor(
      'Prometheus to see four counter resets',
      async () =>
        (await promValue(prometheus, 'sum(resets(istio_requests_total{reporter="destination"}[5m]))')) >= 3,
      180_000,
      1000,
    );
    // Two full rate windows after the last reset, every window that held a reset has been judged.
    await morePolls(mw, 25);
    const text = await mw.metrics();
    expect(opened()).toEqual([]);
    expect((await mw.findings()).findings).toEqual([]);
    for (const workload of ['catalog', 'cart']) {
      const t = trafficOf(text, workload);
      expect(t.score).toBeLessThan(value(text, 'meshwatch_detector_threshold', { detector: 'traffic' }));
      // The baseline did not learn the reset as a drop.
      expect(t.expected).toBeGreaterThan(workload === 'catalog' ? 15 : 7);
    }
    expect(
      value(text, 'meshwatch_anomaly_score', { detector: 'unauthorized', destination_workload: 'cart' }),
    ).toBeLessThan(value(text, 'meshwatch_detector_threshold', { detector: 'unauthorized' }));
    expect(value(text, 'meshwatch_poll_failures_total')).toBe(0);
  }, 300_000);

  it('reads a target that leaves service discovery and comes back as absent, not as zero: no finding, nothing new', async () => {
    const before = trafficOf(await mw.metrics(), 'ledger');
    const from = mw.logLines().length;
    await reconfigure(prometheus, prometheusYaml([`127.0.0.1:${shop.port}`]));
    await waitFor(
      'billing to be gone from Prometheus',
      async () =>
        Number.isNaN(await promValue(prometheus, 'sum(istio_requests_total{destination_workload="ledger"})')),
      30_000,
      500,
    );
    // Two rate windows without billing: ledger is not in the mesh query's answer any more.
    await morePolls(mw, 20);
    expect(opened()).toEqual([]);
    await reconfigure(prometheus, prometheusYaml([`127.0.0.1:${shop.port}`, `127.0.0.1:${billing.port}`]));
    await waitFor(
      'billing to be scraped again',
      async () => (await promValue(prometheus, 'up{instance="127.0.0.1:' + billing.port + '"}')) === 1,
      30_000,
      500,
    );
    await morePolls(mw, 25);
    const text = await mw.metrics();
    const after = trafficOf(text, 'ledger');
    expect(opened()).toEqual([]);
    expect((await mw.findings()).findings).toEqual([]);
    // Its baseline neither learned zeros nor a dip: it expects what it expected before.
    expect(after.expected).toBeGreaterThan(before.expected * 0.8);
    expect(after.observed).toBeGreaterThan(10);
    expect(value(text, 'meshwatch_tracked_series', { detector: 'new_caller' })).toBeGreaterThanOrEqual(3);
    expect(linesAfter(from).filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
  }, 300_000);

  it('takes a scrape gap of three minutes as no data: telemetry absent, nothing learned, no finding when it ends', async () => {
    const before = trafficOf(await mw.metrics(), 'catalog');
    const from = mw.logLines().length;
    const ports = [shop.port, billing.port];
    await shop.stop();
    await billing.stop();
    const gapStart = Date.now();
    // Prometheus keeps running; its scrapes fail, so the series go stale.
    const text = await waitForMetrics(
      mw,
      'meshwatch to see no Istio telemetry',
      (t) => value(t, 'meshwatch_telemetry_present', { metric: 'istio_requests_total' }) === 0,
      60_000,
    );
    expect(value(text, 'meshwatch_prometheus_up')).toBe(1);
    expect(value(text, 'meshwatch_detector_blind', { detector: 'traffic' })).toBe(1);
    await waitFor(
      'the gap to last three minutes',
      async () => Date.now() - gapStart >= GAP_MS,
      GAP_MS + 10_000,
      1000,
    );
    const during = await mw.metrics();
    // Blind on every layer, the detectors do not run: nothing is scored, so nothing is learned.
    expect(samplesOf(during, 'meshwatch_signal_observed', { signal: 'requests_per_second' })).toEqual([]);
    expect(opened()).toEqual([]);
    peaks.clear();
    shop = await startSimulator({ scenario: SHOP, epochMs, port: ports[0] });
    billing = await startSimulator({ scenario: BILLING, epochMs, port: ports[1] });
    const back = await waitForMetrics(
      mw,
      'meshwatch to score catalog again',
      (t) =>
        value(t, 'meshwatch_telemetry_present', { metric: 'istio_requests_total' }) === 1 &&
        Number.isFinite(trafficOf(t, 'catalog').expected),
      60_000,
    );
    // The first poll after the gap expects what the last one before it did: no zeros pulled it down.
    expect(Math.abs(trafficOf(back, 'catalog').expected - before.expected)).toBeLessThan(
      before.expected * 0.05,
    );
    await morePolls(mw, 25);
    const after = trafficOf(await mw.metrics(), 'catalog');
    expect(opened()).toEqual([]);
    expect((await mw.findings()).findings).toEqual([]);
    expect(after.expected).toBeGreaterThan(before.expected * 0.8);
    // Not even one poll near a finding: the half-filled rate windows after the gap were not scored.
    const trafficPeaks = [...peaks].filter(([k]) => k.startsWith('traffic/')).map(([, v]) => v);
    expect(trafficPeaks.length).toBe(3);
    expect(Math.max(...trafficPeaks)).toBeLessThan(
      value(await mw.metrics(), 'meshwatch_detector_threshold', { detector: 'traffic' }) * 0.7,
    );
    const lines = linesAfter(from);
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^no Istio telemetry in Prometheus/),
        expect.stringMatching(/^Istio telemetry in Prometheus: /),
        'Istio telemetry is back after a gap; the detectors resume once a whole rate window has been scraped again',
      ]),
    );
    expect(lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
  }, 420_000);

  it('says it is blind while connection_security_policy and source_principal are stripped, claims no plaintext or new caller, and recovers', async () => {
    const from = mw.logLines().length;
    const targets = [`127.0.0.1:${shop.port}`, `127.0.0.1:${billing.port}`];
    await reconfigure(prometheus, prometheusYaml(targets, 'connection_security_policy|source_principal'));
    const blind = await waitForMetrics(
      mw,
      'the labels to be reported missing',
      (t) =>
        value(t, 'meshwatch_required_labels_present', {
          metric: 'istio_requests_total',
          label: 'source_principal',
        }) === 0,
      60_000,
    );
    expect(
      value(blind, 'meshwatch_required_labels_present', {
        metric: 'istio_requests_total',
        label: 'connection_security_policy',
      }),
    ).toBe(0);
    expect(value(blind, 'meshwatch_detector_blind', { detector: 'plaintext' })).toBe(1);
    expect(value(blind, 'meshwatch_detector_blind', { detector: 'new_caller' })).toBe(1);
    await morePolls(mw, 15);
    expect(opened()).toEqual([]);
    await reconfigure(prometheus, prometheusYaml(targets));
    const back = await waitForMetrics(
      mw,
      'the labels to be back',
      (t) =>
        samplesOf(t, 'meshwatch_required_labels_present', { metric: 'istio_requests_total' }).every(
          (s) => s.value === 1,
        ),
      60_000,
    );
    expect(value(back, 'meshwatch_detector_blind', { detector: 'new_caller' })).toBe(0);
    await morePolls(mw, 25);
    expect(opened()).toEqual([]);
    expect((await mw.findings()).findings).toEqual([]);
    const lines = linesAfter(from);
    expect(lines.filter((l) => l.level === 'warn').map((l) => [l.label, l.msg])).toEqual(
      expect.arrayContaining([
        [
          'source_principal',
          expect.stringMatching(/^Istio telemetry lacks the label source_principal on istio_requests_total/),
        ],
        [
          'connection_security_policy',
          expect.stringMatching(
            /^Istio telemetry lacks the label connection_security_policy on istio_requests_total/,
          ),
        ],
      ]),
    );
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'the label source_principal on istio_requests_total is back',
        'the label connection_security_policy on istio_requests_total is back',
      ]),
    );
    expect(mw.child.exitCode).toBeNull();
  }, 300_000);
});
