import { expectCommittedAsGenerated } from '../../helpers/generated';
import { parse } from 'yaml';
import {
  DEFAULT_CONFIGMAP_OPTIONS,
  GENERATED_MARKER,
  generatedDashboardFiles,
  meshwatchDashboards,
  renderDashboardConfigMap,
  renderDashboardJson,
} from '../../../src/dashboards/files';
import { DASHBOARD_UIDS } from '../../../src/dashboards/links';
import type { Dashboard, QueryPanel } from '../../../src/dashboards/model';
import { panelQueries, variableQueries } from '../../../src/dashboards/queries';
import { SIGNAL_PANELS } from '../../../src/dashboards/workload';

const dashboards = Object.values(meshwatchDashboards());
const queryPanels = (d: Dashboard): QueryPanel[] => d.panels.filter((p): p is QueryPanel => p.type !== 'row');
const byTitle = (d: Dashboard, title: string): QueryPanel => {
  const panel = queryPanels(d).find((p) => p.title === title);
  if (!panel) throw new Error(`${d.title} has no panel ${title}`);
  return panel;
};

describe('the generated dashboard files', () => {
  it.each(generatedDashboardFiles().map((f) => [f.path, f.content]))(
    'commits %s exactly as src/dashboards renders it',
    (path, content) =>
      expectCommittedAsGenerated(path, content, 'src/dashboards', 'npm run generate:dashboards'),
  );

  it('are three JSON dashboards under grafana/ and their three ConfigMaps under deploy/base/generated/dashboards/', () => {
    expect(generatedDashboardFiles().map((f) => f.path)).toEqual([
      'grafana/meshwatch-overview.json',
      'grafana/meshwatch-workload.json',
      'grafana/meshwatch-health.json',
      'deploy/base/generated/dashboards/meshwatch-overview.yaml',
      'deploy/base/generated/dashboards/meshwatch-workload.yaml',
      'deploy/base/generated/dashboards/meshwatch-health.yaml',
    ]);
  });

  it('mark every dashboard as generated in its description and every ConfigMap on its first line', () => {
    expect(dashboards.map((d) => d.description.startsWith(`${GENERATED_MARKER} `))).toEqual([
      true,
      true,
      true,
    ]);
    expect(
      generatedDashboardFiles()
        .filter((f) => f.path.endsWith('.yaml'))
        .map((f) => f.content.split('\n')[0]),
    ).toEqual([`# ${GENERATED_MARKER}`, `# ${GENERATED_MARKER}`, `# ${GENERATED_MARKER}`]);
  });

  it('wrap the same JSON in a ConfigMap the Grafana sidecar selects by grafana_dashboard: "1"', () => {
    const overview = meshwatchDashboards().overview;
    const manifest = parse(renderDashboardConfigMap(overview, DEFAULT_CONFIGMAP_OPTIONS)) as Record<
      string,
      unknown
    >;
    expect(manifest).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'meshwatch-overview',
        namespace: 'monitoring',
        labels: { grafana_dashboard: '1', 'app.kubernetes.io/name': 'meshwatch' },
        annotations: { grafana_folder: 'meshwatch' },
      },
      data: { 'meshwatch-overview.json': renderDashboardJson(overview) },
    });
  });
});

