/**
 * Reads the queries back out of a dashboard and fills in variables as Grafana does, so that a test
 * (or a user checking a new Prometheus) can run exactly what the panels run.
 */
import type { Dashboard, QueryPanel } from './model';

/** One panel query, named for error messages. */
export interface PanelQuery {
  dashboard: string;
  panel: string;
  panelType: QueryPanel['type'];
  refId: string;
  expr: string;
  instant: boolean;
  legendFormat: string;
  unit: string;
}

/** A `label_values(selector, label)` variable. */
export interface VariableQuery {
  dashboard: string;
  variable: string;
  selector: string;
  label: string;
}

/** Every query of every panel (rows have none), in panel order. */
export function panelQueries(d: Dashboard): PanelQuery[] {
  return d.panels.flatMap((p) =>
    p.type === 'row'
      ? []
      : p.targets.map((t) => ({
          dashboard: d.title,
          panel: p.title,
          panelType: p.type,
          refId: t.refId,
          expr: t.expr,
          instant: t.instant,
          legendFormat: t.legendFormat,
          unit: p.fieldConfig.defaults.unit,
        })),
  );
}

const LABEL_VALUES = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/s;

/** The query variables, parsed; a query that is not `label_values(selector, label)` is an error. */
export function variableQueries(d: Dashboard): VariableQuery[] {
  return d.templating.list.flatMap((v) => {
    if (v.type !== 'query') return [];
    const m = LABEL_VALUES.exec(v.query);
    if (!m?.[1] || !m[2]) {
      throw new Error(`${d.title}: variable ${v.name} query ${v.query} is not label_values(selector, label)`);
    }
    return [{ dashboard: d.title, variable: v.name, selector: m[1].trim(), label: m[2] }];
  });
}

/**
 * Replaces `$name` and `${name}` with `values[name]`, as Grafana does for single-value variables
 * (inserted as is). An unknown name is left in place so that Prometheus rejects the query loudly.
 */
export function interpolate(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const value = values[braced ?? bare ?? ''];
      return value ?? whole;
    },
  );
}

/**
 * Grafana's `$__rate_interval` in seconds: the larger of `$__interval` plus one scrape interval,
 * and four scrape intervals, so that rate() always has at least two samples even after a miss.
 */
export function rateIntervalSeconds(intervalSeconds: number, scrapeIntervalSeconds: number): number {
  return Math.max(intervalSeconds + scrapeIntervalSeconds, 4 * scrapeIntervalSeconds);
}

/** The labels a legend format names (`{{source_principal}} -> {{destination_workload}}`). */
export function legendLabels(legendFormat: string): string[] {
  return [...legendFormat.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1] ?? '');
}
