/** What the benchmarks share: Prometheus answering the daemon's poll from memory, history at scale. */
import { createLogger } from '../src/adapters/logger';
import { MeshwatchMetrics } from '../src/adapters/metrics/metrics';
import { decodeInstantResponse, decodeRangeResponse } from '../src/adapters/prometheus/decode';
import type { BodySink } from '../src/adapters/prometheus/types';
import { Poller, type InstantQueryApi } from '../src/app/poller';
import { parseConfig } from '../src/config/load';
import type { BlindSet } from '../src/core/detectors/requirements';
import { decodeMeshRange } from '../src/signals/mesh';
import { labelsAnswer, meshAnswer } from './mesh-answer';

// What a socket hands over at a time, about.
const CHUNK_BYTES = 64 * 1024;

/**
 * A Prometheus that answers the mesh query with `meshBody()` (in chunks, as the HTTP client
 * passes a body on) and the required-labels query with every label present.
 */
export function memoryPrometheus(meshBody: () => Buffer): InstantQueryApi {
  return {
    async query(promql) {
      // The mesh query too, for builds that read it whole (a before/after comparison).
      const body = promql.includes('meshwatch_kind') ? meshBody().toString('utf8') : labelsAnswer(promql);
      return decodeInstantResponse(body, promql);
    },
    async queryWith(promql, sink) {
      return feed(sink(promql), meshBody());
    },
  };
}

/** Hands `body` to `sink` in chunks, as the HTTP client does with what the socket reads. */
export function feed<T>(sink: BodySink<T>, body: Buffer): T {
  for (let i = 0; i < body.length; i += CHUNK_BYTES) sink.write(body.subarray(i, i + CHUNK_BYTES));
  return sink.end();
}

/**
 * Steps of a range answer here: a warm-up chunk of the design's largest mesh has about 9
 * (`warmup.max_samples_per_query` 1,000,000 over 108,000 series).
 */
export const RANGE_STEPS = 8;

/**
 * Decodes the answers as one range answer of RANGE_STEPS steps from `fromMs` (the same series, in
 * the same order, with each answer's values in turn) and learns each step, as the warm-up does;
 * returns the milliseconds per step.
 */
export function learnRange(
  poller: Poller,
  bodies: readonly Buffer[],
  fromMs: number,
  blind: BlindSet,
): number {
  type Vector = { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  const vectors = bodies.map((b) => (JSON.parse(b.toString('utf8')) as Vector).data.result);
  const result = (vectors[0] ?? []).map((s, i) => ({
    metric: s.metric,
    values: Array.from({ length: RANGE_STEPS }, (_, k) => [
      (fromMs + k * 30_000) / 1000,
      vectors[k % vectors.length]?.[i]?.value[1] ?? '0',
    ]),
  }));
  const text = JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } });
  const started = process.hrtime.bigint();
  for (const snapshot of decodeMeshRange(decodeRangeResponse(text, 'mesh').data))
    poller.learn(snapshot, blind);
  return Number(process.hrtime.bigint() - started) / 1e6 / RANGE_STEPS;
}

/**
 * Seconds of meshwatch's time per step of history on a mesh of `destinations` (`meshAnswer`), read
 * from range answers as the warm-up reads them, once the engine holds state (a first chunk
 * learned, not timed): what a warm-up of that mesh costs per step.
 */
export async function historyStepSeconds(destinations: number): Promise<number> {
  const bodies = [0, 1, 2, 3].map((seed) => Buffer.from(meshAnswer({ destinations, seed }), 'utf8'));
  const poller = new Poller({
    config: parseConfig('', {}, {}, 'bench'),
    metrics: new MeshwatchMetrics('bench'),
    logger: createLogger('silent'),
    prometheus: memoryPrometheus(() => bodies[0] as Buffer),
  });
  const blind = await poller.checkTelemetry(0);
  const start = Date.UTC(2026, 0, 5);
  learnRange(poller, bodies, start, blind);
  return learnRange(poller, bodies, start + RANGE_STEPS * 30_000, blind) / 1000;
}
