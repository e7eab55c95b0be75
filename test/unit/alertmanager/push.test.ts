import { AlertmanagerPush } from '../../../src/adapters/alertmanager/push';
import type { PostableAlert } from '../../../src/adapters/alertmanager/plan';
import type { Finding } from '../../../src/core/types';
import { AlertmanagerPushError } from '../../../src/errors';

const T0 = Date.parse('2026-11-22T15:00:00Z');
const PROMETHEUS = 'http://prometheus:9090';

const finding = (workload: string): Finding => ({
  id: `plaintext/shop/${workload}`,
  detector: 'plaintext',
  destination: { cluster: '', namespace: 'shop', workload },
  signal: 'plaintext_requests_per_second',
  observed: 2,
  expected: 0,
  lower: 0,
  upper: 1,
  score: 2,
  threshold: 1,
  layers: ['http'],
  topCallers: [],
  firstSeenMs: T0 - 10_000,
  lastSeenMs: T0,
  stale: false,
});

/** A fetch whose answers the test scripts: a status and body, or a thrown error (down). */
function scriptedFetch(answers: Array<{ status: number; body?: unknown } | Error>): {
  fetch: typeof fetch;
  calls: Array<{ method: string; url: string; alerts: PostableAlert[] | undefined }>;
} {
  const calls: Array<{ method: string; url: string; alerts: PostableAlert[] | undefined }> = [];
  const fake = (async (url: string, init: RequestInit) => {
    calls.push({
      method: String(init.method),
      url,
      alerts: init.body === undefined ? undefined : (JSON.parse(String(init.body)) as PostableAlert[]),
    });
    const answer = answers.shift() ?? { status: 200, body: [] };
    if (answer instanceof Error) throw answer;
    return new Response(answer.body === undefined ? '' : JSON.stringify(answer.body), {
      status: answer.status,
    });
  }) as unknown as typeof fetch;
  return { fetch: fake, calls };
}

const refused = (): Error => new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });

describe('the direct push to Alertmanager', () => {
  it('names the reason a request failed and loses nothing: a finding that came and went while it was down arrives resolved', async () => {
    const { fetch, calls } = scriptedFetch([
      refused(),
      refused(),
      { status: 200, body: [] },
      { status: 200 },
    ]);
    const push = new AlertmanagerPush({
      url: 'http://am:9093/',
      timeoutMs: 1000,
      prometheusUrl: PROMETHEUS,
      fetch,
    });
    const error = await push.push([finding('payments')], T0).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AlertmanagerPushError);
    expect((error as Error).message).toBe(
      'could not list the alerts of http://am:9093/api/v2/alerts?active=true: fetch failed (ECONNREFUSED)',
    );
    await expect(push.push([], T0 + 10_000)).rejects.toThrow(AlertmanagerPushError);
    const posted = await push.push([], T0 + 20_000);
    expect(posted.map((a) => [a.labels.destination_workload, a.startsAt, a.endsAt])).toEqual([
      ['payments', '2026-11-22T14:59:50.000Z', '2026-11-22T15:00:10.000Z'],
    ]);
    expect(calls.map((c) => c.method)).toEqual(['GET', 'GET', 'GET', 'POST']);
    expect(await push.push([], T0 + 30_000)).toEqual([]);
  });

  it("on its first push re-sends the earlier process's alert that is still open and resolves the other after the hold", async () => {
    const earlier = (workload: string) => ({
      labels: {
        alertname: 'MeshPlaintextTraffic',
        severity: 'warning',
        detector: 'plaintext',
        destination_namespace: 'shop',
        destination_workload: workload,
      },
      annotations: { summary: 'plaintext' },
      startsAt: '2026-11-22T14:00:00.000Z',
      endsAt: '2026-11-22T15:03:00.000Z',
      generatorURL:
        'http://prometheus:9090/graph?g0.expr=' +
        encodeURIComponent(
          `meshwatch_anomaly_score{detector="plaintext",destination_namespace="shop",destination_workload="${workload}"}`,
        ) +
        '&g0.tab=0',
      fingerprint: workload,
      status: { state: 'active', silencedBy: [], inhibitedBy: [] },
    });
    const { fetch } = scriptedFetch([{ status: 200, body: [earlier('catalog'), earlier('payments')] }]);
    const push = new AlertmanagerPush({
      url: 'http://am:9093',
      timeoutMs: 1000,
      prometheusUrl: PROMETHEUS,
      adoptionHoldMs: 3_000,
      fetch,
    });
    const first = await push.push([finding('catalog')], T0);
    expect(push.adoptedCount).toBe(2);
    expect(first.map((a) => [a.labels.destination_workload, a.startsAt])).toEqual([
      ['catalog', '2026-11-22T14:00:00.000Z'],
    ]);
    expect(await push.push([finding('catalog')], T0 + 1_000)).toEqual([]);
    const resolved = await push.push([finding('catalog')], T0 + 3_000);
    expect(resolved.map((a) => [a.labels.destination_workload, a.startsAt, a.endsAt])).toEqual([
      ['payments', '2026-11-22T14:00:00.000Z', '2026-11-22T15:00:03.000Z'],
    ]);
  });

  it('says which status Alertmanager answered a post with', async () => {
    const { fetch } = scriptedFetch([{ status: 400, body: 'bad alert' }]);
    const push = new AlertmanagerPush({ url: 'http://am:9093', timeoutMs: 1000, fetch });
    await expect(push.push([finding('catalog')], T0)).rejects.toMatchObject({
      code: 'MW_ERR_ALERTMANAGER_PUSH',
      status: 400,
      message:
        'Alertmanager answered 400 when meshwatch tried to post 1 alerts to http://am:9093/api/v2/alerts: "bad alert"',
    });
  });
});
