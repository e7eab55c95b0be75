import type { Assessment, Caller, CallerContribution, Destination } from '../types';
import { destinationKey } from '../keys';
import type { EdgeSample } from '../mesh';

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
  /** Plaintext rate per caller, top callers of each destination only. */
  plaintextCallers: Array<{ destination: Destination; caller: Caller; rate: number }>;
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
 * Scores each destination by the plaintext traffic it received. Any plaintext is an anomaly in a
 * mesh that means to be mTLS throughout, so there is no baseline to learn here: the score is the
 * estimated number of plaintext requests and connections over the rate window, and the default
 * threshold of 1 means "at least one". Counting requests rather than comparing a rate keeps a
 * single stray request (a rate of 1/120 per second) from being lost under a rate cut-off.
 */
export function assessPlaintext(samples: readonly EdgeSample[], options: PlaintextOptions): PlaintextResult {
  const tallies = new Map<string, DestinationTally>();
  for (const sample of samples) {
    if (!(sample.rate > 0) || (sample.kind !== 'requests' && sample.kind !== 'tcp_connections')) continue;
    const key = destinationKey(sample.destination);
    let tally = tallies.get(key);
    if (!tally) {
      tally = { destination: sample.destination, mtls: 0, plaintext: 0, callers: new Map() };
      tallies.set(key, tally);
    }
    if (sample.policy === 'mutual_tls') {
      tally.mtls += sample.rate;
    } else if (sample.policy === 'none') {
      tally.plaintext += sample.rate;
      const callerKey = `${sample.caller.namespace}/${sample.caller.workload}/${sample.caller.principal}`;
      const prior = tally.callers.get(callerKey);
      tally.callers.set(callerKey, { caller: sample.caller, rate: (prior?.rate ?? 0) + sample.rate });
    }
  }

  const upper = options.threshold / options.rateWindowSeconds;
  const result: PlaintextResult = { assessments: [], mtlsRatios: [], plaintextCallers: [] };
  for (const key of [...tallies.keys()].sort()) {
    const tally = tallies.get(key) as DestinationTally;
    const topCallers = [...tally.callers.values()]
      .sort((a, b) => b.rate - a.rate || callerOrder(a.caller, b.caller))
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
      topCallers,
    });
    const total = tally.mtls + tally.plaintext;
    if (total > 0) result.mtlsRatios.push({ destination: tally.destination, ratio: tally.mtls / total });
    for (const { caller, rate } of topCallers) {
      result.plaintextCallers.push({ destination: tally.destination, caller, rate });
    }
  }
  return result;
}

function callerOrder(a: Caller, b: Caller): number {
  return `${a.namespace}/${a.workload}/${a.principal}`.localeCompare(
    `${b.namespace}/${b.workload}/${b.principal}`,
  );
}
