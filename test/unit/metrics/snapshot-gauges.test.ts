import { MeshwatchMetrics } from '../../../src/adapters/metrics/metrics';
import type { BandExport } from '../../../src/config/types';
import type { Assessment, DetectorName } from '../../../src/core/types';
import { samplesOf } from '../../helpers/metrics-text';

const destination = (workload: string) => ({ cluster: 'east', namespace: 'shop', workload });

function assessment(detector: DetectorName, signal: string, workload: string, score: number): Assessment {
  return {
    detector,
    destination: destination(workload),
    signal,
    observed: 2,
    expected: 1,
    lower: 0.5,
    upper: 1.5,
    score,
    layers: ['http'],
    ...(detector === 'traffic' ? { part: 'level' as const } : {}),
    topCallers: [],
  };
}

async function published(bands: BandExport, workloads: string[]): Promise<string> {
  const metrics = new MeshwatchMetrics('test');
  const detections = (ws: string[]) => [
    {
      detector: 'traffic' as const,
      threshold: 5,
      assessments: ws.map((w) => assessment('traffic', 'requests_per_second', w, 3)),
    },
    {
      detector: 'plaintext' as const,
      threshold: 1,
      assessments: ws.map((w) => assessment('plaintext', 'plaintext_requests_per_second', w, 0)),
    },
  ];
  // A first poll with one destination more: its series must be gone after the second.
  metrics.publishAssessments(detections([...workloads, 'gone']), bands);
  metrics.publishAssessments(detections(workloads), bands);
  return metrics.registry.metrics();
}

describe('the per-destination gauges', () => {
  it('hold exactly this poll’s assessments, with every label, as any gauge renders them', async () => {
    const text = await published('all', ['cart', 'web']);
    expect(samplesOf(text, 'meshwatch_anomaly_score').map((s) => s.labels)).toEqual([
      {
        detector: 'traffic',
        destination_cluster: 'east',
        destination_namespace: 'shop',
        destination_workload: 'cart',
      },
      {
        detector: 'traffic',
        destination_cluster: 'east',
        destination_namespace: 'shop',
        destination_workload: 'web',
      },
      {
        detector: 'plaintext',
        destination_cluster: 'east',
        destination_namespace: 'shop',
        destination_workload: 'cart',
      },
      {
        detector: 'plaintext',
        destination_cluster: 'east',
        destination_namespace: 'shop',
        destination_workload: 'web',
      },
    ]);
    expect(samplesOf(text, 'meshwatch_anomaly_score', { detector: 'traffic' })[0]?.value).toBe(3);
    expect(samplesOf(text, 'meshwatch_anomaly_part', { part: 'level' })).toHaveLength(2);
    expect(
      samplesOf(text, 'meshwatch_signal_upper', { destination_workload: 'cart' }).map((s) => s.value),
    ).toEqual([1.5, 1.5]);
    expect(text).not.toContain('gone');
    expect(text).toContain('# TYPE meshwatch_signal_expected gauge');
  });

  it.each([
    ['all', 4, 4],
    ['learned', 4, 2],
    ['none', 4, 0],
  ] as const)(
    'with limits.export_bands %s export %i observed values and %i of each band edge',
    async (bands, observed, band) => {
      const text = await published(bands, ['cart', 'web']);
      expect(samplesOf(text, 'meshwatch_signal_observed')).toHaveLength(observed);
      for (const name of ['meshwatch_signal_expected', 'meshwatch_signal_lower', 'meshwatch_signal_upper']) {
        expect(samplesOf(text, name)).toHaveLength(band);
      }
      if (bands === 'learned') {
        expect(
          samplesOf(text, 'meshwatch_signal_expected', { signal: 'plaintext_requests_per_second' }),
        ).toEqual([]);
      }
    },
  );
});
