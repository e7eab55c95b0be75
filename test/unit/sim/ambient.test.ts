import { EPOCH, HOUR, MINUTE, exported, labelsOf, pick, shape, summary, valueOf } from './series';

// web -> api is ambient to ambient (L4 only), web -> store goes through store's waypoint, side
// (a sidecar) calls api, and legacy (outside the mesh) calls api in plaintext.
const MESH = `
name: t
seed: 3
waypoints:
  - { name: waypoint, namespace: shop }
workloads:
  - { name: web, namespace: shop, dataplane: ambient }
  - { name: api, namespace: shop, service_account: api-sa, version: v2, dataplane: ambient }
  - { name: store, namespace: shop, dataplane: ambient, waypoint: waypoint }
  - { name: side, namespace: shop }
  - { name: legacy, namespace: old, dataplane: none }
calls:
  - { from: shop/web, to: shop/api, rate: 5 }
  - { from: shop/web, to: shop/store, rate: 5, codes: { 200: 0.9, 503: 0.1 } }
  - { from: shop/side, to: shop/api, rate: 2 }
  - { from: old/legacy, to: shop/api, rate: 1, protocol: tcp }
`;
const at = (extra: string, t: number) => exported(MESH + extra, t);
const WHO = ['reporter', 'source_workload', 'destination_workload', 'connection_security_policy'];

