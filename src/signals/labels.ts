import type { RequiredLabel } from '../core/types';
import type { InstantSample } from './types';

/** Whether a required label was found on the metric's series. */
export interface LabelPresence extends RequiredLabel {
  present: boolean;
  /** Why it is not present, for the warning log line. */
  reason?: 'metric_absent' | 'label_absent';
}

const ANY = '__any__';

/**
 * One query that tells, for each required label, whether any series of its metric carries it
 * (`group(metric{label!=""})`), and whether the metric has series at all. A mesh that strips a
 * label to save cardinality leaves the metric present and the label absent: that must be loud.
 */
export function requiredLabelsQuery(required: readonly RequiredLabel[]): string {
  const parts: string[] = [];
  for (const metric of unique(required.map((r) => r.metric))) {
    parts.push(tag(`group(${metric})`, metric, ANY));
  }
  for (const { metric, label } of required) {
    parts.push(tag(`group(${metric}{${label}!=""})`, metric, label));
  }
  return parts.join(' or ');
}

/** Decodes the answer of `requiredLabelsQuery` into one verdict per required label. */
export function decodeRequiredLabels(
  required: readonly RequiredLabel[],
  samples: readonly InstantSample[],
): LabelPresence[] {
  const found = new Set(samples.map((s) => `${s.labels.metric}\u0000${s.labels.label}`));
  return required.map((r) => {
    const metricPresent = found.has(`${r.metric}\u0000${ANY}`);
    if (!metricPresent) {
      return r.metricOptional ? { ...r, present: true } : { ...r, present: false, reason: 'metric_absent' };
    }
    return found.has(`${r.metric}\u0000${r.label}`)
      ? { ...r, present: true }
      : { ...r, present: false, reason: 'label_absent' };
  });
}

function tag(expr: string, metric: string, label: string): string {
  return `label_replace(label_replace(${expr}, "metric", "${metric}", "", ""), "label", "${label}", "", "")`;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
