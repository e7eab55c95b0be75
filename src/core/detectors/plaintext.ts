import type { Assessment, Caller, CallerContribution, Destination, Layer } from '../types';
import { destinationKey } from '../keys';
import { isPlaintextPolicy, layerOf, type EdgeSample } from '../mesh';
import { layersOf } from './signals';

/** Settings of the plaintext detector that change its arithmetic. */
export interface PlaintextOptions {
  threshold: number;
  /** The rate() window in seconds: a rate times the window is the number of requests behind it. */
  rateWindowSeconds: number;
  /** How many callers to name per destination. */
  topCallers: number;
}

/** What the plaintext detector concludes from one poll. */
export interface PlaintextResult {
  assessments: Assessment[];
  /** Share of each destination's traffic over mTLS, 0..1; absent where the destination had no traffic. */
  mtlsRatios: Array<{ destination: Destination; ratio: number }>;
  /** Plaintext rate per caller and layer, top callers of each destination only. */
  plaintextCallers: Array<{ destination: Destination; caller: Caller; rate: number; layer: Layer }>;
}

/** Name of the signal in the `signal` label. */
export const PLAINTEXT_SIGNAL = 'plaintext_requests_per_second';

interface DestinationTally {
  destination: Destination;
  mtls: number;
  plaintext: number;
  callers: Map<string, CallerContribution>;
}

/**
 * Scores each destination by the plaintext traffic it received: requests a sidecar or waypoint
 * took without mTLS (`none`) and connections ztunnel took without it (`unknown`; see
 * `isPlaintextPolicy`), each caller named with its layer. Any plaintext is an anomaly in a mesh
 * that means to be mTLS throughout, so there is no baseline to learn here: the score is the
 * estimated number of plaintext requests and connections over the rate window, and the default
 * threshold of 1 means "at least one". Counting requests rather than comparing a rate keeps a
 * single stray request (a rate of 1/120 per second) from being lost under a rate cut-off.
 * Plaintext connections an L4 policy refused (a STRICT PeerAuthentication in ambient mode is
 * enforced that way) were not served, and are left out: they are the unauthorized detector's.
 * The mTLS share is over the destination's volume (`volumeSamples`), each request and
 * connection once.
 */
export function assessPlaintext(
  samples: readonly EdgeSample[],
  volume: readonly EdgeSample[],
  options: PlaintextOptions,
): PlaintextResult {
  const tallies = new Map<string, DestinationTally>();
  const tallyOf = (destination: Destination): DestinationTally => {
    const key = destinationKey(destination);
    let tally = tallies.get(key);
    if (!tally) {
      tally = { destination, mtls: 0, plaintext: 0, callers: new Map() };
      tallies.set(key, tally);
    }
    return tally;
  };
  for (const sample of volume) {
    if (!(sample.rate > 0)) continue;
    if (sample.policy === 'mutual_tls') tallyOf(sample.destination).mtls += sample.rate;
  }
  for (const [edge, { sample, rate }] of servedPlaintext(samples)) {
    const tally = tallyOf(sample.destination);
    tally.plaintext += rate;
    tally.callers.set(edge, { caller: sample.caller, rate, layer: layerOf(sample.kind) });
  }

  const upper = options.threshold / options.rateWindowSeconds;
  const result: PlaintextResult = { assessments: [], mtlsRatios: [], plaintextCallers: [] };
  for (const key of [...tallies.keys()].sort()) {
    const tally = tallies.get(key) as DestinationTally;
    const topCallers = [...tally.callers.values()]
      .sort((a, b) => b.rate - a.rate || callerOrder(a, b))
      .slice(0, options.topCallers);
    result.assessments.push({
      detector: 'plaintext',
      destination: tally.destination,
      signal: PLAINTEXT_SIGNAL,
      observed: tally.plaintext,
      expected: 0,
      lower: 0,
      upper,
      score: tally.plaintext * options.rateWindowSeconds,
      layers: layersOf(tally.callers.values()),
      topCallers,
    });
    const total = tally.mtls + tally.plaintext;
    if (total > 0) result.mtlsRatios.push({ destination: tally.destination, ratio: tally.mtls / total });
    for (const { caller, rate, layer } of topCallers) {
      result.plaintextCallers.push({ destination: tally.destination, caller, rate, layer });
    }
  }
  return result;
}

/**
 * Plaintext served per edge (destination, caller, layer): plaintext requests, and plaintext
 * connections opened less those closed as denied on the same edge. A waypoint reports a
 * plaintext caller's requests and the connections they came on: where it has the requests, its
 * connections are the same traffic and are left out.
 */
export function servedPlaintext(
  samples: readonly EdgeSample[],
): Map<string, { sample: EdgeSample; rate: number }> {
  const out = new Map<string, { sample: EdgeSample; rate: number }>();
  const refused = new Map<string, number>();
  const caller = (s: EdgeSample): string =>
    `${destinationKey(s.destination)}|${s.caller.cluster}/${s.caller.namespace}/${s.caller.workload}/${s.caller.principal}`;
  const add = (
    map: Map<string, { sample: EdgeSample; rate: number }>,
    key: string,
    s: EdgeSample,
    rate = s.rate,
  ): void => {
    const prior = map.get(key);
    if (prior) prior.rate += rate;
    else map.set(key, { sample: s, rate });
  };
  const viaWaypoint = new Map<string, { sample: EdgeSample; rate: number }>();
  for (const s of samples) {
    if (!(s.rate > 0) || !isPlaintextPolicy(s.policy)) continue;
    const key = `${layerOf(s.kind)}|${caller(s)}`;
    if (s.kind === 'requests') add(out, key, s);
    else if (s.kind === 'tcp_connections') add(s.reporter === 'waypoint' ? viaWaypoint : out, key, s);
    else if (s.kind === 'denied_connections') refused.set(key, (refused.get(key) ?? 0) + s.rate);
  }
  for (const [key, served] of viaWaypoint) {
    if (!out.has(`http|${caller(served.sample)}`)) add(out, key, served.sample, served.rate);
  }
  for (const [key, served] of out) {
    const rate = served.rate - (refused.get(key) ?? 0);
    if (rate > 0) served.rate = rate;
    else out.delete(key);
  }
  return out;
}

function callerOrder(a: CallerContribution, b: CallerContribution): number {
  const name = (c: CallerContribution): string =>
    `${c.caller.cluster}/${c.caller.namespace}/${c.caller.workload}/${c.caller.principal}/${c.layer}`;
  return name(a).localeCompare(name(b));
}
