import { createBaseline, type Baseline, type BaselineOptions } from '../baseline';
import { destinationKey } from '../keys';
import type { SeriesTable } from '../series-table';
import type { Assessment, CallerContribution, DetectorName, Destination } from '../types';

/** One destination's value of a signal in one poll. */
export interface DestinationValue {
  destination: Destination;
  value: number;
  topCallers: CallerContribution[];
  /**
   * For a ratio, the number of requests it stands on (the count noise of 1 error in 3 requests
   * is not that of 1,000 in 3,000); unset for rates, whose count noise the baseline knows.
   */
  countWindowSeconds?: number;
}

/**
 * Scores one value per destination against its own seasonal, robust baseline: the shared
 * mechanics of the `traffic`, `errors` and `unauthorized` detectors. A destination missing from
 * a poll is a gap: its baseline neither scores nor learns. Bands are clamped at 0, since the
 * signals are rates and ratios.
 */
export class BaselineDetector {
  constructor(
    readonly detector: DetectorName,
    readonly signal: string,
    private readonly options: BaselineOptions,
    private readonly table: SeriesTable<Baseline>,
  ) {}

  /** Learns and scores this poll's values; returns the assessments of warmed-up baselines. */
  observe(timeMs: number, values: readonly DestinationValue[]): Assessment[] {
    const out: Assessment[] = [];
    for (const { destination, value, topCallers, countWindowSeconds } of values) {
      const baseline = this.table.touch(destinationKey(destination), timeMs, () =>
        createBaseline(this.options),
      );
      const estimate = baseline?.observe(timeMs, value, countWindowSeconds);
      if (!estimate) continue;
      out.push({
        detector: this.detector,
        destination,
        signal: this.signal,
        observed: value,
        expected: Math.max(estimate.expected, 0),
        lower: Math.max(estimate.lower, 0),
        upper: Math.max(estimate.upper, 0),
        score: estimate.score,
        topCallers,
      });
    }
    this.table.evict(timeMs);
    return out;
  }

  /** Tracked series (destinations). */
  get tracked(): number {
    return this.table.size;
  }
}
