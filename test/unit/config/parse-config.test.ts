import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../../src/config/load';
import type { Config } from '../../../src/config/types';
import { DEFAULT_CONFIG, thrownBy } from './defaults';

const parse = (text: string | undefined, env: NodeJS.ProcessEnv = {}, flags = {}): Config =>
  parseConfig(text, env, flags, 'config.yml');
const FIXTURES = join(__dirname, '../../fixtures/config');

describe('parseConfig defaults', () => {
  it('gives the whole default Config for an empty file', () => {
    expect(parse('')).toStrictEqual(DEFAULT_CONFIG);
  });

  it('gives the same defaults for no file and for a file of comments only', () => {
    expect([parse(undefined), parse('# nothing set\n')]).toStrictEqual([DEFAULT_CONFIG, DEFAULT_CONFIG]);
  });

  it('treats a section whose keys are all commented out as absent', () => {
    expect(parse('prometheus:\n  tls:\n    # ca_file: /ca.crt\n')).toStrictEqual(DEFAULT_CONFIG);
  });

  it('ignores environment variables that do not start with MESHWATCH_ and the non-config MESHWATCH_CONFIG', () => {
    expect(parse('', { PATH: '/usr/bin', MESHWATCH_CONFIG: '/etc/meshwatch/config.yml' })).toStrictEqual(
      DEFAULT_CONFIG,
    );
  });
});

describe('parseConfig of a file that sets every key', () => {
  it('maps every key to the Config, durations in milliseconds', () => {
    const config = loadConfig({ file: join(FIXTURES, 'valid-full.yml'), env: {}, flags: {} });
    expect(config).toStrictEqual({
      prometheus: {
        url: 'https://thanos-query.monitoring.svc:10902/prometheus',
        timeoutMs: 15_000,
        maxResponseBytes: 10_485_760,
        basicAuth: { username: 'meshwatch', passwordFile: '/etc/meshwatch/secrets/password' },
        headers: { 'X-Scope-OrgID': 'tenant-a', 'X-Request-Source': 'meshwatch' },
        tls: {
          caFile: '/etc/meshwatch/tls/ca.crt',
          certFile: '/etc/meshwatch/tls/tls.crt',
          keyFile: '/etc/meshwatch/tls/tls.key',
          serverName: 'thanos-query.monitoring.svc',
          insecureSkipVerify: true,
        },
      },
      poll: { intervalMs: 60_000, rateWindowMs: 300_000, queryOffsetMs: 0 },
      warmup: {
        lookbackMs: 7 * 86_400_000,
        stepMs: 30_000,
        maxSamplesPerQuery: 500_000,
        coarseStepMs: 3_600_000,
        recentMs: 2 * 3_600_000,
      },
      limits: {
        maxDestinations: 200,
        maxEdges: 5000,
        evictAfterMs: 7_200_000,
        topCallers: 5,
        exportBands: 'learned',
      },
      alertmanager: { url: 'http://alertmanager.monitoring:9093', timeoutMs: 5_000, resendEveryMs: 30_000 },
      server: { host: '127.0.0.1', port: 0 },
      shutdown: { timeoutMs: 5_400_000 },
      log: { level: 'debug' },
      telemetry: { serverReporters: ['destination'] },
      detectors: {
        unauthorized: {
          enabled: true,
          threshold: 6,
          openAfterPolls: 1,
          closeAfterPolls: 5,
          denialCodes: [403],
          denialFlags: ['DENY', 'CERT_REVOKED'],
        },
        new_caller: {
          enabled: true,
          threshold: 2,
          openAfterPolls: 1,
          closeAfterPolls: 2,
          newForMs: 1_800_000,
          forgetAfterMs: 30 * 86_400_000,
          learningMs: 0,
        },
        plaintext: { enabled: false, threshold: 0.5, openAfterPolls: 3, closeAfterPolls: 4 },
        traffic: { enabled: false, threshold: 5, openAfterPolls: 3, closeAfterPolls: 3, shapeModel: true },
        errors: { enabled: true, threshold: 3.5, openAfterPolls: 2, closeAfterPolls: 3 },
      },
      audit: { lookbackMs: 3 * 86_400_000 },
    } satisfies Config);
  });

  it('keeps a bearer token file and allows a lookback of 0s (no warm-up)', () => {
    const config = loadConfig({ file: join(FIXTURES, 'valid-bearer-token.yml'), env: {}, flags: {} });
    expect(config).toStrictEqual({
      ...DEFAULT_CONFIG,
      prometheus: { ...DEFAULT_CONFIG.prometheus, bearerTokenFile: '/var/run/secrets/meshwatch/token' },
      warmup: { ...DEFAULT_CONFIG.warmup, lookbackMs: 0 },
    });
  });
});

