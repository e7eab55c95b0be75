import { collectHistory, factsOf, type AuditPrometheus } from '../../../src/audit/collect';
import { parseConfig } from '../../../src/config/load';
import type { Config } from '../../../src/config/types';
import { PrometheusQueryError } from '../../../src/errors';
import type { InstantSample, QueryRange, RangeSeries } from '../../../src/adapters/prometheus/types';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5);

function config(maxSamplesPerQuery?: number): Config {
  const base = parseConfig(undefined, {}, {}, 'test');
  return maxSamplesPerQuery === undefined
    ? base
    : { ...base, warmup: { ...base.warmup, maxSamplesPerQuery } };
}

/**
 * An in-memory Prometheus for the audit's queries: each range query answers `series` with one
 * sample per step at a constant rate; instant queries answer the facts queries from `facts`.
 */
class FakePrometheus implements AuditPrometheus {
  readonly ranges: Array<{ promql: string; range: QueryRange }> = [];
  readonly instants: string[] = [];
  refuse = 0;

  constructor(
    private readonly series: Array<{ labels: Record<string, string>; rate: number }>,
    private readonly facts: { requests: InstantSample[]; connections: InstantSample[] } = {
      requests: [],
      connections: [],
    },
  ) {}

  queryRange(promql: string, range: QueryRange): Promise<{ data: RangeSeries[]; warnings: string[] }> {
    this.ranges.push({ promql, range });
    if (this.refuse > 0) {
      this.refuse -= 1;
      return Promise.reject(
        new PrometheusQueryError('query processing would load too many samples', {
          status: 422,
          query: promql,
        }),
      );
    }
    const times: number[] = [];
    for (let t = range.startMs; t <= range.endMs; t += range.stepMs) times.push(t);
    return Promise.resolve({
      data: this.series.map(({ labels, rate }) => ({ labels, samples: times.map((t) => [t, rate]) })),
      warnings: [],
    });
  }

  query(promql: string): Promise<{ data: InstantSample[]; warnings: string[] }> {
    this.instants.push(promql);
    const data = promql.includes('istio_requests_total') ? this.facts.requests : this.facts.connections;
    return Promise.resolve({ data, warnings: [] });
  }
}

const hoursOf = (fake: FakePrometheus): Array<[number, number]> =>
  fake.ranges.map(({ range }) => [(range.startMs - T0) / HOUR, (range.endMs - T0) / HOUR]);

const series = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    labels: {
      meshwatch_kind: 'requests',
      destination_cluster: 'east',
      destination_workload_namespace: 'shop',
      destination_workload: `w${i}`,
      source_principal: 'spiffe://cluster.local/ns/web/sa/frontend',
      source_workload_namespace: 'web',
      source_workload: 'frontend',
      connection_security_policy: 'mutual_tls',
    },
    rate: 1,
  }));

