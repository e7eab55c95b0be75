/**
 * The building blocks of the config schema: each field knows its type, default, allowed values
 * and doc, and converts a YAML value or an env/flag string into its typed value or into the exact
 * words of what is wrong. The key and where the value came from are added by the resolver.
 */
import { DURATION_PATTERN, DURATION_UNITS, parseDuration } from './duration';

/** A JSON Schema (draft-07) of one value, as plain JSON data. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** A converted value, or what is wrong with the input (without the key: the resolver adds it). */
export type Conversion<T> = { ok: true; value: T } | { ok: false; problem: string };

/** One key of the config file. `T` includes `undefined` when the key has no default. */
export interface Field<T> {
  readonly kind: 'field';
  /** Type name for the docs: `duration`, `integer`, `list`, ... */
  readonly type: string;
  /** One line: what the key does. */
  readonly doc: string;
  readonly default: T;
  /** The default as one would write it in the file; `undefined` when the key is unset by default. */
  readonly defaultText: string | undefined;
  /** The values allowed, in words; used by both the docs and the error messages. */
  readonly allowed: string;
  /**
   * The value as written in the YAML file, in JSON Schema, with its default in the file's form;
   * src/config/json-schema.ts assembles these into meshwatch.schema.json for editors.
   */
  readonly jsonSchema: JsonSchema;
  /** How to write the value in an environment variable, when it differs from a plain scalar. */
  readonly envFormat?: string;
  /** The command-line option that also sets this key, e.g. `--prometheus-url`. */
  readonly flag?: string;
  /** Converts the value found in the YAML file (never `null`: the resolver reports empty keys). */
  fromYaml(value: unknown): Conversion<T>;
  /** Converts the string given in an environment variable or a command-line option. */
  fromText(text: string): Conversion<T>;
}

/** A nested mapping of keys, e.g. `prometheus.tls`. */
export interface Section<C extends Children = Children> {
  readonly kind: 'section';
  readonly doc: string;
  readonly children: C;
}

/** The keys under a section. */
export type Children = { readonly [key: string]: SchemaNode };

/** A field or a section. */
export type SchemaNode = Field<unknown> | Section;

/** The typed values a schema node resolves to: a section becomes an object of its children's values. */
export type ValuesOf<N> =
  N extends Field<infer T>
    ? T
    : N extends Section<infer C>
      ? { -readonly [K in keyof C]: ValuesOf<C[K]> }
      : never;

/** Builds a section. */
export function section<C extends Children>(doc: string, children: C): Section<C> {
  return { kind: 'section', doc, children };
}

/** Renders an input value inside a message: strings quoted, structures as short JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

const ok = <T>(value: T): Conversion<T> => ({ ok: true, value });
const bad = <T>(problem: string): Conversion<T> => ({ ok: false, problem });

function rangeText(min: string | undefined, max: string | undefined): string {
  if (min !== undefined && max !== undefined) return `${min} to ${max}`;
  if (min !== undefined) return `at least ${min}`;
  return max !== undefined ? `at most ${max}` : 'any';
}

interface Common {
  doc: string;
  flag?: string;
}

const DURATION_HINT = `use a number and a unit: ${DURATION_UNITS.join(', ')}; e.g. 30s`;

/** A duration such as `30s` or `1h30m`, resolved to milliseconds; `min`/`max` are durations too. */
export function duration(o: Common & { default: string; min?: string; max?: string }): Field<number> {
  const ms = (text: string): number => {
    const value = parseDuration(text);
    // A typo in the schema itself must fail at load time, not produce NaN bounds.
    if (value === undefined) throw new TypeError(`schema: ${text} is not a duration`);
    return value;
  };
  const min = o.min === undefined ? undefined : ms(o.min);
  const max = o.max === undefined ? undefined : ms(o.max);
  const allowed = rangeText(o.min, o.max);
  const convert = (input: unknown): Conversion<number> => {
    const value = typeof input === 'string' ? parseDuration(input) : undefined;
    if (value === undefined) return bad(`${show(input)} is not a duration (${DURATION_HINT})`);
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
      return bad(`${show(input)} is out of range (allowed: ${allowed})`);
    }
    return ok(value);
  };
  return {
    kind: 'field',
    type: 'duration',
    doc: o.doc,
    flag: o.flag,
    default: ms(o.default),
    defaultText: o.default,
    allowed,
    // The range compares values, which a pattern cannot; the description gives it in words.
    jsonSchema: { type: 'string', pattern: DURATION_PATTERN, default: o.default },
    fromYaml: convert,
    fromText: convert,
  };
}

