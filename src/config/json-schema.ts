/**
 * meshwatch.schema.json, the JSON Schema of meshwatch.yml for editors (yaml-language-server
 * completes and checks keys with it), rendered from the one config schema: each field gives the
 * JSON Schema of its value (`Field.jsonSchema`), this file adds the structure, the descriptions
 * and `additionalProperties: false` (an unknown key stops the loader too). A unit test fails when
 * the committed file differs from the render; src/config/write-json-schema.ts rewrites it.
 *
 * What it cannot say, the loader still checks: the range of a duration (a pattern sees text,
 * not values) and the rules across keys (listed in the top-level description).
 */
import type { Field, JsonSchema, Section } from './fields';
import { CONFIG_SCHEMA, CROSS_KEY_RULES, envVarName } from './schema';

/** The committed schema's path, relative to the repository root. */
export const CONFIG_JSON_SCHEMA_PATH = 'meshwatch.schema.json';

/** The JSON Schema of the whole file (draft-07, which editors and ajv both read). */
export function configJsonSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $comment:
      'Generated from src/config/schema.ts by configJsonSchema() (src/config/json-schema.ts). Do not edit: change the schema and run `npm run generate`.',
    title: 'meshwatch configuration',
    description: [
      'meshwatch.yml; docs/configuration.md describes every key. `meshwatch check-config FILE` also checks what a schema cannot:',
      'the range of each duration, and the rules across keys:',
      ...CROSS_KEY_RULES.map((rule) => rule.doc),
    ].join(' '),
    ...sectionSchema(CONFIG_SCHEMA, ''),
  };
}

/** A section: a mapping of exactly its keys, or empty (`poll:` with every key commented out). */
function sectionSchema(node: Section, path: string): JsonSchema {
  const properties = Object.fromEntries(
    Object.entries(node.children).map(([key, child]) => {
      const childPath = path === '' ? key : `${path}.${key}`;
      return [
        key,
        child.kind === 'section'
          ? { description: child.doc, ...sectionSchema(child, childPath) }
          : fieldSchema(child, childPath),
      ];
    }),
  );
  return { type: ['object', 'null'], properties, additionalProperties: false };
}

/** A key: what it does, what is allowed and how else to set it, then the value's own schema. */
function fieldSchema(field: Field<unknown>, path: string): JsonSchema {
  const env = `Environment variable: ${envVarName(path)}${field.envFormat === undefined ? '' : `, ${field.envFormat}`}.`;
  const flag = field.flag === undefined ? '' : ` Flag: ${field.flag}.`;
  const unset = field.defaultText === undefined ? ' Unset by default.' : '';
  return {
    description: `${field.doc} Allowed: ${field.allowed}.${unset} ${env}${flag}`,
    ...field.jsonSchema,
  };
}

/**
 * The file's text: two-space JSON as prettier writes it, short lists of plain values on one line
 * (the repository's `prettier --check` covers this file too).
 */
export function renderConfigJsonSchema(): string {
  const json = JSON.stringify(configJsonSchema(), null, 2);
  // A list whose items are strings, numbers or booleans, one per line: joined when it fits.
  const joined = json.replace(
    /^( *)(.*)\[\n((?: *(?:"(?:[^"\\]|\\.)*"|-?[\d.eE+-]+|true|false|null),?\n)+) *\]/gm,
    (whole, indent: string, before: string, items: string) => {
      const line = `${indent}${before}[${items
        .split('\n')
        .map((item) => item.trim())
        .filter((item) => item !== '')
        .join(' ')}]`;
      // 110 is prettier's printWidth here; the closing comma, when any, follows the match.
      return line.length + 1 <= 110 ? line : whole;
    },
  );
  return `${joined}\n`;
}
