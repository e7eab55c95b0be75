import { Writable } from 'node:stream';
import { createLogger } from '../../../src/adapters/logger';
import { MeshwatchMetrics } from '../../../src/adapters/metrics/metrics';
import type { BodySink } from '../../../src/adapters/prometheus/types';
import { Poller, type InstantQueryApi } from '../../../src/app/poller';
import { parseConfig } from '../../../src/config/load';
import { ConfigError } from '../../../src/errors';
import type { InstantSample } from '../../../src/signals/types';

const SLOT_MS = 1_700_000_010_000;

/** Records the evaluation time of every query and answers with an empty mesh. */
class RecordingPrometheus implements InstantQueryApi {
  readonly times: Array<number | undefined> = [];
  async query(
    _promql: string,
    options?: { timeMs?: number },
  ): Promise<{ data: InstantSample[]; warnings: string[] }> {
    this.times.push(options?.timeMs);
    return { data: [], warnings: [] };
  }
  async queryWith<T>(
    promql: string,
    sink: (query: string) => BodySink<T>,
    options?: { timeMs?: number },
  ): Promise<T> {
    this.times.push(options?.timeMs);
    const into = sink(promql);
    into.write(Buffer.from('{"status":"success","data":{"resultType":"vector","result":[]}}'));
    return into.end();
  }
}

async function evaluationTimes(
  configYaml: string,
): Promise<{ times: Array<number | undefined>; log: string[] }> {
  const log: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      log.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const prometheus = new RecordingPrometheus();
  const poller = new Poller({
    config: parseConfig(configYaml, {}, {}, 'test.yml'),
    prometheus,
    metrics: new MeshwatchMetrics('test'),
    logger: createLogger('debug', sink),
    now: () => SLOT_MS,
  });
  await poller.poll(SLOT_MS);
  return { times: prometheus.times, log };
}

function thrownBy(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    return err as ConfigError;
  }
  throw new Error('did not throw');
}

describe('poll.query_offset', () => {
  it('defaults to 0s: a poll evaluates at its own slot', async () => {
    expect(parseConfig('', {}, {}, 'test.yml').poll.queryOffsetMs).toBe(0);
    const { times } = await evaluationTimes('');
    expect(times).toEqual([SLOT_MS, SLOT_MS]);
  });

  it('evaluates both queries of a poll that far before the slot, and logs that time', async () => {
    const { times, log } = await evaluationTimes('poll: { query_offset: 45s }');
    expect(times).toEqual([SLOT_MS - 45_000, SLOT_MS - 45_000]);
    const done = log.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'poll done');
    expect(done?.evaluatedAt).toBe(new Date(SLOT_MS - 45_000).toISOString());
  });

  it('is read from the file and from MESHWATCH_POLL_QUERY_OFFSET', () => {
    expect(parseConfig('poll: { query_offset: 1m30s }', {}, {}, 'test.yml').poll.queryOffsetMs).toBe(90_000);
    expect(parseConfig('', { MESHWATCH_POLL_QUERY_OFFSET: '2m' }, {}, 'test.yml').poll.queryOffsetMs).toBe(
      120_000,
    );
  });

  it.each([
    ['a negative offset', '-5s'],
    ['an offset over an hour', '2h'],
    ['a number without a unit', '30'],
  ])('rejects %s with a message naming the key', (_what, value) => {
    const err = thrownBy(() => parseConfig(`poll: { query_offset: ${value} }`, {}, {}, 'test.yml'));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.key).toBe('poll.query_offset');
    expect(err.message).toMatch(/^test\.yml: poll\.query_offset: /);
  });
});
