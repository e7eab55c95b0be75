import { startRoutedAlertmanager } from '../helpers/alertmanager';
import { startMeshwatch } from '../helpers/meshwatch';
import { waitFor } from '../helpers/ports';
import { removeDir, startPrometheus } from '../helpers/prometheus';
import { startSimulatorForTest, PLAINTEXT_IN_MESH_SCENARIO } from '../helpers/simulator';

describe('the daemon with alertmanager.url set', () => {
  it('posts its findings to a real Alertmanager with the alert name and destination of the rules', async () => {
    const routed = await startRoutedAlertmanager();
    const { am } = routed;
    const sim = await startSimulatorForTest({
      scenario: { yaml: PLAINTEXT_IN_MESH_SCENARIO },
      epochMs: Date.now() - 60_000,
    });
    const prometheus = await startPrometheus({ targets: [sim.target] });
    const mw = await startMeshwatch({
      prometheus: { url: prometheus.url, timeout: '900ms' },
      poll: { interval: '1s', rate_window: '10s' },
      alertmanager: { url: am.url },
    });
    try {
      await waitFor(
        'the plaintext alert in Alertmanager',
        async () => (await am.alerts()).some((a) => a.labels.alertname === 'MeshPlaintextTraffic'),
        30000,
        250,
      );
      const alert = (await am.alerts()).find((a) => a.labels.alertname === 'MeshPlaintextTraffic');
      expect(alert?.labels).toMatchObject({
        alertname: 'MeshPlaintextTraffic',
        severity: 'warning',
        detector: 'plaintext',
        destination_namespace: 'shop',
        destination_workload: 'catalog',
      });
    } finally {
      await mw.stop('SIGKILL');
      await prometheus.stop();
      await sim.stop();
      await routed.stop();
      removeDir(prometheus.dir);
    }
  });
});
