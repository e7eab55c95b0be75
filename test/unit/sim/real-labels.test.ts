/**
 * The simulator is ours, so its series are checked against telemetry Istio wrote
 * (test/fixtures/istio, with its provenance): the same label names, in the order each proxy
 * writes them, and the same conventions for values, for ztunnel, waypoints and sidecars.
 */
import {
  istioProxy,
  label,
  sidecarReviews,
  ztunnelBookinfo,
  type FixtureSeries,
} from '../../helpers/istio-fixtures';
import { EPOCH, HOUR, exported, labelsOf, pick } from './series';

const MESH = `
name: t
seed: 3
waypoints:
  - { name: waypoint, namespace: shop }
workloads:
  - { name: web, namespace: shop, dataplane: ambient }
  - { name: api, namespace: shop, dataplane: ambient }
  - { name: store, namespace: shop, dataplane: ambient, waypoint: waypoint }
  - { name: side, namespace: shop }
  - { name: legacy, namespace: old, dataplane: none }
calls:
  - { from: shop/web, to: shop/api, rate: 5, protocol: tcp }
  - { from: shop/web, to: shop/store, rate: 5 }
  - { from: shop/web, to: shop/side, rate: 5 }
  - { from: old/legacy, to: shop/api, rate: 1, protocol: tcp }
`;
const lines = exported(MESH, EPOCH + HOUR);

// Prometheus' kubernetes_sd relabelling adds these to every series of a pod; no proxy writes them.
const TARGET = new Set(['namespace', 'pod']);
// Newer ztunnels (after the capture's 1.24) add an optional locality group at the end.
const LOCALITY = new Set(['source_region', 'source_zone', 'destination_region', 'destination_zone']);

const simulated = (...parts: string[]): Array<[string, string]> => {
  const [line] = pick(lines, ...parts);
  if (!line) throw new Error(`no simulated series with ${parts.join(' ')}`);
  return labelsOf(line).filter(([n]) => !TARGET.has(n));
};
const names = (labels: ReadonlyArray<readonly [string, string]>) => labels.map(([n]) => n);
const real = (series: FixtureSeries[], where: Record<string, string>) => {
  const found = series.find((s) => Object.entries(where).every(([n, v]) => label(s, n) === v));
  if (!found) throw new Error(`no fixture series with ${JSON.stringify(where)}`);
  return found;
};

describe('simulated series against what Istio writes', () => {
  it("gives ztunnel's series ztunnel's labels in ztunnel's order, for both reporters", () => {
    for (const reporter of ['destination', 'source']) {
      const ours = simulated(
        `istio_tcp_connections_opened_total{reporter="${reporter}",source_workload="web"`,
        'destination_workload="api"',
      );
      const theirs = real(ztunnelBookinfo(), { reporter });
      expect(names(ours).filter((n) => !LOCALITY.has(n))).toEqual(names(theirs.labels));
    }
  });

  it("writes ztunnel's values the way ztunnel does: tcp, -, mutual_tls over HBONE, SPIFFE principals", () => {
    const ours = new Map(
      simulated('istio_tcp_connections_opened_total{reporter="destination",source_workload="web"'),
    );
    const theirs = real(ztunnelBookinfo(), { reporter: 'destination' });
    for (const n of [
      'request_protocol',
      'response_flags',
      'connection_security_policy',
      'destination_cluster',
    ]) {
      expect([n, ours.get(n)]).toEqual([n, label(theirs, n)]);
    }
    expect(ours.get('source_principal')).toMatch(/^spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web$/);
    expect(label(theirs, 'source_principal')).toMatch(
      /^spiffe:\/\/cluster\.local\/ns\/default\/sa\/[a-z-]+$/,
    );
  });

  it("gives a waypoint's requests and tunnels the label names of istio/proxy's waypoint expectations", () => {
    const requests = simulated('istio_requests_total{reporter="waypoint"');
    const tunnels = simulated('istio_tcp_connections_opened_total{reporter="waypoint"');
    const [request] = istioProxy('server_waypoint_proxy_connect_request_total');
    const [tunnel] = istioProxy('server_waypoint_proxy_connect_connections_opened_total');
    // Envoy's order is its own; what matters is that no label is missing or extra.
    expect(names(requests).sort()).toEqual(names(request?.labels ?? []).sort());
    expect(names(tunnels).sort()).toEqual(names(tunnel?.labels ?? []).sort());
    expect(new Map(requests).get('connection_security_policy')).toBe(
      label(request as FixtureSeries, 'connection_security_policy'),
    );
  });

  it("gives a sidecar's server side the label names of a real sidecar scrape", () => {
    const ours = simulated(
      'istio_requests_total{reporter="destination",source_workload="web"',
      'destination_workload="side"',
    );
    const [theirs] = sidecarReviews();
    expect(names(ours).sort()).toEqual(names(theirs?.labels ?? []).sort());
  });
});
