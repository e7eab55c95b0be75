import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { samplesOf } from '../helpers/metrics-text';
import { startMeshwatch, waitForMetrics, type RunningMeshwatch } from '../helpers/meshwatch';
import { waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { startSimulatorForTest, type TestSimulator } from '../helpers/simulator';

// An in-mesh caller (it has a sidecar, so Istio knows its workload) that talks plaintext to
// catalog, and a payments service that only ever sees mTLS.
const SCENARIO = `
name: it-plaintext
seed: 7
trust_domain: cluster.local
pattern: { daily_amplitude: 0, weekend_factor: 1, noise: 0 }
workloads:
  - { name: frontend, namespace: shop }
  - { name: catalog, namespace: shop }
  - { name: payments, namespace: shop, mtls: strict }
  - { name: reporting, namespace: legacy }
calls:
  - { from: shop/frontend, to: shop/catalog, rate: 20 }
  - { from: shop/frontend, to: shop/payments, rate: 5 }
  - { from: legacy/reporting, to: shop/catalog, rate: 2, tls: plaintext }
`;

const SECRET = 's3cr3t-bearer-token-never-logged';

const fastConfig = (prometheusUrl: string, tokenFile: string) => ({
  prometheus: { url: prometheusUrl, timeout: '900ms', bearer_token_file: tokenFile },
  poll: { interval: '1s', rate_window: '10s' },
  log: { level: 'debug' },
});

describe('meshwatch against a real Prometheus scraping the simulated mesh', () => {
  let sim: TestSimulator;
  let prometheus: RunningPrometheus;
  let mw: RunningMeshwatch;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshwatch-it-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, SECRET);
    sim = await startSimulatorForTest({ scenario: { yaml: SCENARIO }, epochMs: Date.now() - 60_000 });
    prometheus = await startPrometheus({ targets: [sim.target] });
    mw = await startMeshwatch(fastConfig(prometheus.url, tokenFile));
  });

  afterAll(async () => {
    await mw?.stop('SIGKILL');
    await prometheus?.stop();
    await sim?.stop();
    removeDir(prometheus?.dir ?? '');
    removeDir(dir);
  });

  it('finds the plaintext caller, with its destination and source workload, in /metrics and /api/v1/findings', async () => {
    await waitFor('the plaintext finding', async () => (await mw.findings()).findings.length > 0, 20000, 250);
    // A full rate window after the caller's first scrape, the rate is the scenario's 2/s.
    const text = await waitForMetrics(
      mw,
      'the plaintext rate to settle',
      (t) => (samplesOf(t, 'meshwatch_plaintext_requests_per_second')[0]?.value ?? 0) > 1.5,
    );
    const plaintext = samplesOf(text, 'meshwatch_plaintext_requests_per_second');
    expect(plaintext.map((s) => s.labels)).toEqual([
      {
        destination_cluster: 'Kubernetes',
        destination_namespace: 'shop',
        destination_workload: 'catalog',
        source_cluster: 'Kubernetes',
        source_workload_namespace: 'legacy',
        source_workload: 'reporting',
        layer: 'http',
      },
    ]);
    expect(plaintext[0]?.value).toBeLessThan(2.5);
    expect(
      samplesOf(text, 'meshwatch_anomaly_score', {
        detector: 'plaintext',
        destination_workload: 'catalog',
      })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
    expect(samplesOf(text, 'meshwatch_detector_threshold', { detector: 'plaintext' })[0]?.value).toBe(1);

    const doc = await mw.findings();
    expect(doc.status).toBe('ok');
    expect(doc.findings).toEqual([
      expect.objectContaining({
        id: 'plaintext/Kubernetes/shop/catalog',
        detector: 'plaintext',
        destination_cluster: 'Kubernetes',
        destination_namespace: 'shop',
        destination_workload: 'catalog',
        signal: 'plaintext_requests_per_second',
        threshold: 1,
        stale: false,
        top_callers: [
          expect.objectContaining({
            source_workload_namespace: 'legacy',
            source_workload: 'reporting',
            source_principal: 'unknown',
            layer: 'http',
          }),
        ],
        layers: ['http'],
      }),
    ]);
  });

  it('gives an mTLS-only destination an mTLS ratio of 1 and no finding', async () => {
    const text = await waitForMetrics(
      mw,
      'an mTLS ratio for payments',
      (t) => samplesOf(t, 'meshwatch_mtls_ratio', { destination_workload: 'payments' }).length > 0,
    );
    expect(samplesOf(text, 'meshwatch_mtls_ratio', { destination_workload: 'payments' })[0]?.value).toBe(1);
    expect(
      samplesOf(text, 'meshwatch_anomaly_score', {
        detector: 'plaintext',
        destination_workload: 'payments',
      })[0]?.value,
    ).toBe(0);
    const catalogRatio =
      samplesOf(text, 'meshwatch_mtls_ratio', { destination_workload: 'catalog' })[0]?.value ?? NaN;
    expect(catalogRatio).toBeGreaterThan(0.8);
    expect(catalogRatio).toBeLessThan(1);
    expect(samplesOf(text, 'meshwatch_required_labels_present').every((s) => s.value === 1)).toBe(true);
  });

  it('keeps serving with meshwatch_prometheus_up 0 and stale findings while Prometheus is down, and recovers', async () => {
    await prometheus.stop();
    await waitForMetrics(
      mw,
      'meshwatch_prometheus_up 0',
      (t) => samplesOf(t, 'meshwatch_prometheus_up')[0]?.value === 0,
      15000,
    );
    expect((await fetch(`${mw.url}/livez`)).status).toBe(200);
    expect(mw.child.exitCode).toBeNull();
    const stale = await mw.findings();
    expect(stale.status).toBe('stale');
    expect(stale.findings.map((f) => [f.id, f.stale])).toEqual([['plaintext/Kubernetes/shop/catalog', true]]);
    const failures = samplesOf(await mw.metrics(), 'meshwatch_poll_failures_total')[0]?.value ?? 0;
    expect(failures).toBeGreaterThan(0);
    const errors = mw.logLines().filter((l) => l.level === 'error');
    expect(errors[0]).toMatchObject({
      msg: 'poll failed; keeping the last findings, marked stale',
      error: {
        code: 'MW_ERR_PROMETHEUS_UNAVAILABLE',
        query: expect.stringContaining('istio_requests_total'),
      },
    });

    await prometheus.start();
    await waitForMetrics(
      mw,
      'meshwatch_prometheus_up 1',
      (t) => samplesOf(t, 'meshwatch_prometheus_up')[0]?.value === 1,
      30000,
    );
    await waitFor('fresh findings', async () => (await mw.findings()).status === 'ok', 15000, 250);
    const back = await mw.findings();
    expect(back.findings.map((f) => [f.id, f.stale])).toEqual([['plaintext/Kubernetes/shop/catalog', false]]);
  });

  it('logs JSON, one debug line per poll, and never the bearer token', async () => {
    const lines = mw.logLines();
    expect(lines.filter((l) => l.msg === 'poll done').length).toBeGreaterThan(3);
    expect(mw.stdout()).not.toContain(SECRET);
    expect(mw.stderr()).not.toContain(SECRET);
    const text = await mw.metrics();
    expect(text).not.toContain(SECRET);
    const count = samplesOf(text, 'meshwatch_poll_duration_seconds_count')[0]?.value ?? 0;
    const sum = samplesOf(text, 'meshwatch_poll_duration_seconds_sum')[0]?.value ?? 0;
    expect(count).toBeGreaterThan(3);
    // Reported in the closing note of the issue: the mean poll duration against a real Prometheus.
    process.stdout.write(`mean poll duration: ${((sum / count) * 1000).toFixed(1)} ms over ${count} polls\n`);
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await mw.stop('SIGTERM')).toBe(0);
  });
});

