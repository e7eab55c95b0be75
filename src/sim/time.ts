/**
 * Times and durations as the simulator's command line and scenario files spell them.
 * Pure: the current time is a parameter.
 */
import { UsageError } from '../errors';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/**
 * Parses a duration such as `30s`, `6d23h`, `1h30m` or `250ms` into milliseconds;
 * returns undefined when the text is not one (callers word the error for their context).
 */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  if (!DURATION.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(DURATION_PART)) {
    total += Number(amount) * (UNIT_MS[unit ?? ''] ?? 0);
  }
  return total;
}

/** Formats milliseconds as the shortest duration text `parseDurationMs` reads back (`7d5m`, `30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.abs(ms);
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit] ?? 1;
    const amount = Math.floor(rest / size);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * size;
  }
  return (ms < 0 ? '-' : '') + text;
}

const RELATIVE = /^now\s*([+-])\s*(.+)$/;
const UNIX_SECONDS = /^\d+(?:\.\d+)?$/;
// RFC3339 needs a date, a time and a zone; Date.parse alone would also take `2026` or local times.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses a point in time into Unix milliseconds: RFC3339 (`2026-11-22T15:00:00Z`), Unix seconds
 * (`1795000000`, decimals allowed), `now`, or `now` plus or minus a duration (`now-7d`, `now+90s`).
 * Throws UsageError naming the text and the accepted forms.
 */
export function parseTime(text: string, nowMs: number): number {
  const trimmed = text.trim();
  if (trimmed === 'now') return nowMs;
  const relative = RELATIVE.exec(trimmed);
  if (relative) {
    const offset = parseDurationMs(relative[2] ?? '');
    if (offset !== undefined) return relative[1] === '-' ? nowMs - offset : nowMs + offset;
  } else if (UNIX_SECONDS.test(trimmed)) {
    return Math.round(Number(trimmed) * 1000);
  } else if (RFC3339.test(trimmed)) {
    const parsed = Date.parse(trimmed);
    if (!Number.isNaN(parsed)) return parsed;
  }
  throw new UsageError(
    `invalid time ${JSON.stringify(text)}: use RFC3339 (2026-11-22T15:00:00Z), Unix seconds, now, or now-7d / now+1h30m`,
  );
}
