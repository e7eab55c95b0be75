import type {
  AuditHistory,
  CallerLabels,
  DestinationLabels,
  HistoryEdge,
  LayerSecurity,
  Volume,
  WorkloadFacts,
} from '../../../src/audit/types';
import { destinationKey } from '../../../src/audit/types';

/** Hour starts of the tests' history: 2026-01-05T00:00Z and on. */
export const T0 = Date.UTC(2026, 0, 5);
export const HOUR = 3_600_000;

/** A destination in cluster `east` (or none with `cluster: ''`). */
export function dest(namespace: string, workload: string, cluster = 'east'): DestinationLabels {
  return { destination_cluster: cluster, destination_namespace: namespace, destination_workload: workload };
}

/** A caller with the identity of its service account in `cluster.local`, or none with `principal: false`. */
export function caller(
  namespace: string,
  workload: string,
  principal: string | false = workload,
): CallerLabels {
  return {
    source_principal:
      principal === false ? 'unknown' : `spiffe://cluster.local/ns/${namespace}/sa/${principal}`,
    source_workload_namespace: namespace,
    source_workload: workload,
    source_cluster: 'east',
  };
}

/** A volume with the given counts, 0 elsewhere. */
export function volume(v: Partial<Volume>): Volume {
  return { requests: 0, connections: 0, denied: 0, plaintext: 0, mtls: 0, ...v };
}

/**
 * An edge with traffic in the given hours (hour index from T0, volume); `layers` as collect.ts
 * builds it from the hours: all mTLS and plaintext on requests unless `onConnections`.
 */
export function edge(
  destination: DestinationLabels,
  from: CallerLabels,
  hours: Array<[hour: number, v: Partial<Volume>]>,
  onConnections = false,
): HistoryEdge {
  const list = hours.map(([h, v]) => ({ startMs: T0 + h * HOUR, volume: volume(v) }));
  const total = volume({});
  for (const { volume: v } of list) {
    for (const f of ['requests', 'connections', 'denied', 'plaintext', 'mtls'] as const) total[f] += v[f];
  }
  const security: LayerSecurity = { mtls: total.mtls, plaintext: total.plaintext };
  const none: LayerSecurity = { mtls: 0, plaintext: 0 };
  return {
    destination,
    caller: from,
    total,
    hours: list,
    firstSeenMs: list[0]?.startMs ?? T0,
    lastSeenMs: (list.at(-1)?.startMs ?? T0) + HOUR,
    layers: onConnections
      ? { requests: none, connections: security }
      : { requests: security, connections: none },
  };
}

/** A history of a day from T0 with these edges and facts. */
export function history(
  edges: HistoryEdge[],
  facts: Array<[DestinationLabels, WorkloadFacts]> = [],
): AuditHistory {
  return {
    fromMs: T0,
    toMs: T0 + 24 * HOUR,
    stepMs: HOUR,
    edges,
    workloads: new Map(facts.map(([d, f]) => [destinationKey(d), f])),
  };
}