describe('meshwatch when the mesh strips connection_security_policy', () => {
  it('says the label is missing in a metric and a warning, and claims nothing about plaintext', async () => {
    const sim = await startSimulatorForTest({ scenario: { yaml: SCENARIO }, epochMs: Date.now() - 60_000 });
    // Prometheus drops the label at scrape time, as many meshes do to cut cardinality.
    const prometheus = await startPrometheus({
      extraScrapeConfigs: [
        '  - job_name: stripped',
        '    static_configs:',
        `      - targets: ["${sim.target}"]`,
        '    metric_relabel_configs:',
        '      - action: labeldrop',
        '        regex: connection_security_policy',
      ].join('\n'),
    });
    const mw = await startMeshwatch({
      prometheus: { url: prometheus.url, timeout: '900ms' },
      poll: { interval: '1s', rate_window: '10s' },
    });
    try {
      // Until Prometheus has scraped the mesh once, every label is missing; wait for the ones that are kept.
      const text = await waitForMetrics(
        mw,
        'the label check to see the telemetry',
        (t) =>
          samplesOf(t, 'meshwatch_required_labels_present', {
            metric: 'istio_requests_total',
            label: 'reporter',
          })[0]?.value === 1,
      );
      expect(
        samplesOf(text, 'meshwatch_required_labels_present', {
          metric: 'istio_requests_total',
          label: 'connection_security_policy',
        })[0]?.value,
      ).toBe(0);
      expect(
        samplesOf(text, 'meshwatch_required_labels_present', {
          metric: 'istio_requests_total',
          label: 'reporter',
        })[0]?.value,
      ).toBe(1);
      expect(samplesOf(text, 'meshwatch_anomaly_score', { detector: 'plaintext' })).toEqual([]);
      expect(samplesOf(text, 'meshwatch_mtls_ratio')).toEqual([]);
      expect((await mw.findings()).findings).toEqual([]);
      expect(
        mw
          .logLines()
          .filter((l) => l.level === 'warn')
          .map((l) => l.label),
      ).toContain('connection_security_policy');
    } finally {
      await mw.stop('SIGKILL');
      await prometheus.stop();
      await sim.stop();
      removeDir(prometheus.dir);
    }
  });
});
