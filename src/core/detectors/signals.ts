import { destinationKey } from '../keys';
import type { EdgeSample } from '../mesh';
import type { Caller, CallerContribution, Destination } from '../types';
import type { DestinationValue } from './baseline-detector';

/** Per-destination sums of one kind of edge sample, with the per-caller parts. */
export interface DestinationSums {
  destination: Destination;
  total: number;
  callers: Map<string, CallerContribution>;
}

/** The key of a caller: its principal, or its workload where it has no identity (plaintext). */
export function callerKey(caller: Caller): string {
  return caller.principal !== 'unknown'
    ? caller.principal
    : `workload:${caller.namespace}/${caller.workload}`;
}

/** Sums the samples that `keep` selects, per destination and per caller. */
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
    sums.total += sample.rate;
    const ck = callerKey(sample.caller);
    const prior = sums.callers.get(ck);
    sums.callers.set(ck, { caller: sample.caller, rate: (prior?.rate ?? 0) + sample.rate });
  }
  return out;
}

/** The `limit` largest contributions, largest first, ties by caller for a stable order. */
export function topContributions(callers: Iterable<CallerContribution>, limit: number): CallerContribution[] {
  return [...callers]
    .filter((c) => c.rate > 0)
    .sort((a, b) => b.rate - a.rate || callerKey(a.caller).localeCompare(callerKey(b.caller)))
    .slice(0, limit);
}

/** Request rate per destination: the `traffic` signal. */
export function requestRates(samples: readonly EdgeSample[]): DestinationValue[] {
  return [...sumByDestination(samples, (s) => s.kind === 'requests').values()].map((s) => ({
    destination: s.destination,
    value: s.total,
    topCallers: [],
  }));
}