describe('parseConfig from environment variables', () => {
  it('converts each variable by its key type', () => {
    const config = parse('', {
      MESHWATCH_PROMETHEUS_URL: 'http://prometheus:9090',
      MESHWATCH_PROMETHEUS_HEADERS: 'X-Scope-OrgID=tenant-a,X-Trace=a=b',
      MESHWATCH_PROMETHEUS_TLS_INSECURE_SKIP_VERIFY: 'true',
      MESHWATCH_POLL_INTERVAL: '1m',
      MESHWATCH_WARMUP_LOOKBACK: '0s',
      MESHWATCH_SERVER_PORT: '8080',
      MESHWATCH_LOG_LEVEL: 'warn',
      MESHWATCH_TELEMETRY_SERVER_REPORTERS: 'waypoint',
      MESHWATCH_DETECTORS_PLAINTEXT_THRESHOLD: '2.5',
    });
    expect(config).toStrictEqual({
      ...DEFAULT_CONFIG,
      prometheus: {
        ...DEFAULT_CONFIG.prometheus,
        url: 'http://prometheus:9090',
        headers: { 'X-Scope-OrgID': 'tenant-a', 'X-Trace': 'a=b' },
        tls: { insecureSkipVerify: true },
      },
      poll: { intervalMs: 60_000, rateWindowMs: 120_000, queryOffsetMs: 0 },
      warmup: { ...DEFAULT_CONFIG.warmup, lookbackMs: 0 },
      server: { host: '0.0.0.0', port: 8080 },
      log: { level: 'warn' },
      telemetry: { serverReporters: ['waypoint'] },
      detectors: {
        ...DEFAULT_CONFIG.detectors,
        plaintext: { ...DEFAULT_CONFIG.detectors.plaintext, threshold: 2.5 },
      },
    });
  });

  it('treats an empty variable as unset', () => {
    expect(parse('server:\n  port: 9000\n', { MESHWATCH_SERVER_PORT: '' }).server.port).toBe(9000);
  });
});

describe('precedence', () => {
  const file = 'prometheus:\n  url: http://from-file:9090\n';
  const env = { MESHWATCH_PROMETHEUS_URL: 'http://from-env:9090' };
  const flags = { prometheusUrl: 'http://from-flag:9090' };

  it('takes a flag over the environment, the environment over the file, the file over the default', () => {
    const urls = [
      parse(file, env, flags),
      parse(file, env, {}),
      parse(file, {}, {}),
      parse(undefined, {}, {}),
    ].map((config) => config.prometheus.url);
    expect(urls).toEqual([
      'http://from-flag:9090',
      'http://from-env:9090',
      'http://from-file:9090',
      'http://localhost:9090',
    ]);
  });

  it('still rejects a bad file value that the environment would override', () => {
    expect(thrownBy(() => parse('server:\n  port: 70000\n', { MESHWATCH_SERVER_PORT: '9000' }))).toEqual({
      code: 'MW_ERR_CONFIG',
      key: 'server.port',
      message: 'config.yml: server.port: 70000 is out of range (allowed: 0 to 65535)',
    });
  });
});

