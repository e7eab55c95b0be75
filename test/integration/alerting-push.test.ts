import { AlertmanagerPush } from '../../src/adapters/alertmanager/push';
import type { Finding } from '../../src/core/types';
import { AlertmanagerPushError } from '../../src/errors';
import {
  startRoutedAlertmanager,
  type RoutedAlertmanager,
  type RunningAlertmanager,
  type WebhookReceiver,
} from '../helpers/alertmanager';
import { freePort, waitFor } from '../helpers/ports';

const spike = (nowMs: number): Finding => ({
  id: 'unauthorized/shop/payments',
  detector: 'unauthorized',
  destination: { cluster: '', namespace: 'shop', workload: 'payments' },
  signal: 'denied_requests_per_second',
  observed: 25,
  expected: 0,
  lower: 0,
  upper: 0.5,
  score: 12,
  threshold: 5,
  layers: ['http'],
  topCallers: [],
  firstSeenMs: nowMs - 30_000,
  lastSeenMs: nowMs,
  stale: false,
});

describe('pushing findings straight to a real Alertmanager', () => {
  let am: RunningAlertmanager;
  let webhook: WebhookReceiver;
  let routed: RoutedAlertmanager | undefined;

  beforeAll(async () => {
    routed = await startRoutedAlertmanager();
    ({ am, webhook } = routed);
  });

  afterAll(async () => {
    await routed?.stop();
  });

  it('pages through the shipped routing while the finding is open and resolves it when it closes', async () => {
    const push = new AlertmanagerPush({ url: am.url, timeoutMs: 2000, resendEveryMs: 60_000 });
    const opened = Date.now();
    expect(await push.push([spike(opened)], opened)).toHaveLength(1);
    await waitFor(
      'the page',
      async () => webhook.notifications.some((n) => n.status === 'firing'),
      15000,
      100,
    );
    const active = await am.alerts();
    expect(active.map((a) => [a.labels.alertname, a.labels.destination_workload, a.status])).toEqual([
      ['MeshUnauthorizedAccessSpike', 'payments', { state: 'active', inhibitedBy: [], silencedBy: [] }],
    ]);
    // Within the resend interval an open finding is not posted again.
    expect(await push.push([spike(opened)], Date.now())).toEqual([]);

    await push.push([], Date.now());
    await waitFor(
      'the resolution',
      async () => webhook.notifications.some((n) => n.status === 'resolved'),
      15000,
      100,
    );
    expect(
      webhook.notifications.map((n) => [
        n.receiver,
        n.status,
        n.alerts.map((a) => a.labels.destination_workload),
      ]),
    ).toEqual([
      ['pager', 'firing', ['payments']],
      ['pager', 'resolved', ['payments']],
    ]);
  });

  it('fails with AlertmanagerPushError when Alertmanager cannot be reached, and sends it all on the next push', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const push = new AlertmanagerPush({ url, timeoutMs: 1000 });
    const error = await push.push([spike(Date.now())], Date.now()).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AlertmanagerPushError);
    expect(error).toMatchObject({
      code: 'MW_ERR_ALERTMANAGER_PUSH',
      url: `${url}/api/v2/alerts`,
      status: undefined,
    });
    await expect(push.push([spike(Date.now())], Date.now())).rejects.toThrow(/could not post 1 alerts/);
  });
});
