/** Small input factories for the detection engine's tests: destinations, callers, edge samples, snapshots. */
import { engineOptions } from '../../../src/app/engine-options';
import { parseConfig } from '../../../src/config/load';
import { DetectionEngine, type EngineOptions, type EngineResult } from '../../../src/core/engine';
import { NO_CALLER, type EdgeKind, type EdgeSample, type MeshSnapshot } from '../../../src/core/mesh';
import type { Caller, DetectorName, Destination } from '../../../src/core/types';

/** Start of the synthetic time line: a Monday, 00:00 UTC. */
export const T0 = Date.UTC(2026, 0, 5);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** The default `poll.rateWindow` in seconds: a rate times this is the number of requests behind it. */
export const WINDOW_SECONDS = 120;

/**
 * A destination from `namespace/workload`, or `cluster/namespace/workload` in a multi-cluster
 * mesh; without a cluster it has none, as telemetry without cluster labels gives.
 */
export function dest(path: string): Destination {
  const parts = path.split('/');
  const [cluster, namespace = '', workload = ''] = parts.length === 3 ? parts : ['', ...parts];
  return { cluster: cluster ?? '', namespace, workload };
}

/**
 * An mTLS caller from `[cluster/]namespace/workload`, its service account named after the
 * workload: the same principal from every cluster.
 */
export function caller(path: string): Caller {
  const { cluster, namespace, workload } = dest(path);
  return { cluster, namespace, workload, principal: `spiffe://cluster.local/ns/${namespace}/sa/${workload}` };
}

/** A caller without identity: plaintext traffic has no principal. */
export function plaintextCaller(path: string): Caller {
  return { ...dest(path), principal: 'unknown' };
}

const isPlain = (policy: string): boolean => policy === 'none' || policy === 'unknown';

/** A sample of `kind` on the edge `from` -> `to`; a plaintext policy leaves the caller without identity. */
function edge(
  kind: EdgeKind,
  from: string,
  to: string,
  rate: number,
  policy: string,
  reporter = '',
): EdgeSample {
  return {
    destination: dest(to),
    caller: isPlain(policy) ? plaintextCaller(from) : caller(from),
    policy,
    kind,
    reporter,
    rate,
  };
}

/** Server-side requests per second on the edge `from` -> `to` (a sidecar's or a waypoint's). */
export function requests(from: string, to: string, rate: number, policy = 'mutual_tls'): EdgeSample {
  return edge('requests', from, to, rate, policy);
}

/**
 * Server-side TCP connections per second on the edge `from` -> `to`: a sidecar's TCP listener or
 * ztunnel (`reporter` destination, plaintext `unknown` at ztunnel), or a waypoint.
 */
export function connections(
  from: string,
  to: string,
  rate: number,
  policy = 'mutual_tls',
  reporter = 'destination',
): EdgeSample {
  return edge('tcp_connections', from, to, rate, policy, reporter);
}

/** Denied (401/403) requests per second on the edge `from` -> `to`. */
export function denied(from: string, to: string, rate: number): EdgeSample {
  return edge('denied', from, to, rate, '');
}

/** Connections per second an L4 policy refused on the edge `from` -> `to` (ztunnel's DENY). */
export function deniedConnections(from: string, to: string, rate: number, policy = 'mutual_tls'): EdgeSample {
  return edge('denied_connections', from, to, rate, policy);
}

/** 5xx responses per second of a destination (the query sums them per destination only). */
export function serverErrors(to: string, rate: number): EdgeSample {
  return { destination: dest(to), caller: NO_CALLER, policy: '', kind: 'server_errors', reporter: '', rate };
}

/** One poll's view of the mesh. */
export function snapshot(timeMs: number, samples: readonly EdgeSample[]): MeshSnapshot {
  return { timeMs, samples };
}

/** The engine's options from an empty config file, i.e. the shipped defaults. */
export function defaultOptions(): EngineOptions {
  return engineOptions(parseConfig('', {}, {}, 't'));
}

/** An engine with the shipped defaults, changed by `change` where a test needs it. */
export function newEngine(change: (options: EngineOptions) => void = () => undefined): DetectionEngine {
  const options = defaultOptions();
  change(options);
  return new DetectionEngine(options);
}

/**
 * Observes `samples(t)` every `stepMs` from `fromMs` (inclusive) to `toMs` (exclusive), live or as
 * history; returns the results in time order.
 */
export function replay(
  engine: DetectionEngine,
  fromMs: number,
  toMs: number,
  stepMs: number,
  samples: (timeMs: number) => EdgeSample[],
  live: boolean,
): EngineResult[] {
  const results: EngineResult[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) results.push(engine.observe(snapshot(t, samples(t)), live));
  return results;
}

/** The assessments of `detector` in one result (empty when it did not run). */
export function assessmentsOf(result: EngineResult | undefined, detector: DetectorName) {
  return result?.detections.find((d) => d.detector === detector)?.assessments ?? [];
}

/** The score of `destination` by `detector` in one result; undefined when it was not assessed. */
export function scoreOf(
  result: EngineResult | undefined,
  detector: DetectorName,
  destination: string,
): number | undefined {
  const d = dest(destination);
  return assessmentsOf(result, detector).find(
    (a) =>
      a.destination.cluster === d.cluster &&
      a.destination.namespace === d.namespace &&
      a.destination.workload === d.workload,
  )?.score;
}

/** A seeded pseudo-random source (mulberry32) of standard normal values (Box-Muller): tests stay repeatable. */
export function normalNoise(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * A request rate with a daily cycle: `mean` at its average, half as much again at 18:00 UTC and half as
 * little at 06:00, with a little noise (1% of the rate) so that the baseline has a spread to learn.
 */
export function dailyCycle(mean: number, seed = 1): (timeMs: number) => number {
  const noise = normalNoise(seed);
  return (timeMs) => {
    const rate = mean * (1 - 0.5 * Math.cos((2 * Math.PI * (timeMs - 6 * HOUR)) / DAY));
    return rate * (1 + 0.01 * noise());
  };
}
