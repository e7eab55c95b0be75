import {
  booleanMapping,
  clusterVariable,
  layout,
  row,
  stat,
  timeseries,
  valueMapping,
} from '../../../src/dashboards/builders';
import { dashboardUrl, workloadDashboardUrl } from '../../../src/dashboards/links';
import { interpolate, legendLabels, rateIntervalSeconds } from '../../../src/dashboards/queries';

const panel = (title: string, width: number, height = 8) =>
  timeseries({ title, description: '', unit: 'reqps', width, height, queries: [{ expr: 'up' }] });

describe('layout', () => {
  it('places panels left to right, wraps at 24 columns and starts a new line at each row header', () => {
    const placed = layout([
      row('A'),
      panel('a', 16),
      panel('b', 8, 6),
      panel('c', 12),
      row('B'),
      panel('d', 24),
    ]);
    expect(placed.map((p) => [p.id, p.title, p.gridPos])).toEqual([
      [1, 'A', { x: 0, y: 0, w: 24, h: 1 }],
      [2, 'a', { x: 0, y: 1, w: 16, h: 8 }],
      [3, 'b', { x: 16, y: 1, w: 8, h: 6 }],
      [4, 'c', { x: 0, y: 9, w: 12, h: 8 }],
      [5, 'B', { x: 0, y: 17, w: 24, h: 1 }],
      [6, 'd', { x: 0, y: 18, w: 24, h: 8 }],
    ]);
  });
});

describe('panel builders', () => {
  it('build a stat panel with its unit, thresholds and a refId per query through $datasource', () => {
    const draft = stat({
      title: 'Up',
      description: 'targets up',
      unit: 'none',
      width: 6,
      thresholds: [
        { color: 'red', value: null },
        { color: 'green', value: 1 },
      ],
      queries: [
        { expr: 'up', legend: '{{instance}}' },
        { expr: 'vector(1)', instant: true },
      ],
    });
    expect({ targets: draft.targets, defaults: draft.fieldConfig.defaults, size: draft.size }).toEqual({
      targets: [
        {
          refId: 'A',
          datasource: { type: 'prometheus', uid: '${datasource}' },
          expr: 'up',
          legendFormat: '{{instance}}',
          instant: false,
          range: true,
          format: 'time_series',
        },
        {
          refId: 'B',
          datasource: { type: 'prometheus', uid: '${datasource}' },
          expr: 'vector(1)',
          legendFormat: '__auto',
          instant: true,
          range: false,
          format: 'time_series',
        },
      ],
      defaults: {
        unit: 'none',
        color: { mode: 'thresholds' },
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'red', value: null },
            { color: 'green', value: 1 },
          ],
        },
        mappings: [],
        links: [],
        custom: {},
      },
      size: { w: 6, h: 8 },
    });
  });
});

describe('variable and mapping builders', () => {
  it('build the cluster picker with All first, standing for .* so that series without the label match too', () => {
    expect(clusterVariable('meshwatch_signal_observed')).toEqual({
      type: 'query',
      name: 'cluster',
      label: 'Cluster',
      datasource: { type: 'prometheus', uid: '${datasource}' },
      query: 'label_values(meshwatch_signal_observed, destination_cluster)',
      definition: 'label_values(meshwatch_signal_observed, destination_cluster)',
      refresh: 2,
      sort: 1,
      multi: false,
      includeAll: true,
      regex: '',
      current: {},
      hide: 0,
      options: [],
      allValue: '.*',
    });
  });

  it('map values to text and colour in the order given, integer-like values included', () => {
    expect(
      valueMapping([
        { value: '3', text: 'three', color: 'green' },
        { value: '0', text: 'none', color: 'red' },
      ]),
    ).toEqual({
      type: 'value',
      options: {
        '3': { text: 'three', color: 'green', index: 0 },
        '0': { text: 'none', color: 'red', index: 1 },
      },
    });
    expect(booleanMapping('yes', 'no')).toEqual({
      type: 'value',
      options: {
        '1': { text: 'yes', color: 'green', index: 0 },
        '0': { text: 'no', color: 'red', index: 1 },
      },
    });
  });
});

describe('dashboard URLs for alert annotations', () => {
  it('open the workload dashboard with cluster, namespace and workload from the alert labels', () => {
    expect(
      workloadDashboardUrl(
        'https://grafana.example.com/',
        '{{ $labels.destination_cluster }}',
        '{{ $labels.destination_namespace }}',
        '{{ $labels.destination_workload }}',
      ),
    ).toBe(
      'https://grafana.example.com/d/meshwatch-workload/meshwatch-workload' +
        '?var-cluster={{ $labels.destination_cluster }}' +
        '&var-namespace={{ $labels.destination_namespace }}&var-workload={{ $labels.destination_workload }}',
    );
  });

  it('open the health dashboard for meshwatch own alerts', () => {
    expect(dashboardUrl('https://grafana.example.com', 'health')).toBe(
      'https://grafana.example.com/d/meshwatch-health/meshwatch-health',
    );
  });
});

describe('query helpers', () => {
  it('substitute $name and ${name} as Grafana does and leave unknown names for Prometheus to reject', () => {
    expect(
      interpolate('rate(x{ns="$namespace", w="${workload}"}[$__rate_interval]) $unknown', {
        namespace: 'shop',
        workload: 'payments',
        __rate_interval: '1m',
      }),
    ).toBe('rate(x{ns="shop", w="payments"}[1m]) $unknown');
  });

  it('compute $__rate_interval as the larger of interval plus one scrape and four scrapes', () => {
    expect([rateIntervalSeconds(1, 15), rateIntervalSeconds(120, 15), rateIntervalSeconds(1, 1)]).toEqual([
      60, 135, 4,
    ]);
  });

  it('list the labels a legend names', () => {
    expect(
      legendLabels('{{source_principal}} -> {{ destination_namespace }}/{{destination_workload}}'),
    ).toEqual(['source_principal', 'destination_namespace', 'destination_workload']);
  });
});
