/** Options of a baseline: what each detector chooses, with defaults and validation in one place. */
import { ConfigError } from '../../errors';

/** Which deviations count as anomalous: a rise, a fall, or both. */
export type BaselineDirection = 'both' | 'up' | 'down';

/** How a baseline learns and when a value is anomalous. Durations are in seconds of the series' own time. */
export interface BaselineOptions {
  direction: BaselineDirection;
  /** Score at which a value is anomalous; the band is `expected ± threshold` noise widths, so the two agree. */
  threshold: number;
  /** The `rate()` window behind the values: adds the Poisson noise of the counts (variance r / w). Unset: no count noise. */
  countWindowSeconds?: number;
  /** Half-life of the fast level, which follows the series when it is normal. */
  levelHalfLifeSeconds?: number;
  /** Half-life of the slow level, the long memory that catches a ramp the fast level follows. */
  slowHalfLifeSeconds?: number;
  /** The slow level's band is this many times wider than the fast one's (a ramp must be clear to count). */
  slowBandFactor?: number;
  /** Half-life of the noise estimate (a robust mean absolute deviation). */
  noiseHalfLifeSeconds?: number;
  /** A continuous anomaly this long is taken as the new normal (a deploy); `Infinity` holds forever (an attack). */
  acceptShiftAfterSeconds?: number;
  /** Half-life of re-learning once a shift is accepted: short, so the alarm ends soon after acceptance. */
  relearnHalfLifeSeconds?: number;
  /**
   * For this long after an accepted shift began, a value back within the band of the level before it
   * restores that level instead of alarming: the end of an incident (a surge that was accepted while it
   * lasted) is not a second anomaly. 0: never restore.
   */
  returnWithinSeconds?: number;
  /** Noise is at least this fraction of the expected value: no series is predictable to better than this. */
  minRelativeNoise?: number;
  /** Values learned before the baseline gives estimates. */
  warmupSamples?: number;
  /** Learn a day-of-week profile on top of the hour-of-day one (6 more bytes per hour of the week). */
  weekly?: boolean;
  /**
   * Add shape novelty to the score: a context of recent values never seen before scores up to the
   * threshold on its own, once, after a week of learning (see docs/baselines.md). It has no direction
   * (a new shape is new either way). Adds 232 bytes per series.
   */
  novelty?: boolean;
  /**
   * Add the learned shape model (shape.ts: a fuzzy ART memory of the series' half-hour shapes) and the
   * spatial rule (spatial.ts: a value beyond every value the series has had) to the score, as parts
   * `shape` and `new_range` next to the deviation's `level`. Each is an event: it scores on the value
   * that shows it. Adds about 6.6 KB per series.
   */
  shape?: boolean;
}

/** Options with every default filled in. */
export type ResolvedBaselineOptions = Required<Omit<BaselineOptions, 'countWindowSeconds'>> & {
  countWindowSeconds: number | undefined;
};

/** Defaults shared by every detector; a detector states only what differs. */
export const baselineDefaults = {
  levelHalfLifeSeconds: 3600,
  slowHalfLifeSeconds: 3 * 86400,
  slowBandFactor: 2,
  noiseHalfLifeSeconds: 6 * 3600,
  acceptShiftAfterSeconds: 3600,
  relearnHalfLifeSeconds: 300,
  returnWithinSeconds: 6 * 3600,
  minRelativeNoise: 0.02,
  warmupSamples: 12,
  weekly: true,
  novelty: false,
  shape: false,
} as const satisfies Partial<BaselineOptions>;

const positive = (value: number): boolean => Number.isFinite(value) && value > 0;

/** Fills defaults and checks every value; a bad one is a ConfigError naming `baseline.<option>`. */
export function resolveBaselineOptions(options: BaselineOptions): ResolvedBaselineOptions {
  const resolved: ResolvedBaselineOptions = {
    ...baselineDefaults,
    ...stripUndefined(options),
    direction: options.direction,
    threshold: options.threshold,
    countWindowSeconds: options.countWindowSeconds,
  };
  const fail = (key: string, allowed: string, value: unknown): never => {
    throw new ConfigError(`baseline.${key}`, `baseline.${key} must be ${allowed}, got ${String(value)}`);
  };
  if (!['both', 'up', 'down'].includes(resolved.direction))
    fail('direction', 'one of both, up, down', resolved.direction);
  if (!positive(resolved.threshold)) fail('threshold', 'a positive number', resolved.threshold);
  if (resolved.countWindowSeconds !== undefined && !positive(resolved.countWindowSeconds)) {
    fail('countWindowSeconds', 'a positive number of seconds', resolved.countWindowSeconds);
  }
  const positives = [
    'levelHalfLifeSeconds',
    'slowHalfLifeSeconds',
    'noiseHalfLifeSeconds',
    'relearnHalfLifeSeconds',
    'slowBandFactor',
  ] as const;
  for (const key of positives) {
    if (!positive(resolved[key])) fail(key, 'a positive number', resolved[key]);
  }
  if (!(resolved.acceptShiftAfterSeconds > 0)) {
    fail(
      'acceptShiftAfterSeconds',
      'a positive number of seconds or Infinity',
      resolved.acceptShiftAfterSeconds,
    );
  }
  if (!(Number.isFinite(resolved.returnWithinSeconds) && resolved.returnWithinSeconds >= 0)) {
    fail('returnWithinSeconds', 'a number of seconds >= 0', resolved.returnWithinSeconds);
  }
  if (!(resolved.minRelativeNoise >= 0 && resolved.minRelativeNoise < 1)) {
    fail('minRelativeNoise', 'a fraction in [0, 1)', resolved.minRelativeNoise);
  }
  if (!(Number.isInteger(resolved.warmupSamples) && resolved.warmupSamples >= 2)) {
    fail('warmupSamples', 'an integer >= 2', resolved.warmupSamples);
  }
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
