import { meshwatchRuleGroups } from '../rules/alerts';
import { meshwatchMetricDefinitions } from './metric-definitions';
import { renderAlertsSection, renderConfigSection, renderMetricsSection, type ReadmeSectionName } from './readme';

/** Every generated section of README.md, rendered from its source. */
export function readmeSections(): Record<ReadmeSectionName, string> {
  return {
    config: renderConfigSection(),
    metrics: renderMetricsSection(meshwatchMetricDefinitions()),
    alerts: renderAlertsSection(meshwatchRuleGroups()),
  };
}
