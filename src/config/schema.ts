/**
 * THE configuration schema: every key's type, default, allowed values and doc, the rules across
 * keys, and the mapping to the `Config` type. Validation (src/config/resolve.ts), environment
 * variable names and docs/configuration.md (src/config/reference.ts) all derive from this file.
 */
import {
  BAND_EXPORTS,
  type BandExport,
  type Config,
  type DetectorCommonConfig,
  type LogLevel,
} from './types';
import {
  boolean,
  duration,
  filePath,
  headerMap,
  httpUrl,
  integer,
  listOf,
  number,
  oneOf,
  optionalHttpUrl,
  responseFlags,
  optionalText,
  section,
  statusCodes,
  text,
  type Children,
  type Field,
  type SchemaNode,
  type Section,
  type ValuesOf,
} from './fields';
import { formatDuration } from './duration';
import { trafficBaselineOptions } from '../core/baseline/traffic';

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The keys every detector has; `defaults` are per detector because score scales differ. */
function detector<E extends Children>(
  name: string,
  doc: string,
  defaults: { threshold: number; openAfterPolls: number; closeAfterPolls: number },
  own: E,
) {
  return section(doc, {
    enabled: boolean({ doc: `Run the ${name} detector.`, default: true }),
    threshold: number({
      doc: 'Score at which the detector reports an anomaly; exported as meshwatch_detector_threshold.',
      default: defaults.threshold,
      greaterThan: 0,
    }),
    open_after_polls: integer({
      doc: 'Consecutive polls at or over the threshold before a finding opens.',
      default: defaults.openAfterPolls,
      min: 1,
    }),
    close_after_polls: integer({
      doc: 'Consecutive polls under the threshold before a finding closes; more than 1 keeps a flapping series from paging twice.',
      default: defaults.closeAfterPolls,
      min: 1,
    }),
    ...own,
  });
}