describe('ambient workloads (ztunnel)', () => {
  it('writes the destination ztunnel series of an ambient call with every ztunnel label', () => {
    const [line] = pick(
      at('', EPOCH + HOUR),
      'istio_tcp_connections_opened_total{reporter="destination",source_workload="web"',
    );
    expect(shape(line)).toBe(
      'istio_tcp_connections_opened_total{reporter="destination",source_workload="web",' +
        'source_canonical_service="web",source_canonical_revision="latest",source_workload_namespace="shop",' +
        'source_principal="spiffe://cluster.local/ns/shop/sa/web",source_app="web",source_version="latest",' +
        'source_cluster="Kubernetes",destination_service="api.shop.svc.cluster.local",' +
        'destination_service_namespace="shop",destination_service_name="api",destination_workload="api",' +
        'destination_canonical_service="api",destination_canonical_revision="v2",' +
        'destination_workload_namespace="shop",destination_principal="spiffe://cluster.local/ns/shop/sa/api-sa",' +
        'destination_app="api",destination_version="v2",destination_cluster="Kubernetes",request_protocol="tcp",' +
        'response_flags="-",connection_security_policy="mutual_tls",source_region="unknown",' +
        'source_zone="unknown",destination_region="unknown",destination_zone="unknown",' +
        'namespace="istio-system",pod=ZTUNNEL}',
    );
  });

  it("writes every ztunnel series' labels in ztunnel's order: CommonTrafficLabels, locality, target", () => {
    const ztunnel = pick(at('', EPOCH + HOUR), 'namespace="istio-system"');
    const orders = new Set(
      ztunnel.map((l) =>
        labelsOf(l)
          .map(([name]) => name)
          .join(','),
      ),
    );
    expect([...orders]).toEqual([
      'reporter,source_workload,source_canonical_service,source_canonical_revision,' +
        'source_workload_namespace,source_principal,source_app,source_version,source_cluster,' +
        'destination_service,destination_service_namespace,destination_service_name,destination_workload,' +
        'destination_canonical_service,destination_canonical_revision,destination_workload_namespace,' +
        'destination_principal,destination_app,destination_version,destination_cluster,request_protocol,' +
        'response_flags,connection_security_policy,source_region,source_zone,destination_region,' +
        'destination_zone,namespace,pod',
    ]);
  });

  it('reports an ambient-to-ambient call as L4 connections from both ztunnels, and no requests', () => {
    const web = pick(at('', EPOCH + HOUR), 'source_workload="web"', 'destination_workload="api"');
    expect(summary(web, WHO)).toEqual([
      'tcp_connections_opened source web api mutual_tls',
      'tcp_connections_closed source web api mutual_tls',
      'tcp_connections_opened destination web api mutual_tls',
      'tcp_connections_closed destination web api mutual_tls',
    ]);
  });

  it('counts an http call at ztunnel as its requests times connections_per_request', () => {
    const connections = (cpr: string) =>
      valueOf(
        pick(
          exported(MESH.replace('to: shop/api, rate: 5', `to: shop/api, rate: 5${cpr}`), EPOCH + 10 * HOUR),
          'connections_opened_total{reporter="destination",source_workload="web"',
        )[0],
      );
    // 5 req/s for 10 hours is 180,000 requests; by default a tenth of them open a connection.
    expect({
      default: Math.round(connections('') / 1000),
      half: Math.round(connections(', connections_per_request: 0.5') / 1000),
    }).toEqual({ default: 18, half: 90 });
  });

  it('writes plaintext into an ambient workload as unknown policy and principal, the caller named', () => {
    const [line] = pick(at('', EPOCH + HOUR), 'opened_total{reporter="destination",source_workload="legacy"');
    expect(shape(line)).toBe(
      'istio_tcp_connections_opened_total{reporter="destination",source_workload="legacy",' +
        'source_canonical_service="legacy",source_canonical_revision="latest",source_workload_namespace="old",' +
        'source_principal="unknown",source_app="legacy",source_version="latest",source_cluster="Kubernetes",' +
        'destination_service="api.shop.svc.cluster.local",destination_service_namespace="shop",' +
        'destination_service_name="api",destination_workload="api",destination_canonical_service="api",' +
        'destination_canonical_revision="v2",destination_workload_namespace="shop",' +
        'destination_principal="spiffe://cluster.local/ns/shop/sa/api-sa",destination_app="api",' +
        'destination_version="v2",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",' +
        'connection_security_policy="unknown",source_region="unknown",source_zone="unknown",' +
        'destination_region="unknown",destination_zone="unknown",namespace="istio-system",pod=ZTUNNEL}',
    );
  });

  it("reports a sidecar's call into an ambient workload as requests from the sidecar, connections at ztunnel", () => {
    const side = pick(at('', EPOCH + HOUR), 'source_workload="side"');
    expect(summary(side, [...WHO, 'request_protocol', 'source_principal'])).toEqual([
      'requests source side api unknown http spiffe://cluster.local/ns/shop/sa/side',
      'tcp_connections_opened destination side api mutual_tls tcp spiffe://cluster.local/ns/shop/sa/side',
      'tcp_connections_closed destination side api mutual_tls tcp spiffe://cluster.local/ns/shop/sa/side',
    ]);
  });

  it('spreads replicas over the nodes, one ztunnel-xxxxx pod each, and restarts one ztunnel alone', () => {
    const spread = MESH.replace('version: v2,', 'version: v2, replicas: 3,');
    const restart = `nodes: 3\nrestarts:\n  - { ztunnel: 1, at: 2h }\n`;
    const pods = (t: number) =>
      new Map(
        pick(
          exported(spread + restart, t),
          'opened_total{reporter="destination"',
          'namespace="istio-system"',
        ).map((l) => [new Map(labelsOf(l)).get('pod'), valueOf(l)]),
      );
    const before = pods(EPOCH + 2 * HOUR - 1000);
    const after = pods(EPOCH + 2 * HOUR + MINUTE);
    const names = [...before.keys()];
    const dropped = names.filter((p) => (after.get(p) ?? 0) < (before.get(p) ?? 0));
    expect({
      names: names.every((p) => /^ztunnel-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(p ?? '')),
      ztunnels: new Set(names).size,
      reset: dropped.length,
    }).toEqual({ names: true, ztunnels: 3, reset: 1 });
  });
});

