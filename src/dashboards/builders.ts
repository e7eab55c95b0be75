/**
 * Small typed builders for the Grafana model in ./model: they fill the defaults Grafana expects so
 * that the dashboard modules read as a list of panels and their queries, and they lay panels out
 * on the grid so that nobody hand-edits x/y coordinates.
 */
import type {
  Dashboard,
  DashboardLink,
  DataLink,
  DataSourceRef,
  DataSourceVariable,
  FieldDefaults,
  FieldOverride,
  Panel,
  PanelType,
  PrometheusTarget,
  QueryPanel,
  QueryVariable,
  ThresholdStep,
  Transformation,
  ValueMapping,
  Variable,
} from './model';

/** Every panel and variable queries the data source the user picked in `$datasource`. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/*
 * Units of rates. Grafana has requests/s but no connections/s, so that one is a custom unit. A
 * signal that adds requests and connections (denials, plaintext, new callers: `layer` says which
 * each caller is) is shown as a plain "/s" rather than mislabelled as one of the two.
 */
/** Requests per second (HTTP and gRPC). */
export const REQUESTS_PER_SECOND = 'reqps';
/** TCP connections per second. */
export const CONNECTIONS_PER_SECOND = 'suffix:conn/s';
/** Requests and connections per second together. */
export const PER_SECOND = 'suffix:/s';

/** Grafana's grid is 24 columns wide. */
export const GRID_WIDTH = 24;

/** One PromQL query of a panel. */
export interface QuerySpec {
  expr: string;
  /** Legend with `{{label}}` placeholders; every label named must be on the result (the proof checks it). */
  legend?: string;
  /** Evaluate once at the end of the range, as a table's current values. */
  instant?: boolean;
}

/** What a panel shows; everything else is filled with the defaults below. */
export interface PanelSpec {
  title: string;
  /** Shown in the panel's (i) tooltip: what it answers, and where a blank panel is normal. */
  description: string;
  /** Grafana unit id (`reqps`, `percentunit`, `s`, ...); required, so every panel has one. */
  unit: string;
  queries: QuerySpec[];
  width: number;
  height?: number;
  min?: number;
  max?: number;
  decimals?: number;
  /** Text shown when the query returns nothing, e.g. "no plaintext traffic". */
  noValue?: string;
  thresholds?: ThresholdStep[];
  mappings?: ValueMapping[];
  links?: DataLink[];
  overrides?: FieldOverride[];
  transformations?: Transformation[];
  options?: Record<string, unknown>;
  custom?: Record<string, unknown>;
}

/** A panel before layout: its size, without position or id. */
export type PanelDraft = Omit<QueryPanel, 'id' | 'gridPos'> & { size: { w: number; h: number } };

/** A row header before layout. */
export interface RowDraft {
  row: string;
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The queries of a panel with refIds A, B, C... in order. */
export function targets(queries: readonly QuerySpec[], format: 'time_series' | 'table'): PrometheusTarget[] {
  return queries.map((q, i) => ({
    refId: REF_IDS[i] ?? `Q${i}`,
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend ?? '__auto',
    instant: q.instant ?? false,
    range: !(q.instant ?? false),
    format,
  }));
}

function draft(
  type: PanelType,
  spec: PanelSpec,
  custom: Record<string, unknown>,
  options: Record<string, unknown>,
): PanelDraft {
  const defaults: FieldDefaults = {
    unit: spec.unit,
    color: { mode: spec.thresholds ? 'thresholds' : 'palette-classic' },
    thresholds: { mode: 'absolute', steps: spec.thresholds ?? [{ color: 'green', value: null }] },
    mappings: spec.mappings ?? [],
    links: spec.links ?? [],
    custom: { ...custom, ...spec.custom },
  };
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.max !== undefined) defaults.max = spec.max;
  if (spec.decimals !== undefined) defaults.decimals = spec.decimals;
  if (spec.noValue !== undefined) defaults.noValue = spec.noValue;
  return {
    type,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    targets: targets(spec.queries, type === 'table' ? 'table' : 'time_series'),
    fieldConfig: { defaults, overrides: spec.overrides ?? [] },
    options: { ...options, ...spec.options },
    transformations: spec.transformations ?? [],
    size: { w: spec.width, h: spec.height ?? 8 },
  };
}

/** A time series graph; lines, legend as a table with the last and max values. */
export function timeseries(spec: PanelSpec): PanelDraft {
  return draft(
    'timeseries',
    spec,
    { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false },
    {
      legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  );
}

/** A big current value with a sparkline of its trend. */
export function stat(spec: PanelSpec): PanelDraft {
  return draft(
    'stat',
    spec,
    {},
    {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      graphMode: 'area',
      colorMode: 'value',
      textMode: 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
    },
  );
}

/** A table of instant query results; columns come from the labels (see `organize`). */
export function table(spec: PanelSpec): PanelDraft {
  return draft(
    'table',
    { ...spec, queries: spec.queries.map((q) => ({ ...q, instant: true })) },
    { align: 'auto', cellOptions: { type: 'auto' }, inspect: false },
    { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } },
  );
}

