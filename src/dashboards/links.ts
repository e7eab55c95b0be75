/**
 * Dashboard identities and the URLs that open them. The uids are part of the contract: alerts,
 * runbooks and bookmarks link to `/d/<uid>`, so they never change once shipped.
 */
import type { DashboardLink, DataLink } from './model';

/** The stable uid of each dashboard. */
export const DASHBOARD_UIDS = {
  overview: 'meshwatch-overview',
  workload: 'meshwatch-workload',
  health: 'meshwatch-health',
} as const;

/** Which dashboard. */
export type DashboardName = keyof typeof DASHBOARD_UIDS;

/** The tag every meshwatch dashboard carries; the header links list dashboards by it. */
export const DASHBOARD_TAG = 'meshwatch';

/** `/d/<uid>/<uid>`: the uid doubles as the slug, so the path is the same in every Grafana. */
export function dashboardPath(name: DashboardName): string {
  const uid = DASHBOARD_UIDS[name];
  return `/d/${uid}/${uid}`;
}

/**
 * The workload dashboard's URL for a destination, for alert annotations: `grafanaUrl` is the
 * Grafana base URL, `cluster`, `namespace` and `workload` are inserted as given (pass Go
 * templates such as `{{ $labels.destination_namespace }}` from a rule), and not encoded for that
 * reason. An empty cluster (a mesh without cluster labels) selects the series without the label.
 */
export function workloadDashboardUrl(
  grafanaUrl: string,
  cluster: string,
  namespace: string,
  workload: string,
): string {
  return (
    `${grafanaUrl.replace(/\/+$/, '')}${dashboardPath('workload')}` +
    `?var-cluster=${cluster}&var-namespace=${namespace}&var-workload=${workload}`
  );
}

/** A dashboard's URL under `grafanaUrl`, e.g. the health dashboard for meshwatch's own alerts. */
export function dashboardUrl(grafanaUrl: string, name: DashboardName): string {
  return `${grafanaUrl.replace(/\/+$/, '')}${dashboardPath(name)}`;
}

/**
 * A data link from a panel to the workload dashboard with data source, cluster, namespace,
 * workload and time range filled in. `field` is how Grafana reads a value:
 * `__field.labels.<label>` on a time series, `__data.fields.<column>` in a table. A series
 * without destination_cluster links with an empty cluster, which matches exactly such series.
 */
export function workloadDataLink(source: 'series' | 'table'): DataLink {
  const value = (label: string) =>
    source === 'series' ? `\${__field.labels.${label}}` : `\${__data.fields.${label}}`;
  return {
    title: 'Open the workload dashboard',
    url:
      `${dashboardPath('workload')}?\${datasource:queryparam}` +
      `&var-cluster=${value('destination_cluster')}` +
      `&var-namespace=${value('destination_namespace')}&var-workload=${value('destination_workload')}` +
      '&${__url_time_range}',
  };
}

/** The header link to the other meshwatch dashboards, keeping time range and data source. */
export function meshwatchDashboardsLink(): DashboardLink {
  return {
    title: 'meshwatch',
    type: 'dashboards',
    tags: [DASHBOARD_TAG],
    url: '',
    asDropdown: true,
    includeVars: true,
    keepTime: true,
    icon: 'external link',
    tooltip: '',
    targetBlank: false,
  };
}