describe('waypoints', () => {
  it('reports a call through a waypoint as the three series of Istio: client->waypoint, client->server, waypoint->server', () => {
    const all = at('', EPOCH + HOUR);
    const triple = pick(all, 'connections_opened_total').filter(
      (l) => l.includes('destination_workload="store"') || l.includes('destination_workload="waypoint"'),
    );
    expect(
      summary(triple, [...WHO, 'source_principal', 'destination_principal', 'destination_service_name']),
    ).toEqual([
      'tcp_connections_opened source web waypoint mutual_tls spiffe://cluster.local/ns/shop/sa/web spiffe://cluster.local/ns/shop/sa/waypoint store',
      'tcp_connections_opened waypoint web store mutual_tls spiffe://cluster.local/ns/shop/sa/web spiffe://cluster.local/ns/shop/sa/store store',
      'tcp_connections_opened destination waypoint store mutual_tls spiffe://cluster.local/ns/shop/sa/waypoint spiffe://cluster.local/ns/shop/sa/store store',
    ]);
  });

  it("writes the waypoint's requests with the original client, the backend and its response codes", () => {
    const [line] = pick(at('', EPOCH + HOUR), 'reporter="waypoint"', 'response_code="503"');
    expect(shape(line)).toBe(
      'istio_requests_total{reporter="waypoint",source_workload="web",source_workload_namespace="shop",' +
        'source_principal="spiffe://cluster.local/ns/shop/sa/web",source_app="web",source_canonical_service="web",' +
        'source_canonical_revision="latest",source_version="latest",source_cluster="Kubernetes",' +
        'destination_workload="store",destination_workload_namespace="shop",' +
        'destination_principal="spiffe://cluster.local/ns/shop/sa/store",destination_app="store",' +
        'destination_canonical_service="store",destination_canonical_revision="latest",' +
        'destination_version="latest",destination_service="store.shop.svc.cluster.local",' +
        'destination_service_name="store",destination_service_namespace="shop",destination_cluster="Kubernetes",' +
        'request_protocol="http",response_code="503",grpc_response_status="",response_flags="-",' +
        'connection_security_policy="mutual_tls",namespace="shop",pod=POD}',
    );
    expect(line).toMatch(/pod="waypoint-[a-z0-9]{10}-[a-z0-9]{5}"/);
  });

  it("restarts a waypoint pod: its series count from zero again, the ztunnels' do not", () => {
    const lines = pick(
      at('restarts:\n  - { waypoint: waypoint, at: 2h }\n', EPOCH + 2 * HOUR + MINUTE),
      'connections_opened_total',
      'store',
    );
    // 0.5 connections a second: about 3600 in two hours, about 30 in the minute after the restart.
    expect(
      summary(lines, ['reporter']).map((r, i) => `${r} ${valueOf(lines[i]) > 1000 ? 'epoch' : 'restart'}`),
    ).toEqual([
      'tcp_connections_opened source epoch',
      'tcp_connections_opened waypoint restart',
      'tcp_connections_opened destination epoch',
    ]);
  });

  it('lets plaintext from outside the mesh bypass the waypoint, seen by the backend ztunnel only', () => {
    const bypass = at('  - { from: old/legacy, to: shop/store, rate: 1 }\n', EPOCH + HOUR);
    expect(summary(pick(bypass, 'source_workload="legacy"', 'store'), WHO)).toEqual([
      'tcp_connections_opened destination legacy store unknown',
      'tcp_connections_closed destination legacy store unknown',
    ]);
  });

  it('answers an HTTP denial at the waypoint with 403s there, naming no backend (it picked none), and nothing reaches the backend ztunnel', () => {
    const spike =
      'incidents:\n  - { kind: denial_spike, at: 1h, duration: 10m, from: shop/web, to: shop/store, rate: 50 }\n';
    const denied = (t: number) =>
      summary(pick(at(spike, t), 'response_code="403"'), [...WHO, 'response_flags']);
    const backend = (t: number) =>
      valueOf(pick(at(spike, t), 'opened_total{reporter="destination",source_workload="waypoint"')[0]);
    expect({
      before: denied(EPOCH + HOUR),
      during: denied(EPOCH + HOUR + 5 * MINUTE),
      backendGrowth:
        Math.abs(backend(EPOCH + HOUR + 5 * MINUTE) - backend(EPOCH + HOUR) - 5 * 60 * 5 * 0.1) < 60,
    }).toEqual({
      before: [],
      during: ['requests waypoint web unknown mutual_tls -'],
      backendGrowth: true,
    });
    // Only the destination service says where the denied requests were going.
    const [line] = pick(at(spike, EPOCH + HOUR + 5 * MINUTE), 'response_code="403"');
    expect(line).toContain('destination_workload_namespace="unknown",destination_principal="unknown"');
    expect(line).toContain(
      'destination_service_name="store",destination_service_namespace="shop",destination_cluster="unknown"',
    );
  });
});

