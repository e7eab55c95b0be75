import { startRoutedAlertmanager, type RoutedAlertmanager } from '../helpers/alertmanager';
import { samplesOf } from '../helpers/metrics-text';
import { startMeshwatch, waitForMetrics, type RunningMeshwatch } from '../helpers/meshwatch';
import { freePort, waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { scenarioFrom } from '../helpers/simulator';
import { startSlowProxy, type SlowProxy } from '../helpers/slow-proxy';
import { startSimulator, type RunningSimulator } from '../../src/sim/server';

// meshwatch's own faults around the direct push to a real Alertmanager: a SIGKILL and a restart,
// and Alertmanager down or slow. Parts of the mesh are separate simulators on ports Prometheus
// scrapes from the start, so a caller appears when the test starts its simulator and is gone when
// the test stops it: incidents on the test's cue, not on a clock.

const WORKLOADS = `
trust_domain: cluster.local
pattern: { daily_amplitude: 0, weekend_factor: 1, noise: 0 }
workloads:
  - { name: frontend, namespace: shop }
  - { name: cart, namespace: shop }
  - { name: catalog, namespace: shop }
  - { name: payments, namespace: shop }
  - { name: reporting, namespace: legacy }
`;

/** The mesh as it always is; with `plaintext`, legacy/reporting calls catalog without mTLS. */
const mesh = (plaintext: boolean): string => `
name: mesh
seed: 11
${WORKLOADS}
calls:
  - { from: shop/frontend, to: shop/catalog, rate: 20 }
  - { from: shop/frontend, to: shop/payments, rate: 5 }
  - { from: shop/frontend, to: shop/cart, rate: 5 }
${plaintext ? '  - { from: legacy/reporting, to: shop/catalog, rate: 2, tls: plaintext }' : ''}
`;

/** One more call, served by a simulator of its own. */
const oneCall = (call: string): string => `
name: one-call
seed: 12
${WORKLOADS}
calls:
  - ${call}
`;

/** A simulator of `yaml` on a fixed port (Prometheus already scrapes it), started and stopped by the test. */
class Part {
  private running: RunningSimulator | undefined;
  constructor(
    private readonly yaml: string,
    readonly port: number,
  ) {}
  get target(): string {
    return `127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.running = await startSimulator({
      scenario: scenarioFrom({ yaml: this.yaml }),
      epochMs: Date.now(),
      port: this.port,
    });
  }
  async stop(): Promise<void> {
    await this.running?.stop();
    this.running = undefined;
  }
}

async function newPart(yaml: string): Promise<Part> {
  return new Part(yaml, await freePort());
}

/** Rate of the calls matching `selector` in Prometheus now; undefined when it has none. */
async function rateIn(prometheus: RunningPrometheus, selector: string): Promise<number | undefined> {
  const query = encodeURIComponent(
    `sum(rate(istio_requests_total{reporter="destination",${selector}}[10s]))`,
  );
  const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${query}`)).json()) as {
    data: { result: Array<{ value: [number, string] }> };
  };
  const value = body.data.result[0]?.value[1];
  return value === undefined ? undefined : Number(value);
}

/**
 * Waits until every destination's rate is near the scenario's (each at least 4/s): a rate window
 * full of history, so the warm-up sees every edge of the mesh and none is new at the first poll.
 */