describe('parseConfig errors that name the variable or flag', () => {
  it.each([
    [
      'a value of the wrong type',
      { MESHWATCH_SERVER_PORT: 'abc' },
      'server.port',
      'MESHWATCH_SERVER_PORT (server.port): "abc" is not an integer (allowed: 0 to 65535)',
    ],
    [
      'a bare number as a duration',
      { MESHWATCH_POLL_INTERVAL: '30' },
      'poll.interval',
      'MESHWATCH_POLL_INTERVAL (poll.interval): "30" is not a duration (use a number and a unit: ms, s, m, h, d, w; e.g. 30s)',
    ],
    [
      'a map entry without =',
      { MESHWATCH_PROMETHEUS_HEADERS: 'X-Scope-OrgID' },
      'prometheus.headers',
      'MESHWATCH_PROMETHEUS_HEADERS (prometheus.headers): "X-Scope-OrgID" is not Name=value (allowed: Name=value pairs separated by commas)',
    ],
    [
      'an inline credential header',
      { MESHWATCH_PROMETHEUS_HEADERS: 'authorization=Bearer x' },
      'prometheus.headers',
      'MESHWATCH_PROMETHEUS_HEADERS (prometheus.headers): "authorization" is not allowed (credentials come from files: use prometheus.bearer_token_file or prometheus.basic_auth)',
    ],
    [
      'a list item that is not allowed',
      { MESHWATCH_TELEMETRY_SERVER_REPORTERS: 'destination,source' },
      'telemetry.server_reporters',
      'MESHWATCH_TELEMETRY_SERVER_REPORTERS (telemetry.server_reporters): "source" is not allowed (allowed: one or more of destination, waypoint)',
    ],
    [
      'a list item given twice',
      { MESHWATCH_TELEMETRY_SERVER_REPORTERS: 'waypoint,waypoint' },
      'telemetry.server_reporters',
      'MESHWATCH_TELEMETRY_SERVER_REPORTERS (telemetry.server_reporters): "waypoint" is listed twice (allowed: one or more of destination, waypoint)',
    ],
    [
      'a boolean spelled yes',
      { MESHWATCH_DETECTORS_PLAINTEXT_ENABLED: 'yes' },
      'detectors.plaintext.enabled',
      'MESHWATCH_DETECTORS_PLAINTEXT_ENABLED (detectors.plaintext.enabled): "yes" is not a boolean (allowed: true, false)',
    ],
    [
      'a number that is not one',
      { MESHWATCH_DETECTORS_PLAINTEXT_THRESHOLD: '1,5' },
      'detectors.plaintext.threshold',
      'MESHWATCH_DETECTORS_PLAINTEXT_THRESHOLD (detectors.plaintext.threshold): "1,5" is not a number (allowed: a number greater than 0)',
    ],
    [
      'a cross-key rule broken by the environment alone',
      { MESHWATCH_PROMETHEUS_BASIC_AUTH_USERNAME: 'meshwatch' },
      'prometheus.basic_auth.username',
      'MESHWATCH_PROMETHEUS_BASIC_AUTH_USERNAME (prometheus.basic_auth.username): set without prometheus.basic_auth.password_file (set both or neither)',
    ],
    [
      'an unknown variable close to a known one',
      { MESHWATCH_POLL_INTERVALL: '30s' },
      '',
      'MESHWATCH_POLL_INTERVALL: unknown environment variable (did you mean MESHWATCH_POLL_INTERVAL?)',
    ],
    [
      'an inline secret variable, pointing at its file-based key',
      { MESHWATCH_PROMETHEUS_BEARER_TOKEN: 's3cr3t' },
      '',
      'MESHWATCH_PROMETHEUS_BEARER_TOKEN: unknown environment variable (did you mean MESHWATCH_PROMETHEUS_BEARER_TOKEN_FILE?)',
    ],
    [
      'an unknown variable close to nothing',
      { MESHWATCH_BANANA: '1' },
      '',
      'MESHWATCH_BANANA: unknown environment variable (the variables meshwatch reads are listed in docs/configuration.md)',
    ],
  ])('rejects %s', (_what, env, key, message) => {
    expect(thrownBy(() => parse('', env))).toEqual({ code: 'MW_ERR_CONFIG', key, message });
  });

  it('names the flag when the flag value is bad', () => {
    expect(thrownBy(() => parse('', {}, { prometheusUrl: 'localhost:9090' }))).toEqual({
      code: 'MW_ERR_CONFIG',
      key: 'prometheus.url',
      message:
        '--prometheus-url (prometheus.url): "localhost:9090" is not an http or https URL (e.g. http://prometheus:9090)',
    });
  });

  it('defaults prometheus.timeout to poll.interval when the interval is shorter than 10s', () => {
    expect(parse('', { MESHWATCH_POLL_INTERVAL: '5s' }).prometheus.timeoutMs).toBe(5_000);
    expect(parse('poll: { interval: 2s }').prometheus.timeoutMs).toBe(2_000);
    expect(parse('poll: { interval: 1m }').prometheus.timeoutMs).toBe(10_000);
  });

  it('keeps an explicit prometheus.timeout up to poll.interval, and refuses a longer one', () => {
    expect(parse('poll: { interval: 5s }\nprometheus: { timeout: 5s }').prometheus.timeoutMs).toBe(5_000);
    expect(parse('poll: { interval: 5s }\nprometheus: { timeout: 3s }').prometheus.timeoutMs).toBe(3_000);
    expect(parse('poll: { interval: 1m }\nprometheus: { timeout: 20s }').prometheus.timeoutMs).toBe(20_000);
    expect(thrownBy(() => parse('prometheus: { timeout: 6s }', { MESHWATCH_POLL_INTERVAL: '5s' }))).toEqual({
      code: 'MW_ERR_CONFIG',
      key: 'prometheus.timeout',
      message: 'config.yml: prometheus.timeout: 6s must not be longer than poll.interval (5s)',
    });
  });
});

