/**
 * The Prometheus HTTP API client: POSTs form-encoded queries to `/api/v1/query` and
 * `/api/v1/query_range` under the configured URL (a path prefix such as Thanos behind
 * `https://host/prefix/` is kept), with auth, TLS, a deadline per request and a size limit.
 */
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createUnzip } from 'node:zlib';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { ConfigError, PrometheusQueryError, PrometheusResponseError } from '../../errors';
import { agentSource } from './agent';
import { authorization } from './auth';
import { decodeErrorBody, decodeInstantResponse, decodeRangeResponse, quoteQuery } from './decode';
import {
  redactUrl,
  sanitizeCause,
  cutOffFailure,
  timeoutFailure,
  tooLargeFailure,
  transportFailure,
  type ResponseSize,
} from './failures';
import type { BodySink, PrometheusClientOptions, PrometheusHttpClient } from './types';

/** Creates the HTTP client; throws ConfigError on a bad URL or contradictory auth/TLS settings. */
export function createPrometheusClient(options: PrometheusClientOptions): PrometheusHttpClient {
  const base = baseUrl(options.url);
  const endpoints = {
    query: endpoint(base, 'api/v1/query'),
    queryRange: endpoint(base, 'api/v1/query_range'),
  };
  const auth = authorization(options);
  const agents = agentSource(base, options.tls, options.timeoutMs);
  const http: AxiosInstance = axios.create({
    headers: {
      ...options.headers,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
      'User-Agent': options.userAgent ?? 'meshwatch',
      // What readBody can decompress; Prometheus sends gzip.
      'Accept-Encoding': 'gzip, deflate, br',
    },
    // The deadline is ours (below): axios's `timeout` is an idle timer that a trickling body resets.
    timeout: 0,
    // The body is read, decompressed and size-checked by readBody, which can say how large it was.
    maxContentLength: -1,
    maxBodyLength: Infinity,
    decompress: false,
    // A redirect could carry the Authorization header to another host; the configured URL must be final.
    maxRedirects: 0,
    // Connect directly, as Prometheus's own clients do; HTTP(S)_PROXY in the environment is not for us.
    proxy: false,
    responseType: 'stream',
    validateStatus: () => true,
  });

  const scrub = (text: string): string => {
    let out = text;
    for (const secret of auth.secrets()) out = out.split(secret).join('<redacted>');
    return out;
  };

  /** POSTs the query; a 2xx answer's body goes into `sink`, any other answer becomes the matching error. */
  async function post<T>(
    url: URL,
    form: URLSearchParams,
    query: string,
    sink: (query: string) => BodySink<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    signal?.throwIfAborted();
    const headers: Record<string, string> = {};
    const authHeader = await auth.header();
    if (authHeader !== undefined) headers.Authorization = authHeader;
    const agent = await agents.current();

    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, options.timeoutMs);
    const forwardAbort = (): void => deadline.abort();
    signal?.addEventListener('abort', forwardAbort, { once: true });

    let response: AxiosResponse<Readable>;
    let result: { ok: true; value: T } | { ok: false; body: string };
    try {
      response = await http.post<Readable>(url.href, form.toString(), {
        headers,
        httpAgent: agent,
        httpsAgent: agent,
        signal: deadline.signal,
      });
      const { status } = response;
      result =
        status >= 200 && status < 300
          ? { ok: true, value: await readBody(response, options.maxResponseBytes, sink(query), query) }
          : { ok: false, body: await readBody(response, options.maxResponseBytes, text(query), query) };
    } catch (err) {
      // A caller's abort (shutdown) is not a Prometheus failure: surface its reason, as fetch does.
      if (signal?.aborted) throw signal.reason;
      if (err instanceof PrometheusResponseError) throw err;
      if (err instanceof TooLarge) {
        throw tooLargeFailure({ query, maxResponseBytes: options.maxResponseBytes, size: err.size });
      }
      if (timedOut) throw timeoutFailure({ url: base, query, timeoutMs: options.timeoutMs });
      if (err instanceof CutOff) {
        throw cutOffFailure(err.cause, {
          url: base,
          query,
          scrub,
          received: err.received,
          declared: err.declared,
        });
      }
      throw transportFailure(err, { url: base, query, scrub });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forwardAbort);
    }
    if (result.ok) return result.value;
    return failure(response, result.body, query, scrub);
  }

  const queryWith: PrometheusHttpClient['queryWith'] = async (promql, sink, queryOptions = {}) => {
    const form = new URLSearchParams({ query: promql, timeout: seconds(options.timeoutMs) });
    if (queryOptions.timeMs !== undefined) form.set('time', seconds(queryOptions.timeMs));
    return post(endpoints.query, form, promql, sink, queryOptions.signal);
  };

  return {
    query: (promql, queryOptions = {}) => queryWith(promql, whole(decodeInstantResponse), queryOptions),
    queryWith,
    async queryRange(promql, range, queryOptions = {}) {
      const form = new URLSearchParams({
        query: promql,
        start: seconds(range.startMs),
        end: seconds(range.endMs),
        step: seconds(range.stepMs),
        timeout: seconds(options.timeoutMs),
      });
      return post(endpoints.queryRange, form, promql, whole(decodeRangeResponse), queryOptions.signal);
    },
    close() {
      agents.close();
    },
  };
}

/**
 * Past the cap, the body is counted on without being kept, so that the message says how large it
 * is, up to four times the cap (and at least 16 MiB, as counting costs no memory): far enough to
 * tell how much to raise the cap by, short of decompressing a runaway answer to its end. The
 * deadline still ends the count of a body that never ends.
 */
const countLimit = (cap: number): number => Math.max(4 * cap, 16 * 2 ** 20);

