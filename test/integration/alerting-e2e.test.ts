import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../src/sim/server';
import { RULE_FILE_PATH } from '../../src/rules/targets';
import {
  loopbackAlertmanagerConfig,
  startAlertmanager,
  startWebhookReceiver,
  type RunningAlertmanager,
  type WebhookNotification,
  type WebhookReceiver,
} from '../helpers/alertmanager';
import { startMeshwatch, type RunningMeshwatch } from '../helpers/meshwatch';
import { freePort, waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { backfillToBlocks, scenarioFrom, type BackfilledBlocks } from '../helpers/simulator';

/*
 * The paging path for real: the simulated mesh with an hour of quiet history, meshwatch, a
 * Prometheus evaluating the shipped rules (their for: untouched), the shipped Alertmanager
 * routing with its receivers pointed at a local webhook. Only the test's own settings are fast:
 * 1s scrapes, polls and rule evaluations, a 15s rate window, 1-2s Alertmanager group timings.
 */
const QUIET_HISTORY_MS = 60 * 60_000;
const QUIET_LIVE_MS = 40_000;
const INCIDENT_MS = 90_000;
// Rate window 15s + for: 1m + evaluation and notification, with room for a busy machine.
const PAGE_WITHIN_MS = 120_000;
const RESOLVE_WITHIN_MS = 60_000;

describe('an unauthorized-access spike, from the mesh to a page', () => {
  let history: BackfilledBlocks;
  let webhook: WebhookReceiver;
  let am: RunningAlertmanager;
  let prometheus: RunningPrometheus;
  let mw: RunningMeshwatch;
  let sim: RunningSimulator | undefined;

  afterAll(async () => {
    await mw?.stop('SIGKILL');
    await sim?.stop();
    await prometheus?.stop();
    await am?.stop();
    await webhook?.stop();
    for (const dir of [prometheus?.dir, am?.dir, history?.dir]) removeDir(dir ?? '');
  });

  it('pages MeshUnauthorizedAccessSpike for the destination within two minutes, never during the quiet period, and resolves after', async () => {
    const epochMs = Math.floor((Date.now() - QUIET_HISTORY_MS) / 1000) * 1000;
    // The backfill has no incident (it is moved far beyond the history); the live simulator
    // gets it once everything is up, so the quiet live period is real.
    history = await backfillToBlocks({
      scenario: { file: 'denial-spike.yaml', set: ['incidents[0].at=10h'] },
      epochMs,
      fromMs: epochMs,
      toMs: Date.now(),
      stepMs: 5_000,
    });
    webhook = await startWebhookReceiver();
    am = await startAlertmanager(
      loopbackAlertmanagerConfig(webhook.url, {
        group_wait: '1s',
        group_interval: '2s',
        repeat_interval: '1h',
      }),
    );
    const simPort = await freePort();
    // meshwatch's port is known only once it runs, after Prometheus: a file_sd file tells Prometheus.
    const mwTargets = join(history.dir, 'meshwatch-targets.json');
    writeFileSync(mwTargets, '[]');
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${simPort}`],
      dataDir: history.dataDir,
      ruleFiles: [join(__dirname, '..', '..', RULE_FILE_PATH)],
      alertmanager: am.target,
      extraScrapeConfigs: [
        '  - job_name: meshwatch',
        '    file_sd_configs:',
        `      - files: [${JSON.stringify(mwTargets)}]`,
      ].join('\n'),
    });
    mw = await startMeshwatch({
      prometheus: { url: prometheus.url, timeout: '900ms' },
      poll: { interval: '1s', rate_window: '15s' },
      warmup: { lookback: '1h', step: '5s' },
    });
    writeFileSync(mwTargets, JSON.stringify([{ targets: [`127.0.0.1:${mw.port}`] }]));
    await waitFor(
      'meshwatch to finish its warm-up',
      async () => (await fetch(`${mw.url}/readyz`)).ok,
      90_000,
      250,
    );

    const liveFromMs = Date.now();
    const incidentStartMs = Math.ceil((liveFromMs + QUIET_LIVE_MS - epochMs) / 1000) * 1000 + epochMs;
    const incidentEndMs = incidentStartMs + INCIDENT_MS;
    sim = await startSimulator({
      scenario: scenarioFrom({
        file: 'denial-spike.yaml',
        set: [
          `incidents[0].at=${(incidentStartMs - epochMs) / 1000}s`,
          `incidents[0].duration=${INCIDENT_MS / 1000}s`,
        ],
      }),
      epochMs,
      port: simPort,
    });

    const pages = (): WebhookNotification[] => webhook.notifications.filter((n) => n.receiver === 'pager');

    // The quiet period was watched, not blind: Prometheus has meshwatch's score for payments, under
    // the threshold, for the whole of it.
    await new Promise((r) => setTimeout(r, incidentStartMs - Date.now()));
    const quiet = await queryPrometheus(
      prometheus.url,
      `max_over_time(meshwatch_anomaly_score{detector="unauthorized",destination_workload="payments"}[${Math.floor((incidentStartMs - liveFromMs) / 1000) - 5}s])`,
    );
    expect(quiet.map((v) => v < 5)).toEqual([true]);
    await waitFor(
      'the page',
      async () => pages().some((n) => n.status === 'firing'),
      incidentStartMs + PAGE_WITHIN_MS - Date.now(),
      250,
    );
    const page = pages().find((n) => n.status === 'firing');
    const pageLatencyMs = (page?.receivedAtMs ?? 0) - incidentStartMs;
    console.log(`page ${(pageLatencyMs / 1000).toFixed(1)}s after the incident started`);

    expect(pages().filter((n) => n.receivedAtMs < incidentStartMs)).toEqual([]);
    expect(page?.alerts.map((a) => ({ status: a.status, labels: a.labels }))).toEqual([
      {
        status: 'firing',
        labels: {
          alertname: 'MeshUnauthorizedAccessSpike',
          severity: 'critical',
          detector: 'unauthorized',
          // The simulator's sidecars write Istio's default cluster id.
          destination_cluster: 'Kubernetes',
          destination_namespace: 'shop',
          destination_workload: 'payments',
          job: 'meshwatch',
          instance: `127.0.0.1:${mw.port}`,
        },
      },
    ]);
    expect(page?.alerts[0]?.annotations).toEqual({
      summary: 'A workload is receiving a spike of denied requests (401/403) or connections (L4 deny).',
      description: expect.stringMatching(
        /^shop\/payments in cluster Kubernetes is denying \d+\.\d\d requests or connections\/s \(401\/403 at a sidecar or waypoint, DENY at ztunnel\) against a baseline of .*Top denied callers: spiffe:\/\/cluster\.local\/ns\/shop\/sa\/cart \(http: 401\/403, \d+\.\d\d\/s\)\.$/,
      ),
      runbook_url:
        'https://github.com/meshwatch/meshwatch/blob/main/docs/runbooks/MeshUnauthorizedAccessSpike.md',
      dashboard_url:
        'http://kube-prometheus-stack-grafana.monitoring.svc/d/meshwatch-workload/meshwatch-workload?var-cluster=Kubernetes&var-namespace=shop&var-workload=payments',
    });
    expect(pageLatencyMs).toBeGreaterThanOrEqual(60_000);

    await waitFor(
      'the page to resolve',
      async () => pages().some((n) => n.status === 'resolved'),
      incidentEndMs + RESOLVE_WITHIN_MS - Date.now(),
      250,
    );
    const resolved = pages().find((n) => n.status === 'resolved');
    console.log(
      `resolved ${(((resolved?.receivedAtMs ?? 0) - incidentEndMs) / 1000).toFixed(1)}s after the incident ended`,
    );
    expect(resolved?.receivedAtMs).toBeGreaterThan(incidentEndMs);
    expect(
      pages().map((n) => [
        n.status,
        n.alerts.map((a) => `${a.labels.alertname} ${a.labels.destination_workload}`),
      ]),
    ).toEqual([
      ['firing', ['MeshUnauthorizedAccessSpike payments']],
      ['resolved', ['MeshUnauthorizedAccessSpike payments']],
    ]);
  }, 240_000);
});

/** The values of an instant query's result. */
async function queryPrometheus(url: string, promql: string): Promise<number[]> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
  return body.data.result.map((r) => Number(r.value[1]));
}