async function waitForSteadyMesh(prometheus: RunningPrometheus): Promise<void> {
  const query = encodeURIComponent(
    'sum by (destination_workload) (rate(istio_requests_total{reporter="destination"}[10s]))',
  );
  await waitFor(
    'a full rate window of the mesh in Prometheus',
    async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${query}`)).json()) as {
        data: { result: Array<{ value: [number, string] }> };
      };
      const rates = body.data.result.map((r) => Number(r.value[1]));
      return rates.length === 3 && rates.every((r) => r >= 4);
    },
    60000,
    250,
  );
}

/** The direct push's config; only the detectors these rows need (a mesh a minute old has no seasonal baseline). */
const meshwatchConfig = (
  prometheusUrl: string,
  alertmanagerUrl: string,
  alertmanager: Record<string, string>,
  newCaller: Record<string, unknown> = { learning_period: '0s' },
) => ({
  prometheus: { url: prometheusUrl, timeout: '900ms' },
  poll: { interval: '1s', rate_window: '10s' },
  warmup: { lookback: '10m', step: '1s', coarse_step: '0s' },
  alertmanager: { url: alertmanagerUrl, ...alertmanager },
  detectors: {
    unauthorized: { enabled: false },
    traffic: { enabled: false },
    errors: { enabled: false },
    // With history to learn from, every caller not in it is new from the first live poll.
    new_caller: newCaller,
  },
  log: { level: 'info' },
});

type LogLine = Record<string, unknown>;
const problems = (mw: RunningMeshwatch): LogLine[] =>
  mw.logLines().filter((l) => l.level === 'error' || l.level === 'fatal');
const findingIds = async (mw: RunningMeshwatch): Promise<string[]> =>
  (await mw.findings()).findings.map((f) => String(f.id)).sort();

interface ListedAlert {
  labels: Record<string, string>;
  fingerprint: string;
  startsAt: string;
  endsAt: string;
}
const listAlerts = async (routed: RoutedAlertmanager): Promise<ListedAlert[]> =>
  (await (await fetch(`${routed.am.url}/api/v2/alerts`)).json()) as ListedAlert[];
const alertKey = (a: { labels: Record<string, string> }): string =>
  `${a.labels.alertname} ${a.labels.destination_namespace}/${a.labels.destination_workload}`;

describe('meshwatch killed and restarted with direct push to a real Alertmanager', () => {
  let routed: RoutedAlertmanager;
  let prometheus: RunningPrometheus;
  let base: RunningSimulator;
  let cartToPayments: Part;
  let cartToCatalog: Part;

  beforeAll(async () => {
    routed = await startRoutedAlertmanager();
    base = await startSimulator({
      scenario: scenarioFrom({ yaml: mesh(true) }),
      epochMs: Date.now() - 60_000,
    });
    cartToPayments = await newPart(oneCall('{ from: shop/cart, to: shop/payments, rate: 1 }'));
    cartToCatalog = await newPart(oneCall('{ from: shop/cart, to: shop/catalog, rate: 1 }'));
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${base.port}`, cartToPayments.target, cartToCatalog.target],
    });
    await waitForSteadyMesh(prometheus);
  });

  afterAll(async () => {
    await cartToPayments?.stop();
    await cartToCatalog?.stop();
    await prometheus?.stop();
    await base?.stop();
    await routed?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('rebuilds its known callers from history, pages no second time for the finding still open, and resolves the alerts whose findings closed', async () => {
    // Firing alerts time out after 4 x 10 minutes: within this test an alert ends only when meshwatch resolves it.
    const config = meshwatchConfig(prometheus.url, routed.am.url, { resend_every: '10m' });
    const first = await startMeshwatch(config);
    let second: RunningMeshwatch | undefined;
    try {
      await waitForMetrics(
        first,
        'the warm-up',
        (t) => samplesOf(t, 'meshwatch_warmup_complete')[0]?.value === 1,
      );
      // Two new callers appear: cart -> payments and cart -> catalog, never seen before.
      await cartToPayments.start();
      await cartToCatalog.start();
      const before = [
        'MeshNewCaller shop/catalog',
        'MeshNewCaller shop/payments',
        'MeshPlaintextTraffic shop/catalog',
      ];
      await waitFor(
        'the three alerts in Alertmanager',
        async () => (await listAlerts(routed)).map(alertKey).sort().join() === before.join(),
        60000,
        250,
      );
      expect(await findingIds(first)).toEqual([
        'new_caller/Kubernetes/shop/catalog',
        'new_caller/Kubernetes/shop/payments',
        'plaintext/Kubernetes/shop/catalog',
      ]);
      const plaintextBefore = (await listAlerts(routed)).find(
        (a) => a.labels.alertname === 'MeshPlaintextTraffic',
      );
      await waitFor(
        'the plaintext page',
        async () =>
          routed.webhook.notifications.some((n) =>
            n.alerts.some((a) => a.labels.alertname === 'MeshPlaintextTraffic'),
          ),
        30000,
        250,
      );

      // SIGKILL: no shutdown, nothing resolved. While meshwatch is down, cart stops calling catalog.
      first.child.kill('SIGKILL');
      expect(await first.stop()).toBeNull();
      await cartToCatalog.stop();
      await waitFor(
        'cart -> catalog gone from Prometheus',
        async () =>
          (await rateIn(prometheus, 'source_workload="cart",destination_workload="catalog"')) === undefined,
        30000,
        250,
      );

      second = await startMeshwatch(config);
      const mw = second;
      await waitFor(
        'the new caller alerts resolved',
        async () => (await listAlerts(routed)).map(alertKey).join() === 'MeshPlaintextTraffic shop/catalog',
        60000,
        250,
      );
      // cart -> payments still flows, but it is in the history the warm-up replayed: not new.
      expect(
        await rateIn(prometheus, 'source_workload="cart",destination_workload="payments"'),
      ).toBeGreaterThan(0);
      const text = await waitForMetrics(
        mw,
        'five polls',
        (t) => (samplesOf(t, 'meshwatch_polls_total')[0]?.value ?? 0) >= 5,
      );
      expect(await findingIds(mw)).toEqual(['plaintext/Kubernetes/shop/catalog']);
      expect(samplesOf(text, 'meshwatch_new_caller_requests_per_second')).toEqual([]);
      expect(samplesOf(text, 'meshwatch_alertmanager_push_failures_total')[0]?.value).toBe(0);

      // The finding open across the restart is the same alert: one in Alertmanager, same fingerprint and start.
      const after = await listAlerts(routed);
      expect(after).toHaveLength(1);
      expect(after[0]).toMatchObject({
        fingerprint: plaintextBefore?.fingerprint,
        startsAt: plaintextBefore?.startsAt,
        labels: plaintextBefore?.labels,
      });
      await waitFor(
        'both new caller pages resolved',
        async () =>
          routed.webhook.notifications.filter(
            (n) => n.status === 'resolved' && n.alerts.some((a) => a.labels.alertname === 'MeshNewCaller'),
          ).length === 2,
        30000,
        250,
      );
      // One page for the plaintext finding, before and after the restart: no second one.
      const plaintextPages = routed.webhook.notifications.filter((n) =>
        n.alerts.some((a) => a.labels.alertname === 'MeshPlaintextTraffic'),
      );
      expect(plaintextPages.map((n) => n.status)).toEqual(['firing']);
      expect(
        mw.logLines().find((l) => String(l.msg).startsWith('found alerts an earlier meshwatch')),
      ).toMatchObject({
        alerts: 3,
      });
      expect(
        mw
          .logLines()
          .filter((l) => l.msg === 'finding opened')
          .map((l) => l.destination),
      ).toEqual(['Kubernetes/shop/catalog']);
      expect(problems(mw)).toEqual([]);
      expect(await mw.stop()).toBe(0);
    } finally {
      await first.stop('SIGKILL');
      await second?.stop('SIGKILL');
      await cartToPayments.stop();
    }
  });
});