describe('parseConfig errors in the YAML itself', () => {
  it.each([
    [
      'an unknown tag',
      'poll:\n  interval: !seconds 30\n',
      'config.yml: invalid YAML at line 2, column 13: Unresolved tag: !seconds',
    ],
    [
      'more than one document',
      'poll: {}\n---\nserver: {}\n',
      'config.yml: invalid YAML at line 2, column 1: Source contains multiple documents; please use YAML.parseAllDocuments()',
    ],
    [
      'a scalar document',
      'hello\n',
      'config.yml: the document is "hello", not a mapping (keys allowed at the top level: prometheus, poll, warmup, limits, alertmanager, server, shutdown, log, telemetry, detectors, audit)',
    ],
    [
      'a key that is not a string',
      '? [poll]\n: 1\n',
      'config.yml: unknown key ["poll"] (keys allowed at the top level: prometheus, poll, warmup, limits, alertmanager, server, shutdown, log, telemetry, detectors, audit)',
    ],
  ])('rejects %s', (_what, text, message) => {
    expect(thrownBy(() => parse(text)).message).toBe(message);
  });
});

describe('loadConfig', () => {
  it('gives the defaults when no file is named', () => {
    expect(loadConfig({ env: {}, flags: {} })).toStrictEqual(DEFAULT_CONFIG);
  });

  it('stops with a clear message when the named file does not exist', () => {
    const file = join(FIXTURES, 'no-such-file.yml');
    expect(thrownBy(() => loadConfig({ file, env: {}, flags: {} }))).toEqual({
      code: 'MW_ERR_CONFIG',
      key: '',
      message: `${file}: config file not found`,
    });
  });

  it('stops with a clear message when the named file is a directory', () => {
    expect(thrownBy(() => loadConfig({ file: FIXTURES, env: {}, flags: {} })).message).toBe(
      `${FIXTURES}: is a directory, not a config file`,
    );
  });
});
