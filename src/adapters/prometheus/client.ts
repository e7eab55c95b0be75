/**
 * The Prometheus HTTP API client: POSTs form-encoded queries to `/api/v1/query` and
 * `/api/v1/query_range` under the configured URL (a path prefix such as Thanos behind
 * `https://host/prefix/` is kept), with auth, TLS, a deadline per request and a size limit.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { ConfigError, PrometheusQueryError, PrometheusResponseError } from '../../errors';
import { agentSource } from './agent';
import { authorization } from './auth';
import { decodeErrorBody, decodeInstantResponse, decodeRangeResponse, quoteQuery } from './decode';
import { redactUrl, sanitizeCause, timeoutFailure, transportFailure } from './failures';
import type { PrometheusClientOptions, PrometheusHttpClient } from './types';

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
    },
    // The deadline is ours (below): axios's `timeout` is an idle timer that a trickling body resets.
    timeout: 0,
    maxContentLength: options.maxResponseBytes,
    // Counted after decompression by axios, whether or not the server sent a Content-Length.
    maxBodyLength: Infinity,
    // A redirect could carry the Authorization header to another host; the configured URL must be final.
    maxRedirects: 0,
    // Connect directly, as Prometheus's own clients do; HTTP(S)_PROXY in the environment is not for us.
    proxy: false,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
  });

  const scrub = (text: string): string => {
    let out = text;
    for (const secret of auth.secrets()) out = out.split(secret).join('<redacted>');
    return out;
  };

  async function post(url: URL, form: URLSearchParams, query: string, signal?: AbortSignal): Promise<string> {
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

    let response: AxiosResponse<string>;
    try {
      response = await http.post<string>(url.href, form.toString(), {
        headers,
        httpAgent: agent,
        httpsAgent: agent,
        signal: deadline.signal,
      });
    } catch (err) {
      // A caller's abort (shutdown) is not a Prometheus failure: surface its reason, as fetch does.
      if (signal?.aborted) throw signal.reason;
      if (timedOut) throw timeoutFailure({ url: base, query, timeoutMs: options.timeoutMs });
      throw transportFailure(err, { url: base, query, maxResponseBytes: options.maxResponseBytes, scrub });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forwardAbort);
    }
    return checkStatus(response, query, scrub);
  }

  return {
    async query(promql, queryOptions = {}) {
      const form = new URLSearchParams({ query: promql, timeout: seconds(options.timeoutMs) });
      if (queryOptions.timeMs !== undefined) form.set('time', seconds(queryOptions.timeMs));
      const body = await post(endpoints.query, form, promql, queryOptions.signal);
      return decodeInstantResponse(body, promql);
    },
    async queryRange(promql, range, queryOptions = {}) {
      const form = new URLSearchParams({
        query: promql,
        start: seconds(range.startMs),
        end: seconds(range.endMs),
        step: seconds(range.stepMs),
        timeout: seconds(options.timeoutMs),
      });
      const body = await post(endpoints.queryRange, form, promql, queryOptions.signal);
      return decodeRangeResponse(body, promql);
    },
    close() {
      agents.close();
    },
  };
}

/** Returns the body of a 2xx answer; a redirect or an error status becomes the matching error. */
function checkStatus(
  response: AxiosResponse<string>,
  query: string,
  scrub: (text: string) => string,
): string {
  const { status } = response;
  const body = typeof response.data === 'string' ? response.data : '';
  if (status >= 200 && status < 300) return body;
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
