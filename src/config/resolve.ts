/**
 * Resolves the config from its sources against the schema: defaults, then the file, then
 * `MESHWATCH_*` environment variables, then command-line flags (later wins), then the rules across
 * keys. Pure: the file arrives already parsed. The first problem stops with one ConfigError whose
 * message names the key and where the value came from.
 */
import { ConfigError } from '../errors';
import type { Config, ConfigFlags } from './types';
import type { Conversion, Field, Section } from './fields';
import { closestMatch } from './similar';
import {
  CONFIG_SCHEMA,
  CROSS_KEY_RULES,
  DERIVED_DEFAULTS,
  NON_CONFIG_ENV_VARS,
  envVarName,
  schemaFields,
  toConfig,
  type ConfigValues,
} from './schema';

/** Where a key's value came from; decides how a message names it. */
type Origin =
  { kind: 'default' } | { kind: 'file' } | { kind: 'env'; name: string } | { kind: 'flag'; option: string };

/** The inputs of one resolution. */
export interface ConfigSources {
  /** The parsed YAML document; `undefined` (no file) and `null` (empty file) both mean all defaults. */
  document: unknown;
  /** Names the file in messages, e.g. `config.yml`. */
  sourceName: string;
  env: NodeJS.ProcessEnv;
  flags: ConfigFlags;
}

const FIELDS = schemaFields();
const FIELD_BY_ENV = new Map(FIELDS.map((entry) => [envVarName(entry.path), entry]));

/** `--prometheus-url` -> `prometheusUrl`, the property commander gives the option. */
function flagProperty(option: string): string {
  return option.replace(/^--/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** Resolves a `Config` from the parsed file, the environment and the flags; throws ConfigError. */
export function resolveConfig(sources: ConfigSources): Config {
  const values = new Map<string, unknown>(FIELDS.map(({ path, field }) => [path, field.default]));
  const origins = new Map<string, Origin>();

  const where = (path: string): string => {
    const origin = origins.get(path) ?? { kind: 'default' };
    switch (origin.kind) {
      case 'file':
        return `${sources.sourceName}: ${path}`;
      case 'env':
        return `${origin.name} (${path})`;
      case 'flag':
        return `${origin.option} (${path})`;
      default:
        return path;
    }
  };
  const set = (path: string, origin: Origin, conversion: Conversion<unknown>): void => {
    origins.set(path, origin);
    if (!conversion.ok) throw new ConfigError(path, `${where(path)}: ${conversion.problem}`);
    values.set(path, conversion.value);
  };

  const fromFile = (node: Section, path: string, value: unknown): void => {
    if (value === null || value === undefined) return; // `poll:` with every child commented out
    if (typeof value !== 'object' || Array.isArray(value)) {
      const what =
        path === ''
          ? `the document is ${showFound(value)}, not a mapping`
          : `${path}: ${showFound(value)} is not a mapping`;
      throw new ConfigError(path, `${sources.sourceName}: ${what} (${keysAllowed(node, path)})`);
    }
    for (const [key, child] of Object.entries(value)) {
      const childPath = path === '' ? key : `${path}.${key}`;
      const childNode = Object.hasOwn(node.children, key) ? node.children[key] : undefined;
      if (childNode === undefined) {
        throw new ConfigError(
          childPath,
          `${sources.sourceName}: unknown key ${childPath} (${keysAllowed(node, path)})`,
        );
      }
      if (childNode.kind === 'section') {
        fromFile(childNode, childPath, child);
      } else if (child === null) {
        origins.set(childPath, { kind: 'file' });
        throw new ConfigError(childPath, `${where(childPath)}: no value (${emptyHint(childNode)})`);
      } else {
        set(childPath, { kind: 'file' }, childNode.fromYaml(child));
      }
    }
  };

  fromFile(CONFIG_SCHEMA, '', sources.document);

  for (const name of Object.keys(sources.env).sort()) {
    if (!name.startsWith('MESHWATCH_') || NON_CONFIG_ENV_VARS.includes(name)) continue;
    const entry = FIELD_BY_ENV.get(name);
    if (entry === undefined) throw unknownEnvVar(name);
    const text = sources.env[name];
    // An empty variable counts as unset: manifests often render optional values as "".
    if (text === undefined || text === '') continue;
    set(entry.path, { kind: 'env', name }, entry.field.fromText(text));
  }

  const flags = sources.flags as Record<string, string | undefined>;
  for (const { path, field } of FIELDS) {
    const text = field.flag === undefined ? undefined : flags[flagProperty(field.flag)];
    if (field.flag !== undefined && text !== undefined)
      set(path, { kind: 'flag', option: field.flag }, field.fromText(text));
  }

  const tree = nest(values) as ConfigValues;
  const isSet = (path: string): boolean => origins.has(path);
  for (const derived of DERIVED_DEFAULTS) if (!isSet(derived.path)) derived.derive(tree);
  for (const rule of CROSS_KEY_RULES) {
    const violation = rule.check(tree, isSet);
    if (violation !== undefined)
      throw new ConfigError(violation.key, `${where(violation.key)}: ${violation.problem}`);
  }
  return toConfig(tree);
}

function keysAllowed(node: Section, path: string): string {
  const keys = Object.keys(node.children).join(', ');
  return path === '' ? `keys allowed at the top level: ${keys}` : `keys allowed under ${path}: ${keys}`;
}

function emptyHint(field: Field<unknown>): string {
  const leaveOut =
    field.default === undefined ? 'leave the key out to leave it unset' : 'leave the key out for the default';
  return `allowed: ${field.allowed}; or ${leaveOut}`;
}

function showFound(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? 'a list' : String(value);
}

function unknownEnvVar(name: string): ConfigError {
  // Compared without the shared prefix, which would make every name look close to every other.
  const strip = (variable: string): string => variable.slice('MESHWATCH_'.length);
  const known = [...FIELD_BY_ENV.keys(), ...NON_CONFIG_ENV_VARS];
  const suffix = closestMatch(strip(name), known.map(strip));
  const match = suffix === undefined ? undefined : `MESHWATCH_${suffix}`;
  const hint =
    match === undefined
      ? 'the variables meshwatch reads are listed in docs/configuration.md'
      : `did you mean ${match}?`;
  return new ConfigError('', `${name}: unknown environment variable (${hint})`);
}

/** `{ 'poll.interval': 1 }` -> `{ poll: { interval: 1 } }`. */
function nest(values: Map<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of values) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    let node = root;
    for (const key of keys) node = (node[key] ??= {}) as Record<string, unknown>;
    node[last] = value;
  }
  return root;
}
