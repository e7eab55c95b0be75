import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseConfig } from '../../../src/config/load';
import { envVarName, schemaFields, schemaSections } from '../../../src/config/schema';
import { ConfigError } from '../../../src/errors';
import { nonFiniteNumbers, runs, typedOutcome } from './budget';
import { yamlDocument, yamlSoup } from './yaml-input';

const KEYS = [
  ...new Set([...schemaFields(), ...schemaSections()].flatMap(({ path }) => path.split('.'))),
].filter((k) => k !== '');
const FULL = readFileSync(join(__dirname, '../../fixtures/config/valid-full.yml'), 'utf8');

const LEAF = fc.oneof(
  fc.constantFrom(
    '30s',
    '0s',
    '1h30m',
    '500ms',
    '7d',
    'http://prometheus:9090',
    'debug',
    'DENY',
    403,
    9464,
    0.5,
  ),
  fc.jsonValue({ maxDepth: 1 }),
);

/** Parses and checks what every input must give: a Config of finite numbers, or a ConfigError. */
function check(text: string | undefined, env: NodeJS.ProcessEnv = {}, flags = {}): void {
  const outcome = typedOutcome(() => parseConfig(text, env, flags, 'config.yml'), [ConfigError]);
  if (outcome.kind === 'value') expect(nonFiniteNumbers(outcome.value)).toEqual([]);
  else expect(outcome.error.message).not.toBe('');
}

describe('the config loader, on any input', () => {
  it('gives a Config or a ConfigError for any YAML-looking text', () => {
    fc.assert(
      fc.property(fc.oneof(yamlSoup(KEYS), fc.string({ unit: 'binary' })), (text) => check(text)),
      { numRuns: runs(1500) },
    );
  });

  it('gives a Config or a ConfigError for any document of its keys and any values', () => {
    fc.assert(
      fc.property(yamlDocument(KEYS, LEAF), (text) => check(text)),
      { numRuns: runs(1000) },
    );
  });

  it('gives a Config or a ConfigError for the full example with any line spoiled', () => {
    const lines = FULL.split('\n');
    fc.assert(
      fc.property(fc.nat(lines.length - 1), yamlSoup(KEYS), fc.boolean(), (at, text, replace) => {
        const spoiled = [...lines];
        const line = spoiled[at] ?? '';
        spoiled[at] = replace ? line.replace(/:.*$/, `: ${text}`) : `${line}${text}`;
        check(spoiled.join('\n'));
      }),
      { numRuns: runs(1000) },
    );
  });

  it('gives a Config or a ConfigError for any environment and flags', () => {
    const names = fc.oneof(
      fc.constantFrom(...schemaFields().map(({ path }) => envVarName(path)), 'MESHWATCH_CONFIG'),
      fc.string({ maxLength: 8 }).map((s) => `MESHWATCH_${s}`),
    );
    const values = fc.oneof(
      fc.string(),
      LEAF.map(String),
      fc.constantFrom('a=b,c=d', '401,403', ',', '=', ''),
    );
    fc.assert(
      fc.property(
        fc.dictionary(names, values, { maxKeys: 4 }),
        fc.option(fc.oneof(fc.string(), fc.webUrl()), { nil: undefined }),
        (env, url) => check(undefined, env, url === undefined ? {} : { prometheusUrl: url }),
      ),
      { numRuns: runs(1000) },
    );
  });
});

describe('the config loader, on inputs found while writing its properties', () => {
  // The document was walked into without end: a stack overflow, reported as "Maximum call stack
  // size exceeded" only because the YAML step happened to catch every error.
  it.each([
    ['a mapping that holds itself', 'prometheus: &x\n  headers: *x\n'],
    ['a list that holds itself', 'telemetry:\n  server_reporters: &x [*x]\n'],
  ])('rejects %s with a message that says so', (_name, text) => {
    const outcome = typedOutcome(() => parseConfig(text, {}, {}, 'config.yml'), [ConfigError]);
    expect(outcome.kind === 'error' && [outcome.error.constructor, outcome.error.message]).toEqual([
      ConfigError,
      'config.yml: invalid YAML: an alias refers to a node that contains it',
    ]);
  });
});