/** A full-width row header. */
export function row(title: string): RowDraft {
  return { row: title };
}

/**
 * Places panels left to right, wrapping at the grid's width; a row header starts a new line.
 * Ids follow the order, so they are stable as long as the order is.
 */
export function layout(items: ReadonlyArray<PanelDraft | RowDraft>): Panel[] {
  const panels: Panel[] = [];
  let x = 0;
  let y = 0;
  let lineHeight = 0;
  const newLine = () => {
    y += lineHeight;
    x = 0;
    lineHeight = 0;
  };
  for (const item of items) {
    const id = panels.length + 1;
    if ('row' in item) {
      newLine();
      panels.push({
        id,
        type: 'row',
        title: item.row,
        collapsed: false,
        gridPos: { x: 0, y, w: GRID_WIDTH, h: 1 },
        panels: [],
      });
      y += 1;
      continue;
    }
    const { size, ...panel } = item;
    if (x + size.w > GRID_WIDTH) newLine();
    panels.push({ id, ...panel, gridPos: { x, y, w: size.w, h: size.h } });
    x += size.w;
    lineHeight = Math.max(lineHeight, size.h);
  }
  return panels;
}

/** The data source picker every dashboard starts with. */
export function datasourceVariable(): DataSourceVariable {
  return {
    type: 'datasource',
    name: 'datasource',
    label: 'Data source',
    query: 'prometheus',
    regex: '',
    current: {},
    hide: 0,
    refresh: 1,
    options: [],
  };
}

/** A variable listing the values of `label` on the series `selector` selects. */
export function labelValuesVariable(
  name: string,
  label: string,
  selector: string,
  title: string,
): QueryVariable {
  const query = `label_values(${selector}, ${label})`;
  return {
    type: 'query',
    name,
    label: title,
    datasource: DATASOURCE,
    query,
    definition: query,
    refresh: 2,
    sort: 1,
    multi: false,
    includeAll: false,
    regex: '',
    current: {},
    hide: 0,
    options: [],
  };
}

/**
 * The cluster picker: the values of destination_cluster on `selector`, "All" first and chosen by
 * default. All is `.*`, not the list of values, so that `destination_cluster=~"$cluster"` also
 * matches series without the label (a mesh without cluster labels, where the list is empty).
 */
export function clusterVariable(selector: string): QueryVariable {
  return {
    ...labelValuesVariable('cluster', 'destination_cluster', selector, 'Cluster'),
    includeAll: true,
    allValue: '.*',
  };
}

/** What a dashboard is about; the rest (time picker, schema version, ...) is the same for all. */
export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  variables: Variable[];
  links: DashboardLink[];
  panels: ReadonlyArray<PanelDraft | RowDraft>;
  /** Default time range, e.g. `now-1h`. */
  from: string;
}

/** A whole dashboard, panels laid out. `description` goes out as given (callers add the generated-by marker). */
export function dashboard(spec: DashboardSpec): Dashboard {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: spec.tags,
    // Provisioned from a ConfigMap: edits in the UI would be lost on the next sync, so say so up front.
    editable: false,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    timezone: 'browser',
    refresh: '30s',
    time: { from: spec.from, to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    links: spec.links,
    annotations: { list: [] },
    templating: { list: spec.variables },
    panels: layout(spec.panels),
  };
}

/** Colours a series by its legend name (`byName`) or query (`byFrameRefID`). */
export function override(
  matcher: FieldOverride['matcher'],
  properties: Record<string, unknown>,
): FieldOverride {
  return { matcher, properties: Object.entries(properties).map(([id, value]) => ({ id, value })) };
}

/** Draws query `refId` as the dashed red threshold line, never filled or stacked. */
export function thresholdLine(refId: string): FieldOverride {
  return override(
    { id: 'byFrameRefID', options: refId },
    {
      color: { mode: 'fixed', fixedColor: 'red' },
      'custom.lineStyle': { fill: 'dash', dash: [10, 10] },
      'custom.fillOpacity': 0,
      'custom.lineWidth': 2,
    },
  );
}

/**
 * Value mappings: the text and colour shown for each value. A list, not an object, because an
 * object would put integer-like keys in ascending order whatever order they are written in.
 */
export function valueMapping(
  values: ReadonlyArray<{ value: string; text: string; color: string }>,
): ValueMapping {
  return {
    type: 'value',
    options: Object.fromEntries(
      values.map(({ value, text, color }, index) => [value, { text, color, index }]),
    ),
  };
}

/** Value mappings for a 0/1 gauge: what 1 and 0 mean, in green and red. */
export function booleanMapping(whenOne: string, whenZero: string): ValueMapping {
  return valueMapping([
    { value: '1', text: whenOne, color: 'green' },
    { value: '0', text: whenZero, color: 'red' },
  ]);
}
