/** The Prometheus adapter: the HTTP client and the types the rest of meshwatch programs against. */
export { createPrometheusClient } from './client';
export { decodeErrorBody, decodeInstantResponse, decodeRangeResponse, parseSampleValue } from './decode';
export type {
  InstantSample,
  PrometheusClient,
  PrometheusClientOptions,
  PrometheusHttpClient,
  QueryRange,
  QueryResult,
  RangeSeries,
} from './types';
