import { decodeMesh, meshQuery } from '../../../src/signals/mesh';
import { decodeTelemetry, labelPresence, requiredLabelsQuery } from '../../../src/signals/labels';
import {
  allRequiredLabels,
  blindDetectors,
  blindness,
  REQUIRED_LABELS,
} from '../../../src/core/detectors/requirements';

describe('the mesh signal', () => {
  const dest = 'destination_cluster, destination_workload_namespace, destination_workload';
  const by = `${dest}, source_cluster, source_workload_namespace, source_workload, source_principal`;
  const server = 'reporter=~"destination|waypoint"';

  it('asks in one query for server-side requests, connections, denials at L7 and L4, and 5xx, per cluster-aware edge', () => {
    expect(
      meshQuery({
        serverReporters: ['destination', 'waypoint'],
        rateWindowMs: 120_000,
        denialCodes: ['401', '403'],
        denialFlags: ['DENY'],
      }).split(' or '),
    ).toEqual([
      `label_replace(sum by (${by}, connection_security_policy) (rate(istio_requests_total{${server}}[2m])), "meshwatch_kind", "requests", "", "")`,
      `label_replace(sum by (${by}, connection_security_policy, reporter) (rate(istio_tcp_connections_opened_total{${server}}[2m])), "meshwatch_kind", "tcp_connections", "", "")`,
      `label_replace(sum by (${by}, destination_service_namespace, destination_service_name) (rate(istio_requests_total{${server},response_code=~"401|403"}[2m])), "meshwatch_kind", "denied", "", "")`,
      `label_replace(sum by (${by}, connection_security_policy) (rate(istio_tcp_connections_closed_total{${server},response_flags="DENY"}[2m])), "meshwatch_kind", "denied_connections", "", "")`,
      `label_replace(sum by (${dest}) (rate(istio_requests_total{${server},response_code=~"5.."}[2m])), "meshwatch_kind", "server_errors", "", "")`,
      `label_replace(group by (${dest}, destination_service_namespace, destination_service_name) (istio_requests_total{reporter="waypoint",destination_workload!="unknown"}), "meshwatch_kind", "service_workload", "", "")`,
    ]);
  });

  it('selects one reporter with an equality matcher, and escapes the denial flags', () => {
    const query = meshQuery({
      serverReporters: ['destination'],
      rateWindowMs: 90_000,
      denialCodes: ['403'],
      denialFlags: ['DENY', 'CERT_REVOKED'],
    });
    expect(query).toContain('rate(istio_requests_total{reporter="destination"}[90s])');
    expect(query).toContain('response_flags=~"DENY|CERT_REVOKED"');
    // Without waypoints there is no denial to attribute by service.
    expect(query).not.toContain('service_workload');
  });

  it('decodes samples into typed edges, with unknown callers named unknown and absent clusters empty', () => {
    expect(
      decodeMesh([
        {
          labels: {
            destination_cluster: 'Kubernetes',
            destination_workload_namespace: 'shop',
            destination_workload: 'cart',
            source_cluster: 'Kubernetes',
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
            connection_security_policy: 'unknown',
            reporter: 'destination',
            meshwatch_kind: 'tcp_connections',
          },
          value: 2,
          timeMs: 1000,
        },
        {
          labels: {
            destination_cluster: 'east',
            destination_workload_namespace: 'db',
            destination_workload: 'ledger',
            source_cluster: 'west',
            source_workload_namespace: 'shop',
            source_workload: 'cart',
            source_principal: 'spiffe://corp.example/ns/shop/sa/cart',
            connection_security_policy: 'mutual_tls',
            meshwatch_kind: 'denied_connections',
          },
          value: 3,
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
        // A request a waypoint denied: no backend was picked, so only the service is named.
        {
          labels: {
            destination_cluster: 'unknown',
            destination_workload_namespace: 'unknown',
            destination_workload: 'unknown',
            destination_service_namespace: 'shop',
            destination_service_name: 'payments',
            source_cluster: 'Kubernetes',
            source_workload_namespace: 'shop',
            source_workload: 'cart',
            source_principal: 'spiffe://cluster.local/ns/shop/sa/cart',
            meshwatch_kind: 'denied',
          },
          value: 25,
          timeMs: 1000,
        },
        {
          labels: {
            destination_cluster: 'Kubernetes',
            destination_workload_namespace: 'shop',
            destination_workload: 'payments-v1',
            destination_service_namespace: 'shop',
            destination_service_name: 'payments',
            meshwatch_kind: 'service_workload',
          },
          value: 1,
          timeMs: 1000,
        },
        // Not attributable: no destination workload, or one Istio could not name.
        {
          labels: { connection_security_policy: 'none', meshwatch_kind: 'requests' },
          value: 1,
          timeMs: 1000,
        },
        {
          labels: {
            destination_workload: 'unknown',
            reporter: 'waypoint',
            meshwatch_kind: 'tcp_connections',
          },
          value: 1,
          timeMs: 1000,
        },
        // Prometheus sends NaN for a rate it cannot compute.
        {
          labels: {
            destination_workload_namespace: 'db',
            destination_workload: 'ledger',
            meshwatch_kind: 'requests',
          },
          value: NaN,
          timeMs: 1000,
        },
      ]),
    ).toEqual([
      {
        destination: { cluster: 'Kubernetes', namespace: 'shop', workload: 'cart' },
        caller: { principal: 'unknown', namespace: 'legacy', workload: 'batch', cluster: 'Kubernetes' },
        policy: 'none',
        kind: 'requests',
        reporter: '',
        rate: 0.5,
      },
      {
        destination: { cluster: '', namespace: 'db', workload: 'ledger' },
        caller: { principal: 'unknown', namespace: 'unknown', workload: 'unknown', cluster: '' },
        policy: 'unknown',
        kind: 'tcp_connections',
        reporter: 'destination',
        rate: 2,
      },
      {
        destination: { cluster: 'east', namespace: 'db', workload: 'ledger' },
        caller: {
          principal: 'spiffe://corp.example/ns/shop/sa/cart',
          namespace: 'shop',
          workload: 'cart',
          cluster: 'west',
        },
        policy: 'mutual_tls',
        kind: 'denied_connections',
        reporter: '',
        rate: 3,
      },
      {
        destination: { cluster: '', namespace: 'db', workload: 'ledger' },
        caller: { principal: 'unknown', namespace: 'unknown', workload: 'unknown', cluster: '' },
        policy: '',
        kind: 'server_errors',
        reporter: '',
        rate: 0.1,
      },
      {
        destination: { cluster: '', namespace: 'shop', workload: '' },
        caller: {
          principal: 'spiffe://cluster.local/ns/shop/sa/cart',
          namespace: 'shop',
          workload: 'cart',
          cluster: 'Kubernetes',
        },
        policy: '',
        kind: 'denied',
        reporter: '',
        rate: 25,
        service: 'shop/payments',
      },
      {
        destination: { cluster: 'Kubernetes', namespace: 'shop', workload: 'payments-v1' },
        caller: { principal: 'unknown', namespace: 'unknown', workload: 'unknown', cluster: '' },
        policy: '',
        kind: 'service_workload',
        reporter: '',
        rate: 1,
        service: 'shop/payments',
      },
    ]);
  });
});

describe('the telemetry check', () => {
  const REQUIRED = allRequiredLabels();
  const tagged = (metric: string, label: string) => ({ labels: { metric, label }, value: 1, timeMs: 0 });
  /** What the check's query returns for a metric that has series carrying every label of `labels`. */
  const metricWith = (metric: string, labels: string[]) => [
    tagged(metric, '__any__'),
    ...labels.map((label) => tagged(metric, label)),
  ];
  const allOf = (metric: string) => REQUIRED.filter((r) => r.metric === metric).map((r) => r.label);
  const http = () => metricWith('istio_requests_total', allOf('istio_requests_total'));
  const tcp = () => [
    ...metricWith('istio_tcp_connections_opened_total', allOf('istio_tcp_connections_opened_total')),
    ...metricWith('istio_tcp_connections_closed_total', allOf('istio_tcp_connections_closed_total')),
  ];
  const check = (samples: ReturnType<typeof tagged>[]) => {
    const state = decodeTelemetry(REQUIRED, samples);
    return {
      missing: labelPresence(REQUIRED, state)
        .filter((p) => !p.present)
        .map((p) => `${p.metric}/${p.label}: ${p.reason}`),
      blind: [...blindness(state)].sort(),
    };
  };

  it('asks in one query whether each metric exists and carries each label', () => {
    expect(
      requiredLabelsQuery([{ metric: 'istio_requests_total', label: 'reporter', layer: 'http' }]).split(
        ' or ',
      ),
    ).toEqual([
      'label_replace(label_replace(group(istio_requests_total), "metric", "istio_requests_total", "", ""), "label", "__any__", "", "")',
      'label_replace(label_replace(group(istio_tcp_connections_opened_total), "metric", "istio_tcp_connections_opened_total", "", ""), "label", "__any__", "", "")',
      'label_replace(label_replace(group(istio_tcp_connections_closed_total), "metric", "istio_tcp_connections_closed_total", "", ""), "label", "__any__", "", "")',
      'label_replace(label_replace(group(istio_requests_total{reporter!=""}), "metric", "istio_requests_total", "", ""), "label", "reporter", "", "")',
    ]);
  });

  it('finds nothing missing on a mesh with both layers (sidecars with TCP services, ambient with waypoints, mixed)', () => {
    expect(check([...http(), ...tcp()])).toEqual({ missing: [], blind: [] });
  });

  it('takes a mesh without istio_requests_total as an L4 mesh (ambient without waypoints), not as missing telemetry', () => {
    expect(check(tcp())).toEqual({ missing: [], blind: [] });
  });

  it('takes a mesh without TCP telemetry as an HTTP-only sidecar mesh', () => {
    expect(check(http())).toEqual({ missing: [], blind: [] });
  });

  it('reports a stripped label on the layer that lost it, and blinds exactly the detectors that need it there', () => {
    const stripped = tcp().filter(
      (s) =>
        !(
          s.labels.metric === 'istio_tcp_connections_opened_total' &&
          s.labels.label === 'connection_security_policy'
        ),
    );
    expect(check([...http(), ...stripped])).toEqual({
      missing: ['istio_tcp_connections_opened_total/connection_security_policy: stripped'],
      blind: ['plaintext:tcp'],
    });
  });

  it('reports a dropped closed counter as blinding L4 denials', () => {
    const withoutClosed = tcp().filter((s) => s.labels.metric !== 'istio_tcp_connections_closed_total');
    const result = check(withoutClosed);
    expect(result.blind).toEqual(['unauthorized:tcp']);
    expect(result.missing).toEqual(
      REQUIRED_LABELS.unauthorized
        .filter((r) => r.metric === 'istio_tcp_connections_closed_total')
        .map((r) => `${r.metric}/${r.label}: metric_absent`)
        .sort(),
    );
  });

  it('reports no Istio telemetry at all as every label missing and every detector blind', () => {
    const state = decodeTelemetry(REQUIRED, []);
    expect(new Set(labelPresence(REQUIRED, state).map((p) => [p.present, p.reason].join()))).toEqual(
      new Set(['false,no_telemetry']),
    );
    expect(blindDetectors(blindness(state))).toEqual([
      'errors',
      'new_caller',
      'plaintext',
      'traffic',
      'unauthorized',
    ]);
  });
});
