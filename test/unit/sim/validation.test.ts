import { parseError } from './series';

// store is ambient behind a waypoint, api ambient without one, side has a sidecar, legacy is outside.
const MESH = `
name: t
waypoints:
  - { name: waypoint, namespace: shop }
workloads:
  - { name: web, namespace: shop, dataplane: ambient }
  - { name: api, namespace: shop, dataplane: ambient }
  - { name: store, namespace: shop, dataplane: ambient, waypoint: waypoint }
  - { name: side, namespace: shop }
  - { name: legacy, namespace: old, dataplane: none }
calls:
  - { from: shop/web, to: shop/api, rate: 5 }
`;
const incident = (fields: string) => `${MESH}incidents:\n  - { at: 1h, duration: 10m, ${fields} }\n`;

describe('scenario validation of data planes and waypoints', () => {
  it('says to use dataplane for the removed mesh key', () => {
    expect(parseError(MESH.replace('dataplane: none', 'mesh: false'))).toBe(
      'scenario.yml: workloads[4].mesh: unknown key (mesh was replaced by dataplane (sidecar, ambient or none): ' +
        'write dataplane: none for mesh: false; allowed: name, namespace, cluster, service_account, replicas, ' +
        'dataplane, waypoint, mtls, app, version, service)',
    );
  });

  it('refuses a version that is a mapping, not text', () => {
    expect(
      parseError(
        MESH.replace(
          '{ name: side, namespace: shop }',
          '{ name: side, namespace: shop, version: { toString: false } }',
        ),
      ),
    ).toBe('scenario.yml: workloads[3].version: expected a non-empty string, got {"toString":false}');
  });

  it('refuses a waypoint on a workload that is not ambient, and one that does not exist', () => {
    expect([
      parseError(
        MESH.replace(
          '{ name: side, namespace: shop }',
          '{ name: side, namespace: shop, waypoint: waypoint }',
        ),
      ),
      parseError(MESH.replace('waypoint: waypoint }', 'waypoint: other/waypoint }')),
    ]).toEqual([
      'scenario.yml: workloads[3].waypoint: only ambient workloads use a waypoint, and shop/side has dataplane: sidecar (its sidecar is its L7 proxy)',
      'scenario.yml: workloads[2].waypoint: no waypoint other/waypoint in cluster Kubernetes',
    ]);
  });

  it('refuses connections_per_request on a tcp call', () => {
    expect(
      parseError(MESH.replace('rate: 5 }', 'rate: 5, protocol: tcp, connections_per_request: 0.5 }')),
    ).toBe(
      'scenario.yml: calls[0].connections_per_request: tcp calls count connections already; this key is for http and grpc',
    );
  });

  it('refuses an HTTP denial into an ambient workload without a waypoint and suggests denial: l4', () => {
    expect(
      parseError(incident('kind: denial_spike, from: shop/web, to: shop/api, rate: 5, denial: rbac')),
    ).toBe(
      'scenario.yml: incidents[0].denial: shop/api is ambient without a waypoint: only L4 policy applies there ' +
        'and ztunnel has no status codes; use denial: l4, or give it a waypoint',
    );
  });

  it('refuses an HTTP denial at a waypoint for callers that bypass it: sidecars and plaintext', () => {
    expect([
      parseError(incident('kind: denial_spike, from: shop/side, to: shop/store, rate: 5, denial: jwt')),
      parseError(incident('kind: denial_ramp, from: old/legacy, to: shop/store, start_rate: 0, end_rate: 5')),
    ]).toEqual([
      'scenario.yml: incidents[0].denial: shop/side has a sidecar, and sidecars bypass waypoints, so no HTTP ' +
        'policy of shop/store applies to it; use denial: l4',
      "scenario.yml: incidents[0].denial: plaintext from old/legacy bypasses shop/store's waypoint, so no HTTP " +
        'policy applies to it; use denial: l4',
    ]);
  });

  it('refuses an L4 denial behind a waypoint, and an L4 denial with an HTTP protocol', () => {
    expect([
      parseError(incident('kind: denial_spike, from: shop/web, to: shop/store, rate: 5, denial: l4')),
      parseError(
        incident('kind: denial_spike, from: shop/web, to: shop/api, rate: 5, denial: l4, protocol: http'),
      ),
    ]).toEqual([
      "scenario.yml: incidents[0].denial: shop/web reaches shop/store through its waypoint, so shop/store's " +
        'ztunnel would see the waypoint, not shop/web; L4 denials behind a waypoint are not simulated: use denial: rbac',
      'scenario.yml: incidents[0].protocol: denial: l4 refuses connections: protocol must be tcp (or left out)',
    ]);
  });

  it('denies with l4 by default into an ambient workload without a waypoint', () => {
    expect(parseError(incident('kind: denial_spike, from: shop/web, to: shop/api, rate: 5'))).toBe(
      'no error',
    );
  });

  it('refuses an error burst where no proxy sees response codes', () => {
    expect([
      parseError(incident('kind: error_burst, to: shop/api, share: 0.5')),
      parseError(incident('kind: error_burst, to: old/legacy, share: 0.5')),
      parseError(incident('kind: error_burst, to: shop/store, share: 0.5')),
    ]).toEqual([
      'scenario.yml: incidents[0].to: shop/api is ambient without a waypoint: ztunnel counts connections, not ' +
        'response codes; give it a waypoint',
      'scenario.yml: incidents[0].to: old/legacy is not in the mesh (dataplane: none): no proxy reports its responses',
      'no error',
    ]);
  });

  it('restarts an ambient workload through its node ztunnel, not a sidecar', () => {
    expect([
      parseError(`${MESH}restarts:\n  - { workload: shop/api, at: 1h }\n`),
      parseError(`${MESH}restarts:\n  - { ztunnel: 2, at: 1h }\n`),
      parseError(`${MESH}restarts:\n  - { ztunnel: 1, cluster: other, at: 1h }\n`),
    ]).toEqual([
      "scenario.yml: restarts[0].workload: shop/api is ambient and has no sidecar: restart its node's ztunnel ({ztunnel: N, at: ...})",
      'scenario.yml: restarts[0].ztunnel: there are 2 node(s): 0..1',
      'scenario.yml: restarts[0].cluster: no cluster other in the scenario (clusters: Kubernetes)',
    ]);
  });
});