describe('the dashboards follow the conventions users expect', () => {
  it('have stable uids and titles', () => {
    expect(dashboards.map((d) => [d.uid, d.title])).toEqual([
      [DASHBOARD_UIDS.overview, 'meshwatch / Mesh security overview'],
      [DASHBOARD_UIDS.workload, 'meshwatch / Workload'],
      [DASHBOARD_UIDS.health, 'meshwatch / Health'],
    ]);
  });

  it('start with a datasource variable and query only through it', () => {
    for (const d of dashboards) {
      expect(d.templating.list[0]).toMatchObject({
        type: 'datasource',
        name: 'datasource',
        query: 'prometheus',
      });
      const refs = queryPanels(d).flatMap((p) => [p.datasource, ...p.targets.map((t) => t.datasource)]);
      expect(new Set(refs.map((r) => `${r.type} ${r.uid}`))).toEqual(new Set(['prometheus ${datasource}']));
    }
  });

  it('give every panel a unit', () => {
    const missing = dashboards.flatMap((d) =>
      queryPanels(d)
        .filter((p) => !p.fieldConfig.defaults.unit)
        .map((p) => `${d.title}: ${p.title}`),
    );
    expect(missing).toEqual([]);
  });

  it('use $__rate_interval for every range vector of rate(), never a fixed window', () => {
    const fixed = dashboards.flatMap((d) =>
      panelQueries(d)
        .filter(
          (q) =>
            /rate\(/.test(q.expr) &&
            /\[(?!\$__rate_interval\])[^\]]*\]\)/.test(q.expr.replace(/\[\$__range:?\]/g, '')),
        )
        .map((q) => `${q.dashboard}: ${q.panel}: ${q.expr}`),
    );
    expect(fixed).toEqual([]);
  });

  it('read Istio counters from the server side only: requests from sidecars and waypoints, connections from sidecars and ztunnel', () => {
    const istio = dashboards.flatMap((d) =>
      panelQueries(d)
        .filter((q) => q.expr.includes('istio_') && !q.expr.includes('meshwatch_'))
        .map((q) => [q.panel, q.refId, [...q.expr.matchAll(/reporter=~?"[^"]*"/g)].map((m) => m[0])]),
    );
    expect(istio).toEqual([
      ['Traffic over mTLS', 'A', ['reporter=~"destination|waypoint"', 'reporter=~"destination|waypoint"']],
      [
        'Traffic over mTLS, trend',
        'A',
        ['reporter=~"destination|waypoint"', 'reporter=~"destination|waypoint"'],
      ],
      ['Requests by response code, mTLS split', 'A', ['reporter=~"destination|waypoint"']],
      ['Requests by caller', 'A', ['reporter=~"destination|waypoint"']],
      ['Connections by caller, mTLS split', 'A', ['reporter="destination"']],
    ]);
  });

  it('filter every query about destinations on the chosen cluster', () => {
    const { overview, workload } = meshwatchDashboards();
    const unfiltered = [overview, workload].flatMap((d) =>
      panelQueries(d)
        .filter((q) =>
          /destination_|istio_|meshwatch_(anomaly_score|signal_|mtls_ratio|strict_mtls_ready|\w+_requests_per_second)/.test(
            q.expr,
          ),
        )
        .filter((q) => !q.expr.includes('destination_cluster=~"$cluster"'))
        .map((q) => `${q.panel} (${q.refId})`),
    );
    expect(unfiltered).toEqual([]);
  });

  it('show requests/s and connections/s of the traffic detector, each in its unit', () => {
    const panel = byTitle(
      meshwatchDashboards().workload,
      'Request or connection rate: observed and expected',
    );
    expect(panel.targets.map((t) => [t.expr, t.legendFormat])).toEqual(
      ['observed', 'expected', 'lower', 'upper'].map((g) => [
        `max by (signal) (meshwatch_signal_${g}{signal=~"requests_per_second|connections_per_second", destination_cluster=~"$cluster", destination_namespace="$namespace", destination_workload="$workload"})`,
        `${g} {{signal}}`,
      ]),
    );
    expect(panel.fieldConfig.defaults.unit).toBe('reqps');
    expect(
      panel.fieldConfig.overrides.map((o) => [
        o.matcher.options,
        o.properties.find((p) => p.id === 'unit')?.value,
        o.properties.find((p) => p.id === 'custom.fillBelowTo')?.value,
      ]),
    ).toEqual([
      ['observed requests_per_second', 'reqps', undefined],
      ['expected requests_per_second', 'reqps', undefined],
      ['upper requests_per_second', 'reqps', 'lower requests_per_second'],
      ['lower requests_per_second', 'reqps', undefined],
      ['observed connections_per_second', 'suffix:conn/s', undefined],
      ['expected connections_per_second', 'suffix:conn/s', undefined],
      ['upper connections_per_second', 'suffix:conn/s', 'lower connections_per_second'],
      ['lower connections_per_second', 'suffix:conn/s', undefined],
    ]);
  });

  it('show the denials of both layers, and plaintext callers with their cluster and layer', () => {
    const exprs = (d: Dashboard, title: string) =>
      byTitle(d, title).targets.map((t) => [t.expr, t.legendFormat]);
    const { overview, workload } = meshwatchDashboards();
    expect([
      ...exprs(overview, 'Denied requests and connections by caller'),
      ...exprs(workload, 'Denied callers'),
      ...exprs(workload, 'Plaintext callers'),
    ]).toEqual([
      [
        'sum by (source_principal, layer, destination_cluster, destination_namespace, destination_workload) (meshwatch_unauthorized_requests_per_second{destination_cluster=~"$cluster"}) > 0',
        '{{source_principal}} [{{layer}}] -> {{destination_namespace}}/{{destination_workload}} ({{destination_cluster}})',
      ],
      [
        'sum by (source_principal, layer) (meshwatch_unauthorized_requests_per_second{destination_cluster=~"$cluster", destination_namespace="$namespace", destination_workload="$workload"}) > 0',
        '{{source_principal}} [{{layer}}]',
      ],
      [
        'sum by (source_cluster, source_workload_namespace, source_workload, layer) (meshwatch_plaintext_requests_per_second{destination_cluster=~"$cluster", destination_namespace="$namespace", destination_workload="$workload"})',
        '{{source_workload_namespace}}/{{source_workload}} ({{source_cluster}}) [{{layer}}]',
      ],
    ]);
  });

  it('show the road to STRICT mTLS: destinations ready and blocked, each once, and the plaintext callers left', () => {
    const overview = meshwatchDashboards().overview;
    const ready =
      'min by (destination_cluster, destination_namespace, destination_workload) (meshwatch_strict_mtls_ready{destination_cluster=~"$cluster"})';
    expect(
      [
        'Destinations ready for STRICT mTLS',
        'Destinations blocked from STRICT mTLS',
        'Plaintext callers left',
      ].map((title) => {
        const panel = byTitle(overview, title);
        return [panel.type, panel.fieldConfig.defaults.unit, panel.targets.map((t) => t.expr)];
      }),
    ).toEqual([
      ['stat', 'percentunit', [`avg(${ready})`]],
      ['stat', 'short', [`count(${ready} == 0)`]],
      [
        'stat',
        'short',
        [
          'count(count by (source_cluster, source_workload_namespace, source_workload) (meshwatch_plaintext_requests_per_second{destination_cluster=~"$cluster"} > 0))',
        ],
      ],
    ]);
  });

  it('show what kind of mesh meshwatch sees and which detectors are blind', () => {
    const health = meshwatchDashboards().health;
    expect(
      ['Kind of mesh', 'Istio telemetry present', 'Blind detectors'].map((title) => {
        const panel = byTitle(health, title);
        return [
          panel.targets.map((t) => t.expr),
          panel.fieldConfig.defaults.mappings.flatMap((m) =>
            Object.entries(m.options).map(([v, o]) => `${v}: ${o.text}`),
          ),
        ];
      }),
    ).toEqual([
      [
        [
          '2 * max by (instance) (meshwatch_telemetry_present{metric="istio_requests_total"})\n' +
            '+ max by (instance) (meshwatch_telemetry_present{metric="istio_tcp_connections_opened_total"})',
        ],
        [
          '0: no Istio telemetry',
          '1: L4 only: ambient without waypoints',
          '2: HTTP only: sidecars',
          '3: HTTP and TCP: sidecars, waypoints or both',
        ],
      ],
      [['max by (metric) (meshwatch_telemetry_present)'], ['0: absent', '1: present']],
      [['max by (detector) (meshwatch_detector_blind)'], ['0: sees', '1: blind']],
    ]);
  });

  it('draw every score against meshwatch_detector_threshold as a dashed line', () => {
    const workload = meshwatchDashboards().workload;
    expect(
      SIGNAL_PANELS.map((s) => {
        const panel = byTitle(workload, `${s.detector} score`);
        return {
          exprs: panel.targets.map((t) => t.expr),
          threshold: panel.fieldConfig.overrides[0]?.matcher,
        };
      }),
    ).toEqual(
      SIGNAL_PANELS.map((s) => ({
        exprs: [
          `max(meshwatch_anomaly_score{detector="${s.detector}", destination_cluster=~"$cluster", destination_namespace="$namespace", destination_workload="$workload"})`,
          `max(meshwatch_detector_threshold{detector="${s.detector}"})`,
        ],
        threshold: { id: 'byFrameRefID', options: 'B' },
      })),
    );
  });

  it('link every overview panel about destinations to the workload dashboard with cluster, namespace and workload filled in', () => {
    const overview = meshwatchDashboards().overview;
    // A stat is one number over the destinations (the zero-trust progress): there is no one to link to.
    const linked = queryPanels(overview)
      .filter((p) => p.type !== 'stat')
      .filter((p) => p.targets.some((t) => `${t.expr} ${t.legendFormat}`.includes('destination_workload')))
      .map((p) => [p.title, p.fieldConfig.defaults.links.map((l) => l.url)]);
    expect(linked).toEqual(
      [
        ['Traffic over mTLS, trend', 'series'],
        ['Plaintext edges', 'table'],
        ['Denied requests and connections by destination', 'series'],
        ['Denied requests and connections by caller', 'series'],
        ['Workloads over their threshold', 'table'],
        ['New callers', 'table'],
      ].map(([title, kind]) => {
        const field = kind === 'series' ? '__field.labels' : '__data.fields';
        return [
          title,
          [
            '/d/meshwatch-workload/meshwatch-workload?${datasource:queryparam}' +
              `&var-cluster=\${${field}.destination_cluster}` +
              `&var-namespace=\${${field}.destination_namespace}&var-workload=\${${field}.destination_workload}` +
              '&${__url_time_range}',
          ],
        ];
      }),
    );
  });

  it('pick the cluster, then the namespace in it, then the workload, all from the series meshwatch exports', () => {
    const { overview, workload } = meshwatchDashboards();
    expect([...variableQueries(overview), ...variableQueries(workload)]).toEqual([
      {
        dashboard: 'meshwatch / Mesh security overview',
        variable: 'cluster',
        selector: 'meshwatch_signal_observed',
        label: 'destination_cluster',
      },
      {
        dashboard: 'meshwatch / Workload',
        variable: 'cluster',
        selector: 'meshwatch_signal_observed',
        label: 'destination_cluster',
      },
      {
        dashboard: 'meshwatch / Workload',
        variable: 'namespace',
        selector: 'meshwatch_signal_observed{destination_cluster=~"$cluster"}',
        label: 'destination_namespace',
      },
      {
        dashboard: 'meshwatch / Workload',
        variable: 'workload',
        selector:
          'meshwatch_signal_observed{destination_cluster=~"$cluster", destination_namespace="$namespace"}',
        label: 'destination_workload',
      },
    ]);
  });

  it('lay panels out on the 24-column grid without overlaps and with unique ids', () => {
    for (const d of dashboards) {
      const cells = new Set<string>();
      for (const p of d.panels) {
        expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
        for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
          for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
            expect(cells.has(`${x},${y}`)).toBe(false);
            cells.add(`${x},${y}`);
          }
      }
      expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    }
  });

  it('show the panels the issue asks for', () => {
    expect(dashboards.map((d) => [d.uid, queryPanels(d).map((p) => `${p.type}: ${p.title}`)])).toEqual([
      [
        'meshwatch-overview',
        [
          'stat: Traffic over mTLS',
          'timeseries: Traffic over mTLS, trend',
          'table: Plaintext edges',
          'stat: Destinations ready for STRICT mTLS',
          'stat: Destinations blocked from STRICT mTLS',
          'stat: Plaintext callers left',
          'timeseries: Denied requests and connections by destination',
          'timeseries: Denied requests and connections by caller',
          'stat: Open findings by detector',
          'table: Workloads over their threshold',
          'table: New callers',
        ],
      ],
      [
        'meshwatch-workload',
        [
          'timeseries: Denied callers',
          'timeseries: Plaintext callers',
          'timeseries: New callers',
          ...SIGNAL_PANELS.flatMap((s) => [
            `timeseries: ${s.title}: observed and expected`,
            `timeseries: ${s.detector} score`,
          ]),
          'timeseries: Requests by response code, mTLS split',
          'timeseries: Requests by caller',
          'timeseries: Connections by caller, mTLS split',
        ],
      ],
      [
        'meshwatch-health',
        [
          'stat: Prometheus reachable',
          'stat: Warm-up',
          'stat: Since the last successful poll',
          'table: Build',
          'timeseries: Polls and failures',
          'timeseries: Poll duration',
          'timeseries: Prometheus reachability',
          'timeseries: Warm-up',
          'timeseries: Tracked series by detector',
          'timeseries: Dropped series by reason',
          'stat: Kind of mesh',
          'table: Istio telemetry present',
          'table: Blind detectors',
          'table: Required telemetry labels',
        ],
      ],
    ]);
  });
});
