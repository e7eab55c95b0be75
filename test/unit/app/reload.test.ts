import { MeshwatchMetrics } from '../../../src/adapters/metrics/metrics';
import {
  changedPaths,
  ConfigReloader,
  keyOfConfigPath,
  LIVE_RELOAD_KEYS,
  planReload,
} from '../../../src/app/reload';
import { parseConfig } from '../../../src/config/load';
import { renderConfigReference } from '../../../src/config/reference';
import { schemaFields } from '../../../src/config/schema';
import type { Config } from '../../../src/config/types';
import { logSink } from '../../helpers/log-sink';
import { samplesOf } from '../../helpers/metrics-text';

const config = (yaml: string): Config => parseConfig(yaml, {}, {}, 'meshwatch.yml');
const RUNNING = config('detectors: { traffic: { threshold: 5 } }\nserver: { port: 9464 }\n');

describe('planning a reload', () => {
  it('applies a changed threshold and keeps everything else as it runs', () => {
    const plan = planReload(RUNNING, config('detectors: { traffic: { threshold: 3 } }\n'));
    expect(plan.applied).toEqual(['detectors.traffic.threshold']);
    expect(plan.needsRestart).toEqual([]);
    expect(plan.config).toEqual({
      ...RUNNING,
      detectors: { ...RUNNING.detectors, traffic: { ...RUNNING.detectors.traffic, threshold: 3 } },
    });
  });

  it('names the changed keys that need a restart, by their keys in the file, and keeps their running values', () => {
    const next = config(
      [
        'server: { port: 9999 }',
        'poll: { rate_window: 5m }',
        'prometheus: { url: "http://other:9090", headers: { X-Scope-OrgID: tenant-b } }',
        'detectors: { new_caller: { learning_period: 2h }, traffic: { shape_model: true, open_after_polls: 5 } }',
        'warmup: { lookback: 1d }',
        'log: { level: debug }',
      ].join('\n'),
    );
    const plan = planReload(RUNNING, next);
    expect(plan.needsRestart).toEqual([
      'detectors.traffic.shape_model',
      'poll.rate_window',
      'prometheus.headers',
      'prometheus.url',
      'server.port',
      'warmup.lookback',
    ]);
    expect(plan.applied).toEqual([
      'detectors.new_caller.learning_period',
      'detectors.traffic.open_after_polls',
      'log.level',
    ]);
    expect(plan.config.server.port).toBe(9464);
    expect(plan.config.poll.rateWindowMs).toBe(120_000);
    expect(plan.config.prometheus).toEqual(RUNNING.prometheus);
    expect(plan.config.warmup).toEqual(RUNNING.warmup);
    expect(plan.config.detectors.traffic).toEqual({
      ...RUNNING.detectors.traffic,
      openAfterPolls: 5,
    });
    expect(plan.config.detectors.new_caller.learningMs).toBe(2 * 3_600_000);
    expect(plan.config.log.level).toBe('debug');
  });

  it('changes nothing for the same file, and does not touch the running config object', () => {
    const running = structuredClone(RUNNING);
    const plan = planReload(running, config('detectors: { traffic: { threshold: 5 } }\n'));
    expect(plan).toEqual({ config: RUNNING, applied: [], needsRestart: [] });
    expect(running).toEqual(RUNNING);
  });

  it('applies every live key at once, so that the planned config is the new one', () => {
    const next = config(
      [
        'detectors:',
        ...['unauthorized', 'new_caller', 'plaintext', 'traffic', 'errors'].map(
          (d) => `  ${d}: { enabled: false, threshold: 7, open_after_polls: 9, close_after_polls: 9 }`,
        ),
        'limits: { max_destinations: 7, max_edges: 7, evict_after: 7m, top_callers: 7, export_bands: none }',
        'poll: { query_offset: 7s }',
        'audit: { lookback: 7h }',
        'log: { level: warn }',
        'shutdown: { timeout: 7s }',
      ]
        .join('\n')
        .replace('new_caller: {', 'new_caller: { new_for: 7m, forget_after: 7m, learning_period: 7m,'),
    );
    const plan = planReload(RUNNING, next);
    expect(plan.applied).toEqual([...LIVE_RELOAD_KEYS].sort());
    expect(plan.needsRestart).toEqual([]);
    expect(plan.config).toEqual(next);
  });

  it('tells apart leaves, lists and maps, and sees a key that is set in one config only', () => {
    expect(
      changedPaths(
        { a: { b: 1, c: [1, 2], m: { x: '1' } }, o: 'set' },
        { a: { b: 1, c: [1, 3], m: { x: '1', y: '2' } } },
      ),
    ).toEqual(['a.c', 'a.m.y', 'o']);
  });
});

describe('keys of config paths', () => {
  // Every optional key set, so that every path of Config is there.
  const FULL = parseConfig(
    [
      'prometheus:',
      '  bearer_token_file: /t',
      '  headers: { X-Scope-OrgID: a }',
      '  tls: { ca_file: /c, cert_file: /c, key_file: /k, server_name: s }',
      'alertmanager: { url: "http://am:9093" }',
      'server: { web_config_file: /w }',
    ].join('\n'),
    {},
    {},
    'full.yml',
  );
  const leaves = (value: unknown, prefix = ''): string[] =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.entries(value).flatMap(([k, v]) => leaves(v, prefix === '' ? k : `${prefix}.${k}`))
      : [prefix];

  it('name every key of the schema from its Config path', () => {
    const schemaKeys = new Set(schemaFields().map((f) => f.path));
    const unnamed = leaves(FULL)
      .map(keyOfConfigPath)
      .filter((key) => !schemaKeys.has(key));
    expect(unnamed).toEqual([]);
  });

  it('list only keys of the schema as live, each in the reference docs', () => {
    const schemaKeys = new Set(schemaFields().map((f) => f.path));
    expect(LIVE_RELOAD_KEYS.filter((key) => !schemaKeys.has(key))).toEqual([]);
    const reference = renderConfigReference();
    expect(LIVE_RELOAD_KEYS.filter((key) => !reference.includes(`\`${key}\``))).toEqual([]);
  });
});

