/**
 * docs/configuration.md, rendered from the schema so the reference cannot drift from what the
 * validator accepts. A unit test fails when the committed file differs from the render;
 * src/config/write-reference.ts rewrites it.
 */
import { DURATION_UNITS } from './duration';
import type { Field, Section } from './fields';
import { CONFIG_SCHEMA, CROSS_KEY_RULES, NON_CONFIG_ENV_VARS, envVarName, schemaSections } from './schema';

/** The committed reference's path, relative to the repository root. */
export const CONFIG_REFERENCE_PATH = 'docs/configuration.md';

/** A config file that spells out every default; unset keys appear commented out. */
export function renderDefaultConfigYaml(): string {
  const lines: string[] = [];
  const walk = (node: Section, indent: string): void => {
    for (const [key, child] of Object.entries(node.children)) {
      if (child.kind === 'section') {
        lines.push(`${indent}${key}:`);
        walk(child, `${indent}  `);
      } else {
        lines.push(
          child.defaultText === undefined ? `${indent}# ${key}:` : `${indent}${key}: ${child.defaultText}`,
        );
      }
    }
  };
  walk(CONFIG_SCHEMA, '');
  return `${lines.join('\n')}\n`;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');
const code = (text: string): string => `\`${text}\``;

function fieldRow(path: string, key: string, field: Field<unknown>): string {
  const env = [code(envVarName(path)), ...(field.envFormat === undefined ? [] : [field.envFormat])].join(
    ', ',
  );
  const flag = field.flag === undefined ? '' : ` Flag: ${code(field.flag)}.`;
  return `| ${[
    code(key),
    field.type,
    field.defaultText === undefined ? 'unset' : code(field.defaultText),
    field.allowed,
    env,
    `${field.doc}${flag}`,
  ]
    .map(cell)
    .join(' | ')} |`;
}

function renderSection(path: string, node: Section): string[] {
  const rows = Object.entries(node.children).flatMap(([key, child]) =>
    child.kind === 'field' ? [fieldRow(path === '' ? key : `${path}.${key}`, key, child)] : [],
  );
  if (rows.length === 0) return [`### ${code(path)}`, '', node.doc, ''];
  return [
    `### ${code(path)}`,
    '',
    node.doc,
    '',
    '| Key | Type | Default | Allowed | Environment variable | Description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ];
}

/** The full text of docs/configuration.md. */
export function renderConfigReference(): string {
  const sections = schemaSections()
    .filter(({ path }) => path !== '')
    .flatMap(({ path, section }) => renderSection(path, section));
  return [
    '<!-- Generated from src/config/schema.ts by renderConfigReference() (src/config/reference.ts). Do not edit: change the schema and run src/config/write-reference.ts. -->',
    '',
    '# Configuration',
    '',
    'meshwatch reads one YAML file (`meshwatch run --config FILE`), then `MESHWATCH_*` environment variables, then command-line flags.',
    'A later source wins: **flag > environment > file > default**.',
    'The configuration is validated once at start, and `meshwatch check-config FILE` runs the same validation (with the `MESHWATCH_*` environment it is given):',
    'an unknown key, a value of the wrong type or out of range, a bad duration, invalid YAML or a broken rule across keys stops with one message that names the key, where the value came from, and what is allowed, for example:',
    '',
    '```text',
    'config.yml: poll.interval: "30x" is not a duration (use a number and a unit: ms, s, m, h, d, w; e.g. 30s)',
    'config.yml: unknown key poll.intervall (keys allowed under poll: interval, rate_window)',
    'MESHWATCH_SERVER_PORT (server.port): "abc" is not an integer (allowed: 0 to 65535)',
    '```',
    '',
    '## Values',
    '',
    `- **Durations** are a number and a unit (${DURATION_UNITS.map(code).join(', ')}), combinable from the largest unit down, e.g. \`1h30m\`. A bare number is not a duration.`,
    '- **Environment variables**: every key has one, `MESHWATCH_` and the key path with dots as underscores, in upper case (`prometheus.bearer_token_file` is `MESHWATCH_PROMETHEUS_BEARER_TOKEN_FILE`).',
    "  Their values are converted to the key's type; lists are comma-separated, maps are `Name=value,Name2=value2`; an empty variable counts as unset.",
    '  An unknown `MESHWATCH_*` variable is an error, so a typo cannot be silently ignored.',
    `  Not config keys, but also accepted: ${NON_CONFIG_ENV_VARS.map(code).join(', ')} (command options).`,
    '- **Credentials** are read from files only (`*_file` keys): never inline in the file, in the URL or in a header.',
    '- YAML 1.2: `yes`/`no` are strings, not booleans; duplicate keys are an error.',
    '',
    '## Defaults',
    '',
    'An empty file (or no file) gives exactly this configuration:',
    '',
    '```yaml',
    renderDefaultConfigYaml().trimEnd(),
    '```',
    '',
    '## Keys',
    '',
    ...sections,
    '## Rules across keys',
    '',
    ...CROSS_KEY_RULES.map((rule) => `- ${rule.doc}`),
    '',
  ].join('\n');
}
