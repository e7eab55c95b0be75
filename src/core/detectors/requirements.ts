import type { DetectorName, Layer, RequiredLabel } from '../types';

/** The metric whose presence says that the mesh has a layer at all. */
export const LAYER_METRIC: Readonly<Record<Layer, string>> = {
  http: 'istio_requests_total',
  tcp: 'istio_tcp_connections_opened_total',
};

/** The metric of the connections refused at L4 (ztunnel's `DENY`). */
const TCP_CLOSED = 'istio_tcp_connections_closed_total';

const http = (labels: string[]): RequiredLabel[] =>
  labels.map((label) => ({ metric: LAYER_METRIC.http, label, layer: 'http' }));
const tcp = (labels: string[], metric = LAYER_METRIC.tcp): RequiredLabel[] =>
  labels.map((label) => ({ metric, label, layer: 'tcp' }));

/**
 * The labels of Istio's telemetry each detector cannot work without, per layer. Without
 * `reporter` the server side cannot be told from the client side (every request is counted
 * twice); without `connection_security_policy` plaintext cannot be told from mTLS; without
 * `source_principal` callers have no identity; without `response_code` denials and 5xx are
 * invisible, and without `response_flags` (or the closed counter) L4 denials are. A layer the mesh
 * does not have at all needs nothing: an ambient mesh without waypoints has no
 * `istio_requests_total`, and `errors` (5xx) then has nothing to score.
 */
export const REQUIRED_LABELS: Readonly<Record<DetectorName, readonly RequiredLabel[]>> = {
  unauthorized: [
    ...http(['reporter', 'destination_workload', 'response_code', 'source_principal']),
    ...tcp(['reporter', 'destination_workload', 'response_flags', 'source_principal'], TCP_CLOSED),
  ],
  new_caller: [
    ...http(['reporter', 'destination_workload', 'source_principal']),
    ...tcp(['reporter', 'destination_workload', 'source_principal']),
  ],
  plaintext: [
    ...http(['reporter', 'destination_workload', 'connection_security_policy', 'source_workload']),
    ...tcp(['reporter', 'destination_workload', 'connection_security_policy']),
  ],
  traffic: [...http(['reporter', 'destination_workload']), ...tcp(['reporter', 'destination_workload'])],
  errors: http(['reporter', 'destination_workload', 'response_code']),
};

/** Every required label once, in a stable order. */
export function allRequiredLabels(): RequiredLabel[] {
  const seen = new Map<string, RequiredLabel>();
  for (const labels of Object.values(REQUIRED_LABELS)) {
    for (const r of labels) seen.set(`${r.metric}/${r.label}`, r);
  }
  return [...seen.values()].sort((a, b) => `${a.metric}/${a.label}`.localeCompare(`${b.metric}/${b.label}`));
}

/** Every metric the required labels are checked on, the layer metrics first. */
export function checkedMetrics(): string[] {
  return [...new Set([LAYER_METRIC.http, LAYER_METRIC.tcp, ...allRequiredLabels().map((r) => r.metric)])];
}

/** A detector and a layer it cannot read: `unauthorized:tcp`. */
export type BlindKey = `${DetectorName}:${Layer}`;

/** The (detector, layer) pairs the engine must leave out. */
export type BlindSet = ReadonlySet<BlindKey>;

/** What the telemetry check found: which metrics have series, and which labels are missing. */
export interface TelemetryState {
  /** Metrics with at least one series. */
  present: ReadonlySet<string>;
  /** `metric/label` of the required labels that no series of a present metric carries. */
  stripped: ReadonlySet<string>;
}

/** The layers the mesh has: those whose metric has series. */
export function meshLayers(state: TelemetryState): Layer[] {
  return (['http', 'tcp'] as const).filter((layer) => state.present.has(LAYER_METRIC[layer]));
}

/**
 * Why a required label cannot be read, or undefined when it can (or is not needed): `stripped` (its
 * metric has series without it), `metric_absent` (its layer is there but its metric is not, e.g.
 * the closed counter dropped to save cardinality), `no_telemetry` (no Istio metric at all).
 */
export function labelProblem(
  r: RequiredLabel,
  state: TelemetryState,
): 'stripped' | 'metric_absent' | 'no_telemetry' | undefined {
  const layers = meshLayers(state);
  if (layers.length === 0) return 'no_telemetry';
  if (!layers.includes(r.layer)) return undefined;
  if (!state.present.has(r.metric)) return 'metric_absent';
  return state.stripped.has(`${r.metric}/${r.label}`) ? 'stripped' : undefined;
}

/**
 * The (detector, layer) pairs that cannot be read: a layer of the mesh where a label the detector
 * needs is missing, or every layer when the mesh has no Istio telemetry at all.
 */
export function blindness(state: TelemetryState): Set<BlindKey> {
  const blind = new Set<BlindKey>();
  for (const [detector, labels] of Object.entries(REQUIRED_LABELS) as Array<
    [DetectorName, readonly RequiredLabel[]]
  >) {
    for (const r of labels) if (labelProblem(r, state) !== undefined) blind.add(`${detector}:${r.layer}`);
  }
  return blind;
}

/** Detectors blind on at least one layer. */
export function blindDetectors(blind: BlindSet): DetectorName[] {
  const out = new Set<DetectorName>();
  for (const key of blind) out.add(key.slice(0, key.indexOf(':')) as DetectorName);
  return [...out].sort();
}
