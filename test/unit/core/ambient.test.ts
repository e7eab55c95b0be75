/**
 * The engine on the meshes Istio users run besides sidecars: ambient workloads seen by ztunnel
 * only at L4, workloads behind a waypoint, and two clusters with same-named workloads. Samples are
 * shaped as the mesh query decodes them (see src/signals/mesh.ts).
 */
import type { EdgeSample } from '../../../src/core/mesh';
import {
  assessmentsOf,
  caller,
  connections,
  DAY,
  defaultOptions,
  deniedConnections,
  denied,
  dest,
  HOUR,
  MINUTE,
  newEngine,
  replay,
  requests,
  scoreOf,
  snapshot,
  T0,
  WINDOW_SECONDS,
} from './factories';

const STEP = 5 * MINUTE;
const defaults = defaultOptions();
const threshold = (detector: keyof typeof defaults.detectors): number =>
  defaults.detectors[detector].threshold;

/** An ambient shop without waypoints: ztunnel reports every connection into each workload. */
const ambient = (): EdgeSample[] => [
  connections('shop/frontend', 'shop/cart', 2),
  connections('shop/cart', 'shop/payments', 0.5),
];

describe('traffic on ambient workloads', () => {
  it('scores a workload seen only at L4 on its connection rate, and one that serves HTTP on its requests', () => {
    const engine = newEngine();
    replay(
      engine,
      T0,
      T0 + DAY,
      STEP,
      () => [...ambient(), requests('shop/frontend', 'shop/catalog', 10)],
      false,
    );
    const result = engine.observe(
      snapshot(T0 + DAY, [...ambient(), requests('shop/frontend', 'shop/catalog', 10)]),
      true,
    );
    expect(
      assessmentsOf(result, 'traffic').map((a) => [a.destination.workload, a.signal, a.observed, a.layers]),
    ).toEqual([
      ['catalog', 'requests_per_second', 10, ['http']],
      ['cart', 'connections_per_second', 2, ['tcp']],
      ['payments', 'connections_per_second', 0.5, ['tcp']],
    ]);
    expect(assessmentsOf(result, 'traffic').every((a) => a.score < threshold('traffic'))).toBe(true);
  });

  it("scores a waypoint-fronted workload on the waypoint's requests, without adding the connections behind them", () => {
    const viaWaypoint = (): EdgeSample[] => [
      requests('shop/frontend', 'shop/cart', 20),
      connections('shop/frontend', 'shop/cart', 2, 'mutual_tls', 'waypoint'),
      connections('shop/waypoint', 'shop/cart', 2),
    ];
    const engine = newEngine();
    replay(engine, T0, T0 + DAY, STEP, viaWaypoint, false);
    const result = engine.observe(snapshot(T0 + DAY, viaWaypoint()), true);
    expect(assessmentsOf(result, 'traffic').map((a) => [a.signal, a.observed])).toEqual([
      ['requests_per_second', 20],
    ]);
    expect(result.mtlsRatios).toEqual([{ destination: dest('shop/cart'), ratio: 1 }]);
  });

  it('starts a new baseline when a workload moves from L4 to HTTP (a waypoint is added), rather than calling it a surge', () => {
    const engine = newEngine();
    replay(engine, T0, T0 + DAY, STEP, () => [connections('shop/frontend', 'shop/cart', 2)], false);
    const after = replay(
      engine,
      T0 + DAY,
      T0 + DAY + HOUR,
      STEP,
      () => [
        requests('shop/frontend', 'shop/cart', 200),
        connections('shop/frontend', 'shop/cart', 2, 'mutual_tls', 'waypoint'),
      ],
      true,
    );
    expect(after.flatMap((r) => r.transitions)).toEqual([]);
    expect(engine.tracked().traffic).toBe(2);
  });

  it('gives an L4-only workload no 5xx ratio: there are no status codes to read', () => {
    const engine = newEngine();
    const [result] = replay(engine, T0, T0 + STEP, STEP, ambient, true);
    expect(assessmentsOf(result, 'errors')).toEqual([]);
  });
});