describe('the config reloader', () => {
  const setup = (load: () => Config) => {
    const { lines, logger } = logSink();
    const metrics = new MeshwatchMetrics('test');
    const applied: Config[] = [];
    let clock = 1_000_000;
    const reloader = new ConfigReloader({
      config: RUNNING,
      load,
      apply: (c) => applied.push(c),
      metrics,
      logger,
      file: '/etc/meshwatch/meshwatch.yml',
      now: () => clock,
    });
    const gauges = async () => {
      const text = await metrics.registry.metrics();
      return {
        successful: samplesOf(text, 'meshwatch_config_last_reload_successful')[0]?.value,
        at: samplesOf(text, 'meshwatch_config_last_reload_success_timestamp_seconds')[0]?.value,
      };
    };
    return { reloader, lines, applied, gauges, tick: (ms: number) => (clock += ms) };
  };

  it('reports the start as a successful load', async () => {
    const { gauges } = setup(() => RUNNING);
    expect(await gauges()).toEqual({ successful: 1, at: 1000 });
  });

  it('keeps the running config on a bad file, logs the error naming the key and sets the gauge to 0', async () => {
    const { reloader, lines, applied, gauges, tick } = setup(() =>
      config('detectors: { traffic: { threshold: -1 } }\n'),
    );
    tick(5000);
    const outcome = reloader.reload('SIGHUP');
    const message =
      'meshwatch.yml: detectors.traffic.threshold: -1 is out of range (allowed: a number greater than 0)';
    expect(outcome).toEqual({ ok: false, error: message });
    expect(applied).toEqual([]);
    expect(reloader.config).toBe(RUNNING);
    expect(await gauges()).toEqual({ successful: 0, at: 1000 });
    expect(lines.map(({ level, msg, key, trigger, error }) => ({ level, msg, key, trigger, error }))).toEqual(
      [
        {
          level: 'error',
          msg: 'reloading the configuration failed; the running configuration is kept',
          key: 'detectors.traffic.threshold',
          trigger: 'SIGHUP',
          error: { code: 'MW_ERR_CONFIG', message },
        },
      ],
    );
  });

  it('applies a good file after a bad one, and sets the gauge back to 1 with the time of the reload', async () => {
    let text = 'detectors: { traffic: { threshold: nope } }\n';
    const { reloader, lines, applied, gauges, tick } = setup(() => config(text));
    expect(reloader.reload('SIGHUP').ok).toBe(false);
    text = 'detectors: { traffic: { threshold: 3 } }\n';
    tick(60_000);
    expect(reloader.reload('POST /-/reload')).toEqual({
      ok: true,
      applied: ['detectors.traffic.threshold'],
      needsRestart: [],
    });
    expect(applied.map((c) => c.detectors.traffic.threshold)).toEqual([3]);
    expect(reloader.config.detectors.traffic.threshold).toBe(3);
    expect(await gauges()).toEqual({ successful: 1, at: 1060 });
    expect(lines.at(-1)).toMatchObject({
      level: 'info',
      msg: 'configuration reloaded; applies from the next poll: detectors.traffic.threshold',
      trigger: 'POST /-/reload',
      file: '/etc/meshwatch/meshwatch.yml',
    });
  });

  it('warns, naming the keys, when a change needs a restart, and keeps their running values', () => {
    const { reloader, lines, applied } = setup(() => config('server: { port: 9999, host: 127.0.0.1 }\n'));
    expect(reloader.reload('SIGHUP')).toEqual({
      ok: true,
      applied: [],
      needsRestart: ['server.host', 'server.port'],
    });
    expect(applied[0]?.server).toEqual(RUNNING.server);
    expect(lines.map(({ level, msg, keys }) => ({ level, msg, keys }))).toEqual([
      {
        level: 'warn',
        msg: 'changed keys that need a restart to apply, kept at their running values: server.host, server.port',
        keys: ['server.host', 'server.port'],
      },
      { level: 'info', msg: 'configuration reloaded; nothing that applies live changed', keys: undefined },
    ]);
  });

  it('keeps the running config when applying fails, and says so', async () => {
    const { logger, lines } = logSink();
    const metrics = new MeshwatchMetrics('test');
    const reloader = new ConfigReloader({
      config: RUNNING,
      load: () => config('log: { level: debug }\n'),
      apply: () => {
        throw new Error('boom');
      },
      metrics,
      logger,
      file: undefined,
    });
    expect(reloader.reload('SIGHUP')).toEqual({ ok: false, error: 'boom' });
    expect(reloader.config).toBe(RUNNING);
    expect(
      samplesOf(await metrics.registry.metrics(), 'meshwatch_config_last_reload_successful')[0]?.value,
    ).toBe(0);
    expect(lines[0]).toMatchObject({ level: 'error', error: { code: 'MW_ERR_INTERNAL', message: 'boom' } });
  });
});
