/**
 * The subset of Grafana's dashboard JSON model (schemaVersion 39, Grafana 10/11) that meshwatch's
 * dashboards use, typed so that a misspelt key is a compile error rather than a silently ignored
 * field. Field names are Grafana's own; see grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/.
 */

/** A reference to a data source; meshwatch always points at the `$datasource` variable. */
export interface DataSourceRef {
  type: 'prometheus';
  uid: string;
}

/** One PromQL query of a panel. */
export interface PrometheusTarget {
  refId: string;
  datasource: DataSourceRef;
  expr: string;
  /** Series name in the legend, with `{{label}}` placeholders. */
  legendFormat: string;
  /** true: one evaluation at the end of the range (tables, current values). */
  instant: boolean;
  range: boolean;
  format: 'time_series' | 'table';
}

/** A threshold step: the colour from `value` upwards (`null` is the base step). */
export interface ThresholdStep {
  color: string;
  value: number | null;
}

/** A value mapping shown instead of a raw number (1 -> "yes"). */
export interface ValueMapping {
  type: 'value';
  options: Record<string, { text: string; color: string; index: number }>;
}

/** A link out of a panel's data point or table cell. */
export interface DataLink {
  title: string;
  url: string;
}

/** Field display settings; `unit` is set on every panel (a unit test checks it). */
export interface FieldDefaults {
  unit: string;
  decimals?: number;
  min?: number;
  max?: number;
  noValue?: string;
  color: { mode: 'palette-classic' | 'thresholds' | 'fixed'; fixedColor?: string };
  thresholds: { mode: 'absolute'; steps: ThresholdStep[] };
  mappings: ValueMapping[];
  links: DataLink[];
  custom: Record<string, unknown>;
}

/** A per-field override, e.g. drawing the threshold series as a dashed red line. */
export interface FieldOverride {
  matcher: { id: 'byName' | 'byFrameRefID' | 'byRegexp'; options: string };
  properties: Array<{ id: string; value: unknown }>;
}

/** A transformation of a panel's query results (tables join several queries with them). */
export interface Transformation {
  id: string;
  options: Record<string, unknown>;
}

/** Where a panel sits on the 24-column grid. */
export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The panel types meshwatch uses. */
export type PanelType = 'timeseries' | 'stat' | 'table';

/** A panel that shows query results. */
export interface QueryPanel {
  id: number;
  type: PanelType;
  title: string;
  description: string;
  gridPos: GridPos;
  datasource: DataSourceRef;
  targets: PrometheusTarget[];
  fieldConfig: { defaults: FieldDefaults; overrides: FieldOverride[] };
  options: Record<string, unknown>;
  transformations: Transformation[];
}

/** A row header that groups the panels under it. */
export interface RowPanel {
  id: number;
  type: 'row';
  title: string;
  collapsed: false;
  gridPos: GridPos;
  panels: [];
}

/** Anything on the dashboard's grid. */
export type Panel = QueryPanel | RowPanel;

/** The data source picker (`$datasource`), restricted to Prometheus-compatible sources. */
export interface DataSourceVariable {
  type: 'datasource';
  name: string;
  label: string;
  query: 'prometheus';
  regex: string;
  current: Record<string, never>;
  hide: 0;
  refresh: 1;
  options: [];
}

/** A variable filled from `label_values(<series selector>, <label>)`. */
export interface QueryVariable {
  type: 'query';
  name: string;
  label: string;
  datasource: DataSourceRef;
  /** Grafana's Prometheus variable syntax, e.g. `label_values(up{job="x"}, instance)`. */
  query: string;
  definition: string;
  /** 2: refresh on time range change, so workloads that appear later are listed. */
  refresh: 2;
  /** 1: alphabetical. */
  sort: 1;
  multi: false;
  /** Offers an "All" entry first; Grafana then queries with `allValue`. */
  includeAll: boolean;
  /** What "All" stands for in a query (`.*` for a regex matcher); only with includeAll. */
  allValue?: string;
  regex: string;
  current: Record<string, never>;
  hide: 0;
  options: [];
}

/** A dashboard variable. */
export type Variable = DataSourceVariable | QueryVariable;

/** A link in the dashboard's header. */
export interface DashboardLink {
  title: string;
  type: 'dashboards' | 'link';
  tags: string[];
  url: string;
  asDropdown: boolean;
  includeVars: boolean;
  keepTime: boolean;
  icon: string;
  tooltip: string;
  targetBlank: false;
}

/** A whole dashboard as Grafana stores it. */
export interface Dashboard {
  uid: string;
  title: string;
  /** Starts with the generated-by marker: the JSON model has no comments and no free top-level key. */
  description: string;
  tags: string[];
  editable: boolean;
  graphTooltip: 1;
  schemaVersion: 39;
  version: 1;
  timezone: 'browser';
  refresh: string;
  time: { from: string; to: string };
  timepicker: Record<string, never>;
  fiscalYearStartMonth: 0;
  liveNow: false;
  weekStart: '';
  links: DashboardLink[];
  annotations: { list: unknown[] };
  templating: { list: Variable[] };
  panels: Panel[];
}