describe('meshwatch with direct push while Alertmanager is down, then slow', () => {
  let routed: RoutedAlertmanager;
  let proxy: SlowProxy;
  let prometheus: RunningPrometheus;
  let base: RunningSimulator;
  let intoCatalog: Part;
  let intoPayments: Part;

  beforeAll(async () => {
    routed = await startRoutedAlertmanager();
    proxy = await startSlowProxy(routed.am.url);
    base = await startSimulator({
      scenario: scenarioFrom({ yaml: mesh(false) }),
      epochMs: Date.now() - 60_000,
    });
    intoCatalog = await newPart(
      oneCall('{ from: legacy/reporting, to: shop/catalog, rate: 2, tls: plaintext }'),
    );
    intoPayments = await newPart(
      oneCall('{ from: legacy/reporting, to: shop/payments, rate: 2, tls: plaintext }'),
    );
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${base.port}`, intoCatalog.target, intoPayments.target],
    });
    await waitForSteadyMesh(prometheus);
  });

  afterAll(async () => {
    await intoCatalog?.stop();
    await intoPayments?.stop();
    await proxy?.close();
    await prometheus?.stop();
    await base?.stop();
    await routed?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('counts and retries every failed push, keeps polling, and delivers everything once Alertmanager answers: the open finding firing, the one that came and went resolved', async () => {
    // Alertmanager unreachable: connections to it are refused.
    await proxy.refuse();
    // Only plaintext: each plaintext caller here is a new caller too, and one finding each is enough.
    const mw = await startMeshwatch(
      meshwatchConfig(prometheus.url, proxy.url, { timeout: '1s', resend_every: '10m' }, { enabled: false }),
    );
    try {
      await waitForMetrics(
        mw,
        'the warm-up',
        (t) => samplesOf(t, 'meshwatch_warmup_complete')[0]?.value === 1,
      );
      // While it is down: plaintext into payments comes and goes, plaintext into catalog starts and stays.
      await intoPayments.start();
      await waitFor(
        'the payments finding',
        async () => (await findingIds(mw)).includes('plaintext/Kubernetes/shop/payments'),
        30000,
        250,
      );
      await intoPayments.stop();
      await intoCatalog.start();
      await waitFor(
        'payments closed and catalog open',
        async () => (await findingIds(mw)).join() === 'plaintext/Kubernetes/shop/catalog',
        60000,
        250,
      );
      const down = await waitForMetrics(
        mw,
        'three failed pushes',
        (t) => (samplesOf(t, 'meshwatch_alertmanager_push_failures_total')[0]?.value ?? 0) >= 3,
      );
      expect(samplesOf(down, 'meshwatch_prometheus_up')[0]?.value).toBe(1);
      expect(samplesOf(down, 'meshwatch_poll_failures_total')[0]?.value).toBe(0);
      const failures = mw
        .logLines()
        .filter((l) => l.msg === 'pushing findings to Alertmanager failed; retrying after the next poll');
      expect(failures.length).toBeGreaterThanOrEqual(3);
      expect(failures[0]).toMatchObject({
        level: 'warn',
        alertmanager: proxy.url,
        error: { code: 'MW_ERR_ALERTMANAGER_PUSH', message: expect.stringContaining('ECONNREFUSED') },
      });

      // Slow: it listens again but answers only after 5 s, beyond alertmanager.timeout (1 s).
      proxy.delay(5000);
      await proxy.accept();
      const slowFrom =
        samplesOf(await mw.metrics(), 'meshwatch_alertmanager_push_failures_total')[0]?.value ?? 0;
      const pollsFrom = samplesOf(await mw.metrics(), 'meshwatch_polls_total')[0]?.value ?? 0;
      const slow = await waitForMetrics(
        mw,
        'two pushes timed out',
        (t) => (samplesOf(t, 'meshwatch_alertmanager_push_failures_total')[0]?.value ?? 0) >= slowFrom + 2,
      );
      // The push waits beside the polls: none is skipped, none fails.
      expect(samplesOf(slow, 'meshwatch_polls_total')[0]?.value).toBeGreaterThan(pollsFrom);
      expect(samplesOf(slow, 'meshwatch_polls_skipped_total')[0]?.value).toBe(0);
      expect(samplesOf(slow, 'meshwatch_poll_failures_total')[0]?.value).toBe(0);
      expect(
        mw
          .logLines()
          .some((l) =>
            /timeout|aborted/i.test(String((l.error as { message?: string } | undefined)?.message)),
          ),
      ).toBe(true);
      expect(await listAlerts(routed)).toEqual([]);

      // Back: everything meshwatch could not deliver arrives.
      proxy.delay(0);
      await waitFor(
        'the catalog alert in Alertmanager',
        async () => (await listAlerts(routed)).map(alertKey).join() === 'MeshPlaintextTraffic shop/catalog',
        30000,
        250,
      );
      const posted = proxy.requests
        .filter((r) => r.method === 'POST' && r.status === 200)
        .flatMap(
          (r) =>
            JSON.parse(r.body) as Array<{ labels: Record<string, string>; startsAt: string; endsAt: string }>,
        );
      const payments = posted.filter((a) => a.labels.destination_workload === 'payments');
      // Delivered resolved: it started and ended in the past, while Alertmanager was down.
      expect(payments).toHaveLength(1);
      expect(Date.parse(payments[0]?.endsAt ?? '')).toBeGreaterThan(Date.parse(payments[0]?.startsAt ?? ''));
      expect(Date.parse(payments[0]?.endsAt ?? '')).toBeLessThan(
        proxy.requests.find((r) => r.status === 200)?.receivedMs ?? 0,
      );
      // Alertmanager took it as resolved: its own counter says so.
      const amMetrics = await (await fetch(`${routed.am.url}/metrics`)).text();
      expect(
        samplesOf(amMetrics, 'alertmanager_alerts_received_total', { status: 'resolved' }).reduce(
          (s, x) => s + x.value,
          0,
        ),
      ).toBe(1);
      await waitFor(
        'the catalog page',
        async () =>
          routed.webhook.notifications.some((n) =>
            n.alerts.some((a) => a.labels.destination_workload === 'catalog'),
          ),
        30000,
        250,
      );
      expect(mw.child.exitCode).toBeNull();
      expect(problems(mw)).toEqual([]);
      expect(await mw.stop()).toBe(0);
    } finally {
      proxy.delay(0);
      await mw.stop('SIGKILL');
    }
  });
});
