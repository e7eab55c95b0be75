import { adoptAlerts, planPush, type PushState } from '../../../src/adapters/alertmanager/plan';
import type { Finding } from '../../../src/core/types';
import { detectorAlert } from '../../../src/rules/alerts';

const T0 = Date.parse('2026-11-22T15:00:00Z');
const options = {
  resendEveryMs: 60_000,
  alertTimeoutMs: 240_000,
  runbookBaseUrl: 'https://example.com/runbooks',
};

function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    id: 'unauthorized/shop/payments',
    detector: 'unauthorized',
    destination: { cluster: '', namespace: 'shop', workload: 'payments' },
    signal: 'denied_requests_per_second',
    observed: 25,
    expected: 0.02,
    lower: 0,
    upper: 0.5,
    score: 12,
    threshold: 5,
    layers: ['http', 'tcp'],
    topCallers: [
      {
        caller: {
          principal: 'spiffe://cluster.local/ns/shop/sa/cart',
          namespace: 'shop',
          workload: 'cart',
          cluster: '',
        },
        rate: 24.5,
        layer: 'http',
      },
      {
        caller: { principal: 'unknown', namespace: 'legacy', workload: 'scanner', cluster: '' },
        rate: 0.5,
        layer: 'tcp',
      },
    ],
    firstSeenMs: T0 - 30_000,
    lastSeenMs: T0,
    stale: false,
    ...overrides,
  };
}

const firing = {
  labels: {
    alertname: 'MeshUnauthorizedAccessSpike',
    severity: 'critical',
    detector: 'unauthorized',
    destination_namespace: 'shop',
    destination_workload: 'payments',
  },
  annotations: {
    summary: detectorAlert('unauthorized').summary,
    description:
      'shop/payments: denied_requests_per_second 25.00 (http+tcp) against a baseline of 0.02 (band 0.00 to 0.50); ' +
      'score 12.0, threshold 5. Top callers: spiffe://cluster.local/ns/shop/sa/cart (http 24.50/s), ' +
      'legacy/scanner (tcp 0.50/s).',
    runbook_url: 'https://example.com/runbooks/MeshUnauthorizedAccessSpike.md',
  },
  startsAt: '2026-11-22T14:59:30.000Z',
  endsAt: '2026-11-22T15:04:00.000Z',
};

describe('planning a push to Alertmanager', () => {
  it('posts a new finding at once as a firing alert named and labelled like the rule, ending after the timeout', () => {
    expect(planPush(new Map(), [finding()], T0, options).alerts).toEqual([firing]);
  });

  it("labels a finding of a multi-cluster mesh with its destination's cluster, as the rule-based alert is", () => {
    const inCluster = finding({
      id: 'unauthorized/east/shop/payments',
      destination: { cluster: 'east', namespace: 'shop', workload: 'payments' },
    });
    const [alert] = planPush(new Map(), [inCluster], T0, options).alerts;
    expect(alert?.labels).toEqual({ ...firing.labels, destination_cluster: 'east' });
    expect(alert?.annotations.description).toMatch(/^east\/shop\/payments: /);
  });

  it('does not post a firing alert again before the resend interval, and does after it', () => {
    const first = planPush(new Map(), [finding()], T0, options);
    const early = planPush(first.state, [finding()], T0 + 59_000, options);
    const due = planPush(early.state, [finding()], T0 + 60_000, options);
    expect([early.alerts, due.alerts]).toEqual([[], [{ ...firing, endsAt: '2026-11-22T15:05:00.000Z' }]]);
  });

  it('resolves a closed finding once, with endsAt now, and then forgets it', () => {
    const first = planPush(new Map(), [finding()], T0, options);
    const closed = planPush(first.state, [], T0 + 10_000, options);
    const after = planPush(closed.state, [], T0 + 20_000, options);
    expect([closed.alerts, after.alerts, after.state.size]).toEqual([
      [{ ...firing, endsAt: '2026-11-22T15:00:10.000Z' }],
      [],
      0,
    ]);
  });

  it('names each detector with its rule alert and severity', () => {
    const findings = (['unauthorized', 'new_caller', 'plaintext', 'traffic', 'errors'] as const).map(
      (detector) => finding({ id: `${detector}/shop/payments`, detector }),
    );
    const state: PushState = new Map();
    expect(
      planPush(state, findings, T0, options).alerts.map((a) => [a.labels.alertname, a.labels.severity]),
    ).toEqual([
      ['MeshUnauthorizedAccessSpike', 'critical'],
      ['MeshNewCaller', 'warning'],
      ['MeshPlaintextTraffic', 'warning'],
      ['MeshTrafficAnomaly', 'warning'],
      ['MeshErrorRateAnomaly', 'warning'],
    ]);
  });
});

