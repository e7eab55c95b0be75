/**
 * Reads the NAB corpus from disk: the only file I/O of the NAB benchmark. Timestamps are read as
 * UTC (NAB's are zone-less), which keeps the hour-of-day the file shows.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors';
import type { RowWindow } from './scorer';

/** One NAB data file, rows in file order. */
export interface NabSeries {
  /** Path relative to the data folder, as `labels/windows.json` names it (`realTweets/Twitter_volume_FB.csv`). */
  name: string;
  timesMs: Float64Array;
  values: Float64Array;
  windows: RowWindow[];
}

/** Window limits per file as `labels/windows.json` holds them. */
export type NabWindows = Record<string, [string, string][]>;

/** Parses NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]` as UTC milliseconds. */
export function parseNabTime(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(text.trim());
  if (match === null) throw new UsageError(`not a NAB timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** Parses a NAB `timestamp,value` CSV. */
export function parseNabCsv(name: string, text: string): { timesMs: Float64Array; values: Float64Array } {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const rows = lines.slice(1);
  const timesMs = new Float64Array(rows.length);
  const values = new Float64Array(rows.length);
  rows.forEach((line, i) => {
    const comma = line.indexOf(',');
    const value = Number(line.slice(comma + 1));
    if (comma < 0 || !Number.isFinite(value))
      throw new UsageError(`${name}: row ${i + 2} is not "timestamp,value"`);
    timesMs[i] = parseNabTime(line.slice(0, comma));
    values[i] = value;
  });
  return { timesMs, values };
}

/** Maps time windows to inclusive row windows: first row at or after the start, last at or before the end. */
export function toRowWindows(timesMs: Float64Array, limits: readonly [string, string][]): RowWindow[] {
  return limits.map(([start, end]) => {
    const from = parseNabTime(start);
    const to = parseNabTime(end);
    let first = timesMs.findIndex((t) => t >= from);
    if (first < 0) first = timesMs.length;
    let last = first - 1;
    while (last + 1 < timesMs.length && (timesMs[last + 1] ?? Infinity) <= to) last += 1;
    return [first, last] as const;
  });
}

/** Reads a JSON file, naming it in the error when it is missing or not JSON. */
export function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new UsageError(`cannot read JSON from ${file}`, { cause: error });
  }
}

/** Reads the named files of a NAB data folder and their windows (every file of the windows file by default). */
export function readNabCorpus(dataDir: string, windows: NabWindows, names?: readonly string[]): NabSeries[] {
  return (names ?? Object.keys(windows).sort()).map((name) => {
    const limits = windows[name];
    if (limits === undefined) throw new UsageError(`${name} is not in the windows file`);
    let text: string;
    try {
      text = readFileSync(path.join(dataDir, 'data', name), 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read NAB file ${name} under ${dataDir}/data`, { cause: error });
    }
    const { timesMs, values } = parseNabCsv(name, text);
    return { name, timesMs, values, windows: toRowWindows(timesMs, limits) };
  });
}
