/**
 * Loading the config: `loadConfig` reads the file (the one I/O step), `parseConfig` turns YAML text,
 * the environment and the flags into a validated `Config`.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors';
import type { Config, ConfigFlags } from './types';
import { resolveConfig } from './resolve';

/** What `loadConfig` reads: an optional file path, the environment and the command-line flags. */
export interface LoadConfigOptions {
  /** Path of the YAML file; without one, every key comes from env, flags or defaults. */
  file?: string;
  env: NodeJS.ProcessEnv;
  flags: ConfigFlags;
}

/** Reads and validates the config once at start; throws ConfigError naming the key. */
export function loadConfig(options: LoadConfigOptions): Config {
  const text = options.file === undefined ? undefined : readConfigFile(options.file);
  return parseConfig(text, options.env, options.flags, options.file ?? '(no config file)');
}

/**
 * Validates YAML `text` (`undefined`: no file) with `env` and `flags` on top; `sourceName` names
 * the file in messages. Pure, for tests and for `check-config`.
 */
export function parseConfig(
  text: string | undefined,
  env: NodeJS.ProcessEnv,
  flags: ConfigFlags,
  sourceName: string,
): Config {
  const document = text === undefined ? undefined : parseYaml(text, sourceName);
  return resolveConfig({ document, env, flags, sourceName });
}

/** Reads the file, turning the usual failures into one-line ConfigErrors. */
export function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'config file not found'
        : code === 'EISDIR'
          ? 'is a directory, not a config file'
          : `cannot read the config file (${code ?? String(err)})`;
    throw new ConfigError('', `${file}: ${reason}`, { cause: err });
  }
}

function parseYaml(text: string, sourceName: string): unknown {
  // YAML 1.2 (no `yes`/`no` booleans, no sexagesimal numbers); duplicate keys are errors.
  const document = parseDocument(text, { version: '1.2', uniqueKeys: true, prettyErrors: true });
  // Warnings (an unknown tag, say) would silently change a value, so they stop too.
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem !== undefined) {
    const reason = problem.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? problem.code;
    const at = problem.linePos?.[0];
    const position = at === undefined ? '' : ` at line ${at.line}, column ${at.col}`;
    throw new ConfigError('', `${sourceName}: invalid YAML${position}: ${reason}`, { cause: problem });
  }
  try {
    // mapAsMap keeps non-string keys (`? [a]`) from being stringified with a process warning.
    return plain(document.toJS({ mapAsMap: true, maxAliasCount: 100 }));
  } catch (err) {
    // Only aliases fail here: one to no anchor, too many (a "billion laughs"), one inside itself.
    throw new ConfigError('', `${sourceName}: invalid YAML: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Maps to plain objects, keys as strings (a non-string key is then reported as an unknown key).
 * `inside` holds the collections being converted: an alias to a node that contains it makes a
 * cycle, which would recurse until the stack overflows.
 */
function plain(value: unknown, inside = new Set<unknown>()): unknown {
  if (!(value instanceof Map) && !Array.isArray(value)) return value;
  if (inside.has(value)) throw new RecursiveAlias();
  inside.add(value);
  const converted =
    value instanceof Map
      ? Object.fromEntries(
          [...value.entries()].map(([key, child]) => [
            typeof key === 'string' ? key : JSON.stringify(key),
            plain(child, inside),
          ]),
        )
      : value.map((child: unknown) => plain(child, inside));
  inside.delete(value);
  return converted;
}

class RecursiveAlias extends Error {
  constructor() {
    super('an alias refers to a node that contains it');
  }
}