const mallory = 'shop/mallory';

/** What a fresh engine makes of one live poll. */
const firstPoll = (samples: EdgeSample[]) => newEngine().observe(snapshot(T0, samples), true);

describe('unauthorized on ambient workloads', () => {
  it('finds a flood of connections an L4 policy denied at ztunnel, and names the principal with its layer', () => {
    const engine = newEngine();
    replay(engine, T0, T0 + 2 * DAY, STEP, ambient, false);
    const at = T0 + 2 * DAY;
    const result = engine.observe(
      snapshot(at, [
        ...ambient(),
        connections(mallory, 'shop/payments', 25),
        deniedConnections(mallory, 'shop/payments', 25),
      ]),
      true,
    );
    const [assessment] = assessmentsOf(result, 'unauthorized').filter(
      (a) => a.destination.workload === 'payments',
    );
    expect(assessment?.score).toBeGreaterThanOrEqual(threshold('unauthorized'));
    expect(assessment).toMatchObject({
      signal: 'denied_requests_per_second',
      observed: 25,
      layers: ['tcp'],
      topCallers: [{ caller: caller(mallory), rate: 25, layer: 'tcp', isNew: true }],
    });
    expect(result.unauthorizedCallers).toEqual([
      { destination: dest('shop/payments'), caller: caller(mallory), rate: 25, layer: 'tcp' },
    ]);
  });

  it('adds HTTP denials (a waypoint or sidecar 403) and L4 denials of one workload, each caller with its layer', () => {
    const result = firstPoll([
      requests('shop/frontend', 'shop/cart', 10),
      denied(mallory, 'shop/cart', 3),
      deniedConnections('shop/eve', 'shop/cart', 1),
    ]);
    expect(result.unauthorizedCallers.map((c) => [c.caller.workload, c.layer, c.rate])).toEqual([
      ['mallory', 'http', 3],
      ['eve', 'tcp', 1],
    ]);
  });
});

describe('denials a waypoint answered itself', () => {
  /** A 403 from shop's waypoint: it picked no backend, so Istio names only the service. */
  const deniedAtWaypoint = (service: string, rate: number): EdgeSample => ({
    ...denied('shop/mallory', 'shop/x', rate),
    destination: { cluster: '', namespace: 'shop', workload: '' },
    service: `shop/${service}`,
  });
  /** What the waypoint's other requests say: this workload stands behind this service. */
  const behind = (service: string, workload: string): EdgeSample => ({
    ...requests('shop/frontend', workload, 0),
    kind: 'service_workload',
    service: `shop/${service}`,
  });

  it('are the workload behind the service, when one is', () => {
    const result = firstPoll([
      requests('shop/frontend', 'Kubernetes/shop/payments-v1', 5),
      behind('payments', 'Kubernetes/shop/payments-v1'),
      deniedAtWaypoint('payments', 3),
    ]);
    expect(result.unauthorizedCallers).toEqual([
      { destination: dest('Kubernetes/shop/payments-v1'), caller: caller(mallory), rate: 3, layer: 'http' },
    ]);
  });

  it("are scored under the service's name when several workloads stand behind it", () => {
    const result = firstPoll([
      behind('reviews', 'Kubernetes/shop/reviews-v1'),
      behind('reviews', 'Kubernetes/shop/reviews-v2'),
      deniedAtWaypoint('reviews', 3),
    ]);
    expect(result.unauthorizedCallers).toEqual([
      { destination: dest('Kubernetes/shop/reviews'), caller: caller(mallory), rate: 3, layer: 'http' },
    ]);
  });
});

