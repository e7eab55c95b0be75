import { Writable } from 'node:stream';
import { createLogger } from '../../../src/adapters/logger';
import { MeshwatchMetrics } from '../../../src/adapters/metrics/metrics';
import type { BodySink } from '../../../src/adapters/prometheus/types';
import { Poller, type InstantQueryApi } from '../../../src/app/poller';
import { parseConfig } from '../../../src/config/load';
import { PrometheusUnavailable } from '../../../src/errors';
import type { InstantSample } from '../../../src/signals/types';
import { samplesOf } from '../../helpers/metrics-text';

const config = parseConfig('', {}, {}, 'test.yml');

const HTTP_LABELS = [
  'reporter',
  'connection_security_policy',
  'destination_workload',
  'source_workload',
  'source_principal',
  'response_code',
];
const TCP_LABELS = ['reporter', 'connection_security_policy', 'destination_workload', 'source_principal'];
const CLOSED_LABELS = ['reporter', 'destination_workload', 'source_principal', 'response_flags'];

/** Answers the two queries of a poll from fixed data, or fails, like a Prometheus would. */
class FakePrometheus implements InstantQueryApi {
  security: InstantSample[] = [];
  /** The Istio metrics Prometheus has, each with the labels its series carry (a sidecar HTTP mesh by default). */
  telemetry: Record<string, string[]> = { istio_requests_total: HTTP_LABELS };
  failure: Error | undefined;
  warnings: string[] = [];
  async query(promql: string): Promise<{ data: InstantSample[]; warnings: string[] }> {
    if (this.failure) throw this.failure;
    if (promql.includes('group(')) {
      const data = Object.entries(this.telemetry).flatMap(([metric, labels]) =>
        ['__any__', ...labels].map((label) => ({ labels: { metric, label }, value: 1, timeMs: 0 })),
      );
      return { data, warnings: [] };
    }
    return { data: this.security, warnings: this.warnings };
  }
  /** The mesh query's answer as the body Prometheus would send, to the poller's own decoder. */
  async queryWith<T>(promql: string, sink: (query: string) => BodySink<T>): Promise<T> {
    const { data, warnings } = await this.query(promql);
    const result = data.map(({ labels, value, timeMs }) => ({
      metric: labels,
      value: [timeMs / 1000, String(value)],
    }));
    const tail = warnings.length > 0 ? `,"warnings":${JSON.stringify(warnings)}` : '';
    const into = sink(promql);
    into.write(
      Buffer.from(
        `{"status":"success","data":{"resultType":"vector","result":${JSON.stringify(result)}}${tail}}`,
      ),
    );
    return into.end();
  }
}

/** What ztunnel alone reports: an ambient mesh without waypoints. */
const AMBIENT_TELEMETRY = {
  istio_tcp_connections_opened_total: TCP_LABELS,
  istio_tcp_connections_closed_total: CLOSED_LABELS,
};

const edge = (from: string, to: string, policy: string, rate: number, kind = 'requests'): InstantSample => ({
  labels: {
    destination_workload_namespace: to.split('/')[0] as string,
    destination_workload: to.split('/')[1] as string,
    source_workload_namespace: from.split('/')[0] as string,
    source_workload: from.split('/')[1] as string,
    source_principal:
      policy === 'none' || policy === 'unknown'
        ? 'unknown'
        : `spiffe://cluster.local/ns/${from.split('/')[0]}/sa/${from.split('/')[1]}`,
    connection_security_policy: policy,
    ...(kind === 'tcp_connections' ? { reporter: 'destination' } : {}),
    meshwatch_kind: kind,
  },
  value: rate,
  timeMs: 0,
});

function setup() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const prometheus = new FakePrometheus();
  const metrics = new MeshwatchMetrics('test');
  let now = 1_700_000_000_000;
  const poller = new Poller({
    config,
    prometheus,
    metrics,
    logger: createLogger('debug', sink),
    now: () => now,
  });
  return { lines, prometheus, metrics, poller, advance: (ms: number) => (now += ms), now: () => now };
}

