import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { meshwatchRuleGroups, PAGE_SEVERITY } from '../../src/rules/alerts';
import { RULE_FILE_PATH } from '../../src/rules/targets';
import {
  ALERTMANAGER_CONFIG_PATH,
  amtoolBinary,
  startRoutedAlertmanager,
  type RoutedAlertmanager,
  type RunningAlertmanager,
  type WebhookReceiver,
} from '../helpers/alertmanager';
import { waitFor } from '../helpers/ports';
import { promtoolBinary } from '../helpers/prometheus';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const TESTS_DIR = join(ROOT, 'rules', 'tests');

/** Runs a tool and returns its exit code and output, without throwing on a non-zero exit. */
async function tool(binary: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(binary, args, { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('the shipped alert rules under promtool', () => {
  it('pass promtool check rules', async () => {
    const result = await tool(promtoolBinary(), ['check', 'rules', RULE_FILE_PATH]);
    expect(result).toEqual({ code: 0, output: `Checking ${RULE_FILE_PATH}\n  SUCCESS: 11 rules found\n\n` });
  });

  it('pass every promtool rule test under rules/tests', async () => {
    const files = readdirSync(TESTS_DIR)
      .filter((f) => f.endsWith('.test.yml'))
      .map((f) => join('rules', 'tests', f));
    const result = await tool(promtoolBinary(), ['test', 'rules', ...files]);
    expect(result.output).not.toContain('FAILED');
    expect(result.code).toBe(0);
  });
});

describe('the shipped Alertmanager configuration', () => {
  it('passes amtool check-config', async () => {
    const result = await tool(amtoolBinary(), ['check-config', ALERTMANAGER_CONFIG_PATH]);
    expect(result.code).toBe(0);
    expect(result.output).toContain('SUCCESS');
  });

  it('routes the page to the pager and every other alert to chat', async () => {
    const alerts = meshwatchRuleGroups().flatMap((g) => g.rules);
    const routed = await Promise.all(
      alerts.map(async (rule) => {
        const labels = [
          `alertname=${rule.alert}`,
          `severity=${rule.labels.severity}`,
          'destination_namespace=shop',
          'destination_workload=payments',
        ];
        const result = await tool(amtoolBinary(), [
          'config',
          'routes',
          'test',
          `--config.file=${ALERTMANAGER_CONFIG_PATH}`,
          ...labels,
        ]);
        return [rule.alert, result.output.split('\n')[0]];
      }),
    );
    expect(Object.fromEntries(routed)).toEqual({
      MeshUnauthorizedAccessSpike: 'pager',
      MeshNewCaller: 'chat',
      MeshPlaintextTraffic: 'chat',
      MeshTrafficAnomaly: 'chat',
      MeshErrorRateAnomaly: 'chat',
      MeshwatchDown: 'chat',
      MeshwatchPrometheusUnreachable: 'chat',
      MeshwatchStale: 'chat',
      MeshwatchTelemetryLabelsMissing: 'chat',
      MeshwatchCapacityExceeded: 'chat',
      MeshwatchConfigReloadFailed: 'chat',
    });
    expect(alerts.filter((r) => r.labels.severity === PAGE_SEVERITY).map((r) => r.alert)).toEqual([
      'MeshUnauthorizedAccessSpike',
    ]);
  });
});

describe('a real Alertmanager running the shipped routing and inhibition', () => {
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

  it('pages once for a destination, mutes its warnings, and still sends the warnings of other destinations and clusters', async () => {
    const alert = (alertname: string, severity: string, labels: Record<string, string>) => ({
      labels: { alertname, severity, ...labels },
      annotations: { summary: alertname },
    });
    const payments = {
      destination_cluster: 'east',
      destination_namespace: 'shop',
      destination_workload: 'payments',
    };
    // The same namespace and workload in another cluster is another destination.
    const westPayments = { ...payments, destination_cluster: 'west' };
    const cart = { destination_cluster: 'east', destination_namespace: 'shop', destination_workload: 'cart' };
    const response = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        alert('MeshUnauthorizedAccessSpike', 'critical', payments),
        alert('MeshTrafficAnomaly', 'warning', payments),
        alert('MeshTrafficAnomaly', 'warning', westPayments),
        alert('MeshTrafficAnomaly', 'warning', cart),
        alert('MeshwatchStale', 'warning', { instance: '10.0.0.7:9464' }),
      ]),
    });
    expect(response.status).toBe(200);

    await waitFor('four notifications', async () => webhook.notifications.length >= 4, 20000, 100);
    // Give a wrongly routed or uninhibited notification the time to arrive too.
    await new Promise((r) => setTimeout(r, 2500));
    const received = webhook.notifications
      .map((n) => ({
        receiver: n.receiver,
        status: n.status,
        alerts: n.alerts.map((a) => [
          a.labels.alertname,
          a.labels.destination_cluster ?? '',
          a.labels.destination_workload ?? a.labels.instance,
        ]),
      }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(received).toEqual([
      { receiver: 'chat', status: 'firing', alerts: [['MeshTrafficAnomaly', 'east', 'cart']] },
      { receiver: 'chat', status: 'firing', alerts: [['MeshTrafficAnomaly', 'west', 'payments']] },
      { receiver: 'chat', status: 'firing', alerts: [['MeshwatchStale', '', '10.0.0.7:9464']] },
      { receiver: 'pager', status: 'firing', alerts: [['MeshUnauthorizedAccessSpike', 'east', 'payments']] },
    ]);

    const held = await am.alerts();
    const inhibited = held
      .filter((a) => typeof a.status === 'object' && a.status.state === 'suppressed')
      .map((a) => [a.labels.alertname, a.labels.destination_cluster, a.labels.destination_workload]);
    expect(inhibited).toEqual([['MeshTrafficAnomaly', 'east', 'payments']]);
  });
});
