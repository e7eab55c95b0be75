/**
 * meshwatch on telemetry that Istio wrote (test/fixtures/istio, with its provenance): a real
 * ztunnel scrape of bookinfo in ambient mode, alone (an L4-only mesh) and beside a real sidecar
 * series and istio/proxy's expectations of sidecars and waypoints checked against real Envoys
 * (a mixed mesh, with clusters). A real Prometheus scrapes them with the labels untouched and the
 * counters growing; the daemon warms up over that history, polls live through a quiet spell, and
 * then through incidents played as copies of real series with only the labels each incident
 * changes rewritten (named below).
 */
import { samplesOf } from '../helpers/metrics-text';
import {
  FixtureTarget,
  istioProxy,
  pick,
  sidecarReviews,
  withLabels,
  ztunnelBookinfo,
  type FixtureSeries,
} from '../helpers/istio-fixtures';
import { startMeshwatch, type RunningMeshwatch } from '../helpers/meshwatch';
import { waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';

const SECOND = 1000;
const HISTORY_MS = 40 * SECOND;
const QUIET_POLLS = 10;
const OPENED = 'istio_tcp_connections_opened_total';
const CLOSED = 'istio_tcp_connections_closed_total';

const BOOKINFO = ztunnelBookinfo();
/** ztunnel's inbound view of one bookinfo edge (`reporter="destination"`). */
const inbound = (metric: string, from: string, to: string): FixtureSeries =>
  pick(BOOKINFO, metric, { reporter: 'destination', source_workload: from, destination_workload: to });

// The capture is a few minutes of bookinfo's traffic generator; a tenth of each count per second
// keeps every edge busy enough that a rate over a few seconds is not mostly rounding.
const quietBookinfo = (target: FixtureTarget): void => {
  for (const s of BOOKINFO) target.add(s, s.value / 10);
};

/**
 * The three incidents on ztunnel's real label sets, as ztunnel would record them:
 * - plaintext into an ambient workload: traffic-gen's connections to productpage arrive without
 *   HBONE (the inbound passthrough), so ztunnel writes connection_security_policy="unknown" and
 *   source_principal="unknown", still naming the pod it looked up by address;
 * - an L4 deny flood: an AuthorizationPolicy at ratings' ztunnel refuses reviews' connections:
 *   counted as opened (flags "-") and closed with response_flags="DENY";
 * - a new principal: ratings (bookinfo-ratings) starts connecting to details, which only
 *   productpage ever called.
 */
function bookinfoIncidents(target: FixtureTarget): void {
  const plaintext = { connection_security_policy: 'unknown', source_principal: 'unknown' };
  target.add(withLabels(inbound(OPENED, 'traffic-gen', 'productpage-v1'), plaintext), 2);
  target.add(withLabels(inbound(CLOSED, 'traffic-gen', 'productpage-v1'), plaintext), 2);
  target.add(inbound(OPENED, 'reviews-v2', 'ratings-v1'), 50);
  target.add(withLabels(inbound(CLOSED, 'reviews-v2', 'ratings-v1'), { response_flags: 'DENY' }), 50);
  const ratings = {
    source_workload: 'ratings-v1',
    source_canonical_service: 'ratings',
    source_app: 'ratings',
    source_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings',
  };
  target.add(withLabels(inbound(OPENED, 'productpage-v1', 'details-v1'), ratings), 1);
  target.add(withLabels(inbound(CLOSED, 'productpage-v1', 'details-v1'), ratings), 1);
}

/** A mixed mesh: bookinfo in ambient mode beside sidecars and a waypoint, in four clusters. */
function quietMixed(target: FixtureTarget): void {
  quietBookinfo(target);
  for (const s of [
    ...sidecarReviews(), // reviews-v1's sidecar in Kubernetes, mid-migration
    ...istioProxy('tcp_server_connection_open'), // a sidecar's TCP service, client-cluster -> server-cluster
    ...istioProxy('tcp_server_connection_open_without_mx'), // the same in test-cluster, caller known by certificate only
    ...istioProxy('server_waypoint_proxy_connect_request_total'), // a waypoint in server-cluster, over HBONE
    ...istioProxy('server_waypoint_proxy_connect_connections_opened_total'),
  ]) {
    target.add(s, 2);
  }
}

/** Plaintext as Istio's own expectations have it, at a sidecar and at a waypoint, and the L4 deny flood. */
function mixedIncidents(target: FixtureTarget): void {
  for (const s of [
    ...istioProxy('server_request_total'),
    ...istioProxy('server_waypoint_proxy_request_total'),
  ]) {
    target.add(s, 2);
  }
  target.add(inbound(OPENED, 'reviews-v2', 'ratings-v1'), 50);
  target.add(withLabels(inbound(CLOSED, 'reviews-v2', 'ratings-v1'), { response_flags: 'DENY' }), 50);
}

interface Mesh {
  target: FixtureTarget;
  prometheus: RunningPrometheus;
  meshwatch: RunningMeshwatch;
  quietMetrics: string;
  quietFindings: unknown[];
  incidentMs: number;
}

async function startMesh(
  quiet: (t: FixtureTarget) => void,
): Promise<Omit<Mesh, 'meshwatch' | 'quietMetrics' | 'quietFindings' | 'incidentMs'>> {
  const target = new FixtureTarget();
  quiet(target);
  const address = await target.start();
  const prometheus = await startPrometheus({ targets: [address], scrapeInterval: '1s' });
  return { target, prometheus };
}

const opened = (mw: RunningMeshwatch) => mw.logLines().filter((l) => l.msg === 'finding opened');

/** Polls (seconds) from the incident to each finding's opening, by finding destination and detector. */
function delays(mw: RunningMeshwatch, incidentMs: number): Record<string, number> {
  return Object.fromEntries(
    opened(mw).map((l) => [
      `${String(l.detector)}/${String(l.destination)}`,
      Math.round((Date.parse(String(l.time)) - incidentMs) / SECOND),
    ]),
  );
}

describe('meshwatch on telemetry Istio wrote, scraped by a real Prometheus', () => {
  const meshes: Partial<Record<'ambient' | 'mixed', Mesh>> = {};

  beforeAll(async () => {
    // Both meshes run side by side: their history, quiet polls and incidents share the wall clock.
    const [ambient, mixed] = await Promise.all([startMesh(quietBookinfo), startMesh(quietMixed)]);
    await new Promise((r) => setTimeout(r, HISTORY_MS));
    const config = (url: string) => ({
      prometheus: { url },
      poll: { interval: '1s', rate_window: '5s' },
      warmup: { lookback: `${HISTORY_MS / SECOND - 5}s`, step: '1s' },
      log: { level: 'info' },
    });
    const [mwA, mwB] = await Promise.all([
      startMeshwatch(config(ambient.prometheus.url)),
      startMeshwatch(config(mixed.prometheus.url)),
    ]);
    for (const mw of [mwA, mwB]) {
      await waitFor(
        'meshwatch to finish its warm-up',
        async () => (await fetch(`${mw.url}/readyz`)).ok,
        30_000,
        250,
      );
    }
    await new Promise((r) => setTimeout(r, QUIET_POLLS * SECOND));
    const quiet = await Promise.all(
      [mwA, mwB].map(async (mw) => ({
        metrics: await mw.metrics(),
        findings: (await mw.findings()).findings,
      })),
    );
    const incidentMs = Date.now();
    bookinfoIncidents(ambient.target);
    mixedIncidents(mixed.target);
    meshes.ambient = {
      ...ambient,
      meshwatch: mwA,
      quietMetrics: quiet[0]?.metrics ?? '',
      quietFindings: quiet[0]?.findings ?? [],
      incidentMs,
    };
    meshes.mixed = {
      ...mixed,
      meshwatch: mwB,
      quietMetrics: quiet[1]?.metrics ?? '',
      quietFindings: quiet[1]?.findings ?? [],
      incidentMs,
    };
    // Long enough for the slowest expected finding (unauthorized opens after 2 polls over the
    // threshold, and a new series needs two scrapes in the 5s rate window) with a wide margin.
    await waitFor(
      'the findings of both meshes',
      async () =>
        [
          'unauthorized/Kubernetes/default/ratings-v1',
          'plaintext/Kubernetes/default/productpage-v1',
          'new_caller/Kubernetes/default/details-v1',
        ].every((f) => f in delays(mwA, incidentMs)) &&
        [
          'unauthorized/Kubernetes/default/ratings-v1',
          'plaintext/server-cluster/default/ratings-v1',
          'plaintext/default/ratings-v1',
        ].every((f) => f in delays(mwB, incidentMs)),
      40_000,
      500,
    ).catch(() => undefined); // the assertions below say what is missing
    // Let the side effects of the incidents (traffic, below) settle before the whole-set checks.
    await new Promise((r) => setTimeout(r, 8 * SECOND));
  }, 180_000);

  afterAll(async () => {
    for (const mesh of Object.values(meshes)) {
      await mesh.meshwatch.stop('SIGKILL');
      await mesh.prometheus.stop();
      await mesh.target.stop();
      removeDir(mesh.prometheus.dir);
    }
  });

  describe('a real ztunnel scrape of bookinfo in ambient mode (L4 only)', () => {
    it('reads it as an L4 mesh with nothing missing, and scores every workload on connections, over mTLS', () => {
      const { quietMetrics: text, quietFindings } = meshes.ambient as Mesh;
      expect(quietFindings).toEqual([]);
      expect(samplesOf(text, 'meshwatch_telemetry_present').map((s) => [s.labels.metric, s.value])).toEqual([
        ['istio_requests_total', 0],
        ['istio_tcp_connections_opened_total', 1],
        ['istio_tcp_connections_closed_total', 1],
      ]);
      expect(samplesOf(text, 'meshwatch_required_labels_present').filter((s) => s.value !== 1)).toEqual([]);
      expect(samplesOf(text, 'meshwatch_detector_blind').filter((s) => s.value !== 0)).toEqual([]);
      const workloads = [
        'details-v1',
        'productpage-v1',
        'ratings-v1',
        'reviews-v1',
        'reviews-v2',
        'reviews-v3',
      ];
      expect(
        samplesOf(text, 'meshwatch_mtls_ratio')
          .map((s) => [s.labels.destination_cluster, s.labels.destination_workload, s.value])
          .sort(),
      ).toEqual(workloads.map((w) => ['Kubernetes', w, 1]));
      expect(
        samplesOf(text, 'meshwatch_signal_observed', { signal: 'connections_per_second' })
          .map((s) => s.labels.destination_workload)
          .sort(),
      ).toEqual(workloads);
      expect(samplesOf(text, 'meshwatch_anomaly_score', { detector: 'errors' })).toEqual([]);
    });

    it('finds plaintext into an ambient workload, an L4 deny flood and a new principal, each at the right workload', async () => {
      const { meshwatch: mw, incidentMs } = meshes.ambient as Mesh;
      const found = delays(mw, incidentMs);
      process.stdout.write(
        `ambient (real ztunnel series): polls from incident to finding ${JSON.stringify(found)}\n`,
      );
      expect(Object.keys(found).sort()).toEqual([
        'new_caller/Kubernetes/default/details-v1',
        'plaintext/Kubernetes/default/productpage-v1',
        // 50 denied connections/s more on ratings' 5/s: its connection rate is far out of its band too.
        'traffic/Kubernetes/default/ratings-v1',
        'unauthorized/Kubernetes/default/ratings-v1',
      ]);
      expect(found['plaintext/Kubernetes/default/productpage-v1']).toBeLessThanOrEqual(5);
      expect(found['new_caller/Kubernetes/default/details-v1']).toBeLessThanOrEqual(5);
      expect(found['unauthorized/Kubernetes/default/ratings-v1']).toBeLessThanOrEqual(8);
      const findings = (await mw.findings()).findings as Array<Record<string, unknown>>;
      const byId = (id: string) => findings.find((f) => f.id === id) as Record<string, unknown> | undefined;
      expect(byId('unauthorized/Kubernetes/default/ratings-v1')).toMatchObject({
        destination_cluster: 'Kubernetes',
        layers: ['tcp'],
        top_callers: [
          expect.objectContaining({
            source_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews',
            layer: 'tcp',
          }),
        ],
      });
      expect(byId('plaintext/Kubernetes/default/productpage-v1')).toMatchObject({
        layers: ['tcp'],
        top_callers: [
          expect.objectContaining({
            source_workload: 'traffic-gen',
            source_principal: 'unknown',
            layer: 'tcp',
          }),
        ],
      });
      expect(byId('new_caller/Kubernetes/default/details-v1')).toMatchObject({
        top_callers: [
          expect.objectContaining({
            source_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings',
            layer: 'tcp',
            new: true,
          }),
        ],
      });
    });
  });

  describe('the same beside real sidecar and waypoint series, across clusters (a mixed mesh)', () => {
    it('reads both layers with nothing missing and tells same-named workloads of four clusters apart, quietly', () => {
      const { quietMetrics: text, quietFindings } = meshes.mixed as Mesh;
      expect(quietFindings).toEqual([]);
      expect(samplesOf(text, 'meshwatch_telemetry_present').every((s) => s.value === 1)).toBe(true);
      expect(samplesOf(text, 'meshwatch_required_labels_present').filter((s) => s.value !== 1)).toEqual([]);
      expect(
        samplesOf(text, 'meshwatch_anomaly_score', {
          detector: 'traffic',
          destination_workload: 'ratings-v1',
        })
          .map((s) => s.labels.destination_cluster)
          .sort(),
      ).toEqual(['Kubernetes', 'server-cluster', 'test-cluster']);
      // The waypoint serves server-cluster's ratings over HTTP: scored on its requests.
      expect(
        samplesOf(text, 'meshwatch_signal_observed', { destination_cluster: 'server-cluster' })
          .map((s) => s.labels.signal)
          .sort(),
      ).toEqual([
        'denied_requests_per_second',
        'new_caller_requests_per_second',
        'plaintext_requests_per_second',
        'requests_per_second',
        'server_error_ratio',
      ]);
    });

    it('finds plaintext at a sidecar and at a waypoint, and the L4 deny flood, each in its own cluster', async () => {
      const { meshwatch: mw, incidentMs } = meshes.mixed as Mesh;
      const found = delays(mw, incidentMs);
      process.stdout.write(
        `mixed (real sidecar, waypoint and ztunnel series): polls from incident to finding ${JSON.stringify(found)}\n`,
      );
      expect(Object.keys(found).sort()).toEqual([
        // istio/proxy's sidecar expectation has no cluster labels: a workload with no cluster, apart from the others.
        // Its destination is new, so its caller is new too.
        'new_caller/default/ratings-v1',
        // Not new at server-cluster's ratings: the waypoint's plaintext caller, productpage-v1 of
        // client-cluster, is known there by its identity (the sidecar TCP edge): a known workload
        // that falls back to plaintext is the plaintext finding, not a stranger.
        'plaintext/default/ratings-v1',
        'plaintext/server-cluster/default/ratings-v1',
        'traffic/Kubernetes/default/ratings-v1',
        'unauthorized/Kubernetes/default/ratings-v1',
      ]);
      expect(found['plaintext/default/ratings-v1']).toBeLessThanOrEqual(5);
      expect(found['plaintext/server-cluster/default/ratings-v1']).toBeLessThanOrEqual(5);
      expect(found['unauthorized/Kubernetes/default/ratings-v1']).toBeLessThanOrEqual(8);
      const findings = (await mw.findings()).findings as Array<Record<string, unknown>>;
      expect(findings.find((f) => f.id === 'plaintext/server-cluster/default/ratings-v1')).toMatchObject({
        layers: ['http'],
        top_callers: [
          expect.objectContaining({
            source_workload: 'productpage-v1',
            source_cluster: 'client-cluster',
            layer: 'http',
          }),
        ],
      });
    });
  });
});
