import { Writable } from 'node:stream';
import { createLogger } from '../../../src/adapters/logger';
import { MeshwatchMetrics } from '../../../src/adapters/metrics/metrics';
import type { BodySink } from '../../../src/adapters/prometheus/types';
import { Poller, type InstantQueryApi } from '../../../src/app/poller';
import { parseConfig } from '../../../src/config/load';
import type { InstantSample } from '../../../src/signals/types';
import { samplesOf } from '../../helpers/metrics-text';

const LABELS = [
  'reporter',
  'connection_security_policy',
  'destination_workload',
  'source_workload',
  'source_principal',
  'response_code',
];

/** A sidecar mesh whose telemetry can be switched off (every target unscrapeable) and on again. */
class GappyPrometheus implements InstantQueryApi {
  scraped = true;
  async query(promql: string): Promise<{ data: InstantSample[]; warnings: string[] }> {
    if (!this.scraped) return { data: [], warnings: [] };
    if (promql.includes('group(')) {
      const data = ['__any__', ...LABELS].map((label) => ({
        labels: { metric: 'istio_requests_total', label },
        value: 1,
        timeMs: 0,
      }));
      return { data, warnings: [] };
    }
    const sample = {
      destination_workload_namespace: 'shop',
      destination_workload: 'catalog',
      source_workload_namespace: 'shop',
      source_workload: 'frontend',
      source_principal: 'spiffe://cluster.local/ns/shop/sa/frontend',
      connection_security_policy: 'mutual_tls',
      meshwatch_kind: 'requests',
    };
    return { data: [{ labels: sample, value: 20, timeMs: 0 }], warnings: [] };
  }
  async queryWith<T>(promql: string, sink: (query: string) => BodySink<T>): Promise<T> {
    const { data } = await this.query(promql);
    const result = data.map(({ labels, value }) => ({ metric: labels, value: [0, String(value)] }));
    const into = sink(promql);
    into.write(Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } })));
    return into.end();
  }
}

function setup() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const prometheus = new GappyPrometheus();
  const metrics = new MeshwatchMetrics('test');
  const poller = new Poller({
    config: parseConfig('poll: { interval: 30s, rate_window: 2m }', {}, {}, 'test.yml'),
    prometheus,
    metrics,
    logger: createLogger('info', sink),
  });
  // The plaintext detector scores from the first poll (the traffic one after 12 of them).
  const scored = async () =>
    samplesOf(await metrics.registry.metrics(), 'meshwatch_anomaly_score', { detector: 'plaintext' }).length >
    0;
  const blind = async () =>
    samplesOf(await metrics.registry.metrics(), 'meshwatch_detector_blind', { detector: 'traffic' })[0]
      ?.value;
  return { lines, prometheus, poller, scored, blind };
}

const T0 = 1_700_000_000_000;

describe('after a gap in the whole mesh telemetry', () => {
  it('holds every detector for one rate window, says so, then scores again', async () => {
    const { lines, prometheus, poller, scored, blind } = setup();
    await poller.poll(T0);
    expect(await scored()).toBe(true);

    prometheus.scraped = false;
    await poller.poll(T0 + 30_000);
    expect(await scored()).toBe(false);
    expect(await blind()).toBe(1);

    prometheus.scraped = true;
    // Back at T0 + 60 s: the rate window ending there holds the samples since then only.
    for (const at of [60_000, 90_000, 150_000]) {
      await poller.poll(T0 + at);
      expect(await scored()).toBe(false);
      expect(await blind()).toBe(1);
    }
    await poller.poll(T0 + 180_000);
    expect(await scored()).toBe(true);
    expect(await blind()).toBe(0);
    expect(lines.filter((l) => String(l.msg).startsWith('Istio telemetry is back after a gap'))).toEqual([
      expect.objectContaining({ level: 'info', resumeAt: new Date(T0 + 180_000).toISOString() }),
    ]);
  });

  it('does not hold when the telemetry first appears: there is no baseline to misjudge yet', async () => {
    const { lines, prometheus, poller, scored } = setup();
    prometheus.scraped = false;
    await poller.poll(T0);
    prometheus.scraped = true;
    await poller.poll(T0 + 30_000);
    expect(await scored()).toBe(true);
    expect(lines.filter((l) => String(l.msg).startsWith('Istio telemetry is back'))).toEqual([]);
  });

  it('does not hold a mesh whose telemetry never went away', async () => {
    const { lines, poller, scored } = setup();
    for (const at of [0, 30_000, 60_000]) {
      await poller.poll(T0 + at);
      expect(await scored()).toBe(true);
    }
    expect(lines.filter((l) => String(l.msg).startsWith('Istio telemetry is back'))).toEqual([]);
  });
});