/** The whole schema, rooted at the top level of the YAML file. */
export const CONFIG_SCHEMA = section('meshwatch configuration', {
  prometheus: section(
    'How to reach Prometheus, or an API-compatible engine (Thanos Query, Mimir, VictoriaMetrics).',
    {
      url: httpUrl({
        doc: 'Base URL of the Prometheus HTTP API; a path prefix such as /prometheus is kept.',
        default: 'http://localhost:9090',
        flag: '--prometheus-url',
      }),
      timeout: duration({
        doc: 'Timeout of each query. Unset, it is the smaller of 10s and poll.interval (as Prometheus defaults scrape_timeout); set, it must not be longer than poll.interval, so that a poll ends by the time the next is due.',
        default: '10s',
        min: '1ms',
      }),
      max_response_bytes: integer({
        doc: "Responses larger than this (after decompression) are refused, so a runaway query cannot exhaust memory; the poll fails with a message naming the size. 128 MiB holds the mesh query of the design's largest mesh (2,000 destinations, 100,000+ series: 37-55 MB) more than twice over.",
        // The largest mesh answers 37-55 MB (bench/mesh-answer.ts at 2,000 destinations: ~54 MB);
        // 128 MiB leaves room for longer names and more kinds per edge, and is still a bound.
        default: 128 * 1024 * 1024,
        min: 1,
      }),
      bearer_token_file: filePath({ doc: 'File holding a bearer token for the Authorization header.' }),
      basic_auth: section('HTTP basic authentication; set both keys or neither.', {
        username: optionalText({ doc: 'User name.' }),
        password_file: filePath({ doc: 'File holding the password.' }),
      }),
      headers: headerMap({
        doc: 'Extra request headers, e.g. X-Scope-OrgID for a Mimir, Cortex or Thanos tenant.',
      }),
      tls: section(
        'TLS towards Prometheus; the certificate is verified unless insecure_skip_verify is set.',
        {
          ca_file: filePath({
            doc: 'CA certificate(s) to verify the server with, instead of the system ones.',
          }),
          cert_file: filePath({ doc: 'Client certificate for mutual TLS; set together with key_file.' }),
          key_file: filePath({ doc: 'Private key of the client certificate; set together with cert_file.' }),
          server_name: optionalText({
            doc: 'Name expected in the server certificate, when it differs from the URL host.',
          }),
          insecure_skip_verify: boolean({
            doc: 'Skip verifying the server certificate. Only for tests.',
            default: false,
          }),
        },
      ),
    },
  ),
  poll: section('The live polling loop.', {
    interval: duration({ doc: 'Time between the starts of two polls.', default: '30s', min: '1s' }),
    rate_window: duration({
      doc: 'Range of rate() in the queries; keep it at least twice the Prometheus scrape interval.',
      default: '2m',
      min: '1s',
    }),
    query_offset: duration({
      doc: "Evaluate each poll (and the end of the warm-up) this far in the past, as the query_offset of a Prometheus rule group: for remote-write setups (Mimir, Thanos Receive, a Prometheus agent) where the newest samples arrive late, so that a rate() window still missing its last seconds is not read as a traffic drop. Set it a little above the worst ingestion delay; findings come that much later. 0s evaluates at the poll's own time.",
      default: '0s',
      min: '0s',
      max: '1h',
    }),
  }),
  warmup: section('Rebuilding baselines and known edges from Prometheus history at start.', {
    lookback: duration({
      doc: 'History replayed before the first live poll; 0s skips warm-up.',
      default: '7d',
      min: '0s',
      max: '30d',
    }),
    step: duration({
      doc: 'Resolution of the recent history (warmup.recent) replayed with the live query; equal to poll.interval replays exactly what live polls would have seen, coarser is faster on large meshes.',
      default: '1m',
      min: '1s',
    }),
    coarse_step: duration({
      doc: 'Resolution of the older history: one step per coarse_step, each the rate over the whole step (no traffic between steps is missed), teaches the seasonal profiles, the slow level and the known edges what every step would, with far fewer steps (7 days: 168 instead of 10,080). At most 1h, the width of a seasonal hour, and a multiple of warmup.step; 0s (or equal to warmup.step) replays every step at warmup.step.',
      default: '1h',
      min: '0s',
      max: '1h',
    }),
    recent: duration({
      doc: 'The last part of the lookback replayed at warmup.step with the live rate window, after the coarse steps: it seeds what the baselines learn at the live resolution and forget within hours (the fast level, the noise of the live rate window, the recent shape). Rounded up to a whole coarse_step.',
      default: '2h',
      min: '0s',
      max: '30d',
    }),
    max_samples_per_query: integer({
      doc: 'History is fetched in chunks of at most this many samples (series x steps), and never more than the 11,000 points per series Prometheus allows in one query.',
      default: 1_000_000,
      min: 1000,
    }),
  }),
  limits: section('Bounds on the state meshwatch keeps and the series it exports.', {
    max_destinations: integer({
      doc: 'Most destination workloads tracked per detector; more are dropped and counted in meshwatch_series_dropped_total{reason="capacity"}.',
      default: 5000,
      min: 1,
    }),
    max_edges: integer({
      doc: 'Most (caller, destination) edges remembered by the new_caller and unauthorized detectors; more are dropped and counted in meshwatch_series_dropped_total{reason="capacity"} (alert MeshwatchCapacityExceeded). new_caller keeps two entries for an edge whose caller has an mTLS identity (with and without it, so a known workload that falls back to plaintext is not a stranger): a mesh of N mTLS edges needs up to 2N.',
      default: 100_000,
      min: 1,
    }),
    evict_after: duration({
      doc: 'A destination or denied edge not seen for this long is forgotten (meshwatch_series_dropped_total{reason="evicted"}).',
      default: '24h',
      min: '1m',
    }),
    top_callers: integer({
      doc: 'Callers named per destination in findings and in the per-caller metrics.',
      default: 10,
      min: 1,
      max: 100,
    }),
    export_bands: oneOf<BandExport>({
      doc: 'Which detectors export their band (meshwatch_signal_expected, _lower and _upper) per destination: all; learned (only those with a learned baseline: traffic, errors, unauthorized; the bands of new_caller and plaintext are constants: 0, 0 and the threshold as a rate), 6 series fewer per destination; none, 15 fewer (the Workload dashboard then draws no band). meshwatch_signal_observed and the scores are always exported.',
      values: BAND_EXPORTS,
      default: 'all',
    }),
  }),
  alertmanager: section(
    'Optional direct push of findings to Alertmanager, besides the alert rules (the primary path). Off unless url is set.',
    {
      url: optionalHttpUrl({
        doc: 'Base URL of Alertmanager (alerts are posted to <url>/api/v2/alerts); unset: no direct push.',
      }),
      timeout: duration({ doc: 'Timeout of each post to Alertmanager.', default: '10s', min: '1ms' }),
      resend_every: duration({
        doc: 'Firing alerts are re-sent this often (they expire after 4 times this), as Prometheus does.',
        default: '1m',
        min: '1s',
      }),
    },
  ),
  server: section('The HTTP server for /metrics, /livez, /readyz and /api/v1/findings.', {
    host: text({ doc: 'Address to listen on.', default: '0.0.0.0' }),
    port: integer({
      doc: 'Port to listen on; 0 picks any free port (for tests).',
      default: 9464,
      min: 0,
      max: 65535,
    }),
    web_config_file: filePath({
      doc: 'A web configuration file in the Prometheus exporter-toolkit format (TLS certificate and key, client CA and client_auth_type, basic_auth_users with bcrypt hashes), the file other exporters take as --web.config.file; read and checked at start, relative paths in it are relative to it. Unset, the server speaks plain HTTP without authentication. /livez and /readyz stay open to probes without basic auth (docs/install.md, "Securing meshwatch\'s endpoints").',
    }),
  }),
  shutdown: section('Stopping on SIGTERM.', {
    timeout: duration({ doc: 'How long the poll in flight may take to finish.', default: '10s', min: '0s' }),
  }),
  log: section('Logging (JSON lines on stdout).', {
    level: oneOf<LogLevel>({ doc: 'Least severe level written.', values: LOG_LEVELS, default: 'info' }),
  }),
  telemetry: section('How Istio telemetry is read.', {
    server_reporters: listOf({
      // `source` is deliberately not allowed: client-side series double-count requests and always
      // carry connection_security_policy="unknown".
      doc: 'Values of the reporter label that count as the server side: destination (sidecars, and ztunnel in ambient mode), waypoint (ambient waypoints, the server side of L7 traffic). The default reads sidecar, ambient and mixed meshes alike.',
      values: ['destination', 'waypoint'],
      default: ['destination', 'waypoint'],
    }),
  }),
  detectors: section(
    'The detectors. Each has the keys enabled, threshold, open_after_polls and close_after_polls, plus its own.',
    {
      unauthorized: detector(
        'unauthorized',
        'Denied requests (HTTP 401/403) and connections denied by an L4 AuthorizationPolicy (ztunnel DENY) per destination against their seasonal baseline; the score is in noise widths (count-aware), and the page of MeshUnauthorizedAccessSpike.',
        { threshold: 5, openAfterPolls: 2, closeAfterPolls: 4 },
        {
          denial_codes: statusCodes({
            doc: 'Response codes that count as denied: 403 is an AuthorizationPolicy denial, 401 a failed JWT.',
            default: [401, 403],
          }),
          denial_flags: responseFlags({
            doc: 'response_flags of TCP connections that count as denied: ztunnel writes DENY when an L4 AuthorizationPolicy refuses a connection. (A sidecar TCP RBAC denial has no flag.) ztunnel may also write CERT_REVOKED or IDENTITY_ERROR, failed authentications you can add here.',
            default: ['DENY'],
          }),
        },
      ),
      new_caller: detector(
        'new_caller',
        "A (caller, destination) edge never seen before, over HTTP or TCP, or a known caller identity calling from a cluster it never called from; the score counts the new callers' requests and connections over the rate window.",
        { threshold: 1, openAfterPolls: 1, closeAfterPolls: 2 },
        {
          new_for: duration({
            doc: 'How long an edge counts as new after it first appears.',
            default: '1h',
            min: '1s',
          }),
          forget_after: duration({
            doc: 'An edge not seen for this long is forgotten, and is new again if it comes back.',
            default: '14d',
            min: '1m',
          }),
          learning_period: duration({
            doc: 'With no history to learn from (warmup.lookback 0s or an empty Prometheus), edges seen this long after start are the known mesh.',
            default: '1h',
            min: '0s',
          }),
        },
      ),
      plaintext: detector(
        'plaintext',
        'Requests and TCP connections that reach a workload without mutual TLS (a sidecar or waypoint says none, ztunnel says unknown); the score counts them over the rate window.',
        { threshold: 1, openAfterPolls: 1, closeAfterPolls: 2 },
        {},
      ),
      traffic: detector(
        'traffic',
        'Request rate per destination (connection rate where it serves no HTTP, as an ambient workload without waypoint) against its seasonal band, both directions; the score is in noise widths.',
        // The very default the NAB benchmark scores (`meshwatch bench nab`).
        { threshold: trafficBaselineOptions.threshold, openAfterPolls: 3, closeAfterPolls: 3 },
        {
          shape_model: boolean({
            doc: 'Experimental: add the learned shape model (a half-hour course of the traffic unlike any the destination has had) and the range rule (a rate beyond every rate it has had) to the score, as the parts shape and new_range. Off by default: on the mesh simulations they also fire on a counter reset at night and on the first weekends of a new destination (docs/baselines.md); about 6.6 KB more per destination.',
            default: false,
          }),
        },
      ),
      errors: detector(
        'errors',
        '5xx ratio per destination against its seasonal band, upwards; the score is in noise widths (count-aware).',
        { threshold: 4, openAfterPolls: 3, closeAfterPolls: 3 },
        {},
      ),
    },
  ),
  audit: section('The road to STRICT mTLS: what meshwatch audit and the daemon judge it over.', {
    lookback: duration({
      doc: "The window over which the daemon's meshwatch_strict_mtls_ready and meshwatch audit's default lookback look for plaintext callers: a destination is ready for a STRICT PeerAuthentication when none reached it for this long. The daemon knows only what its warm-up (warmup.lookback) and its polls since have seen: with a shorter warm-up, the gauge says what that saw.",
      default: '7d',
      // The audit reads history in hourly steps: less than an hour holds none.
      min: '1h',
    }),
  }),
});

