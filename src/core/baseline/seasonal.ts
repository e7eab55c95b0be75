/**
 * A seasonal profile: one additive offset per hour of a cycle (day or week). Hours are plain bins, not
 * interpolated: a step at the top of the hour (a CronJob, a batch window) is learned exactly, and a smooth
 * daily curve costs at most a small staircase error. Each hour also keeps its exposure (hours of data
 * learned, capped), which shrinks a young hour towards zero, i.e. towards the profile below it (the week
 * towards the day, the day towards the level): that is the fallback while less than a cycle was seen.
 */

const HOUR_MS = 3_600_000;
// Prior weight, in hours of data, of "no seasonal effect": one day of data gives 2/3 of an hour's offset.
const PRIOR_HOURS = 0.5;

/** Where a profile lives in a series' Float32Array: `hours` offsets from `offset`, then `hours` exposures. */
export interface SeasonalLayout {
  readonly offset: number;
  readonly hours: number;
  /** Exposure cap in hours: the profile remembers about this many cycles. */
  readonly memoryCycles: number;
}

/** Hour of day, remembering about a week of days. */
export const dayLayout: SeasonalLayout = { offset: 0, hours: 24, memoryCycles: 7 };
/** Hour of week, after the day profile, remembering about three weeks. */
export const weekLayout: SeasonalLayout = { offset: 48, hours: 168, memoryCycles: 3 };

/** The hour of the cycle `timeMs` falls in (UTC: the profile learns whatever the local pattern is). */
export function seasonalHour(timeMs: number, hours: number): number {
  const hour = Math.floor(timeMs / HOUR_MS) % hours;
  return hour < 0 ? hour + hours : hour;
}

/** The profile's offset for an hour. */
export function seasonalOffset(data: Float32Array, profile: SeasonalLayout, hour: number): number {
  return data[profile.offset + hour] ?? 0;
}

/** Hours of data the profile has learned for an hour, up to its memory. */
export function seasonalExposure(data: Float32Array, profile: SeasonalLayout, hour: number): number {
  return data[profile.offset + profile.hours + hour] ?? 0;
}

/** Learns `error` (value minus the full prediction, already clipped) from `exposureHours` hours of data. */
export function learnSeasonal(
  data: Float32Array,
  profile: SeasonalLayout,
  hour: number,
  error: number,
  exposureHours: number,
): void {
  if (exposureHours <= 0) return;
  const { offset, hours, memoryCycles } = profile;
  const seen = Math.min((data[offset + hours + hour] ?? 0) + exposureHours, memoryCycles);
  data[offset + hours + hour] = seen;
  // A running mean with a prior while the hour is young, an exponential memory of `memoryCycles` once capped.
  data[offset + hour] = (data[offset + hour] ?? 0) + (exposureHours / (seen + PRIOR_HOURS)) * error;
}