describe('a poll', () => {
  it('exports plaintext callers, mTLS ratios and a finding for plaintext traffic', async () => {
    const { prometheus, metrics, poller, now } = setup();
    prometheus.security = [
      edge('shop/frontend', 'shop/cart', 'mutual_tls', 3),
      edge('legacy/batch', 'shop/cart', 'none', 1),
      edge('shop/frontend', 'shop/payments', 'mutual_tls', 2),
    ];
    await poller.poll(now());
    const text = await metrics.registry.metrics();
    expect(
      samplesOf(text, 'meshwatch_plaintext_requests_per_second').map((s) => [s.labels, s.value]),
    ).toEqual([
      [
        {
          destination_cluster: '',
          destination_namespace: 'shop',
          destination_workload: 'cart',
          source_cluster: '',
          source_workload_namespace: 'legacy',
          source_workload: 'batch',
          layer: 'http',
        },
        1,
      ],
    ]);
    expect(
      samplesOf(text, 'meshwatch_mtls_ratio').map((s) => [s.labels.destination_workload, s.value]),
    ).toEqual([
      ['cart', 0.75],
      ['payments', 1],
    ]);
    expect(
      samplesOf(text, 'meshwatch_anomaly_score', { detector: 'plaintext' }).map((s) => [
        s.labels.destination_workload,
        s.value,
      ]),
    ).toEqual([
      ['cart', 120],
      ['payments', 0],
    ]);
    expect(samplesOf(text, 'meshwatch_detector_threshold').map((s) => [s.labels.detector, s.value])).toEqual([
      ['unauthorized', 5],
      ['new_caller', 1],
      ['plaintext', 1],
      ['traffic', 5],
      ['errors', 4],
    ]);
    expect(samplesOf(text, 'meshwatch_prometheus_up')[0]?.value).toBe(1);
    const doc = poller.findingsDocument();
    expect(doc.status).toBe('ok');
    expect(doc.findings.map((f) => [f.id, f.top_callers.map((c) => c.source_workload), f.stale])).toEqual([
      ['plaintext/shop/cart', ['batch'], false],
    ]);
  });

  it('keeps the last findings marked stale when Prometheus cannot be reached, and recovers on the next poll', async () => {
    const { prometheus, metrics, poller, lines, advance, now } = setup();
    prometheus.security = [edge('legacy/batch', 'shop/cart', 'none', 1)];
    await poller.poll(now());
    prometheus.failure = new PrometheusUnavailable(
      'cannot reach Prometheus at http://127.0.0.1:9/: connect ECONNREFUSED',
      { url: 'http://127.0.0.1:9/', query: 'up' },
    );
    advance(30_000);
    await poller.poll(now());
    let text = await metrics.registry.metrics();
    expect(samplesOf(text, 'meshwatch_prometheus_up')[0]?.value).toBe(0);
    expect(samplesOf(text, 'meshwatch_poll_failures_total')[0]?.value).toBe(1);
    expect(samplesOf(text, 'meshwatch_polls_total')[0]?.value).toBe(2);
    expect(poller.findingsDocument()).toMatchObject({
      status: 'stale',
      error: 'cannot reach Prometheus at http://127.0.0.1:9/: connect ECONNREFUSED',
    });
    expect(poller.findingsDocument().findings.map((f) => [f.id, f.stale])).toEqual([
      ['plaintext/shop/cart', true],
    ]);
    expect(lines.filter((l) => l.level === 'error')).toEqual([
      expect.objectContaining({
        msg: 'poll failed; keeping the last findings, marked stale',
        error: {
          code: 'MW_ERR_PROMETHEUS_UNAVAILABLE',
          message: 'cannot reach Prometheus at http://127.0.0.1:9/: connect ECONNREFUSED',
          query: 'up',
        },
      }),
    ]);
    prometheus.failure = undefined;
    advance(30_000);
    await poller.poll(now());
    text = await metrics.registry.metrics();
    expect(samplesOf(text, 'meshwatch_prometheus_up')[0]?.value).toBe(1);
    expect(poller.findingsDocument().findings.map((f) => f.stale)).toEqual([false]);
  });

  it('says loudly that it is blind when the mesh strips connection_security_policy, and claims nothing', async () => {
    const { prometheus, metrics, poller, lines, now } = setup();
    prometheus.telemetry = {
      istio_requests_total: HTTP_LABELS.filter((l) => l !== 'connection_security_policy'),
    };
    prometheus.security = [edge('shop/frontend', 'shop/cart', '', 3)];
    await poller.poll(now());
    const text = await metrics.registry.metrics();
    expect(
      samplesOf(text, 'meshwatch_required_labels_present', {
        metric: 'istio_requests_total',
        label: 'connection_security_policy',
      })[0]?.value,
    ).toBe(0);
    expect(
      samplesOf(text, 'meshwatch_required_labels_present', {
        metric: 'istio_requests_total',
        label: 'reporter',
      })[0]?.value,
    ).toBe(1);
    expect(samplesOf(text, 'meshwatch_anomaly_score', { detector: 'plaintext' })).toEqual([]);
    expect(samplesOf(text, 'meshwatch_mtls_ratio')).toEqual([]);
    // The detectors that do not need the label go on.
    expect(samplesOf(text, 'meshwatch_anomaly_score', { detector: 'new_caller' }).length).toBe(1);
    expect(lines.filter((l) => l.level === 'warn').map((l) => [l.label, l.msg])).toEqual([
      [
        'connection_security_policy',
        "Istio telemetry lacks the label connection_security_policy on istio_requests_total (stripped by the mesh's telemetry settings?): detectors that cannot read HTTP traffic until it is back: plaintext",
      ],
    ]);
    expect(samplesOf(text, 'meshwatch_detector_blind').map((s) => [s.labels.detector, s.value])).toEqual([
      ['unauthorized', 0],
      ['new_caller', 0],
      ['plaintext', 1],
      ['traffic', 0],
      ['errors', 0],
    ]);
    // The warning is for the change, not repeated every poll.
    await poller.poll(now());
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('reads an ambient mesh without waypoints as an L4 mesh: scores connections, finds plaintext into it, blind to nothing', async () => {
    const { prometheus, metrics, poller, lines, now } = setup();
    prometheus.telemetry = AMBIENT_TELEMETRY;
    prometheus.security = [
      edge('shop/frontend', 'shop/cart', 'mutual_tls', 3, 'tcp_connections'),
      edge('legacy/batch', 'shop/cart', 'unknown', 1, 'tcp_connections'),
    ];
    await poller.poll(now());
    const text = await metrics.registry.metrics();
    expect(samplesOf(text, 'meshwatch_telemetry_present').map((s) => [s.labels.metric, s.value])).toEqual([
      ['istio_requests_total', 0],
      ['istio_tcp_connections_opened_total', 1],
      ['istio_tcp_connections_closed_total', 1],
    ]);
    expect(samplesOf(text, 'meshwatch_required_labels_present').filter((s) => s.value !== 1)).toEqual([]);
    expect(samplesOf(text, 'meshwatch_detector_blind').filter((s) => s.value !== 0)).toEqual([]);
    // Nothing about telemetry to warn of: the one warning is the plaintext finding.
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['finding opened']);
    expect(lines.filter((l) => l.level === 'info').map((l) => l.msg)).toContain(
      'Istio telemetry in Prometheus: TCP telemetry only: an ambient mesh without waypoints (ztunnel), or sidecars serving only TCP; traffic scores connection rates, unauthorized counts L4 denials, and errors has nothing to score (no HTTP telemetry)',
    );
    expect(
      samplesOf(text, 'meshwatch_plaintext_requests_per_second').map((s) => [
        s.labels.source_workload,
        s.labels.layer,
        s.value,
      ]),
    ).toEqual([['batch', 'tcp', 1]]);
    expect(samplesOf(text, 'meshwatch_mtls_ratio').map((s) => s.value)).toEqual([0.75]);
    expect(poller.findingsDocument().findings.map((f) => [f.id, f.layers])).toEqual([
      ['plaintext/shop/cart', ['tcp']],
    ]);
  });

  it('says once that there is no Istio telemetry at all, and that every detector is blind', async () => {
    const { prometheus, metrics, poller, lines, now } = setup();
    prometheus.telemetry = {};
    await poller.poll(now());
    await poller.poll(now());
    const text = await metrics.registry.metrics();
    expect(samplesOf(text, 'meshwatch_detector_blind').every((s) => s.value === 1)).toBe(true);
    expect(samplesOf(text, 'meshwatch_required_labels_present').every((s) => s.value === 0)).toBe(true);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'no Istio telemetry in Prometheus (neither istio_requests_total nor istio_tcp_connections_opened_total): is Istio scraped (sidecars, ztunnel, waypoints)? Every detector reports nothing until it is',
    ]);
  });

  it("surfaces Prometheus's warnings (partial responses) in a counter and a log line", async () => {
    const { prometheus, metrics, poller, lines, now } = setup();
    prometheus.warnings = ['partial response: store-gateway unavailable'];
    await poller.poll(now());
    expect(
      samplesOf(await metrics.registry.metrics(), 'meshwatch_prometheus_query_warnings_total')[0]?.value,
    ).toBe(1);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.warning)).toEqual([
      'partial response: store-gateway unavailable',
    ]);
  });

  it('logs one line per poll at debug', async () => {
    const { poller, lines, now } = setup();
    await poller.poll(now());
    expect(lines.filter((l) => l.msg === 'poll done')).toEqual([
      expect.objectContaining({
        level: 'debug',
        series: 0,
        findings: 0,
        evaluatedAt: new Date(now()).toISOString(),
      }),
    ]);
  });
});