/** A whole number within `min`..`max`. */
export function integer(o: Common & { default: number; min: number; max?: number }): Field<number> {
  const allowed = rangeText(String(o.min), o.max === undefined ? undefined : String(o.max));
  const check = (input: unknown, value: number): Conversion<number> => {
    if (!Number.isSafeInteger(value)) return bad(`${show(input)} is not an integer (allowed: ${allowed})`);
    if (value < o.min || (o.max !== undefined && value > o.max)) {
      return bad(`${show(input)} is out of range (allowed: ${allowed})`);
    }
    return ok(value);
  };
  return {
    kind: 'field',
    type: 'integer',
    doc: o.doc,
    flag: o.flag,
    default: o.default,
    defaultText: String(o.default),
    allowed,
    jsonSchema: {
      type: 'integer',
      minimum: o.min,
      ...(o.max === undefined ? {} : { maximum: o.max }),
      default: o.default,
    },
    fromYaml: (input) => check(input, typeof input === 'number' ? input : NaN),
    fromText: (text) => check(text, /^[-+]?\d+$/.test(text) ? Number(text) : NaN),
  };
}

/** A finite number strictly greater than `greaterThan`. */
export function number(o: Common & { default: number; greaterThan: number }): Field<number> {
  const allowed = `a number greater than ${o.greaterThan}`;
  const check = (input: unknown, value: number): Conversion<number> => {
    if (!Number.isFinite(value)) return bad(`${show(input)} is not a number (allowed: ${allowed})`);
    if (value <= o.greaterThan) return bad(`${show(input)} is out of range (allowed: ${allowed})`);
    return ok(value);
  };
  return {
    kind: 'field',
    type: 'number',
    doc: o.doc,
    flag: o.flag,
    default: o.default,
    defaultText: String(o.default),
    allowed,
    jsonSchema: { type: 'number', exclusiveMinimum: o.greaterThan, default: o.default },
    fromYaml: (input) => check(input, typeof input === 'number' ? input : NaN),
    fromText: (text) => check(text, /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text) : NaN),
  };
}

/** `true` or `false`; YAML 1.1 spellings such as `yes` are not booleans here, as in YAML 1.2. */
export function boolean(o: Common & { default: boolean }): Field<boolean> {
  const notBoolean = (input: unknown): Conversion<boolean> =>
    bad(`${show(input)} is not a boolean (allowed: true, false)`);
  return {
    kind: 'field',
    type: 'boolean',
    doc: o.doc,
    flag: o.flag,
    default: o.default,
    defaultText: String(o.default),
    allowed: 'true, false',
    jsonSchema: { type: 'boolean', default: o.default },
    fromYaml: (input) => (typeof input === 'boolean' ? ok(input) : notBoolean(input)),
    fromText: (text) => (text === 'true' ? ok(true) : text === 'false' ? ok(false) : notBoolean(text)),
  };
}

/** One of a fixed set of words. */
export function oneOf<V extends string>(o: Common & { values: readonly V[]; default: V }): Field<V> {
  const allowed = o.values.join(', ');
  const convert = (input: unknown): Conversion<V> =>
    o.values.includes(input as V)
      ? ok(input as V)
      : bad(`${show(input)} is not allowed (allowed: ${allowed})`);
  return {
    kind: 'field',
    type: 'string',
    doc: o.doc,
    flag: o.flag,
    default: o.default,
    defaultText: o.default,
    allowed,
    jsonSchema: { type: 'string', enum: o.values, default: o.default },
    fromYaml: convert,
    fromText: convert,
  };
}

/**
 * A non-empty list of distinct words that `accepts` takes (`item`: the same in JSON Schema);
 * comma-separated in env (`example`).
 */
function wordList<V extends string>(
  o: Common & { default: V[] },
  allowed: string,
  example: string,
  accepts: (item: unknown) => boolean,
  item: JsonSchema,
): Field<V[]> {
  const convert = (input: unknown, items: unknown[]): Conversion<V[]> => {
    if (items.length === 0) return bad(`${show(input)} is empty (allowed: ${allowed})`);
    for (const [i, item] of items.entries()) {
      if (!accepts(item)) return bad(`${show(item)} is not allowed (allowed: ${allowed})`);
      if (items.indexOf(item) !== i) return bad(`${show(item)} is listed twice (allowed: ${allowed})`);
    }
    return ok(items as V[]);
  };
  return {
    kind: 'field',
    type: 'list',
    doc: o.doc,
    flag: o.flag,
    default: o.default,
    defaultText: `[${o.default.join(', ')}]`,
    allowed,
    jsonSchema: { type: 'array', items: item, minItems: 1, uniqueItems: true, default: o.default },
    envFormat: `comma-separated, e.g. \`${example}\``,
    fromYaml: (input) =>
      Array.isArray(input)
        ? convert(input, input)
        : bad(`${show(input)} is not a list (allowed: ${allowed})`),
    fromText: (text) => convert(text, text === '' ? [] : text.split(',').map((item) => item.trim())),
  };
}