describe('new callers on L4-only edges', () => {
  it('reports a principal new to an ambient workload from its connections', () => {
    const engine = newEngine();
    replay(engine, T0, T0 + DAY, STEP, ambient, false);
    const result = engine.observe(
      snapshot(T0 + DAY, [...ambient(), connections('shop/mallory', 'shop/payments', 0.1)]),
      true,
    );
    expect(result.newCallers).toEqual([
      { destination: dest('shop/payments'), caller: caller('shop/mallory'), rate: 0.1, layer: 'tcp' },
    ]);
    expect(scoreOf(result, 'new_caller', 'shop/payments')).toBeCloseTo(0.1 * WINDOW_SECONDS, 9);
  });

  it('counts a new caller seen at L7 and at L4 once, by its requests', () => {
    const engine = newEngine();
    replay(engine, T0, T0 + DAY, STEP, ambient, false);
    const result = engine.observe(
      snapshot(T0 + DAY, [
        ...ambient(),
        requests('shop/mallory', 'shop/cart', 4),
        connections('shop/mallory', 'shop/cart', 0.4, 'mutual_tls', 'waypoint'),
      ]),
      true,
    );
    expect(result.newCallers).toEqual([
      { destination: dest('shop/cart'), caller: caller('shop/mallory'), rate: 4, layer: 'http' },
    ]);
  });
});

describe('two clusters', () => {
  it('tracks, scores and names same-named workloads in two clusters apart', () => {
    const twoClusters = (): EdgeSample[] => [
      requests('cluster-a/shop/frontend', 'cluster-a/shop/cart', 10),
      requests('cluster-b/shop/frontend', 'cluster-b/shop/cart', 10),
    ];
    const engine = newEngine();
    replay(engine, T0, T0 + DAY, STEP, twoClusters, false);
    const polls = replay(
      engine,
      T0 + DAY,
      T0 + DAY + HOUR,
      STEP,
      () => [
        ...twoClusters(),
        requests('cluster-b/shop/mallory', 'cluster-b/shop/cart', 30),
        denied('cluster-b/shop/mallory', 'cluster-b/shop/cart', 30),
      ],
      true,
    );
    expect(engine.tracked().traffic).toBe(2);
    const opened = [...new Set(polls.flatMap((r) => r.transitions.map((t) => t.finding.id)))].sort();
    expect(opened).toEqual([
      'new_caller/cluster-b/shop/cart',
      'traffic/cluster-b/shop/cart',
      'unauthorized/cluster-b/shop/cart',
    ]);
  });

  it('reports a known principal calling from a cluster it never called from, but not one whose cluster is unknown', () => {
    const engine = newEngine();
    const known = (): EdgeSample[] => [connections('cluster-a/shop/cart', 'cluster-a/data/ledger', 1)];
    replay(engine, T0, T0 + DAY, STEP, known, false);
    const twin = engine.observe(
      snapshot(T0 + DAY, [...known(), connections('cluster-b/shop/cart', 'cluster-a/data/ledger', 0.2)]),
      true,
    );
    expect(twin.newCallers).toEqual([
      {
        destination: dest('cluster-a/data/ledger'),
        caller: caller('cluster-b/shop/cart'),
        rate: 0.2,
        layer: 'tcp',
      },
    ]);
    const unknownCluster = engine.observe(
      snapshot(T0 + DAY + STEP, [...known(), connections('unknown/shop/cart', 'cluster-a/data/ledger', 0.2)]),
      true,
    );
    expect(unknownCluster.newCallers).toEqual([]);
  });
});

describe('a detector blind on one layer', () => {
  it('reads the other layer, and says nothing of the blind one', () => {
    const engine = newEngine();
    const [result] = replay(
      engine,
      T0,
      T0 + STEP,
      STEP,
      () => [
        requests('legacy/cron', 'shop/cart', 1, 'none'),
        connections('legacy/batch', 'shop/payments', 1, 'unknown'),
      ],
      true,
    );
    const blindOnTcp = newEngine().observe(
      snapshot(T0, [
        requests('legacy/cron', 'shop/cart', 1, 'none'),
        connections('legacy/batch', 'shop/payments', 1, 'unknown'),
      ]),
      true,
      new Set(['plaintext:tcp'] as const),
    );
    expect(assessmentsOf(result, 'plaintext').map((a) => a.destination.workload)).toEqual([
      'cart',
      'payments',
    ]);
    expect(assessmentsOf(blindOnTcp, 'plaintext').map((a) => a.destination.workload)).toEqual(['cart']);
  });
});
