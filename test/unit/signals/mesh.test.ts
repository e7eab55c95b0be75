import { decodeMesh, meshQuery } from '../../../src/signals/mesh';
import { decodeRequiredLabels, requiredLabelsQuery } from '../../../src/signals/labels';
import { REQUIRED_LABELS } from '../../../src/core/detectors/requirements';
const PLAINTEXT_REQUIRED_LABELS = REQUIRED_LABELS.plaintext;

describe('the mesh signal', () => {
  const by =
    'destination_workload_namespace, destination_workload, source_workload_namespace, source_workload, source_principal';
  it('asks in one query for server-side rates per edge and policy, denials per edge and 5xx per destination', () => {
    expect(
      meshQuery({
        serverReporters: ['destination'],
        rateWindowMs: 120_000,
        denialCodes: ['401', '403'],
      }).split(' or '),
    ).toEqual([
      `label_replace(sum by (${by}, connection_security_policy) (rate(istio_requests_total{reporter="destination"}[2m])), "meshwatch_kind", "requests", "", "")`,
      `label_replace(sum by (${by}, connection_security_policy) (rate(istio_tcp_connections_opened_total{reporter="destination"}[2m])), "meshwatch_kind", "tcp_connections", "", "")`,
      `label_replace(sum by (${by}) (rate(istio_requests_total{reporter="destination",response_code=~"401|403"}[2m])), "meshwatch_kind", "denied", "", "")`,
      'label_replace(sum by (destination_workload_namespace, destination_workload) (rate(istio_requests_total{reporter="destination",response_code=~"5.."}[2m])), "meshwatch_kind", "server_errors", "", "")',
    ]);
  });

  it('selects waypoint and destination reporters with a regex when both are server side', () => {
    expect(
      meshQuery({ serverReporters: ['destination', 'waypoint'], rateWindowMs: 90_000, denialCodes: ['403'] }),
    ).toContain('rate(istio_requests_total{reporter=~"destination|waypoint"}[90s])');
  });

  it('decodes samples into typed edges, with unknown callers named unknown', () => {
    expect(
      decodeMesh([
        {
          labels: {
            destination_workload_namespace: 'shop',
            destination_workload: 'cart',
            source_workload_namespace: 'legacy',
            source_workload: 'batch',
            source_principal: 'unknown',
            connection_security_policy: 'none',
            meshwatch_kind: 'requests',
          },
          value: 0.5,
          timeMs: 1000,
        },
        {
          labels: {
            destination_workload_namespace: 'db',
            destination_workload: 'ledger',
            connection_security_policy: 'mutual_tls',
            meshwatch_kind: 'tcp_connections',
          },
          value: 2,
          timeMs: 1000,
        },
        {
          labels: {
            destination_workload_namespace: 'db',
            destination_workload: 'ledger',
            meshwatch_kind: 'server_errors',
          },
          value: 0.1,
          timeMs: 1000,
        },
        {
          labels: { connection_security_policy: 'none', meshwatch_kind: 'requests' },
          value: 1,
          timeMs: 1000,
        },
      ]),
    ).toEqual([
      {
        destination: { namespace: 'shop', workload: 'cart' },
        caller: { principal: 'unknown', namespace: 'legacy', workload: 'batch' },
        policy: 'none',
        kind: 'requests',
        rate: 0.5,
      },
      {
        destination: { namespace: 'db', workload: 'ledger' },
        caller: { principal: 'unknown', namespace: 'unknown', workload: 'unknown' },
        policy: 'mutual_tls',
        kind: 'tcp_connections',
        rate: 2,
      },
      {
        destination: { namespace: 'db', workload: 'ledger' },
        caller: { principal: 'unknown', namespace: 'unknown', workload: 'unknown' },
        policy: '',
        kind: 'server_errors',
        rate: 0.1,
      },
    ]);
  });
});

describe('the required labels check', () => {
  const tagged = (metric: string, label: string) => ({ labels: { metric, label }, value: 1, timeMs: 0 });

  it('asks in one query whether each metric exists and carries each label', () => {
    const query = requiredLabelsQuery([
      { metric: 'istio_requests_total', label: 'reporter', metricOptional: false },
    ]);
    expect(query).toBe(
      'label_replace(label_replace(group(istio_requests_total), "metric", "istio_requests_total", "", ""), "label", "__any__", "", "")' +
        ' or ' +
        'label_replace(label_replace(group(istio_requests_total{reporter!=""}), "metric", "istio_requests_total", "", ""), "label", "reporter", "", "")',
    );
  });

  it('reports a label stripped by the mesh as absent, and a missing optional metric as no problem', () => {
    const presence = decodeRequiredLabels(PLAINTEXT_REQUIRED_LABELS, [
      tagged('istio_requests_total', '__any__'),
      tagged('istio_requests_total', 'reporter'),
      tagged('istio_requests_total', 'destination_workload'),
      tagged('istio_requests_total', 'source_workload'),
    ]);
    expect(presence.map((p) => [p.metric, p.label, p.present, p.reason])).toEqual([
      ['istio_requests_total', 'reporter', true, undefined],
      ['istio_requests_total', 'destination_workload', true, undefined],
      ['istio_requests_total', 'connection_security_policy', false, 'label_absent'],
      ['istio_requests_total', 'source_workload', true, undefined],
      ['istio_tcp_connections_opened_total', 'reporter', true, undefined],
      ['istio_tcp_connections_opened_total', 'connection_security_policy', true, undefined],
    ]);
  });

  it('reports every label absent when there is no request telemetry at all', () => {
    const presence = decodeRequiredLabels(PLAINTEXT_REQUIRED_LABELS, []);
    expect(
      presence.filter((p) => p.metric === 'istio_requests_total').map((p) => [p.present, p.reason]),
    ).toEqual([
      [false, 'metric_absent'],
      [false, 'metric_absent'],
      [false, 'metric_absent'],
      [false, 'metric_absent'],
    ]);
  });
});