/** The schema's typed values, keyed as in the YAML file. */
export type ConfigValues = ValuesOf<typeof CONFIG_SCHEMA>;

/** A field with its dotted path, e.g. `poll.interval`. */
export interface FieldEntry {
  readonly path: string;
  readonly field: Field<unknown>;
}

/** Every field of the schema in file order, depth first. */
export function schemaFields(node: SchemaNode = CONFIG_SCHEMA, prefix = ''): FieldEntry[] {
  if (node.kind === 'field') return [{ path: prefix, field: node }];
  return Object.entries(node.children).flatMap(([key, child]) =>
    schemaFields(child, prefix === '' ? key : `${prefix}.${key}`),
  );
}

/** Every section of the schema with its dotted path (`''` for the top level), in file order. */
export function schemaSections(
  node: Section = CONFIG_SCHEMA,
  prefix = '',
): { path: string; section: Section }[] {
  const nested = Object.entries(node.children).flatMap(([key, child]) =>
    child.kind === 'section' ? schemaSections(child, prefix === '' ? key : `${prefix}.${key}`) : [],
  );
  return [{ path: prefix, section: node }, ...nested];
}

/** The environment variable of a key: `MESHWATCH_` + the path with dots as underscores, upper case. */
export function envVarName(path: string): string {
  return `MESHWATCH_${path.replace(/\./g, '_').toUpperCase()}`;
}

