/** How the report writes numbers and times: short, UTC, the same in every table and chart. */

/** A rate, ratio or score with about three significant digits: `1234`, `25.3`, `0.0042`. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs === 0) return '0';
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 1) return String(Number(value.toFixed(2)));
  return String(Number(value.toPrecision(2)));
}

/** RFC 3339 in UTC without milliseconds: `2026-01-06T01:00:00Z`. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A short axis label in UTC: `01-06 01:00`. */
export function formatAxisTime(ms: number): string {
  return new Date(ms).toISOString().slice(5, 16).replace('T', ' ');
}

/** A span as `1h30m`, or `open` when it had not ended. */
export function formatSpan(startMs: number, endMs: number | null): string {
  if (endMs === null) return 'open';
  let minutes = Math.round((endMs - startMs) / 60_000);
  const days = Math.floor(minutes / 1440);
  minutes -= days * 1440;
  const hours = Math.floor(minutes / 60);
  minutes -= hours * 60;
  const text = `${days > 0 ? `${days}d` : ''}${hours > 0 ? `${hours}h` : ''}${minutes > 0 ? `${minutes}m` : ''}`;
  return text === '' ? '<1m' : text;
}
