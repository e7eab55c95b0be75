/**
 * The building blocks of the scenario parser: typed reads of YAML values that fail with a
 * ScenarioError naming the file and the path inside it (`scenario.yml: calls[2].rate: ...`).
 */
import { ScenarioError } from '../errors';
import { parseDurationMs } from './time';
import type { Pattern } from './scenario';

/** A mapping as read from YAML. */
export type Raw = Record<string, unknown>;

/** Where a value came from: the file and the path inside it, for error messages. */
export class At {
  constructor(
    readonly source: string,
    readonly path: string,
  ) {}

  /** The path of a key inside this mapping. */
  key(name: string): At {
    return new At(this.source, this.path ? `${this.path}.${name}` : name);
  }

  /** The path of an element of this list. */
  index(i: number): At {
    return new At(this.source, `${this.path}[${i}]`);
  }

  /** Throws a ScenarioError about the value here. */
  fail(problem: string): never {
    throw new ScenarioError(this.path, `${this.source}: ${this.path || '(top level)'}: ${problem}`);
  }
}

/** A value as a message shows it. */
export const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/**
 * A mapping whose keys are all in `allowed`; `renamed` maps a key that is no longer allowed to the
 * hint its error gives (`mesh` to "use dataplane").
 */
export function object(
  value: unknown,
  at: At,
  allowed: readonly string[],
  renamed: Record<string, string> = {},
): Raw {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) at.fail(`expected a mapping`);
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const hint = renamed[key] ? `${renamed[key]}; ` : '';
    at.key(key).fail(`unknown key (${hint}allowed: ${allowed.join(', ')})`);
  }
  return value as Raw;
}

/** A list; absent is empty. */
export function list(value: unknown, at: At): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) at.fail('expected a list');
  return value;
}

/** `raw[key]`, which must be there. */
export function required(raw: Raw, key: string, at: At): unknown {
  if (raw[key] === undefined || raw[key] === null) at.key(key).fail('required');
  return raw[key];
}

/** A non-empty string. */
export function text(value: unknown, at: At, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value === '') at.fail(`expected a non-empty string, got ${show(value)}`);
  return value;
}

// DNS-1123 label: what Kubernetes allows for names, and safe inside label values and pod names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes name. */
export function dnsName(value: unknown, at: At, fallback?: string): string {
  const name = text(value, at, fallback);
  if (!DNS_LABEL.test(name) || name.length > 63) {
    at.fail(`${show(name)} is not a Kubernetes name (lower-case letters, digits and '-', at most 63)`);
  }
  return name;
}

// Istio cluster ids are free text in practice (`Kubernetes`, `cluster-a`, `eu-west1.prod`); a '/'
// would make workload ids ambiguous, and quotes or spaces have no place in a label value here.
const CLUSTER_ID = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** An Istio cluster id. */
export function clusterId(value: unknown, at: At, fallback?: string): string {
  const id = text(value, at, fallback);
  if (!CLUSTER_ID.test(id) || id.length > 63) {
    at.fail(`${show(id)} is not a cluster id (letters, digits, '-', '_' and '.', at most 63)`);
  }
  return id;
}

/** A finite number in a range. */
export function num(
  value: unknown,
  at: At,
  range: { min?: number; max?: number; above?: number },
  fallback?: number,
) {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) at.fail(`expected a number, got ${show(value)}`);
  if (range.min !== undefined && value < range.min) at.fail(`must be at least ${range.min}, got ${value}`);
  if (range.above !== undefined && value <= range.above)
    at.fail(`must be above ${range.above}, got ${value}`);
  if (range.max !== undefined && value > range.max) at.fail(`must be at most ${range.max}, got ${value}`);
  return value;
}

/** A whole number of at least `min`. */
export function integer(value: unknown, at: At, min: number, fallback?: number): number {
  const n = num(value, at, { min }, fallback);
  if (!Number.isInteger(n)) at.fail(`expected a whole number, got ${n}`);
  return n;
}

/** One of a few strings. */
export function oneOf<T extends string>(value: unknown, at: At, allowed: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    at.fail(`expected one of ${allowed.join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

/** A duration (`30m`, `6d23h`, or 0) in ms. */
export function duration(value: unknown, at: At, positive: boolean): number {
  const ms = typeof value === 'string' ? parseDurationMs(value) : value === 0 ? 0 : undefined;
  // A count too large for a number (400 digits) reads as Infinity: not a time to schedule.
  if (ms === undefined || !Number.isFinite(ms))
    at.fail(`expected a duration like 30m or 6d23h, got ${show(value)}`);
  if (positive && ms <= 0) at.fail('must be longer than 0');
  return ms;
}

const PATTERN_KEYS = ['daily_amplitude', 'peak_hour', 'weekend_factor', 'noise'] as const;

/** A pattern; each key absent takes `base`'s value. */
export function pattern(value: unknown, at: At, base: Pattern): Pattern {
  if (value === undefined) return base;
  const raw = object(value, at, PATTERN_KEYS);
  return {
    dailyAmplitude: num(
      raw.daily_amplitude,
      at.key('daily_amplitude'),
      { min: 0, max: 1 },
      base.dailyAmplitude,
    ),
    peakHour: num(raw.peak_hour, at.key('peak_hour'), { min: 0, max: 24 }, base.peakHour),
    weekendFactor: num(raw.weekend_factor, at.key('weekend_factor'), { min: 0 }, base.weekendFactor),
    noise: num(raw.noise, at.key('noise'), { min: 0, max: 1 }, base.noise),
  };
}

/** A flat pattern: constant rate, no jitter. */
export const FLAT_PATTERN: Pattern = { dailyAmplitude: 0, peakHour: 14, weekendFactor: 1, noise: 0 };
