/**
 * The closed set of errors meshwatch raises. Each has a stable `code` (documented in
 * docs/errors.md, checked by a test) so that logs and callers can match on it.
 */

/** Base class of every error meshwatch throws on purpose. */
export abstract class MeshwatchError extends Error {
  /** Stable machine-readable code, e.g. `MW_ERR_CONFIG`. */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The configuration is invalid: names the key and what is allowed. */
export class ConfigError extends MeshwatchError {
  readonly code = 'MW_ERR_CONFIG';
  /** Dotted path of the offending key (`poll.interval`), or `''` for the file as a whole. */
  readonly key: string;

  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.key = key;
  }
}

/** Prometheus could not be reached: connection refused, DNS, TLS handshake, timeout. */
export class PrometheusUnavailable extends MeshwatchError {
  readonly code = 'MW_ERR_PROMETHEUS_UNAVAILABLE';
  readonly url: string;
  readonly query: string;

  constructor(message: string, details: { url: string; query: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.url = details.url;
    this.query = details.query;
  }
}

/** Prometheus answered with an HTTP error status; carries its `errorType`/`error` text and the query. */
export class PrometheusQueryError extends MeshwatchError {
  readonly code = 'MW_ERR_PROMETHEUS_QUERY';
  readonly status: number;
  readonly errorType: string | undefined;
  readonly query: string;

  constructor(
    message: string,
    details: { status: number; errorType?: string; query: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = details.status;
    this.errorType = details.errorType;
    this.query = details.query;
  }
}

/** Prometheus answered 2xx but the body is not what its API promises (bad JSON, wrong shape, too large). */
export class PrometheusResponseError extends MeshwatchError {
  readonly code = 'MW_ERR_PROMETHEUS_RESPONSE';
  readonly query: string;

  constructor(message: string, details: { query: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.query = details.query;
  }
}

/** A simulator scenario file is invalid: names the path inside the file and what is allowed. */
export class ScenarioError extends MeshwatchError {
  readonly code = 'MW_ERR_SCENARIO';
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/** A command-line argument is invalid (bad time, missing option). */
export class UsageError extends MeshwatchError {
  readonly code = 'MW_ERR_USAGE';
}

/** Alertmanager refused or did not answer a direct push of findings (`alertmanager.url`). */
export class AlertmanagerPushError extends MeshwatchError {
  readonly code = 'MW_ERR_ALERTMANAGER_PUSH';
  readonly url: string;
  /** HTTP status, or undefined when no answer came (connection refused, timeout). */
  readonly status: number | undefined;

  constructor(message: string, details: { url: string; status?: number }, options?: { cause?: unknown }) {
    super(message, options);
    this.url = details.url;
    this.status = details.status;
  }
}