/** A body refused for its size; never leaves this module (it becomes a PrometheusResponseError). */
class TooLarge extends Error {
  constructor(readonly size: ResponseSize) {
    super('response too large');
  }
}

/** A body whose connection closed before its end; never leaves this module (it becomes a PrometheusUnavailable). */
class CutOff extends Error {
  constructor(
    override readonly cause: unknown,
    /** Bytes of the body (decompressed) that came. */
    readonly received: number,
    /** The Content-Length of an uncompressed body. */
    readonly declared: number | undefined,
  ) {
    super('response cut off');
  }
}

// What Node's HTTP client says when the connection closes mid-body.
const CUT_OFF_CODES = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'EPIPE']);

/**
 * Reads the body, decompressed, holding at most `cap` bytes of it. A declared length over the
 * cap is refused before reading; a compressed or chunked body is counted as it arrives. Rejects
 * with TooLarge, CutOff, or with the stream's error (the deadline's abort, a decompression error).
 */
async function readBody<T>(
  response: AxiosResponse<Readable>,
  cap: number,
  sink: BodySink<T>,
  query: string,
): Promise<T> {
  const raw = response.data;
  const encoding = String(response.headers['content-encoding'] ?? 'identity').toLowerCase();
  const declared = Number(response.headers['content-length']);
  if (encoding === 'identity' && Number.isFinite(declared) && declared > cap) {
    raw.destroy();
    throw new TooLarge({ bytes: declared, how: 'declared' });
  }
  const stream = decoded(raw, encoding, query);
  const limit = countLimit(cap);
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      // Past the cap nothing more goes to the sink, which is dropped: it never holds more than the cap.
      if (total <= cap) {
        sink.write(chunk);
        continue;
      }
      if (total >= limit) throw new TooLarge({ bytes: total, how: 'at_least' });
    }
  } catch (err) {
    raw.destroy();
    stream.destroy();
    // Cut off (the deadline, a reset) while counting an oversized body: its size is the news.
    if (total > cap && !(err instanceof TooLarge)) throw new TooLarge({ bytes: total, how: 'at_least' });
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && CUT_OFF_CODES.has(code)) {
      throw new CutOff(
        err,
        total,
        encoding === 'identity' && Number.isFinite(declared) ? declared : undefined,
      );
    }
    throw err;
  }
  if (total > cap) throw new TooLarge({ bytes: total, how: 'counted' });
  return sink.end();
}

/** The body stream decompressed as its Content-Encoding says; a failure on the wire fails it too. */
function decoded(raw: Readable, encoding: string, query: string): Readable {
  const noop = (): void => undefined;
  switch (encoding) {
    case 'identity':
      return raw;
    // createUnzip reads both gzip and the zlib format that Go's deflate writer (and Prometheus) sends.
    case 'gzip':
    case 'x-gzip':
    case 'deflate':
      return pipeline(raw, createUnzip(), noop);
    case 'br':
      return pipeline(raw, createBrotliDecompress(), noop);
    default:
      raw.destroy();
      throw new PrometheusResponseError(
        `Prometheus answered query ${quoteQuery(query)} with Content-Encoding ${JSON.stringify(encoding)}, which meshwatch did not ask for and cannot decode`,
        { query },
      );
  }
}

/** The error a non-2xx answer stands for: a redirect, or an error status with what its body says. */
function failure(
  response: AxiosResponse<Readable>,
  body: string,
  query: string,
  scrub: (text: string) => string,
): never {
  const { status } = response;
  if (status < 400) {
    const location = response.headers.location;
    const target = typeof location === 'string' ? ` to ${scrub(location)}` : '';
    throw new PrometheusResponseError(
      `Prometheus redirected query ${quoteQuery(query)} (${status})${target}: set prometheus.url to the final address`,
      { query },
    );
  }
  const { errorType, error } = decodeErrorBody(body);
  const text = scrub(error);
  const kind = errorType === undefined ? '' : ` ${errorType}`;
  // Prometheus itself never answers 401/403 to a query; an auth layer in front of it does.
  const hint =
    status === 401 || status === 403
      ? ' (check prometheus.basic_auth, prometheus.bearer_token_file and prometheus.headers)'
      : '';
  throw new PrometheusQueryError(
    `Prometheus returned ${status}${kind} for query ${quoteQuery(query)}: ${text}${hint}`,
    { status, errorType, query },
    { cause: sanitizeCause(new Error(`HTTP ${status}${kind}: ${text}`), scrub) },
  );
}

function baseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new ConfigError('prometheus.url', `prometheus.url ${JSON.stringify(raw)} is not a URL`, {
      cause: err,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('prometheus.url', `prometheus.url ${redactUrl(url)} must be http:// or https://`);
  }
  // `new URL('api/v1/query', base)` replaces the last path segment unless the path ends in a slash.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function endpoint(base: URL, path: string): URL {
  const url = new URL(path, base);
  // Query parameters in the configured URL (Thanos `dedup`, `partial_response`) apply to every call.
  url.search = base.search;
  url.hash = '';
  return url;
}

/** Milliseconds as the seconds Prometheus expects, keeping millisecond precision. */
function seconds(ms: number): string {
  return String(ms / 1000);
}

/** A sink that keeps the body as text. */
const text = whole((body) => body);

/** A sink that keeps the whole body and decodes it at the end, for answers of ordinary size. */
export function whole<T>(decode: (body: string, query: string) => T): (query: string) => BodySink<T> {
  return (query) => {
    const chunks: Buffer[] = [];
    return {
      write: (chunk) => chunks.push(chunk),
      end: () => decode(Buffer.concat(chunks).toString('utf8'), query),
    };
  };
}