/**
 * `MESHWATCH_*` variables that are not config keys but are read elsewhere (command options);
 * listed here so the typo check does not reject them.
 */
export const NON_CONFIG_ENV_VARS: readonly string[] = ['MESHWATCH_CONFIG'];

/** What a cross-key rule blames: the key (as the message names it) and what is wrong. */
export interface RuleViolation {
  readonly key: string;
  readonly problem: string;
}

/** A rule that involves more than one key; checked after every key is valid on its own. */
export interface CrossKeyRule {
  /** One line for the docs. */
  readonly doc: string;
  /** `isSet` tells whether a key was given (file, env or flag) rather than defaulted. */
  check(values: ConfigValues, isSet: (path: string) => boolean): RuleViolation | undefined;
}

function bothOrNeither(a: string, b: string, valueOf: (v: ConfigValues) => [unknown, unknown]): CrossKeyRule {
  return {
    doc: `${a} and ${b} are set together or not at all.`,
    check(values) {
      const [first, second] = valueOf(values);
      if (first !== undefined && second === undefined)
        return { key: a, problem: `set without ${b} (set both or neither)` };
      if (first === undefined && second !== undefined)
        return { key: b, problem: `set without ${a} (set both or neither)` };
      return undefined;
    },
  };
}

/** A default that depends on other keys: applied when the key is not set, before the rules across keys. */
export interface DerivedDefault {
  readonly path: string;
  derive(values: ConfigValues): void;
}

/**
 * Defaults computed from other keys. prometheus.timeout follows Prometheus's scrape_timeout: a
 * fixed 10s would outlast a poll.interval of 5s, and make the user set a second key for the first.
 */
export const DERIVED_DEFAULTS: readonly DerivedDefault[] = [
  {
    path: 'prometheus.timeout',
    derive(values) {
      values.prometheus.timeout = Math.min(values.prometheus.timeout, values.poll.interval);
    },
  },
];