describe('collectHistory chunking', () => {
  it('reads hourly steps, a first small chunk and then chunks sized by the series count', async () => {
    const fake = new FakePrometheus(series(10));
    const progress: Array<[number, number]> = [];
    const history = await collectHistory(fake, {
      fromMs: T0,
      toMs: T0 + 168 * HOUR,
      config: config(100),
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(hoursOf(fake)).toEqual([
      [1, 60],
      ...Array.from({ length: 10 }, (_, i): [number, number] => [61 + 10 * i, 70 + 10 * i]),
      [161, 168],
    ]);
    expect(fake.ranges.every(({ range }) => range.stepMs === HOUR)).toBe(true);
    expect(progress).toEqual([
      [0, 168],
      [60, 168],
      ...Array.from({ length: 10 }, (_, i): [number, number] => [70 + 10 * i, 168]),
      [168, 168],
    ]);
    // Each step is the hour before it.
    expect(history.edges[0]?.hours.length).toBe(168);
    expect(history.edges[0]?.firstSeenMs).toBe(T0);
    expect(history.edges[0]?.lastSeenMs).toBe(T0 + 168 * HOUR);
    expect(history.edges[0]?.total.requests).toBe(168 * 3600);
  });

  it("never asks for more than Prometheus's 11,000 points per series", async () => {
    const fake = new FakePrometheus(series(1));
    await collectHistory(fake, { fromMs: T0, toMs: T0 + 12_000 * HOUR, config: config(1e9) });
    expect(hoursOf(fake)).toEqual([
      [1, 60],
      [61, 11_060],
      [11_061, 12_000],
    ]);
  });

  it('halves a chunk Prometheus refuses as too large, and keeps later chunks under it', async () => {
    const fake = new FakePrometheus(series(1));
    fake.refuse = 1;
    await collectHistory(fake, { fromMs: T0, toMs: T0 + 100 * HOUR, config: config() });
    expect(hoursOf(fake)).toEqual([
      [1, 60],
      [1, 30],
      [31, 60],
      [61, 90],
      [91, 100],
    ]);
  });

  it('gives up on a failure Prometheus itself has (no retry in a command)', async () => {
    const fake: AuditPrometheus = {
      queryRange: () => Promise.reject(new PrometheusQueryError('internal', { status: 503, query: 'q' })),
      query: () => Promise.resolve({ data: [], warnings: [] }),
    };
    await expect(collectHistory(fake, { fromMs: T0, toMs: T0 + 3 * HOUR, config: config() })).rejects.toThrow(
      'internal',
    );
  });

  it('reads nothing from a range without a whole hour', async () => {
    const fake = new FakePrometheus(series(1));
    const history = await collectHistory(fake, { fromMs: T0 + 1, toMs: T0 + HOUR, config: config() });
    expect(fake.ranges).toEqual([]);
    expect(history.edges).toEqual([]);
  });
});

describe('collectHistory decoding', () => {
  const FRONTEND = 'spiffe://cluster.local/ns/web/sa/frontend';
  const frontend = {
    source_cluster: 'east',
    source_principal: FRONTEND,
    source_workload_namespace: 'web',
    source_workload: 'frontend',
  };
  const legacy = { source_cluster: 'east', source_workload_namespace: 'legacy', source_workload: 'cron' };
  const at = (ns: string, workload: string) => ({
    destination_cluster: 'east',
    destination_workload_namespace: ns,
    destination_workload: workload,
  });

  it('counts each hour as the daemon judges it: server side, no waypoint hop twice, denials attributed', async () => {
    const fake = new FakePrometheus([
      {
        labels: {
          meshwatch_kind: 'requests',
          ...at('shop', 'backend'),
          ...frontend,
          connection_security_policy: 'mutual_tls',
        },
        rate: 0.25,
      },
      {
        labels: {
          meshwatch_kind: 'requests',
          ...at('shop', 'backend'),
          ...legacy,
          connection_security_policy: 'none',
        },
        rate: 0.125,
      },
      // A waypoint's view of the edge, and the destination ztunnel's view of the waypoint's own hop.
      {
        labels: {
          meshwatch_kind: 'tcp_connections',
          ...at('shop', 'reviews'),
          ...frontend,
          connection_security_policy: 'mutual_tls',
          reporter: 'waypoint',
        },
        rate: 0.5,
      },
      {
        labels: {
          meshwatch_kind: 'tcp_connections',
          ...at('shop', 'reviews'),
          source_cluster: 'east',
          source_principal: 'spiffe://cluster.local/ns/shop/sa/waypoint',
          source_workload_namespace: 'shop',
          source_workload: 'waypoint',
          connection_security_policy: 'mutual_tls',
          reporter: 'destination',
        },
        rate: 0.5,
      },
      // A request the waypoint denied names only the service.
      {
        labels: {
          meshwatch_kind: 'denied',
          ...at('unknown', 'unknown'),
          ...frontend,
          destination_service_namespace: 'shop',
          destination_service_name: 'reviews',
        },
        rate: 0.0625,
      },
      {
        labels: {
          meshwatch_kind: 'service_workload',
          ...at('shop', 'reviews'),
          destination_service_namespace: 'shop',
          destination_service_name: 'reviews',
        },
        rate: 1,
      },
      // Plaintext into an ambient workload that its L4 policy refused: denied, not served plaintext.
      {
        labels: {
          meshwatch_kind: 'tcp_connections',
          ...at('shop', 'db'),
          ...legacy,
          connection_security_policy: 'unknown',
          reporter: 'destination',
        },
        rate: 0.03125,
      },
      {
        labels: {
          meshwatch_kind: 'denied_connections',
          ...at('shop', 'db'),
          ...legacy,
          connection_security_policy: 'unknown',
        },
        rate: 0.03125,
      },
    ]);
    const history = await collectHistory(fake, { fromMs: T0, toMs: T0 + HOUR, config: config() });
    // The step at T0 + 1h is the rate over the hour from T0.
    const hour = T0;
    const edgeOf = (
      destination: [string, string],
      caller: Record<string, string>,
      v: { requests?: number; connections?: number; denied?: number; plaintext?: number; mtls?: number },
      layers: { requests: [number, number]; connections: [number, number] },
    ) => {
      const volume = { requests: 0, connections: 0, denied: 0, plaintext: 0, mtls: 0, ...v };
      return {
        destination: {
          destination_cluster: 'east',
          destination_namespace: destination[0],
          destination_workload: destination[1],
        },
        caller: { source_principal: 'unknown', ...caller },
        total: volume,
        hours: [{ startMs: hour, volume }],
        firstSeenMs: hour,
        lastSeenMs: hour + HOUR,
        layers: {
          requests: { mtls: layers.requests[0], plaintext: layers.requests[1] },
          connections: { mtls: layers.connections[0], plaintext: layers.connections[1] },
        },
      };
    };
    expect(history).toEqual({
      fromMs: T0,
      toMs: T0 + HOUR,
      stepMs: HOUR,
      edges: [
        edgeOf(
          ['shop', 'backend'],
          legacy,
          { requests: 450, plaintext: 450 },
          { requests: [0, 450], connections: [0, 0] },
        ),
        edgeOf(
          ['shop', 'backend'],
          frontend,
          { requests: 900, mtls: 900 },
          { requests: [900, 0], connections: [0, 0] },
        ),
        edgeOf(
          ['shop', 'db'],
          legacy,
          { connections: 112.5, denied: 112.5 },
          { requests: [0, 0], connections: [0, 0] },
        ),
        edgeOf(
          ['shop', 'reviews'],
          frontend,
          { connections: 1800, mtls: 1800, denied: 225 },
          { requests: [0, 0], connections: [1800, 0] },
        ),
      ],
      // The destination ztunnel's view of the waypoint's hop names the waypoint.
      workloads: new Map([
        [
          'east\u0000shop\u0000reviews',
          {
            services: [],
            waypoint: true,
            ambient: true,
            waypoint_principals: ['spiffe://cluster.local/ns/shop/sa/waypoint'],
          },
        ],
      ]),
    });
  });

  it('restricts destinations to the namespaces asked for, escaped, in every query', async () => {
    const fake = new FakePrometheus([]);
    await collectHistory(fake, {
      fromMs: T0,
      toMs: T0 + 2 * HOUR,
      config: config(),
      namespaces: ['shop', 'we"ird'],
    });
    const mesh = fake.ranges[0]?.promql ?? '';
    const parts = mesh.split(' or ');
    expect(parts).toHaveLength(6);
    for (const part of parts) {
      expect(part).toContain(
        part.includes('"denied"')
          ? 'destination_workload_namespace=~"shop|we\\"ird|unknown|"'
          : 'destination_workload_namespace=~"shop|we\\"ird"',
      );
    }
    expect(fake.instants).toEqual([
      'group by (destination_cluster, destination_workload_namespace, destination_workload, destination_app, destination_version, destination_canonical_service, destination_service_namespace, destination_service_name, reporter) (last_over_time(istio_requests_total{reporter=~"destination|waypoint",destination_workload_namespace=~"shop|we\\"ird"}[120m]))',
      'group by (destination_cluster, destination_workload_namespace, destination_workload, destination_app, destination_version, destination_canonical_service, destination_service_namespace, destination_service_name, reporter, connection_security_policy) (last_over_time(istio_tcp_connections_opened_total{reporter=~"destination|waypoint",destination_workload_namespace=~"shop|we\\"ird"}[120m]))',
    ]);
  });
});

describe('factsOf', () => {
  const sample = (labels: Record<string, string>): InstantSample => ({ labels, value: 1, timeMs: T0 });
  const dest = (workload: string) => ({
    destination_cluster: 'east',
    destination_workload_namespace: 'shop',
    destination_workload: workload,
  });

  it('keeps a pod label only where every series agrees on a known value, and tells sidecar, waypoint and ztunnel apart', () => {
    const facts = factsOf(
      [
        sample({
          ...dest('backend'),
          reporter: 'destination',
          destination_app: 'backend',
          destination_version: 'v1',
          destination_canonical_service: 'backend',
          destination_service_namespace: 'shop',
          destination_service_name: 'backend',
        }),
        sample({
          ...dest('backend'),
          reporter: 'destination',
          destination_app: 'backend',
          destination_version: 'v2',
          destination_canonical_service: 'backend',
          destination_service_namespace: 'shop',
          destination_service_name: 'backend-canary',
        }),
        sample({
          ...dest('reviews'),
          reporter: 'waypoint',
          destination_app: 'unknown',
          destination_service_name: 'reviews',
          destination_service_namespace: 'shop',
        }),
        sample({ ...dest('unknown'), reporter: 'waypoint', destination_service_name: 'reviews' }),
      ],
      [
        sample({ ...dest('reviews'), reporter: 'destination', connection_security_policy: 'mutual_tls' }),
        sample({
          ...dest('db'),
          reporter: 'destination',
          connection_security_policy: 'unknown',
          destination_app: 'db',
          destination_version: 'latest',
        }),
        sample({
          ...dest('backend'),
          reporter: 'destination',
          connection_security_policy: 'mutual_tls',
          destination_app: 'backend',
          destination_version: 'v1',
          destination_canonical_service: 'backend',
        }),
      ],
    );
    const key = (w: string) => `east\u0000shop\u0000${w}`;
    expect(facts).toEqual(
      new Map([
        [
          key('backend'),
          {
            app: 'backend',
            canonical_service: 'backend',
            services: ['shop/backend', 'shop/backend-canary'],
            waypoint: false,
            ambient: false,
          },
        ],
        [key('db'), { app: 'db', services: [], waypoint: false, ambient: true }],
        [key('reviews'), { services: ['shop/reviews'], waypoint: true, ambient: true }],
      ]),
    );
  });
});