/** A non-empty list of distinct words from a fixed set; comma-separated in env. */
export function listOf<V extends string>(o: Common & { values: readonly V[]; default: V[] }): Field<V[]> {
  return wordList(
    o,
    `one or more of ${o.values.join(', ')}`,
    o.values.join(','),
    (item) => o.values.includes(item as V),
    { type: 'string', enum: o.values },
  );
}

/** A non-empty string with a default. */
export function text(o: Common & { default: string }): Field<string> {
  return stringField(o, o.default, 'a non-empty string');
}

/** A path to a file, unset by default. Credentials are only ever read from such files, never inline. */
export function filePath(o: Common): Field<string | undefined> {
  return stringField({ ...o, type: 'file path' }, undefined, 'a path to a file');
}

/** An optional non-empty string, unset by default. */
export function optionalText(o: Common): Field<string | undefined> {
  return stringField(o, undefined, 'a non-empty string');
}

function stringField<T extends string | undefined>(
  o: Common & { type?: string },
  fallback: T,
  allowed: string,
): Field<T> {
  const convert = (input: unknown): Conversion<T> => {
    if (typeof input !== 'string') {
      const hint = typeof input === 'number' || typeof input === 'boolean' ? `; quote it: "${input}"` : '';
      return bad(`${show(input)} is not a string (allowed: ${allowed}${hint})`);
    }
    return input === '' ? bad(`"" is empty (allowed: ${allowed})`) : ok(input as T);
  };
  return {
    kind: 'field',
    type: o.type ?? 'string',
    doc: o.doc,
    flag: o.flag,
    default: fallback,
    defaultText: fallback,
    allowed,
    jsonSchema: { type: 'string', minLength: 1, ...(fallback === undefined ? {} : { default: fallback }) },
    fromYaml: convert,
    fromText: convert,
  };
}

/** An `http://` or `https://` URL without inline credentials (they would end up in logs). */
export function httpUrl(o: Common & { default: string }): Field<string> {
  return urlField(o, o.default);
}

/** An http(s) URL, unset by default (the feature it names is off). */
export function optionalHttpUrl(o: Common): Field<string | undefined> {
  return urlField(o, undefined);
}

// http(s), a host, and no `user:password@` before it: what `convert` checks, as far as a pattern can.
const URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\\s:\\\\][^/?#@\\s\\\\]*(?:[/?#].*)?$';

function urlField<T extends string | undefined>(o: Common, defaultValue: T): Field<T> {
  const allowed = 'an http or https URL, e.g. http://prometheus:9090';
  const convert = (input: unknown): Conversion<T> => {
    let url: URL | undefined;
    try {
      url = typeof input === 'string' ? new URL(input) : undefined;
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      return bad(`${show(input)} is not an http or https URL (e.g. http://prometheus:9090)`);
    }
    if (url.username !== '' || url.password !== '') {
      // Not echoed back: the value holds a secret.
      return bad(
        'the URL contains a user name or password (credentials come from files: use prometheus.basic_auth)',
      );
    }
    return ok(input as T);
  };
  return {
    kind: 'field',
    type: 'URL',
    doc: o.doc,
    flag: o.flag,
    default: defaultValue,
    defaultText: defaultValue,
    allowed,
    jsonSchema: {
      type: 'string',
      pattern: URL_PATTERN,
      ...(defaultValue === undefined ? {} : { default: defaultValue }),
    },
    fromYaml: convert,
    fromText: convert,
  };
}

// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Credentials come from files only; an inline Authorization header would bypass that rule.
const FORBIDDEN_HEADERS = ['authorization', 'proxy-authorization'];
// The same two rules for JSON Schema, whose patterns have no case-insensitive flag.
const anyCase = (word: string): string =>
  [...word].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c)).join('');
const HEADER_NAME_PATTERN = `^(?!(?:${FORBIDDEN_HEADERS.map(anyCase).join('|')})$)${HEADER_NAME.source.slice(1)}`;

