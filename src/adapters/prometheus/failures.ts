/**
 * Turns what can go wrong on the wire into meshwatch's coded errors. An axios error carries the
 * whole request config, Authorization header included, so it is never kept as a `cause`: each
 * error here wraps a plain Error that holds only the original code and message.
 */
import { PrometheusResponseError, PrometheusUnavailable } from '../../errors';
import { quoteQuery } from './decode';

/** A stand-in for a transport error: code and message, nothing that could hold a credential. */
export interface SanitizedCause extends Error {
  code?: string;
}

// Node's codes for a certificate the client would not trust (or that does not name the host).
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** `url` as it may appear in messages and logs: a password in it is replaced as Go's url.Redacted does. */
export function redactUrl(url: URL): string {
  if (url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.password = 'xxxxx';
  return copy.href;
}

/** A plain Error with only the code and message of `err` (and of its cause, for wrapped network errors). */
export function sanitizeCause(err: unknown, scrub: (text: string) => string): SanitizedCause {
  const cause = new Error(scrub(describe(err))) as SanitizedCause;
  const code = codeOf(err);
  if (code !== undefined) cause.code = code;
  return cause;
}

/**
 * What is known of the size of a response refused for it: its Content-Length (`declared`), the
 * bytes counted to its end after decompression (`counted`), or a lower bound when the count
 * stopped first (`at_least`).
 */
export interface ResponseSize {
  bytes: number;
  how: 'declared' | 'counted' | 'at_least';
}

/** The error for a response over `prometheus.max_response_bytes`, naming its size, the cap and the key. */
export function tooLargeFailure(context: {
  query: string;
  maxResponseBytes: number;
  size: ResponseSize;
}): PrometheusResponseError {
  const { query, maxResponseBytes, size } = context;
  const measured = {
    declared: `is ${size.bytes} bytes (its Content-Length)`,
    counted: `is ${size.bytes} bytes`,
    at_least: `is at least ${size.bytes} bytes`,
  }[size.how];
  return new PrometheusResponseError(
    `Prometheus response for query ${quoteQuery(query)} ${measured}, over the limit of ${maxResponseBytes} bytes: ` +
      'raise prometheus.max_response_bytes or narrow the query (aggregate with sum by)',
    { query },
  );
}

/**
 * The error for a request that failed without a usable HTTP answer: Prometheus could not be
 * reached (PrometheusUnavailable).
 */
export function transportFailure(
  err: unknown,
  context: { url: URL; query: string; scrub: (text: string) => string },
): PrometheusUnavailable {
  const { url, query, scrub } = context;
  const cause = sanitizeCause(err, scrub);
  return new PrometheusUnavailable(
    `cannot reach Prometheus at ${redactUrl(url)}: ${explain(cause)}`,
    {
      url: redactUrl(url),
      query,
    },
    { cause },
  );
}

/**
 * The error for an answer whose connection closed before the end of its body (a proxy or
 * Prometheus that died mid-answer): `received` bytes of it came, of `declared` when it said.
 */
export function cutOffFailure(
  err: unknown,
  context: { url: URL; query: string; scrub: (text: string) => string; received: number; declared?: number },
): PrometheusUnavailable {
  const { url, query, scrub, received, declared } = context;
  const cause = sanitizeCause(err, scrub);
  const of = declared === undefined ? '' : ` of ${declared}`;
  return new PrometheusUnavailable(
    `the answer of Prometheus at ${redactUrl(url)} to query ${quoteQuery(query)} was cut off after ${received}${of} bytes: the connection closed mid-body (${cause.message})`,
    { url: redactUrl(url), query },
    { cause },
  );
}

/** The error for a request given up after `timeoutMs`. */
export function timeoutFailure(context: {
  url: URL;
  query: string;
  timeoutMs: number;
}): PrometheusUnavailable {
  const { url, query, timeoutMs } = context;
  const cause: SanitizedCause = Object.assign(new Error(`request timed out after ${timeoutMs} ms`), {
    code: 'ETIMEDOUT',
  });
  return new PrometheusUnavailable(
    `cannot reach Prometheus at ${redactUrl(url)}: no complete answer within ${timeoutMs} ms (prometheus.timeout) for query ${quoteQuery(query)}`,
    { url: redactUrl(url), query },
    { cause },
  );
}

function explain(cause: SanitizedCause): string {
  const code = cause.code ?? '';
  if (CERTIFICATE_CODES.has(code)) {
    return `TLS certificate problem: ${cause.message} (${code}); check prometheus.tls.ca_file and prometheus.tls.server_name`;
  }
  if (code === 'EPROTO' || code.startsWith('ERR_SSL_')) {
    return `TLS handshake failed: ${cause.message} (${code}); check prometheus.tls (client certificate, https on the port)`;
  }
  return cause.message;
}

function codeOf(err: unknown): string | undefined {
  const own = (err as { code?: unknown } | null)?.code;
  if (typeof own === 'string') return own;
  const inner = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof inner === 'string' ? inner : undefined;
}

// OpenSSL's own format, `<thread>:error:<code>:<library>:<function>:<reason>:<file>:<line>:...`.
const OPENSSL_MESSAGE = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/;

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // The reason is what a reader needs; the rest of OpenSSL's line is its source file and line.
  const openssl = OPENSSL_MESSAGE.exec(err.message);
  if (openssl?.[1] !== undefined) return openssl[1];
  if (err.message !== '' && err.message !== 'AggregateError') return err.message.trim();
  // Node reports a failed dual-stack connect as an AggregateError with an empty message.
  const inner = (err.cause ?? err) as { errors?: unknown };
  if (Array.isArray(inner.errors) && inner.errors.length > 0) {
    return inner.errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
  }
  return codeOf(err) ?? err.name;
}
