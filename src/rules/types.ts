/** Prometheus rule-file shapes, as the rule builders return them and the renderers write them. */

/** One alerting rule: the fields of a Prometheus rule file, in its order. */
export interface AlertRule {
  alert: string;
  expr: string;
  /** A Prometheus duration (`1m`); how long `expr` must hold before the alert fires. */
  for: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string; dashboard_url: string };
}

/** A named group of rules, evaluated together. */
export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

/** Where the generated files go, relative to the repository root, and the PrometheusRule's metadata. */
export interface RuleFileTargets {
  /** Plain Prometheus rule file (`rule_files:`). */
  ruleFile: string;
  /** prometheus-operator PrometheusRule manifest. */
  prometheusRule: string;
  metadata: PrometheusRuleMetadata;
}

/** Metadata of the PrometheusRule; `labels` are what the operator's `ruleSelector` matches. */
export interface PrometheusRuleMetadata {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}