describe('L4 denials', () => {
  it('counts a connection denied at ztunnel as opened "-" and closed DENY at the destination, "-" at the client\'s', () => {
    const flood =
      'incidents:\n  - { kind: denial_spike, at: 1h, duration: 10m, from: shop/web, to: shop/api, rate: 20, denial: l4 }\n';
    const web = (t: number) =>
      new Map(
        pick(at(flood, t), 'source_workload="web"', 'destination_workload="api"').map((l) => [
          summary([l], ['reporter', 'response_flags'])[0],
          valueOf(l),
        ]),
      );
    const before = web(EPOCH + HOUR);
    const after = web(EPOCH + HOUR + 5 * MINUTE);
    // 20 denied connections a second for 5 minutes: 6000 on top of web's own 0.5 a second.
    const growth = Object.fromEntries(
      [...after].map(([k, v]) => [k, Math.round((v - (before.get(k) ?? 0)) / 100) * 100]),
    );
    expect(growth).toEqual({
      'tcp_connections_opened source -': 6200,
      'tcp_connections_closed source -': 6200,
      'tcp_connections_opened destination -': 6200,
      'tcp_connections_closed destination -': 200,
      'tcp_connections_closed destination DENY': 6000,
    });
  });

  it('shows an L4 denial on a sidecar as a plain opened and closed connection, as Envoy does', () => {
    const flood =
      'incidents:\n  - { kind: denial_spike, at: 1h, duration: 10m, from: shop/web, to: shop/side, rate: 20, denial: l4 }\n';
    const lines = pick(
      at(flood, EPOCH + HOUR + 5 * MINUTE),
      'source_workload="web"',
      'destination_workload="side"',
    );
    expect(summary(lines, [...WHO, 'response_flags'])).toEqual([
      'tcp_connections_opened source web side mutual_tls -',
      'tcp_connections_closed source web side mutual_tls -',
      'tcp_connections_opened destination web side mutual_tls -',
      'tcp_connections_closed destination web side mutual_tls -',
    ]);
  });
});

describe('incidents on ambient workloads', () => {
  it('sends a plaintext fallback into an ambient workload to its ztunnel in plaintext, past its waypoint', () => {
    const fallback =
      'incidents:\n  - { kind: plaintext_fallback, at: 1h, duration: 1h, from: shop/web, to: shop/store, share: 1 }\n';
    const plaintext = pick(
      at(fallback, EPOCH + HOUR + 5 * MINUTE),
      'source_workload="web"',
      'connection_security_policy="unknown"',
    );
    expect(summary(plaintext, [...WHO, 'source_principal'])).toEqual([
      'tcp_connections_opened destination web store unknown unknown',
      'tcp_connections_closed destination web store unknown unknown',
    ]);
  });

  it('starts a new caller on an L4-only edge as new ztunnel series', () => {
    const caller =
      'incidents:\n  - { kind: new_caller, at: 1h, duration: 1h, from: shop/store, to: shop/api, rate: 1, protocol: tcp }\n';
    const edge = (t: number) => summary(pick(at(caller, t), 'source_workload="store"'), WHO);
    expect({ before: edge(EPOCH + HOUR), during: edge(EPOCH + HOUR + 5 * MINUTE) }).toEqual({
      before: [],
      during: [
        'tcp_connections_opened source store api mutual_tls',
        'tcp_connections_closed source store api mutual_tls',
        'tcp_connections_opened destination store api mutual_tls',
        'tcp_connections_closed destination store api mutual_tls',
      ],
    });
  });

  it('scales the connections into an ambient workload during a traffic change', () => {
    const drop = 'incidents:\n  - { kind: traffic_change, at: 1h, duration: 1h, to: shop/api, factor: 0 }\n';
    const web = (t: number) =>
      valueOf(pick(at(drop, t), 'opened_total{reporter="destination",source_workload="web"')[0]);
    expect(web(EPOCH + 2 * HOUR) - web(EPOCH + HOUR)).toBe(0);
  });
});
