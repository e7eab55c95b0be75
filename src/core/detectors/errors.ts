import { destinationKey } from '../keys';
import type { EdgeSample } from '../mesh';
import type { DestinationValue } from './baseline-detector';
import { sumByDestination } from './signals';

/** The `signal` label of the 5xx ratio. */
export const ERROR_RATIO_SIGNAL = 'server_error_ratio';

/**
 * The 5xx ratio per destination, for destinations that had requests: a destination without
 * requests has no ratio (a gap), not a ratio of 0. `requests` is the request rate behind the
 * ratio, so the baseline can weigh how many requests the ratio stands on.
 */
export function errorRatios(samples: readonly EdgeSample[]): Array<DestinationValue & { requests: number }> {
  const errors = sumByDestination(samples, (s) => s.kind === 'server_errors');
  return [...sumByDestination(samples, (s) => s.kind === 'requests').values()]
    .filter((t) => t.total > 0)
    .map((t) => ({
      destination: t.destination,
      value: Math.min((errors.get(destinationKey(t.destination))?.total ?? 0) / t.total, 1),
      requests: t.total,
      topCallers: [],
    }));
}
