/** `--set path=value` overrides applied to a scenario document before it is validated. */
import { parse } from 'yaml';
import { UsageError } from '../errors';

const SEGMENT = /([^.[\]]+)|\[(\d+)\]/g;
const PATH = /^[^.[\]]+(?:\.[^.[\]]+|\[\d+\])*$/;

/** Splits `incidents[0].at` into `['incidents', 0, 'at']`. */
function pathOf(text: string): (string | number)[] {
  if (!PATH.test(text)) {
    throw new UsageError(
      `invalid --set path ${JSON.stringify(text)}: write it like incidents[0].at or pattern.noise`,
    );
  }
  return [...text.matchAll(SEGMENT)].map((m) => (m[2] !== undefined ? Number(m[2]) : (m[1] ?? '')));
}

/**
 * Applies one `path=value` setting to a parsed scenario document in place. The value is read as YAML
 * (`7d5m`, `0.2`, `true`, `{200: 1}`); the path must lead through existing lists and mappings.
 */
export function applySetting(document: unknown, setting: string): void {
  const eq = setting.indexOf('=');
  if (eq <= 0) throw new UsageError(`invalid --set ${JSON.stringify(setting)}: expected path=value`);
  const pathText = setting.slice(0, eq).trim();
  const path = pathOf(pathText);
  const value: unknown = parse(setting.slice(eq + 1));
  let node: unknown = document;
  for (let i = 0; i < path.length; i++) {
    const part = path[i] as string | number;
    const last = i === path.length - 1;
    const shown = JSON.stringify(pathText);
    if (typeof part === 'number') {
      if (!Array.isArray(node) || part >= node.length) {
        throw new UsageError(`--set ${shown}: no list element [${part}] in the scenario`);
      }
      if (last) node[part] = value;
      else node = node[part];
    } else {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) {
        throw new UsageError(`--set ${shown}: ${part} is not inside a mapping in the scenario`);
      }
      const map = node as Record<string, unknown>;
      if (last) map[part] = value;
      else {
        if (map[part] === undefined) map[part] = {};
        node = map[part];
      }
    }
  }
}
