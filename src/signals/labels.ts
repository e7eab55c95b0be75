import { checkedMetrics, labelProblem, type TelemetryState } from '../core/detectors/requirements';
import type { RequiredLabel } from '../core/types';
import type { InstantSample } from './types';

/** Whether a required label can be read, and why not. */
export interface LabelPresence extends RequiredLabel {
  present: boolean;
  /** Why it cannot be read, for the warning log line; see `labelProblem`. */
  reason?: 'stripped' | 'metric_absent' | 'no_telemetry';
}

const ANY = '__any__';

/**
 * One query that tells whether each checked Istio metric has series at all (`group(metric)`),
 * and, for each required label, whether any series of its metric carries it
 * (`group(metric{label!=""})`). A mesh that strips a label to save cardinality leaves the metric
 * present and the label absent: that must be loud. A metric that is absent altogether says what
 * kind of mesh this is (no `istio_requests_total`: ambient without waypoints).
 */
export function requiredLabelsQuery(required: readonly RequiredLabel[]): string {
  const parts: string[] = [];
  for (const metric of checkedMetrics()) parts.push(tag(`group(${metric})`, metric, ANY));
  for (const { metric, label } of required) {
    parts.push(tag(`group(${metric}{${label}!=""})`, metric, label));
  }
  return parts.join(' or ');
}

/** Decodes the answer of `requiredLabelsQuery`: which metrics have series, which labels they lack. */
export function decodeTelemetry(
  required: readonly RequiredLabel[],
  samples: readonly InstantSample[],
): TelemetryState {
  const found = new Set(samples.map((s) => `${s.labels.metric}\u0000${s.labels.label}`));
  const present = new Set(checkedMetrics().filter((metric) => found.has(`${metric}\u0000${ANY}`)));
  const stripped = new Set(
    required
      .filter((r) => present.has(r.metric) && !found.has(`${r.metric}\u0000${r.label}`))
      .map((r) => `${r.metric}/${r.label}`),
  );
  return { present, stripped };
}

/** One verdict per required label. */
export function labelPresence(required: readonly RequiredLabel[], state: TelemetryState): LabelPresence[] {
  return required.map((r) => {
    const reason = labelProblem(r, state);
    return reason === undefined ? { ...r, present: true } : { ...r, present: false, reason };
  });
}

function tag(expr: string, metric: string, label: string): string {
  return `label_replace(label_replace(${expr}, "metric", "${metric}", "", ""), "label", "${label}", "", "")`;
}
