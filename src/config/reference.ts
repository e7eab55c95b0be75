/**
 * docs/configuration.md, rendered from the schema so the reference cannot drift from what the
 * validator accepts. A unit test fails when the committed file differs from the render;
 * src/config/write-reference.ts rewrites it.
 */
import { DURATION_UNITS } from './duration';
import type { Field, Section } from './fields';
import { LIVE_RELOAD_KEYS } from '../app/reload';
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

// The keys a reload applies come from the reload code itself, so this list cannot drift from it.
const RELOADING: readonly string[] = [
  '## Reloading',
  '',
  'As Prometheus and Alertmanager, a running meshwatch reads its config file again on SIGHUP or on an HTTP `POST` (or `PUT`) to `/-/reload`:',
  'the file given by `--config` or `MESHWATCH_CONFIG`, with the `MESHWATCH_*` environment and the flags of the start on top, exactly as at start.',
  '',
  '- A file that does not validate changes nothing: the running configuration stays, the error is logged (`reloading the configuration failed; the running configuration is kept`, with the `key`),',
  '  `POST /-/reload` answers 500 with the message, and `meshwatch_config_last_reload_successful` is 0 until a reload succeeds (alert `MeshwatchConfigReloadFailed`).',
  '  `meshwatch_config_last_reload_success_timestamp_seconds` is when the running configuration was loaded: at start, then at each successful reload.',
  '- These keys apply from the next poll, and every baseline, known edge and open finding is kept (no warm-up again); `meshwatch_detector_threshold` shows a new threshold at once.',
  '  A lowered limit refuses new series until the detector is under it again rather than dropping what has learned; a detector turned off closes its findings.',
  '',
  ...LIVE_RELOAD_KEYS.map((key) => `  - ${code(key)}`),
  '',
  '- Any other key needs a restart. A changed one is logged as a warning that names it (`changed keys that need a restart to apply, kept at their running values: ...`) and keeps its running value:',
  '  the Prometheus client (`prometheus.*`), the listening socket (`server.*`) and the Alertmanager client (`alertmanager.*`) are built at start;',
  '  the mesh query (`poll.rate_window`, `telemetry.server_reporters`, `detectors.unauthorized.denial_codes` and `denial_flags`) is what the baselines learned from;',
  '  `detectors.traffic.shape_model` sizes each baseline; `poll.interval` sets the polling slots; `warmup.*` is read only by the warm-up at start.',
  '',
];

const SECURING: readonly string[] = [
  "## Securing meshwatch's endpoints",
  '',
  '`server.web_config_file` names a web configuration file in the format of the Prometheus exporter-toolkit (the `--web.config.file` of other exporters):',
  '`tls_server_config` (certificate and key, `client_auth_type` with a client CA, TLS versions, cipher suites), `http_server_config.headers` and `basic_auth_users` (user name: bcrypt hash).',
  'Its keys are checked at start as strictly as this file: an unknown key or a bad value stops meshwatch with a message naming the web config file and the key; relative paths in it are relative to it.',
  'With users, every path but `/livez` and `/readyz` (left open for kubelet probes) answers 401 with `WWW-Authenticate: Basic` without the right user and password.',
  'Unset, meshwatch serves plain HTTP without authentication. The whole story, with the ServiceMonitor\'s side and the probes: docs/install.md, "Securing meshwatch\'s endpoints".',
  '',
];

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
    'config.yml: unknown key poll.intervall (keys allowed under poll: interval, rate_window, query_offset)',
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
    '- **Editors**: `meshwatch.schema.json`, at the root of the repository, is the JSON Schema of this file, generated from the same schema (`npm run generate`).',
    '  An editor with the YAML language server (the YAML extension of VS Code, and others) completes and checks keys, types, allowed values and defaults as you type when the file starts with',
    '  `# yaml-language-server: $schema=<path or URL of meshwatch.schema.json>`, as the files in `deploy/` do.',
    "  A schema cannot check a duration's range or the rules across keys below: `meshwatch check-config FILE` checks everything.",
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
    ...RELOADING,
    ...SECURING,
  ].join('\n');
}