describe('planning a push while Alertmanager does not take it', () => {
  it('posts a finding that opened and closed while Alertmanager was down once it is back, resolved at its close time', () => {
    const opened = planPush(new Map(), [finding()], T0, options);
    // The post failed: the adapter keeps `undelivered`.
    const closed = planPush(opened.undelivered, [], T0 + 10_000, options);
    const retried = planPush(closed.undelivered, [], T0 + 20_000, options);
    const after = planPush(retried.state, [], T0 + 30_000, options);
    const resolved = { ...firing, endsAt: '2026-11-22T15:00:10.000Z' };
    expect([closed.alerts, retried.alerts, after.alerts, after.state.size]).toEqual([
      [resolved],
      [resolved],
      [],
      0,
    ]);
  });

  it('posts a new finding again on every plan until a post succeeds, then only at the resend interval', () => {
    const first = planPush(new Map(), [finding()], T0, options);
    const second = planPush(first.undelivered, [finding()], T0 + 1_000, options);
    const third = planPush(second.state, [finding()], T0 + 2_000, options);
    expect([first.alerts.length, second.alerts, third.alerts]).toEqual([
      1,
      [{ ...firing, endsAt: '2026-11-22T15:04:01.000Z' }],
      [],
    ]);
  });

  it('re-sends a firing alert whose resend failed on the next plan', () => {
    const first = planPush(new Map(), [finding()], T0, options);
    const resend = planPush(first.state, [finding()], T0 + 60_000, options);
    const retry = planPush(resend.undelivered, [finding()], T0 + 61_000, options);
    expect([resend.alerts.length, retry.alerts]).toEqual([
      1,
      [{ ...firing, endsAt: '2026-11-22T15:05:01.000Z' }],
    ]);
  });
});

describe('adopting the alerts an earlier meshwatch process left firing', () => {
  const prometheusUrl = 'http://user:secret@prometheus.monitoring:9090/prom/';
  const withUrl = { ...options, prometheusUrl };
  const generatorURL =
    'http://prometheus.monitoring:9090/prom/graph?g0.expr=' +
    encodeURIComponent(
      'meshwatch_anomaly_score{detector="unauthorized",destination_namespace="shop",destination_workload="payments"}',
    ) +
    '&g0.tab=0';
  const listed = { ...firing, startsAt: '2026-11-22T14:50:00.000Z', generatorURL };

  it("links each alert to its finding's score in Prometheus, without the URL's credentials", () => {
    expect(planPush(new Map(), [finding()], T0, withUrl).alerts).toEqual([{ ...firing, generatorURL }]);
  });

  it('re-sends an adopted alert whose finding is open again as the same alert, keeping its start', () => {
    const adopted = adoptAlerts([listed], withUrl, T0);
    expect(planPush(adopted, [finding()], T0, withUrl).alerts).toEqual([
      { ...firing, startsAt: '2026-11-22T14:50:00.000Z', generatorURL },
    ]);
  });

  it('resolves an adopted alert whose finding did not open again once the hold is over', () => {
    const adopted = adoptAlerts([listed], withUrl, T0 + 90_000);
    const held = planPush(adopted, [], T0, withUrl);
    const over = planPush(held.state, [], T0 + 90_000, withUrl);
    expect([held.alerts, over.alerts]).toEqual([[], [{ ...listed, endsAt: '2026-11-22T15:01:30.000Z' }]]);
  });

  it('adopts only alerts with exactly its own labels and generatorURL: not rule-based ones, not another Prometheus', () => {
    const fromRule = { ...listed, labels: { ...listed.labels, job: 'meshwatch', instance: '10.0.0.1:9464' } };
    const otherPrometheus = { ...listed, generatorURL: generatorURL.replace('monitoring', 'other') };
    const notOurs = { ...listed, labels: { alertname: 'Watchdog', severity: 'none' } };
    const ours = adoptAlerts([fromRule, otherPrometheus, notOurs, listed], withUrl, T0);
    expect([...ours.keys()]).toEqual(['unauthorized/shop/payments']);
    expect(adoptAlerts([listed], options, T0).size).toBe(0);
  });
});
