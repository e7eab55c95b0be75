import { callerKeys, destinationKey } from '../keys';
import { layerOf, type EdgeSample } from '../mesh';
import type { Caller, CallerContribution, Destination, Layer } from '../types';

/** Per-destination sums of one kind of edge sample, with the per-caller parts. */
export interface DestinationSums {
  destination: Destination;
  total: number;
  /** Keyed by `callerLayerKey`: a caller's requests and its connections are two contributions. */
  callers: Map<string, CallerContribution>;
}

/**
 * The key of a caller: its principal, or its workload (with its cluster) where it has no identity
 * (plaintext). The principal is the identity authorization policy sees, the same from any cluster.
 */
export function callerKey(caller: Caller): string {
  return callerKeys(caller).caller;
}

/** The key a caller has without its identity: its workload, with its cluster. */
export function workloadKey(caller: Caller): string {
  return callerKeys(caller).workload;
}

/** The key of a caller and the cluster it calls from, where that is known. */
export function clusteredCallerKey(caller: Caller): string {
  return callerKeys(caller).clustered;
}

/** The key of one caller's contribution on one layer. */
export function callerLayerKey(caller: Caller, layer: Layer): string {
  return callerKeys(caller)[layer];
}

export { knownCluster } from '../keys';

/** Sums the samples that `keep` selects, per destination and per caller and layer. */
export function sumByDestination(
  samples: readonly EdgeSample[],
  keep: (s: EdgeSample) => boolean,
): Map<string, DestinationSums> {
  const out = new Map<string, DestinationSums>();
  for (const sample of samples) {
    if (!keep(sample)) continue;
    const key = destinationKey(sample.destination);
    let sums = out.get(key);
    if (!sums) {
      sums = { destination: sample.destination, total: 0, callers: new Map() };
      out.set(key, sums);
    }
    const rate = sample.rate;
    sums.total += rate;
    const layer = layerOf(sample.kind);
    const ck = callerLayerKey(sample.caller, layer);
    const prior = sums.callers.get(ck);
    if (prior) prior.rate += rate;
    else sums.callers.set(ck, { caller: sample.caller, rate, layer });
  }
  return out;
}

/** The destinations of the samples, by key, without per-caller sums. */
export function destinationsOf(samples: readonly EdgeSample[]): Map<string, Destination> {
  const out = new Map<string, Destination>();
  for (const s of samples) {
    const key = destinationKey(s.destination);
    if (!out.has(key)) out.set(key, s.destination);
  }
  return out;
}

/** Per-destination totals of the samples `keep` selects, without per-caller sums. */
export function totalsByDestination(
  samples: readonly EdgeSample[],
  keep: (s: EdgeSample) => boolean,
): Map<string, { destination: Destination; total: number }> {
  const out = new Map<string, { destination: Destination; total: number }>();
  for (const s of samples) {
    if (!keep(s)) continue;
    const key = destinationKey(s.destination);
    const entry = out.get(key);
    if (entry) entry.total += s.rate;
    else out.set(key, { destination: s.destination, total: s.rate });
  }
  return out;
}

/** The `limit` largest contributions, largest first, ties by layer and caller for a stable order. */
export function topContributions(callers: Iterable<CallerContribution>, limit: number): CallerContribution[] {
  return [...callers]
    .filter((c) => c.rate > 0)
    .sort(
      (a, b) =>
        b.rate - a.rate || callerLayerKey(a.caller, a.layer).localeCompare(callerLayerKey(b.caller, b.layer)),
    )
    .slice(0, limit);
}

/** The layers that have a positive contribution, http first. */
export function layersOf(callers: Iterable<{ layer: Layer; rate: number }>): Layer[] {
  const seen = new Set<Layer>();
  for (const c of callers) if (c.rate > 0) seen.add(c.layer);
  return (['http', 'tcp'] as const).filter((l) => seen.has(l));
}

