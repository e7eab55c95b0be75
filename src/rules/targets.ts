import { DEFAULT_ALERT_RULE_OPTIONS, meshwatchRuleGroups, type AlertRuleOptions } from './alerts';
import { renderPrometheusRule, renderRuleFile } from './render';
import type { PrometheusRuleMetadata } from './types';

/** The committed rule file, relative to the repository root. */
export const RULE_FILE_PATH = 'rules/meshwatch.rules.yml';
/** The committed PrometheusRule, relative to the repository root. */
export const PROMETHEUS_RULE_PATH = 'deploy/base/generated/prometheus-rule.yaml';

/** The PrometheusRule's metadata when none is given: kube-prometheus-stack's default ruleSelector. */
export const DEFAULT_PROMETHEUS_RULE_METADATA: PrometheusRuleMetadata = {
  name: 'meshwatch',
  namespace: 'monitoring',
  labels: { 'app.kubernetes.io/name': 'meshwatch', release: 'kube-prometheus-stack' },
};

/** Every generated file (path relative to the repository root, and its content) for these options. */
export function generatedRuleFiles(
  options: AlertRuleOptions = DEFAULT_ALERT_RULE_OPTIONS,
  metadata: PrometheusRuleMetadata = DEFAULT_PROMETHEUS_RULE_METADATA,
): Array<{ path: string; content: string }> {
  const groups = meshwatchRuleGroups(options);
  return [
    { path: RULE_FILE_PATH, content: renderRuleFile(groups) },
    { path: PROMETHEUS_RULE_PATH, content: renderPrometheusRule(groups, metadata) },
  ];
}