/** HTTP request headers, name to value; `Name=value,Name2=value2` in env. */
export function headerMap(o: Common): Field<Record<string, string>> {
  const allowed = 'header names mapped to string values';
  const entry = (name: string, value: unknown): string | undefined => {
    if (!HEADER_NAME.test(name)) return `${show(name)} is not a valid header name (allowed: ${allowed})`;
    if (FORBIDDEN_HEADERS.includes(name.toLowerCase())) {
      return `${show(name)} is not allowed (credentials come from files: use prometheus.bearer_token_file or prometheus.basic_auth)`;
    }
    if (typeof value !== 'string') {
      const hint = typeof value === 'number' || typeof value === 'boolean' ? `; quote it: "${value}"` : '';
      return `${name}: ${show(value)} is not a string (allowed: a string${hint})`;
    }
    // A line break would let a value smuggle in a header of its own.
    if (/[\r\n\0]/.test(value)) return `${name}: the value contains a line break (allowed: one line)`;
    return undefined;
  };
  const convert = (pairs: [string, unknown][]): Conversion<Record<string, string>> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of pairs) {
      const problem = entry(name, value);
      if (problem !== undefined) return bad(problem);
      headers[name] = value as string;
    }
    return ok(headers);
  };
  return {
    kind: 'field',
    type: 'map',
    doc: o.doc,
    flag: o.flag,
    default: {},
    defaultText: '{}',
    allowed,
    jsonSchema: {
      type: 'object',
      propertyNames: { type: 'string', pattern: HEADER_NAME_PATTERN },
      additionalProperties: { type: 'string', pattern: '^[^\\r\\n\\u0000]*$' },
      default: {},
    },
    envFormat: '`Name=value,Name2=value2` (a value cannot contain a comma)',
    fromYaml: (input) =>
      typeof input === 'object' && input !== null && !Array.isArray(input)
        ? convert(Object.entries(input))
        : bad(`${show(input)} is not a mapping (allowed: ${allowed})`),
    fromText: (textValue) => {
      const pairs: [string, string][] = [];
      for (const item of textValue.split(',')) {
        const eq = item.indexOf('=');
        if (eq <= 0)
          return bad(`${show(item)} is not Name=value (allowed: Name=value pairs separated by commas)`);
        pairs.push([item.slice(0, eq).trim(), item.slice(eq + 1)]);
      }
      return convert(pairs);
    },
  };
}

/** A non-empty list of distinct HTTP status codes (100..599); comma-separated in env. */
export function statusCodes(o: Common & { default: number[] }): Field<number[]> {
  const allowed = 'one or more HTTP status codes from 100 to 599';
  const convert = (input: unknown, items: unknown[]): Conversion<number[]> => {
    if (items.length === 0) return bad(`${show(input)} is empty (allowed: ${allowed})`);
    const codes: number[] = [];
    for (const item of items) {
      const code =
        typeof item === 'number' ? item : typeof item === 'string' && /^\d+$/.test(item) ? Number(item) : NaN;
      if (!Number.isInteger(code) || code < 100 || code > 599)
        return bad(`${show(item)} is not allowed (allowed: ${allowed})`);
      if (codes.includes(code)) return bad(`${show(item)} is listed twice (allowed: ${allowed})`);
      codes.push(code);
    }
    return ok(codes);
  };
  return {
    kind: 'field',
    type: 'list',
    doc: o.doc,
    flag: o.flag,
    default: o.default,
    defaultText: `[${o.default.join(', ')}]`,
    allowed,
    jsonSchema: {
      type: 'array',
      // A quoted code ("403") is read as the number, so the schema takes it too.
      items: {
        anyOf: [
          { type: 'integer', minimum: 100, maximum: 599 },
          { type: 'string', pattern: '^0*[1-5][0-9][0-9]$' },
        ],
      },
      minItems: 1,
      uniqueItems: true,
      default: o.default,
    },
    envFormat: `comma-separated, e.g. \`${o.default.join(',')}\``,
    fromYaml: (input) =>
      Array.isArray(input)
        ? convert(input, input)
        : bad(`${show(input)} is not a list (allowed: ${allowed})`),
    fromText: (text) => convert(text, text === '' ? [] : text.split(',').map((item) => item.trim())),
  };
}

const RESPONSE_FLAG = /^[A-Z][A-Z0-9_]*$/;

/**
 * A list of Envoy or ztunnel response flags (`DENY`, `UAEX`, ...): upper-case words. The set is
 * open (ztunnel adds flags between releases), so any flag-shaped word is accepted.
 */
export function responseFlags(o: Common & { default: string[] }): Field<string[]> {
  return wordList(
    o,
    'one or more response flags: upper-case letters, digits and _ (e.g. DENY)',
    o.default.join(','),
    (item) => typeof item === 'string' && RESPONSE_FLAG.test(item),
    { type: 'string', pattern: RESPONSE_FLAG.source },
  );
}