/**
 * The destinations that a waypoint reports TCP connections for. For them the destination
 * ztunnel's mTLS connections are the waypoint's own hop to the workload (ztunnel names the
 * waypoint as their source), the same traffic seen a second time, so they do not count towards
 * the destination's volume. Plaintext at that ztunnel still counts: it did not pass the waypoint.
 */
function waypointServed(samples: readonly EdgeSample[]): Set<string> {
  const out = new Set<string>();
  for (const s of samples) {
    if (s.kind === 'tcp_connections' && s.reporter === 'waypoint') out.add(destinationKey(s.destination));
  }
  return out;
}

/**
 * The samples that make up each destination's volume, each request and connection once:
 * all requests (each is reported by exactly one server side, a sidecar or a waypoint), and the
 * TCP connections without a waypoint's second view (see `waypointServed`).
 */
export function volumeSamples(samples: readonly EdgeSample[]): EdgeSample[] {
  const viaWaypoint = waypointServed(samples);
  if (viaWaypoint.size === 0) {
    return samples.filter((s) => s.kind === 'requests' || s.kind === 'tcp_connections');
  }
  return samples.filter(
    (s) =>
      s.kind === 'requests' ||
      (s.kind === 'tcp_connections' &&
        (s.reporter === 'waypoint' ||
          s.policy !== 'mutual_tls' ||
          !viaWaypoint.has(destinationKey(s.destination)))),
  );
}

/** A destination's traffic on one layer: the `traffic` detector's value. */
export interface TrafficValue {
  destination: Destination;
  layer: Layer;
  value: number;
}

/**
 * Traffic per destination: its request rate where it serves HTTP (sidecar or waypoint
 * telemetry), its connection rate where it is seen only at L4 (an ambient workload without
 * waypoint, a TCP service). Requests and connections are not added: one HTTP request may ride on
 * a connection opened an hour ago, and the connections behind requests are far fewer.
 */
export function trafficRates(volume: readonly EdgeSample[]): TrafficValue[] {
  const requests = totalsByDestination(volume, (s) => s.kind === 'requests');
  const connections = totalsByDestination(volume, (s) => s.kind === 'tcp_connections');
  const out: TrafficValue[] = [];
  for (const sums of requests.values())
    out.push({ destination: sums.destination, layer: 'http', value: sums.total });
  for (const [key, sums] of connections) {
    if (!requests.has(key)) out.push({ destination: sums.destination, layer: 'tcp', value: sums.total });
  }
  return out;
}

/**
 * Gives the requests a waypoint denied a destination. A waypoint names the destination workload
 * from the backend it forwards to, and a request its policy denied is forwarded nowhere, so Istio
 * reports it for the destination service only. The waypoint's other requests say which workloads
 * stand behind that service (`service_workload` samples): with one, the denials are that
 * workload's; with several (versions of one service, or clusters), the denials are scored under
 * the service's name, as one destination: they were aimed at the service, not at one of them.
 */
export function attributeToWorkloads(samples: readonly EdgeSample[]): readonly EdgeSample[] {
  if (!samples.some((s) => s.destination.workload === '')) return samples;
  const behind = new Map<string, Destination[]>();
  for (const s of samples) {
    if (s.kind !== 'service_workload' || s.service === undefined) continue;
    const list = behind.get(s.service) ?? [];
    if (!list.some((d) => destinationKey(d) === destinationKey(s.destination))) list.push(s.destination);
    behind.set(s.service, list);
  }
  return samples.map((s) => {
    if (s.destination.workload !== '' || s.service === undefined) return s;
    const workloads = behind.get(s.service) ?? [];
    if (workloads.length === 1) return { ...s, destination: workloads[0] as Destination };
    const clusters = new Set(workloads.map((d) => d.cluster));
    const slash = s.service.indexOf('/');
    return {
      ...s,
      destination: {
        cluster: clusters.size === 1 ? ([...clusters][0] as string) : '',
        namespace: s.service.slice(0, slash),
        workload: s.service.slice(slash + 1),
      },
    };
  });
}
