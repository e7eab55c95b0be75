/** What the benchmarks share: Prometheus answering the daemon's poll from memory. */
import { decodeInstantResponse } from '../src/adapters/prometheus/decode';
import type { BodySink } from '../src/adapters/prometheus/types';
import type { InstantQueryApi } from '../src/app/poller';
import { labelsAnswer } from './mesh-answer';

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
