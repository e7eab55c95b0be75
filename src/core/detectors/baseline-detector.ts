import {
  createBaseline,
  setBaselineThreshold,
  type Baseline,
  type BaselineOptions,
  type Estimate,
} from '../baseline';
import { destinationKey } from '../keys';
import type { SeriesTable } from '../series-table';
import type { AnomalyPart, Assessment, CallerContribution, DetectorName, Destination, Layer } from '../types';

/** One destination's value of a signal in one poll. */
export interface DestinationValue {
  destination: Destination;
  value: number;
  topCallers: CallerContribution[];
  /** The layers the value came from. */
  layers: Layer[];
  /** The signal's name where it is not the detector's own (traffic seen only at L4 counts connections). */
  signal?: string;
  /**
   * Tells this value's baseline apart from others of the destination: a destination whose traffic
   * moves from connections to requests (a waypoint is added) starts a new baseline rather than
   * judging requests against what it learned of connections.
   */
  variant?: string;
  /**
   * For a ratio, the number of requests it stands on (the count noise of 1 error in 3 requests
   * is not that of 1,000 in 3,000); unset for rates, whose count noise the baseline knows.
   */
  countWindowSeconds?: number;
}

/**
 * How long an event part of a score (`shape`, `new_range`: each scores on the one value that shows it)
 * stands in the detector's assessments: long enough for a finding to open after `open_after_polls`
 * and for an alert's `for:` (10 minutes for traffic) to pass, short enough to be one event. The
 * baseline itself scores it once (what NAB's benchmark measures); holding is the detector's, as the
 * findings' hysteresis is.
 */
export const EVENT_HOLD_MS = 15 * 60_000;

/** A series' baseline and the event part it holds. */
class TrackedSeries {
  heldUntilMs = -Infinity;
  heldScore = 0;
  heldPart: AnomalyPart = 'level';

  constructor(readonly baseline: Baseline) {}

  /** The estimate with a held event in it, while the hold lasts and the event outscores the value. */
  hold(timeMs: number, estimate: Estimate): Estimate {
    if (estimate.part !== 'level') {
      this.heldUntilMs = timeMs + EVENT_HOLD_MS;
      this.heldScore = estimate.score;
      this.heldPart = estimate.part;
      return estimate;
    }
    if (timeMs < this.heldUntilMs && this.heldScore > estimate.score) {
      return { ...estimate, score: this.heldScore, part: this.heldPart };
    }
    return estimate;
  }
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
    private readonly table: SeriesTable<TrackedSeries>,
  ) {}

  /** Learns and scores this poll's values; returns the assessments of warmed-up baselines. */
  observe(timeMs: number, values: readonly DestinationValue[]): Assessment[] {
    const out: Assessment[] = [];
    for (const v of values) {
      const key =
        v.variant === undefined
          ? destinationKey(v.destination)
          : `${destinationKey(v.destination)}|${v.variant}`;
      const series = this.table.touch(key, timeMs, () => new TrackedSeries(createBaseline(this.options)));
      const raw = series?.baseline.observe(timeMs, v.value, v.countWindowSeconds);
      if (!series || !raw) continue;
      const estimate = series.hold(timeMs, raw);
      out.push({
        detector: this.detector,
        destination: v.destination,
        signal: v.signal ?? this.signal,
        observed: v.value,
        expected: Math.max(estimate.expected, 0),
        lower: Math.max(estimate.lower, 0),
        upper: Math.max(estimate.upper, 0),
        score: estimate.score,
        layers: v.layers,
        part: estimate.part,
        topCallers: v.topCallers,
      });
    }
    this.table.evict(timeMs);
    return out;
  }

  /**
   * Scores from now on against `threshold`, and sizes the table anew, keeping every series' baseline:
   * a config reload changes how the detector judges, not what it learned.
   */
  retune(threshold: number, capacity: number, evictAfterMs: number): void {
    setBaselineThreshold(this.options, threshold);
    this.table.setLimits(capacity, evictAfterMs);
  }

  /** Tracked series (destinations, and a destination's second baseline while it changes layer). */
  get tracked(): number {
    return this.table.size;
  }
}
