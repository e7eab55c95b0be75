import { samplesOf } from '../helpers/metrics-text';
import { startMeshwatch, waitForMetrics, type RunningMeshwatch } from '../helpers/meshwatch';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import {
  backfillToBlocks,
  startSimulatorForTest,
  type BackfilledBlocks,
  type TestSimulator,
} from '../helpers/simulator';

/*
 * meshwatch_strict_mtls_ready from the real daemon, against a real Prometheus holding six hours of
 * the simulated mesh's history and scraping it live: catalog has a plaintext caller now
 * (legacy/reporting, in the mesh but not over mTLS), payments had one only in history (frontend
 * fell back to plaintext 4h ago for 30 minutes), cart only ever saw mTLS.
 */
const HOUR = 3_600_000;
const HISTORY_MS = 6 * HOUR;
const SCENARIO = `
name: strict-ready
seed: 11
trust_domain: cluster.local
pattern: { daily_amplitude: 0, weekend_factor: 1, noise: 0 }
workloads:
  - { name: frontend, namespace: shop }
  - { name: cart, namespace: shop }
  - { name: payments, namespace: shop }
  - { name: catalog, namespace: shop }
  - { name: reporting, namespace: legacy }
calls:
  - { from: shop/frontend, to: shop/cart, rate: 10 }
  - { from: shop/frontend, to: shop/payments, rate: 5 }
  - { from: shop/frontend, to: shop/catalog, rate: 5 }
  - { from: legacy/reporting, to: shop/catalog, rate: 1, tls: plaintext }
incidents:
  - { kind: plaintext_fallback, at: 2h, duration: 30m, from: shop/frontend, to: shop/payments, share: 1 }
`;

const readiness = (text: string): Array<[string, number]> =>
  samplesOf(text, 'meshwatch_strict_mtls_ready').map((s) => [
    `${s.labels.destination_cluster}/${s.labels.destination_namespace}/${s.labels.destination_workload}`,
    s.value,
  ]);

describe('meshwatch_strict_mtls_ready on the daemon against a real Prometheus and the simulated mesh', () => {
  let history: BackfilledBlocks | undefined;
  let sim: TestSimulator | undefined;
  let prometheus: RunningPrometheus | undefined;
  const daemons: RunningMeshwatch[] = [];

  beforeAll(async () => {
    const epochMs = Math.floor((Date.now() - HISTORY_MS) / 1000) * 1000;
    history = await backfillToBlocks({
      scenario: { yaml: SCENARIO },
      epochMs,
      fromMs: epochMs,
      toMs: Date.now(),
      stepMs: 15_000,
    });
    sim = await startSimulatorForTest({ scenario: { yaml: SCENARIO }, epochMs });
    prometheus = await startPrometheus({ targets: [sim.target], dataDir: history.dataDir });
  }, 180_000);

  afterAll(async () => {
    for (const mw of daemons) await mw.stop('SIGKILL');
    await sim?.stop();
    await prometheus?.stop();
    removeDir(prometheus?.dir ?? '');
    removeDir(history?.dir ?? '');
  });

  const start = async (auditLookback: string): Promise<RunningMeshwatch> => {
    const mw = await startMeshwatch({
      prometheus: { url: prometheus?.url, timeout: '900ms' },
      // A 1m rate window reads the 15s history steps the warm-up replays at warmup.step.
      poll: { interval: '1s', rate_window: '1m' },
      warmup: { lookback: '6h' },
      audit: { lookback: auditLookback },
    });
    daemons.push(mw);
    return mw;
  };

  it('is 0 for a destination with a plaintext caller, now or in the warm-up, and 1 for an mTLS-only one', async () => {
    const [week, hour] = await Promise.all([start('7d'), start('1h')]);
    const settled = (t: string): boolean =>
      samplesOf(t, 'meshwatch_warmup_complete')[0]?.value === 1 &&
      samplesOf(t, 'meshwatch_plaintext_requests_per_second', { destination_workload: 'catalog' }).length >
        0 &&
      readiness(t).length === 3;
    const [weekText, hourText] = await Promise.all([
      waitForMetrics(week, 'warm-up done and readiness of three destinations', settled, 120_000),
      waitForMetrics(hour, 'warm-up done and readiness of three destinations', settled, 120_000),
    ]);

    // Over the default week, payments is still blocked by the fallback the warm-up saw, though its
    // traffic is all mTLS now (no plaintext caller of payments on /metrics).
    expect(readiness(weekText)).toEqual([
      ['Kubernetes/shop/cart', 1],
      ['Kubernetes/shop/catalog', 0],
      ['Kubernetes/shop/payments', 0],
    ]);
    expect(
      samplesOf(weekText, 'meshwatch_plaintext_requests_per_second', { destination_workload: 'payments' }),
    ).toEqual([]);
    // Over the last hour, the fallback 3.5 hours ago no longer counts; catalog's caller still does.
    expect(readiness(hourText)).toEqual([
      ['Kubernetes/shop/cart', 1],
      ['Kubernetes/shop/catalog', 0],
      ['Kubernetes/shop/payments', 1],
    ]);
    expect(weekText).toContain('# TYPE meshwatch_strict_mtls_ready gauge');
  });
});
