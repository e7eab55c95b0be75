import { compileMesh } from '../../../src/sim/mesh';
import { parseScenario } from '../../../src/sim/parse-scenario';
import { EPOCH, HOUR, MINUTE, exported, parseError, pick, summary } from './series';

// api runs in both clusters; web (cluster-a) calls both, and the ambient db in cluster-b.
const MESH = `
name: t
seed: 3
cluster: cluster-a
workloads:
  - { name: web, namespace: shop }
  - { name: api, namespace: shop }
  - { name: api, namespace: shop, cluster: cluster-b }
  - { name: db, namespace: data, cluster: cluster-b, dataplane: ambient }
calls:
  - { from: shop/web, to: cluster-a/shop/api, rate: 5 }
  - { from: shop/web, to: cluster-b/shop/api, rate: 5 }
  - { from: cluster-b/shop/api, to: data/db, rate: 1, protocol: tcp }
  - { from: shop/web, to: data/db, rate: 1, protocol: tcp }
`;
const CLUSTERS = [
  'reporter',
  'source_workload',
  'source_cluster',
  'destination_workload',
  'destination_cluster',
];

describe('two clusters', () => {
  it("labels each side of a call with its own cluster as local and the peer's as the peer's", () => {
    const all = exported(MESH, EPOCH + HOUR);
    expect(summary(pick(all, 'source_workload="web"', 'destination_workload="api"'), CLUSTERS)).toEqual([
      'requests source web cluster-a api cluster-a',
      'requests destination web cluster-a api cluster-a',
      'requests source web cluster-a api cluster-b',
      'requests destination web cluster-a api cluster-b',
    ]);
  });

  it("labels a ztunnel's series across clusters the same way, and runs that ztunnel in its own cluster", () => {
    const all = exported(MESH, EPOCH + HOUR);
    expect(summary(pick(all, 'opened_total', 'destination_workload="db"'), CLUSTERS)).toEqual([
      'tcp_connections_opened source api cluster-b db cluster-b',
      'tcp_connections_opened destination api cluster-b db cluster-b',
      'tcp_connections_opened source web cluster-a db cluster-b',
      'tcp_connections_opened destination web cluster-a db cluster-b',
    ]);
  });

  it('names a workload in two clusters cluster/namespace/name and the others namespace/name', () => {
    const scenario = parseScenario(MESH, 'scenario.yml');
    expect({
      workloads: scenario.workloads.map((w) => w.id),
      clusters: scenario.clusters,
    }).toEqual({
      workloads: ['shop/web', 'cluster-a/shop/api', 'cluster-b/shop/api', 'data/db'],
      clusters: ['cluster-a', 'cluster-b'],
    });
  });

  it('gives same-named workloads in two clusters different pods', () => {
    const pods = compileMesh(parseScenario(MESH, 'scenario.yml'), EPOCH)
      .series.filter(
        (s) => s.labels.includes('reporter="destination"') && s.metric === 'istio_requests_total',
      )
      .map((s) => s.pod.name);
    expect(new Set(pods).size).toBe(2);
  });
});

describe('twin workload incident', () => {
  const twin = (extra = '') =>
    'incidents:\n  - { kind: twin_workload, at: 1h, duration: 1h, workload: shop/web, cluster: cluster-b, ' +
    `to: cluster-a/shop/api, rate: 2${extra} }\n`;

  it('starts a workload with the same name and principal in another cluster, calling during the incident', () => {
    const twins = (t: number) =>
      summary(pick(exported(MESH + twin(), t), 'source_workload="web"', 'source_cluster="cluster-b"'), [
        ...CLUSTERS,
        'source_principal',
      ]);
    expect({ before: twins(EPOCH + HOUR), during: twins(EPOCH + HOUR + 5 * MINUTE) }).toEqual({
      before: [],
      during: [
        'requests source web cluster-b api cluster-a spiffe://cluster.local/ns/shop/sa/web',
        'requests destination web cluster-b api cluster-a spiffe://cluster.local/ns/shop/sa/web',
      ],
    });
  });

  it('runs an ambient twin behind a ztunnel of its own cluster', () => {
    const lines = pick(
      exported(MESH + twin(', dataplane: ambient, protocol: tcp'), EPOCH + HOUR + 5 * MINUTE),
      'source_cluster="cluster-b"',
      'source_workload="web"',
    );
    expect(summary(lines, [...CLUSTERS, 'namespace'])).toEqual([
      'tcp_connections_opened source web cluster-b api cluster-a istio-system',
      'tcp_connections_closed source web cluster-b api cluster-a istio-system',
      'tcp_connections_opened destination web cluster-b api cluster-a shop',
      'tcp_connections_closed destination web cluster-b api cluster-a shop',
    ]);
  });

  it('refuses a twin in the cluster of the workload it copies, or one the scenario declares', () => {
    expect([
      parseError(MESH + twin().replace('cluster: cluster-b', 'cluster: cluster-a')),
      parseError(MESH + twin().replace('workload: shop/web', 'workload: cluster-a/shop/api')),
    ]).toEqual([
      'scenario.yml: incidents[0].cluster: a twin runs in another cluster than shop/web, which is in cluster-a',
      'scenario.yml: incidents[0].cluster: cluster-b/shop/api is a declared workload; a twin is one the scenario does not declare',
    ]);
  });
});

describe('workload references across clusters', () => {
  it('refuses an ambiguous namespace/name and says to write cluster/namespace/name', () => {
    expect(parseError(MESH.replace('to: cluster-a/shop/api, rate: 5', 'to: shop/api, rate: 5'))).toBe(
      'scenario.yml: calls[0].to: ambiguous workload shop/api (in cluster-a and cluster-b): write cluster/namespace/name',
    );
  });

  it('refuses a second workload with the same cluster, namespace and name', () => {
    const twice = MESH.replace(
      '{ name: api, namespace: shop, cluster: cluster-b }',
      '{ name: api, namespace: shop }',
    );
    expect(parseError(twice)).toBe(
      'scenario.yml: workloads[2]: duplicate workload shop/api in cluster cluster-a',
    );
  });
});
