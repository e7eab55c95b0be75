import type { DetectorName, RequiredLabel } from '../types';

const requests = (labels: string[]): RequiredLabel[] =>
  labels.map((label) => ({ metric: 'istio_requests_total', label, metricOptional: false }));
const tcp = (labels: string[]): RequiredLabel[] =>
  labels.map((label) => ({ metric: 'istio_tcp_connections_opened_total', label, metricOptional: true }));

/**
 * The labels of Istio's telemetry each detector cannot work without. Without `reporter` the
 * server side cannot be told from the client side (every request is counted twice); without
 * `connection_security_policy` plaintext cannot be told from mTLS; without `source_principal`
 * callers have no identity; without `response_code` denials and 5xx are invisible. A detector
 * whose labels are missing reports nothing, and says so, rather than "all quiet".
 */
export const REQUIRED_LABELS: Readonly<Record<DetectorName, readonly RequiredLabel[]>> = {
  unauthorized: requests(['reporter', 'destination_workload', 'response_code', 'source_principal']),
  new_caller: [...requests(['reporter', 'destination_workload', 'source_principal']), ...tcp(['reporter'])],
  plaintext: [
    ...requests(['reporter', 'destination_workload', 'connection_security_policy', 'source_workload']),
    ...tcp(['reporter', 'connection_security_policy']),
  ],
  traffic: requests(['reporter', 'destination_workload']),
  errors: requests(['reporter', 'destination_workload', 'response_code']),
};

/** Every required label once, in a stable order. */
export function allRequiredLabels(): RequiredLabel[] {
  const seen = new Map<string, RequiredLabel>();
  for (const labels of Object.values(REQUIRED_LABELS)) {
    for (const r of labels) seen.set(`${r.metric}/${r.label}`, r);
  }
  return [...seen.values()].sort((a, b) => `${a.metric}/${a.label}`.localeCompare(`${b.metric}/${b.label}`));
}

/** Detectors that cannot work with the labels that are missing (`metric/label` keys). */
export function blindDetectors(missing: ReadonlySet<string>): Set<DetectorName> {
  const blind = new Set<DetectorName>();
  for (const [detector, labels] of Object.entries(REQUIRED_LABELS) as Array<
    [DetectorName, readonly RequiredLabel[]]
  >) {
    if (labels.some((r) => missing.has(`${r.metric}/${r.label}`))) blind.add(detector);
  }
  return blind;
}
