/**
 * The validated, defaulted configuration the daemon runs with. Produced once at start by
 * `loadConfig` (src/config/load.ts) from the YAML file, `MESHWATCH_*` environment variables and
 * command-line flags, against the one schema in src/config/schema.ts. Durations are milliseconds.
 */
export interface Config {
  prometheus: PrometheusConfig;
  /** The live loop; `queryOffsetMs` is how far in the past each poll evaluates (late remote-write samples). */
  poll: { intervalMs: number; rateWindowMs: number; queryOffsetMs: number };
  warmup: WarmupConfig;
  limits: LimitsConfig;
  /** Direct push to Alertmanager; off when `url` is unset. */
  alertmanager: { url?: string; timeoutMs: number; resendEveryMs: number };
  /** The HTTP server; `webConfigFile` is an exporter-toolkit web config (TLS, basic auth), unset: plain HTTP. */
  server: { host: string; port: number; webConfigFile?: string };
  shutdown: { timeoutMs: number };
  log: { level: LogLevel };
  telemetry: TelemetryConfig;
  detectors: DetectorsConfig;
  /** `lookbackMs`: the window `meshwatch_strict_mtls_ready` and `meshwatch audit` judge plaintext callers over. */
  audit: { lookbackMs: number };
}

/** How history is replayed at start: coarse steps for the older part, live steps for the recent one. */
export interface WarmupConfig {
  lookbackMs: number;
  stepMs: number;
  maxSamplesPerQuery: number;
  /** 0: every step of the lookback at `stepMs`. */
  coarseStepMs: number;
  recentMs: number;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** How to reach Prometheus (or Thanos Query, Mimir, VictoriaMetrics). */
export interface PrometheusConfig {
  url: string;
  /** Per-request timeout; validated to be shorter than the poll interval. */
  timeoutMs: number;
  /** Responses larger than this are refused (guards memory against a runaway query). */
  maxResponseBytes: number;
  bearerTokenFile?: string;
  basicAuth?: { username: string; passwordFile: string };
  /** Extra request headers, e.g. `X-Scope-OrgID` for a Mimir/Cortex/Thanos tenant. */
  headers: Record<string, string>;
  tls: {
    caFile?: string;
    certFile?: string;
    keyFile?: string;
    serverName?: string;
    /** Skip certificate verification. Off unless set explicitly. */
    insecureSkipVerify: boolean;
  };
}

/** Which Istio series count as the server side of a request. */
export interface TelemetryConfig {
  /** `reporter` values that are server side: `destination` (sidecars, ztunnel), `waypoint` (ambient waypoints). */
  serverReporters: string[];
}

/** Bounds on state and exported series. */
export interface LimitsConfig {
  maxDestinations: number;
  maxEdges: number;
  evictAfterMs: number;
  topCallers: number;
  /** Which detectors export their band per destination (`limits.export_bands`). */
  exportBands: BandExport;
}

/** Values of `limits.export_bands`. */
export const BAND_EXPORTS = ['all', 'learned', 'none'] as const;
export type BandExport = (typeof BAND_EXPORTS)[number];

export interface DetectorsConfig {
  unauthorized: DetectorCommonConfig & { denialCodes: number[]; denialFlags: string[] };
  new_caller: DetectorCommonConfig & { newForMs: number; forgetAfterMs: number; learningMs: number };
  plaintext: PlaintextDetectorConfig;
  traffic: DetectorCommonConfig & { shapeModel: boolean };
  errors: DetectorCommonConfig;
}

/** Settings every detector shares. */
export interface DetectorCommonConfig {
  enabled: boolean;
  /** Score at which the detector reports an anomaly; exported as `meshwatch_detector_threshold`. */
  threshold: number;
  /** Consecutive polls at or over the threshold before a finding opens. */
  openAfterPolls: number;
  /** Consecutive polls under the threshold before a finding closes. */
  closeAfterPolls: number;
}

export type PlaintextDetectorConfig = DetectorCommonConfig;

/** Command-line options that override config keys (commander's camelCase names); see `flag` in the schema. */
export interface ConfigFlags {
  /** `--prometheus-url`, overrides `prometheus.url`. */
  prometheusUrl?: string;
}