/** The rules across keys, checked in this order. */
export const CROSS_KEY_RULES: readonly CrossKeyRule[] = [
  {
    doc: 'prometheus.timeout is not longer than poll.interval, so that a poll ends by the time the next one is due; unset, it is the smaller of 10s and poll.interval.',
    check(values) {
      const timeout = values.prometheus.timeout;
      const interval = values.poll.interval;
      if (timeout <= interval) return undefined;
      return {
        key: 'prometheus.timeout',
        problem: `${formatDuration(timeout)} must not be longer than poll.interval (${formatDuration(interval)})`,
      };
    },
  },
  {
    doc: 'warmup.coarse_step is 0s or a whole multiple of warmup.step, so that the recent part of the warm-up starts on a step of its own.',
    check(values) {
      const { coarse_step: coarse, step } = values.warmup;
      if (coarse === 0 || coarse % step === 0) return undefined;
      return {
        key: 'warmup.coarse_step',
        problem: `${formatDuration(coarse)} must be 0s or a whole multiple of warmup.step (${formatDuration(step)})`,
      };
    },
  },
  bothOrNeither('prometheus.basic_auth.username', 'prometheus.basic_auth.password_file', (v) => [
    v.prometheus.basic_auth.username,
    v.prometheus.basic_auth.password_file,
  ]),
  bothOrNeither('prometheus.tls.cert_file', 'prometheus.tls.key_file', (v) => [
    v.prometheus.tls.cert_file,
    v.prometheus.tls.key_file,
  ]),
  {
    doc: 'prometheus.bearer_token_file and prometheus.basic_auth are not both set: a request has one Authorization header.',
    check(values) {
      const bearer = values.prometheus.bearer_token_file !== undefined;
      const basic = values.prometheus.basic_auth.username !== undefined;
      return bearer && basic
        ? {
            key: 'prometheus.bearer_token_file',
            problem: 'set together with prometheus.basic_auth (choose one)',
          }
        : undefined;
    },
  },
];

function detectorCommon(v: ConfigValues['detectors']['plaintext']): DetectorCommonConfig {
  return {
    enabled: v.enabled,
    threshold: v.threshold,
    openAfterPolls: v.open_after_polls,
    closeAfterPolls: v.close_after_polls,
  };
}

/** Only the keys that are set: `Config` leaves unset options out rather than holding `undefined`. */
function defined<T extends object>(object: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

/** Maps validated schema values (snake_case, as in the file) to the `Config` the daemon uses. */
export function toConfig(v: ConfigValues): Config {
  const p = v.prometheus;
  const { username, password_file: passwordFile } = p.basic_auth;
  return {
    prometheus: {
      url: p.url,
      timeoutMs: p.timeout,
      maxResponseBytes: p.max_response_bytes,
      ...defined({ bearerTokenFile: p.bearer_token_file }),
      ...(username !== undefined && passwordFile !== undefined
        ? { basicAuth: { username, passwordFile } }
        : {}),
      headers: p.headers,
      tls: {
        ...defined({
          caFile: p.tls.ca_file,
          certFile: p.tls.cert_file,
          keyFile: p.tls.key_file,
          serverName: p.tls.server_name,
        }),
        insecureSkipVerify: p.tls.insecure_skip_verify,
      },
    },
    poll: {
      intervalMs: v.poll.interval,
      rateWindowMs: v.poll.rate_window,
      queryOffsetMs: v.poll.query_offset,
    },
    warmup: {
      lookbackMs: v.warmup.lookback,
      stepMs: v.warmup.step,
      maxSamplesPerQuery: v.warmup.max_samples_per_query,
      coarseStepMs: v.warmup.coarse_step,
      recentMs: v.warmup.recent,
    },
    limits: {
      maxDestinations: v.limits.max_destinations,
      maxEdges: v.limits.max_edges,
      evictAfterMs: v.limits.evict_after,
      topCallers: v.limits.top_callers,
      exportBands: v.limits.export_bands,
    },
    alertmanager: {
      ...(v.alertmanager.url === undefined ? {} : { url: v.alertmanager.url }),
      timeoutMs: v.alertmanager.timeout,
      resendEveryMs: v.alertmanager.resend_every,
    },
    server: {
      host: v.server.host,
      port: v.server.port,
      ...defined({ webConfigFile: v.server.web_config_file }),
    },
    shutdown: { timeoutMs: v.shutdown.timeout },
    log: { level: v.log.level },
    telemetry: { serverReporters: v.telemetry.server_reporters },
    detectors: {
      unauthorized: {
        ...detectorCommon(v.detectors.unauthorized),
        denialCodes: v.detectors.unauthorized.denial_codes,
        denialFlags: v.detectors.unauthorized.denial_flags,
      },
      new_caller: {
        ...detectorCommon(v.detectors.new_caller),
        newForMs: v.detectors.new_caller.new_for,
        forgetAfterMs: v.detectors.new_caller.forget_after,
        learningMs: v.detectors.new_caller.learning_period,
      },
      plaintext: detectorCommon(v.detectors.plaintext),
      traffic: { ...detectorCommon(v.detectors.traffic), shapeModel: v.detectors.traffic.shape_model },
      errors: detectorCommon(v.detectors.errors),
    },
    audit: { lookbackMs: v.audit.lookback },
  };
}
