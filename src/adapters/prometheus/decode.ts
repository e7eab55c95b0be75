/**
 * Pure decoding of Prometheus HTTP API bodies (https://prometheus.io/docs/prometheus/latest/querying/api/)
 * into typed samples. No I/O: the client hands the body text in, so every shape the API can
 * send is unit-tested from strings.
 */
import { PrometheusResponseError } from '../../errors';
import type { InstantSample, QueryResult, RangeSeries } from './types';

/** What a non-2xx answer said: Prometheus's `errorType` and `error`, or the start of a non-JSON body. */
export interface ErrorBody {
  errorType: string | undefined;
  error: string;
}

// Proxies answer errors with HTML pages; a message needs only their start.
const MAX_ERROR_TEXT = 300;

/**
 * Parses a sample value. Prometheus sends values as strings because JSON has no NaN or
 * infinities; Go formats them as `NaN`, `+Inf`, `-Inf`. Returns undefined for anything else
 * that is not a number (Number('') is 0, so the empty string is refused explicitly).
 */
export function parseSampleValue(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  switch (text) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case '':
      return undefined;
  }
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/** Decodes an instant query's body: a vector, or a scalar as one sample with no labels. */
export function decodeInstantResponse(body: string, query: string): QueryResult<InstantSample[]> {
  const { data, warnings } = successEnvelope(body, query);
  const { resultType, result } = data;
  if (resultType === 'scalar') {
    const [timeMs, value] = samplePair(result) ?? badSample(query, result, 'data.result');
    return { data: [{ labels: {}, value, timeMs }], warnings };
  }
  if (resultType !== 'vector') throw wrongResultType(query, 'vector or scalar', resultType);
  if (!Array.isArray(result)) throw malformed(query, 'data.result is not an array');
  // Messages name the element only on failure: building them per sample would double the decode time.
  const samples: InstantSample[] = new Array(result.length);
  for (let i = 0; i < result.length; i++) {
    const element: unknown = result[i];
    if (!isObject(element)) throw malformed(query, `data.result[${i}] is not an object`);
    if (element.value === undefined && element.histogram !== undefined) {
      throw nativeHistogram(query, `data.result[${i}]`);
    }
    const [timeMs, value] =
      samplePair(element.value) ?? badSample(query, element.value, `data.result[${i}].value`);
    const labels = labelsOf(element.metric) ?? badLabels(query, element.metric, `data.result[${i}]`);
    samples[i] = { labels, value, timeMs };
  }
  return { data: samples, warnings };
}

/** Decodes a range query's body: a matrix. */
export function decodeRangeResponse(body: string, query: string): QueryResult<RangeSeries[]> {
  const { data, warnings } = successEnvelope(body, query);
  const { resultType, result } = data;
  if (resultType !== 'matrix') throw wrongResultType(query, 'matrix', resultType);
  if (!Array.isArray(result)) throw malformed(query, 'data.result is not an array');
  const series: RangeSeries[] = new Array(result.length);
  for (let i = 0; i < result.length; i++) {
    const element: unknown = result[i];
    if (!isObject(element)) throw malformed(query, `data.result[${i}] is not an object`);
    if (element.histograms !== undefined) throw nativeHistogram(query, `data.result[${i}]`);
    const values = element.values;
    if (!Array.isArray(values)) throw malformed(query, `data.result[${i}].values is not an array`);
    const samples: Array<[number, number]> = new Array(values.length);
    for (let j = 0; j < values.length; j++) {
      samples[j] = samplePair(values[j]) ?? badSample(query, values[j], `data.result[${i}].values[${j}]`);
    }
    const labels = labelsOf(element.metric) ?? badLabels(query, element.metric, `data.result[${i}]`);
    series[i] = { labels, samples };
  }
  return { data: series, warnings };
}

