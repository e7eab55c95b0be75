/**
 * What the rest of meshwatch sees of Prometheus: typed results of instant and range queries.
 * Signals and the scheduler depend on `PrometheusClient` only, so tests and backtests can pass
 * a fake; `createPrometheusClient` (client.ts) is the HTTP implementation.
 */
import type { PrometheusConfig } from '../../config/types';

/** One sample of an instant query: a series' labels and its value at `timeMs`. */
export interface InstantSample {
  labels: Record<string, string>;
  /** Parsed from Prometheus's string form; may be NaN or +-Infinity. */
  value: number;
  /** Unix milliseconds. */
  timeMs: number;
}

/** One series of a range query with its samples, oldest first. */
export interface RangeSeries {
  labels: Record<string, string>;
  samples: Array<[timeMs: number, value: number]>;
}

/** Decoded data plus the warnings the server attached (partial responses from Thanos/Mimir). */
export interface QueryResult<T> {
  data: T;
  /** `warnings` and, when present, `infos` of the response, in that order. */
  warnings: string[];
}

/** The time range of a range query: Unix milliseconds, inclusive, and the step in milliseconds. */
export interface QueryRange {
  startMs: number;
  endMs: number;
  stepMs: number;
}

/** Takes a response body chunk by chunk, as it arrives, and gives what it decoded at the end. */
export interface BodySink<T> {
  write(chunk: Buffer): void;
  end(): T;
}

/** Reads Prometheus (or an API-compatible engine) through its HTTP query API. */
export interface PrometheusClient {
  /** Instant query at `time` (Unix ms; default now). */
  query(
    promql: string,
    options?: { timeMs?: number; signal?: AbortSignal },
  ): Promise<QueryResult<InstantSample[]>>;
  /**
   * Instant query whose answer's body (a 2xx answer; errors are the client's) goes chunk by chunk
   * into the sink `sink(query)` makes: for an answer too large to be one string first.
   */
  queryWith<T>(
    promql: string,
    sink: (query: string) => BodySink<T>,
    options?: { timeMs?: number; signal?: AbortSignal },
  ): Promise<T>;
  /** Range query, start/end Unix ms inclusive, step ms. */
  queryRange(
    promql: string,
    range: QueryRange,
    options?: { signal?: AbortSignal },
  ): Promise<QueryResult<RangeSeries[]>>;
}

/** The HTTP client: a `PrometheusClient` that holds keep-alive connections until closed. */
export interface PrometheusHttpClient extends PrometheusClient {
  /** Closes idle keep-alive connections; call on shutdown. */
  close(): void;
}

/** Options of `createPrometheusClient`: the `prometheus` section of the config. */
export type PrometheusClientOptions = PrometheusConfig & {
  /** Sent as `User-Agent`; default `meshwatch`. */
  userAgent?: string;
};
