import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load';
import { thrownBy } from './defaults';

// blackbox_exporter style: each invalid-NAME.yml sits next to invalid-NAME.error.txt, its exact message.
const FIXTURES = join(__dirname, '../../fixtures/config');
const files = readdirSync(FIXTURES).sort();
const read = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

describe('config fixtures', () => {
  it.each(files.filter((name) => /^valid-.*\.yml$/.test(name)))('accepts %s', (name) => {
    expect(() => parseConfig(read(name), {}, {}, name)).not.toThrow();
  });

  it.each(files.filter((name) => /^invalid-.*\.yml$/.test(name)))(
    'rejects %s with its exact message',
    (name) => {
      const expected = read(name.replace(/\.yml$/, '.error.txt')).trimEnd();
      expect(thrownBy(() => parseConfig(read(name), {}, {}, name)).message).toBe(expected);
    },
  );

  it('pairs every invalid fixture with an expected message and every message with a fixture', () => {
    const stems = (suffix: string): string[] =>
      files
        .filter((name) => name.startsWith('invalid-') && name.endsWith(suffix))
        .map((name) => name.slice(0, -suffix.length));
    expect(stems('.error.txt')).toEqual(stems('.yml'));
  });
});