/** Reads the error of a non-2xx answer; never throws, whatever the body is. */
export function decodeErrorBody(body: string): ErrorBody {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isObject(parsed) && typeof parsed.error === 'string') {
      return {
        errorType: typeof parsed.errorType === 'string' ? parsed.errorType : undefined,
        error: parsed.error,
      };
    }
  } catch {
    // not JSON: a proxy's or an auth layer's text, reported as is below
  }
  const text = body.replace(/\s+/g, ' ').trim();
  return {
    errorType: undefined,
    error: text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}...` : text,
  };
}

/** `query` quoted for a message, cut short when long (the full text is on the error's `query`). */
export function quoteQuery(query: string): string {
  const max = 200;
  return JSON.stringify(query.length > max ? `${query.slice(0, max)}...` : query);
}

interface Envelope {
  data: { resultType: unknown; result: unknown };
  warnings: string[];
}

function successEnvelope(body: string, query: string): Envelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    const start = JSON.stringify(body.slice(0, 60));
    throw new PrometheusResponseError(
      `Prometheus returned a body that is not JSON for query ${quoteQuery(query)} (body starts ${start})`,
      { query },
      { cause: err },
    );
  }
  if (!isObject(parsed)) throw malformed(query, 'the body is not a JSON object');
  if (parsed.status !== 'success') {
    const detail = typeof parsed.error === 'string' ? `: ${parsed.error}` : '';
    throw malformed(query, `status is ${JSON.stringify(parsed.status)}, not "success"${detail}`);
  }
  if (!isObject(parsed.data)) throw malformed(query, 'data is not an object');
  return {
    data: { resultType: parsed.data.resultType, result: parsed.data.result },
    warnings: [
      ...stringList(parsed.warnings, 'warnings', query),
      ...stringList(parsed.infos, 'infos', query),
    ],
  };
}

/** A `[seconds, "value"]` pair as `[ms, value]`, or undefined when it is not one. */
function samplePair(pair: unknown): [number, number] | undefined {
  if (!Array.isArray(pair) || pair.length !== 2) return undefined;
  const seconds: unknown = pair[0];
  const value = parseSampleValue(pair[1]);
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || value === undefined) return undefined;
  // Timestamps are seconds with millisecond precision; rounding undoes the float error of *1000.
  return [Math.round(seconds * 1000), value];
}

function badSample(query: string, pair: unknown, where: string): never {
  if (!Array.isArray(pair) || pair.length !== 2)
    throw malformed(query, `${where} is not a [time, value] pair`);
  if (typeof pair[0] !== 'number' || !Number.isFinite(pair[0])) {
    throw malformed(query, `${where}[0] is not a timestamp`);
  }
  throw malformed(query, `${where}[1] is not a sample value (${JSON.stringify(pair[1])})`);
}

/** The labels of a series, or undefined when `metric` is not an object of strings. */
function labelsOf(metric: unknown): Record<string, string> | undefined {
  // A missing `metric` is what some engines send for a series without labels.
  if (metric === undefined) return {};
  if (!isObject(metric)) return undefined;
  for (const name in metric) {
    if (typeof metric[name] !== 'string') return undefined;
  }
  // JSON.parse made a fresh object of own string properties: it is the labels, no copy needed.
  return metric as Record<string, string>;
}

function badLabels(query: string, metric: unknown, where: string): never {
  if (!isObject(metric)) throw malformed(query, `${where}.metric is not an object`);
  const name = Object.keys(metric).find((key) => typeof metric[key] !== 'string');
  throw malformed(query, `${where}.metric.${name} is not a string`);
}

function stringList(value: unknown, where: string, query: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((w) => typeof w === 'string')) {
    throw malformed(query, `${where} is not a list of strings`);
  }
  return value as string[];
}

function wrongResultType(query: string, expected: string, got: unknown): PrometheusResponseError {
  return malformed(query, `expected resultType ${expected}, got ${JSON.stringify(got)}`);
}

function nativeHistogram(query: string, where: string): PrometheusResponseError {
  return malformed(
    query,
    `${where} holds native histogram samples, which meshwatch does not read; wrap the query in histogram_count(), histogram_sum() or histogram_quantile()`,
  );
}

function malformed(query: string, detail: string): PrometheusResponseError {
  return new PrometheusResponseError(
    `Prometheus returned an unexpected response for query ${quoteQuery(query)}: ${detail}`,
    { query },
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
