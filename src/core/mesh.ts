import type { Caller, Destination } from './types';

/** What a server-side rate counts. */
export type EdgeKind = 'requests' | 'tcp_connections' | 'denied' | 'server_errors';

/**
 * One server-side rate of one (caller, destination) edge, decoded from a
 * `sum by (...) (rate(...{reporter="destination"}[w]))`. `policy` is `mutual_tls` or `none`
 * for requests and connections; empty where the query does not split by it. For `server_errors`
 * the caller is unknown (summed per destination).
 */
export interface EdgeSample {
  destination: Destination;
  caller: Caller;
  policy: string;
  kind: EdgeKind;
  /** Per second. */
  rate: number;
}

/** Everything one poll (or one step of history) saw of the mesh. */
export interface MeshSnapshot {
  timeMs: number;
  samples: readonly EdgeSample[];
}

/** The caller every per-destination sum is attributed to. */
export const NO_CALLER: Caller = Object.freeze({
  principal: 'unknown',
  namespace: 'unknown',
  workload: 'unknown',
});
