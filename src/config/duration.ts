/**
 * Durations as Prometheus writes them (`500ms`, `30s`, `1h30m`, `7d`, `1w`), in milliseconds.
 * Units go from the largest to the smallest, each at most once, as in Prometheus's own config;
 * years are left out because a calendar year is not a fixed number of days.
 */

const UNITS = [
  { unit: 'w', ms: 7 * 24 * 60 * 60 * 1000 },
  { unit: 'd', ms: 24 * 60 * 60 * 1000 },
  { unit: 'h', ms: 60 * 60 * 1000 },
  { unit: 'm', ms: 60 * 1000 },
  { unit: 's', ms: 1000 },
  { unit: 'ms', ms: 1 },
] as const;

const DURATION = /^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** The units a duration may use, for error messages and docs. */
export const DURATION_UNITS: readonly string[] = [...UNITS].reverse().map((u) => u.unit);

/**
 * Parses `30s`, `1h30m`, `500ms`, ... into milliseconds; `undefined` when `text` is not a duration.
 * A bare number (`30`, even `0`) is not a duration: its unit would be a guess.
 */
export function parseDuration(text: string): number | undefined {
  const match = text === '' ? null : DURATION.exec(text);
  if (match === null) return undefined;
  let total = 0;
  UNITS.forEach(({ ms }, i) => {
    const count = match[i + 1];
    if (count !== undefined) total += Number(count) * ms;
  });
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Writes milliseconds the way `parseDuration` reads them, largest units first: 5400000 -> `1h30m`, 0 -> `0s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let text = '';
  for (const { unit, ms: size } of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}

/** `parseDuration`'s syntax as a JSON Schema pattern (not empty); it cannot check the safe-integer bound. */
export const DURATION_PATTERN = DURATION.source.replace(/^\^/, '^(?!$)');
