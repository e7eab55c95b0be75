import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import { ConfigError } from '../../../src/errors';
import { parseConfig } from '../../../src/config/load';
import {
  CONFIG_JSON_SCHEMA_PATH,
  configJsonSchema,
  renderConfigJsonSchema,
} from '../../../src/config/json-schema';
import { renderDefaultConfigYaml } from '../../../src/config/reference';
import { schemaFields, schemaSections } from '../../../src/config/schema';
import { expectCommittedAsGenerated } from '../../helpers/generated';

const ROOT = join(__dirname, '../../..');
const FIXTURES = join(ROOT, 'test/fixtures/config');
const fixtures = readdirSync(FIXTURES).sort();
const readFixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

// Every config file the repository ships: the base and each overlay that replaces it.
const OVERLAYS = readdirSync(join(ROOT, 'deploy/overlays')).sort();
const SHIPPED = [
  'deploy/base/meshwatch.yml',
  ...OVERLAYS.map((o) => `deploy/overlays/${o}/meshwatch.yml`).filter((f) =>
    readdirSync(join(ROOT, dirname(f))).includes('meshwatch.yml'),
  ),
];

/**
 * Invalid fixtures the schema lets through, each with the reason: what JSON Schema cannot say.
 * The test below checks this list is exact (ajv accepts each one), so it cannot grow silently.
 */
// draft-07 `dependencies` could say these, but the rules are code in CROSS_KEY_RULES, not data to render.
const CROSS_KEY = 'a rule across keys, checked by code the schema is not rendered from';
const BEYOND_THE_SCHEMA: Record<string, string> = {
  'invalid-yaml-syntax.yml': 'not YAML: there is no document to validate (the editor reports the YAML error)',
  'invalid-duplicate-key.yml':
    'a duplicate key is a YAML error, gone by the time a document exists (the editor reports it)',
  'invalid-duration-too-short.yml': "a duration's range compares values; a pattern only reads text",
  'invalid-lookback-too-long.yml': "a duration's range compares values; a pattern only reads text",
  'invalid-timeout-longer-than-interval.yml': 'a rule across keys that compares two durations',
  'invalid-basic-auth-without-password.yml': CROSS_KEY,
  'invalid-tls-key-without-cert.yml': CROSS_KEY,
  'invalid-bearer-and-basic-auth.yml': CROSS_KEY,
};

function compile(): ValidateFunction {
  // Strict, so a keyword ajv does not know (or a type mismatch inside the schema) fails here.
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true, strictNumbers: true });
  return ajv.compile(configJsonSchema());
}
const validate = compile();

/** The document an editor validates: YAML 1.2, as the loader reads it, duplicate keys kept last. */
function documentOf(text: string): unknown {
  const document = parseDocument(text, { version: '1.2', uniqueKeys: false });
  if (document.errors.length > 0) throw new Error(`not YAML: ${document.errors[0]?.message}`);
  return document.toJS();
}

const KEY_PATHS = new Set([...schemaFields().map((f) => f.path), ...schemaSections().map((s) => s.path)]);

/** The config key an ajv error is about: the deepest key of the schema on its path, or the unknown key. */
function blamedKey(error: ErrorObject): string {
  const segments = error.instancePath.split('/').slice(1);
  if (error.keyword === 'additionalProperties') segments.push(String(error.params.additionalProperty));
  let key = '';
  for (let i = 1; i <= segments.length; i++) {
    const path = segments.slice(0, i).join('.');
    if (KEY_PATHS.has(path) || (error.keyword === 'additionalProperties' && i === segments.length))
      key = path;
  }
  return key;
}

function loaderError(text: string, name: string): ConfigError | undefined {
  try {
    parseConfig(text, {}, {}, name);
    return undefined;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

describe('the JSON Schema of meshwatch.yml', () => {
  it('is committed exactly as the config schema renders it', () => {
    expectCommittedAsGenerated(
      CONFIG_JSON_SCHEMA_PATH,
      renderConfigJsonSchema(),
      'src/config/json-schema.ts',
      'npm run generate',
    );
  });

  it('is a draft-07 schema that ajv compiles in strict mode', () => {
    expect(configJsonSchema().$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(typeof validate).toBe('function');
  });

  it('describes every key of the config schema, with its environment variable', () => {
    const schema = configJsonSchema();
    const missing = schemaFields().filter(({ path }) => {
      let node = schema as Record<string, unknown> | undefined;
      for (const key of path.split('.')) {
        node = (node?.properties as Record<string, Record<string, unknown>> | undefined)?.[key];
      }
      const description = node?.description;
      return (
        typeof description !== 'string' ||
        !description.includes(`MESHWATCH_${path.replace(/\./g, '_').toUpperCase()}`)
      );
    });
    expect(missing).toEqual([]);
  });

  it('accepts the file of every default, and each default against its own key', () => {
    expect([validate(documentOf(renderDefaultConfigYaml())), validate.errors ?? []]).toEqual([true, []]);
    const ajv = new Ajv({ strict: true, allowUnionTypes: true });
    const rejected = schemaFields().filter(
      ({ field }) =>
        'default' in field.jsonSchema && !ajv.validate(field.jsonSchema, field.jsonSchema.default),
    );
    expect(rejected).toEqual([]);
  });

  it.each(SHIPPED)('is named by the modeline of %s, which it accepts', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const modeline = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
    expect(modeline).not.toBeNull();
    expect(resolve(ROOT, dirname(file), modeline?.[1] ?? '')).toBe(join(ROOT, CONFIG_JSON_SCHEMA_PATH));
    expect([validate(documentOf(text)), validate.errors ?? []]).toEqual([true, []]);
    expect(loaderError(text, file)).toBeUndefined();
  });

  it.each(fixtures.filter((name) => /^valid-.*\.yml$/.test(name)))(
    'accepts %s, as the loader does',
    (name) => {
      const text = readFixture(name);
      expect(loaderError(text, name)).toBeUndefined();
      expect([validate(documentOf(text)), validate.errors ?? []]).toEqual([true, []]);
    },
  );

  const invalid = fixtures.filter((name) => /^invalid-.*\.yml$/.test(name));

  it.each(invalid.filter((name) => !(name in BEYOND_THE_SCHEMA)))(
    'rejects %s, as the loader does, naming the same key',
    (name) => {
      const text = readFixture(name);
      const loader = loaderError(text, name);
      expect(loader).toBeInstanceOf(ConfigError);
      expect(validate(documentOf(text))).toBe(false);
      const keys = [...new Set((validate.errors ?? []).map(blamedKey))];
      expect(keys).toContain(loader?.key);
    },
  );

  it.each(Object.entries(BEYOND_THE_SCHEMA))('leaves %s to the loader: %s', (name) => {
    const text = readFixture(name);
    expect(loaderError(text, name)).toBeInstanceOf(ConfigError);
    // Exact: once the schema can tell, the fixture leaves this list.
    if (name === 'invalid-yaml-syntax.yml') {
      expect(() => documentOf(text)).toThrow(/^not YAML/);
    } else {
      expect([validate(documentOf(text)), validate.errors ?? []]).toEqual([true, []]);
    }
  });

  it('lists only fixtures that exist', () => {
    expect(Object.keys(BEYOND_THE_SCHEMA).filter((name) => !invalid.includes(name))).toEqual([]);
  });
});
