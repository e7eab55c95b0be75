import { ScenarioError } from '../../../src/errors';
import { samplesAt } from '../../../src/sim/exposition';
import { compileMesh } from '../../../src/sim/mesh';
import { parseScenario } from '../../../src/sim/parse-scenario';
import { parseTime } from '../../../src/sim/time';

const MESH = `
name: t
seed: 3
workloads:
  - { name: web, namespace: shop }
  - { name: api, namespace: shop, service_account: api-sa, version: v2 }
  - { name: legacy, namespace: old, dataplane: none }
calls:
  - { from: shop/web, to: shop/api, rate: 5 }
  - { from: old/legacy, to: shop/api, rate: 0.01 }
`;
const EPOCH = Date.UTC(2026, 0, 5);
const HOUR = 3_600_000;

const scenario = (extra = '') => parseScenario(MESH + extra, 'scenario.yml');
const lines = (yamlExtra: string, t: number) =>
  samplesAt(compileMesh(scenario(yamlExtra), EPOCH), t).map(
    (s) => `${s.series.metric}${s.series.labels} ${s.value}`,
  );
const pick = (all: string[], ...parts: string[]) => all.filter((l) => parts.every((p) => l.includes(p)));

describe('simulated Istio series', () => {
  it('writes the destination-side series of an mTLS call with every Istio label', () => {
    const [line] = pick(lines('', EPOCH + HOUR), 'reporter="destination"', 'source_workload="web"');
    expect(line?.replace(/ \d+$/, '').replace(/pod="[^"]+"/, 'pod=POD')).toBe(
      'istio_requests_total{reporter="destination",source_workload="web",source_workload_namespace="shop",' +
        'source_principal="spiffe://cluster.local/ns/shop/sa/web",source_app="web",source_canonical_service="web",' +
        'source_canonical_revision="latest",source_version="unknown",source_cluster="Kubernetes",' +
        'destination_workload="api",destination_workload_namespace="shop",' +
        'destination_principal="spiffe://cluster.local/ns/shop/sa/api-sa",destination_app="api",' +
        'destination_canonical_service="api",destination_canonical_revision="v2",destination_version="v2",' +
        'destination_service="api.shop.svc.cluster.local",destination_service_name="api",' +
        'destination_service_namespace="shop",destination_cluster="Kubernetes",request_protocol="http",' +
        'response_code="200",grpc_response_status="",response_flags="-",connection_security_policy="mutual_tls",' +
        'namespace="shop",pod=POD}',
    );
  });

  it('reports an in-mesh call from both sides, the source side with policy unknown', () => {
    const all = lines('', EPOCH + HOUR);
    expect(
      pick(all, 'source_workload="web"').map((l) =>
        /reporter="(\w+)".*policy="(\w+)"/.exec(l)?.slice(1).join(' '),
      ),
    ).toEqual(['source unknown', 'destination mutual_tls']);
  });

  it('reports a caller outside the mesh only from the destination, as unknown in plaintext', () => {
    const all = lines('', EPOCH + 10 * HOUR);
    expect(
      pick(all, 'request_protocol="http"', 'connection_security_policy="none"').map((l) =>
        /reporter="(\w+)",source_workload="(\w+)".*source_principal="(\w+)"/.exec(l)?.slice(1).join(' '),
      ),
    ).toEqual(['destination unknown unknown']);
  });

  it('counts whole requests at a low rate and never goes backwards', () => {
    const low = (t: number) =>
      Number(pick(lines('', t), 'connection_security_policy="none"')[0]?.split(' ').pop() ?? 0);
    const values = Array.from({ length: 40 }, (_, i) => low(EPOCH + i * HOUR));
    expect(values.every((v, i) => Number.isInteger(v) && v >= (values[i - 1] ?? 0))).toBe(true);
    // 0.01 req/s for 39 hours is about 1404 requests.
    expect(values[39]).toBeGreaterThan(1300);
    expect(values[39]).toBeLessThan(1550);
  });

  it('gives the same counters for the same scenario, epoch and time', () => {
    expect(lines('', EPOCH + 5 * HOUR)).toEqual(lines('', EPOCH + 5 * HOUR));
  });

  it('resets a restarted pod to counting from zero', () => {
    const restart = 'restarts:\n  - { workload: shop/api, at: 2h }\n';
    const value = (t: number) =>
      Number(pick(lines(restart, t), 'reporter="destination"', 'source_workload="web"')[0]?.split(' ').pop());
    expect({
      before: value(EPOCH + 2 * HOUR - 1000) > 30_000,
      after: value(EPOCH + 2 * HOUR + 60_000) < 600,
    }).toEqual({
      before: true,
      after: true,
    });
  });

  it('adds 403 series from the attacker during a denial spike and nothing before it', () => {
    const spike =
      'incidents:\n  - { kind: denial_spike, at: 1h, duration: 10m, from: shop/web, to: shop/api, rate: 50, denial: ext_authz }\n';
    const denied = (t: number) =>
      pick(lines(spike, t), 'response_code="403"').map((l) =>
        /reporter="(\w+)".*response_flags="(\w+)"/.exec(l)?.slice(1).join(' '),
      );
    expect({ before: denied(EPOCH + HOUR), after: denied(EPOCH + HOUR + 5 * 60_000) }).toEqual({
      before: [],
      after: ['source UAEX', 'destination UAEX'],
    });
  });
});

describe('scenario validation', () => {
  const error = (text: string) => {
    try {
      parseScenario(text, 'scenario.yml');
    } catch (err) {
      return err instanceof ScenarioError ? err.message : String(err);
    }
    return 'no error';
  };

  it('names an unknown workload with its path in the file', () => {
    expect(error(MESH.replace('to: shop/api, rate: 5', 'to: shop/apx, rate: 5'))).toBe(
      'scenario.yml: calls[0].to: unknown workload shop/apx',
    );
  });

  it('rejects an unknown key and lists the allowed ones', () => {
    expect(error(MESH.replace('rate: 5', 'rate: 5, rte: 1'))).toBe(
      'scenario.yml: calls[0].rte: unknown key (allowed: from, to, rate, protocol, codes, tls, connections_per_request, pattern)',
    );
  });

  it('rejects response-code shares that do not add up to 1', () => {
    expect(error(MESH.replace('rate: 5', 'rate: 5, codes: {200: 0.9, 503: 0.05}'))).toBe(
      'scenario.yml: calls[0].codes: shares must add up to 1, they add up to 0.95',
    );
  });

  it('rejects mutual TLS from a caller outside the mesh', () => {
    expect(error(MESH.replace('rate: 0.01', 'rate: 0.01, tls: mutual'))).toBe(
      'scenario.yml: calls[1].tls: mutual TLS needs both sides in the mesh, and old/legacy has dataplane: none',
    );
  });

  it('rejects an incident time that is not a duration', () => {
    expect(
      error(
        MESH +
          'incidents:\n  - { kind: traffic_change, at: 7 days, duration: 1h, to: shop/api, factor: 2 }\n',
      ),
    ).toBe('scenario.yml: incidents[0].at: expected a duration like 30m or 6d23h, got "7 days"');
  });
});

describe('parseTime', () => {
  it('reads RFC3339, Unix seconds, now and now-relative times', () => {
    const now = Date.UTC(2026, 10, 22, 12);
    expect(
      ['2026-11-22T10:00:00Z', '1795000000', 'now', 'now-7d', 'now+1h30m'].map((t) => parseTime(t, now)),
    ).toEqual([Date.UTC(2026, 10, 22, 10), 1795000000000, now, now - 7 * 86_400_000, now + 5_400_000]);
  });
});
