import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { startHttpServer, type HttpServer } from '../../src/adapters/http/server';
import { parseWebConfig, tlsOptionsOf } from '../../src/adapters/http/web-config';
import { startMeshwatch, type RunningMeshwatch } from '../helpers/meshwatch';
import { freePort, waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';

// meshwatch's certificate (../fixtures/web-config) and Prometheus's client certificate are signed by the
// test CA of ../fixtures/tls; the basic-auth user `prometheus` has the password in basic-auth.password.
const WEB = resolve(__dirname, '../fixtures/web-config');
const TLS = resolve(__dirname, '../fixtures/tls');
const WEB_CONFIG = join(WEB, 'web-config.yml');
const SERVER_NAME = 'meshwatch.meshwatch.test';
const PASSWORD = readFileSync(join(TLS, 'basic-auth.password'), 'utf8').trim();
const pem = (path: string): Buffer => readFileSync(path);

/** What a request got back; `error` when no HTTP answer came (the TLS handshake failed, the socket closed). */
interface Answer {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  error?: string;
}

/** One https request to meshwatch, verifying its certificate against the test CA. */
function call(
  port: number,
  path: string,
  options: {
    client?: 'prometheus' | 'stranger' | 'none';
    user?: string;
    password?: string;
    method?: string;
  } = {},
): Promise<Answer> {
  const client = options.client ?? 'prometheus';
  const auth = options.user === undefined ? undefined : `${options.user}:${options.password ?? ''}`;
  return new Promise((resolveAnswer) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        servername: SERVER_NAME,
        ca: pem(join(TLS, 'ca.crt')),
        ...(client === 'none'
          ? {}
          : { cert: pem(join(WEB, `${client}.crt`)), key: pem(join(WEB, `${client}.key`)) }),
        ...(auth === undefined ? {} : { auth }),
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolveAnswer({ status: res.statusCode, headers: res.headers, body }));
        res.on('error', (err) => resolveAnswer({ error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => resolveAnswer({ error: err.code ?? err.message }));
    req.end();
  });
}

const authorized = { user: 'prometheus', password: PASSWORD };

describe('meshwatch serving its endpoints over TLS with client certificates and basic auth (server.web_config_file)', () => {
  let prometheus: RunningPrometheus;
  let mw: RunningMeshwatch;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    // The real thing on the scrape side: the tls_config and basic_auth a ServiceMonitor renders to.
    const scrape = (job: string, password: string): string =>
      [
        `  - job_name: ${job}`,
        '    scheme: https',
        '    tls_config:',
        `      ca_file: ${JSON.stringify(join(TLS, 'ca.crt'))}`,
        `      cert_file: ${JSON.stringify(join(WEB, 'prometheus.crt'))}`,
        `      key_file: ${JSON.stringify(join(WEB, 'prometheus.key'))}`,
        `      server_name: ${SERVER_NAME}`,
        '    basic_auth:',
        '      username: prometheus',
        `      password: ${JSON.stringify(password)}`,
        '    static_configs:',
        `      - targets: ["127.0.0.1:${port}"]`,
      ].join('\n');
    prometheus = await startPrometheus({
      extraScrapeConfigs: [scrape('meshwatch', PASSWORD), scrape('meshwatch-wrong-password', 'wrong')].join(
        '\n',
      ),
    });
    mw = await startMeshwatch(
      {
        prometheus: { url: prometheus.url, timeout: '900ms' },
        poll: { interval: '1s', rate_window: '10s' },
        warmup: { lookback: '0s' },
        server: { port, web_config_file: WEB_CONFIG },
      },
      // The helper waits on plain http; this server speaks https only.
      { waitReady: false },
    );
    await waitFor(
      `meshwatch to answer on https://127.0.0.1:${port}/livez (stderr: ${mw.stderr()})`,
      async () => {
        if (mw.child.exitCode !== null) throw new Error(`meshwatch exited: ${mw.stderr()}${mw.stdout()}`);
        return (await call(port, '/livez')).status === 200;
      },
      30_000,
      250,
    );
  });

  afterAll(async () => {
    await mw?.stop();
    await prometheus?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('serves /metrics over https to a client with a verified certificate and the right password, with the configured headers', async () => {
    const answer = await call(port, '/metrics', authorized);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^meshwatch_build_info\{version="[^"]+"\} 1$/m);
    expect(answer.headers?.['x-content-type-options']).toBe('nosniff');
  });

  it('answers 401 with WWW-Authenticate: Basic to a wrong password, an unknown user and no credentials, on every protected endpoint', async () => {
    const attempts = [
      { user: 'prometheus', password: 'wrong' },
      { user: 'intruder', password: PASSWORD },
      {},
    ];
    const routes = [
      { path: '/metrics' },
      { path: '/api/v1/findings' },
      { path: '/' },
      { path: '/-/reload', method: 'POST' },
      { path: '/no-such-page' },
    ];
    const answers = await Promise.all(
      routes.flatMap((route) => attempts.map((attempt) => call(port, route.path, { ...route, ...attempt }))),
    );
    expect(answers.map((a) => [a.status, a.headers?.['www-authenticate'], a.body])).toEqual(
      answers.map(() => [401, 'Basic', 'Unauthorized\n']),
    );
  });

  it('reloads the configuration on an authenticated POST /-/reload', async () => {
    const answer = await call(port, '/-/reload', { ...authorized, method: 'POST' });
    expect([answer.status, answer.body]).toEqual([200, 'configuration reloaded\n']);
  });

  it('keeps /livez and /readyz open without basic auth, for kubelet probes, still over TLS', async () => {
    await waitFor(
      'meshwatch to be ready',
      async () => (await call(port, '/readyz')).status === 200,
      30_000,
      250,
    );
    const [livez, readyz] = await Promise.all([call(port, '/livez'), call(port, '/readyz')]);
    expect([livez.status, livez.body, readyz.status, readyz.body]).toEqual([200, 'ok\n', 200, 'ready\n']);
  });

  it('refuses the TLS connection of a client without a certificate or with one from another CA', async () => {
    const [none, stranger] = await Promise.all([
      call(port, '/livez', { client: 'none' }),
      call(port, '/livez', { client: 'stranger' }),
    ]);
    expect([none.status, stranger.status]).toEqual([undefined, undefined]);
    expect([none.error, stranger.error]).toEqual([expect.any(String), expect.any(String)]);
    await waitFor(
      'the refused handshakes in the log',
      async () => mw.logLines().filter((l) => l.msg === 'TLS handshake failed').length >= 2,
      10_000,
      100,
    );
  });

  it('does not answer plain HTTP on its port', async () => {
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('is scraped by a real Prometheus over https with basic auth and a client certificate, and refuses its wrong password', async () => {
    type Target = { labels: { job: string }; health: string; lastError: string };
    let targets: Target[] = [];
    await waitFor(
      'both scrape jobs to have been scraped',
      async () => {
        const body = (await (await fetch(`${prometheus.url}/api/v1/targets`)).json()) as {
          data: { activeTargets: Target[] };
        };
        targets = body.data.activeTargets;
        return targets.length === 2 && targets.every((t) => t.health !== 'unknown');
      },
      60_000,
      250,
    );
    const byJob = Object.fromEntries(targets.map((t) => [t.labels.job, t]));
    expect(byJob.meshwatch).toMatchObject({ health: 'up', lastError: '' });
    expect(byJob['meshwatch-wrong-password']).toMatchObject({ health: 'down' });
    expect(byJob['meshwatch-wrong-password']?.lastError).toMatch(/401 Unauthorized/);

    const query = encodeURIComponent('meshwatch_build_info{job="meshwatch"}');
    let result: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
    await waitFor(
      'meshwatch_build_info in Prometheus',
      async () => {
        const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${query}`)).json()) as {
          data: { result: typeof result };
        };
        result = body.data.result;
        return result.length > 0;
      },
      30_000,
      250,
    );
    expect(result.map((r) => [r.metric.job, r.metric.instance, r.value[1]])).toEqual([
      ['meshwatch', `127.0.0.1:${port}`, '1'],
    ]);
  });
});

/** The SHA-256 fingerprint of the certificate a TLS server on `port` presents. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolveFingerprint, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port, servername: SERVER_NAME, ca: pem(join(TLS, 'ca.crt')) },
      () => {
        resolveFingerprint(socket.getPeerCertificate().fingerprint256);
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

describe.each([
  // [client_auth_type, [no certificate, a certificate from the test CA, one from another CA]]
  ['VerifyClientCertIfGiven', [200, 200, 'refused']],
  ['RequireAnyClientCert', ['refused', 200, 200]],
  ['RequestClientCert', [200, 200, 200]],
  ['NoClientCert', [200, 200, 200]],
] as const)('client_auth_type %s', (clientAuth, expected) => {
  let server: HttpServer;

  beforeAll(async () => {
    const ca = clientAuth === 'NoClientCert' ? '' : `  client_ca_file: ${join(TLS, 'ca.crt')}\n`;
    const text = `tls_server_config:\n  cert_file: meshwatch.crt\n  key_file: meshwatch.key\n  client_auth_type: ${clientAuth}\n${ca}`;
    const config = parseWebConfig(text, join(WEB, 'inline.yml'));
    const tlsOptions = tlsOptionsOf(config.tls!, 'inline.yml');
    const deps = { registry: new Registry(), notReadyReason: () => undefined, findings: () => ({}) };
    server = await startHttpServer(deps, '127.0.0.1', 0, { config, tlsOptions });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('lets in, or refuses, a client without a certificate, with a verified one and with one from another CA, as Go does', async () => {
    const answers = await Promise.all(
      (['none', 'prometheus', 'stranger'] as const).map((client) => call(server.port, '/livez', { client })),
    );
    expect(answers.map((a) => a.status ?? 'refused')).toEqual(expected);
  });
});

describe('a renewed certificate', () => {
  let dir: string;
  let mw: RunningMeshwatch | undefined;

  afterAll(async () => {
    await mw?.stop();
    removeDir(dir);
  });

  it('is served to new connections without a restart, as cert-manager renews it in place', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshwatch-web-'));
    copyFileSync(join(WEB, 'meshwatch.crt'), join(dir, 'tls.crt'));
    copyFileSync(join(WEB, 'meshwatch.key'), join(dir, 'tls.key'));
    // Relative paths: relative to the web config file, not to meshwatch's working directory.
    writeFileSync(join(dir, 'web.yml'), 'tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n');
    const port = await freePort();
    mw = await startMeshwatch(
      { server: { port, web_config_file: join(dir, 'web.yml') }, warmup: { lookback: '0s' } },
      { waitReady: false },
    );
    const fingerprint = (name: string): string =>
      new X509Certificate(pem(join(WEB, `${name}.crt`))).fingerprint256;
    await waitFor(
      'meshwatch to serve TLS',
      async () => (await call(port, '/livez', { client: 'none' })).status === 200,
      30_000,
      250,
    );
    expect(await servedFingerprint(port)).toBe(fingerprint('meshwatch'));

    copyFileSync(join(WEB, 'meshwatch-renewed.key'), join(dir, 'tls.key'));
    copyFileSync(join(WEB, 'meshwatch-renewed.crt'), join(dir, 'tls.crt'));
    await waitFor(
      'the renewed certificate to be served',
      async () => (await servedFingerprint(port)) === fingerprint('meshwatch-renewed'),
      60_000,
      500,
    );
    expect(mw.logLines().filter((l) => l.msg === 'reloaded the TLS certificate and key')).toHaveLength(1);
  });
});

describe('a bad web config file', () => {
  it('stops meshwatch at start with a message naming the file and the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshwatch-web-'));
    try {
      const file = join(dir, 'web.yml');
      writeFileSync(file, `tls_server_config:\n  cert_fil: ${join(WEB, 'meshwatch.crt')}\n`);
      const mw = await startMeshwatch({ server: { web_config_file: file } }, { waitReady: false });
      const code = await mw.exited;
      await mw.stop();
      expect([code, mw.stderr()]).toEqual([
        1,
        `meshwatch: invalid configuration: server.web_config_file ${file}: unknown key tls_server_config.cert_fil (keys allowed under tls_server_config: cert, key, client_ca, cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans, min_version, max_version, cipher_suites, prefer_server_cipher_suites, curve_preferences)\n`,
      ]);
    } finally {
      removeDir(dir);
    }
  });
});
