import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load';
import {
  CONFIG_REFERENCE_PATH,
  renderConfigReference,
  renderDefaultConfigYaml,
} from '../../../src/config/reference';
import { envVarName, schemaFields } from '../../../src/config/schema';
import { DEFAULT_CONFIG } from './defaults';

describe('the config reference', () => {
  it('is committed exactly as the schema renders it', () => {
    const committed = readFileSync(join(__dirname, '../../..', CONFIG_REFERENCE_PATH), 'utf8');
    // On failure: rebuild and run `node dist/src/config/write-reference.js`, then commit the diff.
    expect(committed).toBe(renderConfigReference());
  });

  it('shows a defaults file that parses to the default Config', () => {
    expect(parseConfig(renderDefaultConfigYaml(), {}, {}, 'defaults.yml')).toStrictEqual(DEFAULT_CONFIG);
  });
});

describe('the schema', () => {
  it('keeps the names and defaults that outside tools rely on', () => {
    const fixed = ['prometheus.url', 'poll.interval', 'warmup.lookback', 'server.port'];
    const entries = schemaFields().filter(({ path }) => fixed.includes(path));
    expect(entries.map(({ path, field }) => [path, envVarName(path), field.defaultText, field.flag])).toEqual(
      [
        ['prometheus.url', 'MESHWATCH_PROMETHEUS_URL', 'http://localhost:9090', '--prometheus-url'],
        ['poll.interval', 'MESHWATCH_POLL_INTERVAL', '30s', undefined],
        ['warmup.lookback', 'MESHWATCH_WARMUP_LOOKBACK', '7d', undefined],
        ['server.port', 'MESHWATCH_SERVER_PORT', '9464', undefined],
      ],
    );
  });

  it('gives every key its own environment variable', () => {
    const names = schemaFields().map(({ path }) => envVarName(path));
    expect(new Set(names).size).toBe(names.length);
  });

  it('documents every key in one line', () => {
    const undocumented = schemaFields().filter(({ field }) => field.doc === '' || field.doc.includes('\n'));
    expect(undocumented).toEqual([]);
  });
});
