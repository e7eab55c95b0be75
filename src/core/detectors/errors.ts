import { destinationKey } from '../keys';
import type { EdgeSample } from '../mesh';
import type { DestinationValue } from './baseline-detector';
import { totalsByDestination } from './signals';

/** The `signal` label of the 5xx ratio. */
export const ERROR_RATIO_SIGNAL = 'server_error_ratio';

/**
 * The 5xx ratio per destination, for destinations that had requests: a destination without
 * requests has no ratio (a gap), not a ratio of 0, and one seen only at L4 (an ambient workload
 * without waypoint) has no status codes at all. Each ratio carries the number of requests
 * behind it (rate times window), which the baseline takes as the count its noise depends on.
 */
export function errorRatios(samples: readonly EdgeSample[], rateWindowSeconds: number): DestinationValue[] {
  const errors = totalsByDestination(samples, (s) => s.kind === 'server_errors');
  return [...totalsByDestination(samples, (s) => s.kind === 'requests').values()]
    .filter((t) => t.total > 0)
    .map((t) => ({
      destination: t.destination,
      value: Math.min((errors.get(destinationKey(t.destination))?.total ?? 0) / t.total, 1),
      countWindowSeconds: t.total * rateWindowSeconds,
      layers: ['http'],
      topCallers: [],
    }));
}
