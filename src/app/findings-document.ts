import type { Finding } from '../core/types';

/** The JSON document of /api/v1/findings. */
export interface FindingsDocument {
  /** `pending` before the first poll, `stale` when the last poll failed. */
  status: 'pending' | 'ok' | 'stale';
  last_poll: string | null;
  last_success: string | null;
  error: string | null;
  findings: FindingJson[];
}

/** One finding as served by the API (snake_case, RFC 3339 times). */
export interface FindingJson {
  id: string;
  detector: string;
  /** Empty where the telemetry has no cluster label. */
  destination_cluster: string;
  destination_namespace: string;
  destination_workload: string;
  signal: string;
  observed: number;
  expected: number;
  lower: number;
  upper: number;
  score: number;
  threshold: number;
  /** The layers the observed value came from: `http` (istio_requests_total), `tcp` (istio_tcp_*). */
  layers: string[];
  /** Which part of a baseline-backed score fired: `level`, `shape` or `new_range`; null for the counting detectors. */
  part: string | null;
  top_callers: Array<{
    source_principal: string;
    source_cluster: string;
    source_workload_namespace: string;
    source_workload: string;
    layer: string;
    /** Requests (layer http) or connections (layer tcp) per second. */
    rate: number;
    new?: boolean;
  }>;
  first_seen: string;
  last_seen: string;
  stale: boolean;
}

/** Builds the findings document from the engine's open findings and the poll history. */
export function findingsDocument(
  findings: readonly Finding[],
  lastAttemptMs: number | undefined,
  lastSuccessMs: number | undefined,
  lastError: string | undefined,
): FindingsDocument {
  return {
    status: lastAttemptMs === undefined ? 'pending' : lastError === undefined ? 'ok' : 'stale',
    last_poll: iso(lastAttemptMs),
    last_success: iso(lastSuccessMs),
    error: lastError ?? null,
    findings: findings.map(toJson),
  };
}

/** One finding in the API's shape. */
export function toJson(f: Finding): FindingJson {
  return {
    id: f.id,
    detector: f.detector,
    destination_cluster: f.destination.cluster,
    destination_namespace: f.destination.namespace,
    destination_workload: f.destination.workload,
    signal: f.signal,
    observed: f.observed,
    expected: f.expected,
    lower: f.lower,
    upper: f.upper,
    score: f.score,
    threshold: f.threshold,
    layers: f.layers,
    part: f.part ?? null,
    top_callers: f.topCallers.map((c) => ({
      source_principal: c.caller.principal,
      source_cluster: c.caller.cluster,
      source_workload_namespace: c.caller.namespace,
      source_workload: c.caller.workload,
      layer: c.layer,
      rate: c.rate,
      ...(c.isNew === undefined ? {} : { new: c.isNew }),
    })),
    first_seen: new Date(f.firstSeenMs).toISOString(),
    last_seen: new Date(f.lastSeenMs).toISOString(),
    stale: f.stale,
  };
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
