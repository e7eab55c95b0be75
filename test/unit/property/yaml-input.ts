/** Generators of YAML text for the properties of the parsers that read YAML files. */
import fc from 'fast-check';
import { stringify } from 'yaml';

// YAML's own syntax: anchors and aliases (recursive ones too), tags, flow and block collections,
// merge keys, multi-document markers, quotes and escapes.
const YAML_TOKEN = fc.constantFrom(
  ': ',
  ':',
  '\n',
  '\n  ',
  '\n    ',
  '- ',
  '[',
  ']',
  '{',
  '}',
  ', ',
  '&a ',
  '*a',
  '&b ',
  '*b',
  '<<: ',
  '!!str ',
  '!!int ',
  '!!binary ',
  '!!map ',
  '!custom ',
  '? ',
  '---\n',
  '...\n',
  '"',
  "'",
  '\\',
  '#',
  '|\n  ',
  '>-\n  ',
  '~',
  'null',
  'true',
  'yes',
  '0x1f',
  '1e999',
  '.inf',
  '-.nan',
  '12',
  '-1',
  '0.5',
  '30s',
  '1h30m',
  '%YAML 1.1\n',
  '\t',
);

/** YAML-looking text built from `words` (the keys of the file's schema) and YAML's syntax. */
export function yamlSoup(words: readonly string[]): fc.Arbitrary<string> {
  return fc
    .array(fc.oneof(YAML_TOKEN, fc.constantFrom(...words), fc.string({ maxLength: 4 })), { maxLength: 40 })
    .map((parts) => parts.join(''));
}

/** Documents of nested mappings and lists under `words` as keys, with any JSON values, as YAML. */
export function yamlDocument(words: readonly string[], leaf: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...words) }, fc.string({ maxLength: 6 }));
  const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
      fc.array(tie('tree'), { maxLength: 3 }),
    ),
  }));
  return tree.map((document) => stringify(document));
}

/** Every key of a nested mapping, e.g. an example file, to mix into generated documents. */
export function keysOf(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => [key, ...keysOf(child)]);
}
