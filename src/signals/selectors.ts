import { matchAny } from './promql';

/** The matcher that keeps only server-side series (`reporter="destination"`, or `waypoint` in ambient mode). */
export function serverSide(reporters: readonly string[]): string {
  return matchAny('reporter', reporters);
}

/** A PromQL range duration from milliseconds (`120000` -> `2m`, `90000` -> `90s`). */
export function formatRange(ms: number): string {
  if (ms % 60000 === 0) return `${ms / 60000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
