import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { createPrometheusClient } from '../../src/adapters/prometheus/client';
import type { PrometheusClientOptions, PrometheusHttpClient } from '../../src/adapters/prometheus/types';
import {
  ConfigError,
  PrometheusQueryError,
  PrometheusResponseError,
  PrometheusUnavailable,
  type MeshwatchError,
} from '../../src/errors';
import { matcher, regexAlternation } from '../../src/signals/promql';
import { freePort, waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { startStubServer, type StubServer } from '../helpers/stub-server';

const TLS = resolve(__dirname, '../fixtures/tls');
const SERVER_NAME = 'prometheus.meshwatch.test';
const PASSWORD = readFileSync(join(TLS, 'basic-auth.password'), 'utf8').trim();

/** Label values that try every way out of a PromQL string literal or into a wider regex match. */
const HOSTILE = [
  'plain',
  'quote"inside',
  'back\\slash',
  'trailing\\',
  'new\nline',
  'x"} or vector(1) or up{a="',
  '.*',
  'a|b',
  'a',
  'b',
];

/** The exposition text of a gauge per hostile value, its value being the index. */
function hostileMetrics(): string {
  const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const lines = HOSTILE.map((v, i) => `meshwatch_test_hostile{value="${escape(v)}"} ${i}`);
  return `# TYPE meshwatch_test_hostile gauge\n${lines.join('\n')}\n`;
}

const base = (url: string, overrides: Partial<PrometheusClientOptions> = {}): PrometheusClientOptions => ({
  url,
  timeoutMs: 5000,
  maxResponseBytes: 10 * 1024 * 1024,
  headers: {},
  tls: { insecureSkipVerify: false },
  ...overrides,
});

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<MeshwatchError> {
  try {
    await promise;
  } catch (err) {
    return err as MeshwatchError;
  }
  throw new Error('expected the promise to reject');
}

const clients: PrometheusHttpClient[] = [];
/** A client closed after all tests. */
function client(options: PrometheusClientOptions): PrometheusHttpClient {
  const created = createPrometheusClient(options);
  clients.push(created);
  return created;
}

afterAll(() => {
  for (const c of clients) c.close();
});

describe('against the real Prometheus behind TLS with client certificates and basic auth', () => {
  let exporter: StubServer;
  let prometheus: RunningPrometheus;
  let dir: string;
  let url: string;
  const secured = (overrides: Partial<PrometheusClientOptions> = {}): PrometheusClientOptions =>
    base(url, {
      basicAuth: { username: 'meshwatch', passwordFile: join(TLS, 'basic-auth.password') },
      tls: {
        caFile: join(TLS, 'ca.crt'),
        certFile: join(TLS, 'client.crt'),
        keyFile: join(TLS, 'client.key'),
        serverName: SERVER_NAME,
        insecureSkipVerify: false,
      },
      ...overrides,
    });
  let prom: PrometheusHttpClient;

  beforeAll(async () => {
    exporter = await startStubServer({
      kind: 'respond',
      headers: { 'Content-Type': 'text/plain; version=0.0.4' },
      body: hostileMetrics(),
    });
    dir = mkdtempSync(join(tmpdir(), 'meshwatch-web-'));
    const webConfig = join(dir, 'web.yml');
    writeFileSync(
      webConfig,
      [
        'tls_server_config:',
        `  cert_file: ${JSON.stringify(join(TLS, 'server.crt'))}`,
        `  key_file: ${JSON.stringify(join(TLS, 'server.key'))}`,
        '  client_auth_type: RequireAndVerifyClientCert',
        `  client_ca_file: ${JSON.stringify(join(TLS, 'ca.crt'))}`,
        'basic_auth_users:',
        `  meshwatch: ${JSON.stringify(readFileSync(join(TLS, 'basic-auth.bcrypt'), 'utf8').trim())}`,
        '',
      ].join('\n'),
    );
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${exporter.port}`],
      extraArgs: [`--web.config.file=${webConfig}`],
      readyProbe: async (port) => {
        url = `https://127.0.0.1:${port}/`;
        prom ??= client(secured());
        return (await prom.query('vector(1)')).data.length === 1;
      },
    });
    // Six scrapes at 1s, so that a range query over the last three whole seconds has every step.
    await waitFor('six scrapes of the exporter', async () => {
      const { data } = await prom.query('count_over_time(meshwatch_test_hostile{value="plain"}[1m])');
      return (data[0]?.value ?? 0) >= 6;
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.close();
    if (dir) removeDir(dir);
    if (prometheus) removeDir(prometheus.dir);
  });

  it('decodes an instant query into samples with labels and values', async () => {
    const result = await prom.query('meshwatch_test_hostile');
    const byValue = [...result.data].sort((a, b) => a.value - b.value);
    expect({ ...result, data: byValue.map(({ labels, value }) => ({ labels, value })) }).toEqual({
      data: HOSTILE.map((v, i) => ({
        labels: {
          __name__: 'meshwatch_test_hostile',
          instance: `127.0.0.1:${exporter.port}`,
          job: 'targets',
          value: v,
        },
        value: i,
      })),
      warnings: [],
    });
  });

  it('decodes scalars, infinities and NaN at the time asked for', async () => {
    const timeMs = Date.now() - 1234;
    const results = await Promise.all(
      ['scalar(vector(3))', '1/0', '-1/0', '0/0'].map((q) => prom.query(q, { timeMs })),
    );
    expect(results).toEqual(
      [3, Infinity, -Infinity, NaN].map((value) => ({ data: [{ labels: {}, value, timeMs }], warnings: [] })),
    );
  });

  it('decodes a range query with one sample per step, start and end included', async () => {
    const endMs = Math.floor(Date.now() / 1000) * 1000;
    const result = await prom.queryRange('meshwatch_test_hostile{value="plain"}', {
      startMs: endMs - 3000,
      endMs,
      stepMs: 1000,
    });
    expect(result).toEqual({
      data: [
        {
          labels: {
            __name__: 'meshwatch_test_hostile',
            instance: `127.0.0.1:${exporter.port}`,
            job: 'targets',
            value: 'plain',
          },
          samples: [3000, 2000, 1000, 0].map((ago) => [endMs - ago, 0]),
        },
      ],
      warnings: [],
    });
  });

  it("reports a bad query as PrometheusQueryError with Prometheus's own error text", async () => {
    const error = (await rejection(prom.query('sum('))) as PrometheusQueryError;
    expect(error).toBeInstanceOf(PrometheusQueryError);
    expect({
      message: error.message,
      status: error.status,
      errorType: error.errorType,
      query: error.query,
    }).toEqual({
      message:
        'Prometheus returned 400 bad_data for query "sum(": invalid parameter "query": 1:5: parse error: unclosed left parenthesis',
      status: 400,
      errorType: 'bad_data',
      query: 'sum(',
    });
  });

  it('matches each hostile label value, escaped, to exactly the series that carries it', async () => {
    const matched = await Promise.all(
      HOSTILE.map(async (v) => {
        const { data } = await prom.query(`meshwatch_test_hostile{${matcher('value', '=', v)}}`);
        return data.map((s) => s.labels.value);
      }),
    );
    expect(matched).toEqual(HOSTILE.map((v) => [v]));
  });

  it('matches an escaped alternation of hostile values to exactly those series', async () => {
    const wanted = ['.*', 'a|b', 'quote"inside', 'back\\slash', 'new\nline'];
    const { data } = await prom.query(`meshwatch_test_hostile{value=~"${regexAlternation(wanted)}"}`);
    expect(data.map((s) => s.labels.value).sort()).toEqual([...wanted].sort());
  });

  it('matches nothing with the alternation of no values', async () => {
    const { data } = await prom.query(`meshwatch_test_hostile{value=~"${regexAlternation([])}"}`);
    expect(data).toEqual([]);
  });

  it('refuses a server certificate from another CA, naming the certificate problem', async () => {
    const wrongCa = client(secured({ tls: { ...secured().tls, caFile: join(TLS, 'other-ca.crt') } }));
    const error = await rejection(wrongCa.query('vector(1)'));
    expect(error).toBeInstanceOf(PrometheusUnavailable);
    expect(error.message).toBe(
      `cannot reach Prometheus at ${url}: TLS certificate problem: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE); check prometheus.tls.ca_file and prometheus.tls.server_name`,
    );
  });

  it('refuses a certificate that does not name the host when no server name is set', async () => {
    const noServerName = client(secured({ tls: { ...secured().tls, serverName: undefined } }));
    const error = await rejection(noServerName.query('vector(1)'));
    expect(error).toBeInstanceOf(PrometheusUnavailable);
    expect(error.message).toBe(
      `cannot reach Prometheus at ${url}: TLS certificate problem: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: (ERR_TLS_CERT_ALTNAME_INVALID); check prometheus.tls.ca_file and prometheus.tls.server_name`,
    );
  });

  it('skips verification only when insecureSkipVerify is set', async () => {
    const insecure = client(
      secured({
        tls: {
          certFile: join(TLS, 'client.crt'),
          keyFile: join(TLS, 'client.key'),
          insecureSkipVerify: true,
        },
      }),
    );
    expect((await insecure.query('vector(7)')).data.map((s) => s.value)).toEqual([7]);
  });

  it('cannot reach a server that requires a client certificate without one', async () => {
    const noClientCert = client(
      secured({ tls: { caFile: join(TLS, 'ca.crt'), serverName: SERVER_NAME, insecureSkipVerify: false } }),
    );
    const error = await rejection(noClientCert.query('vector(1)'));
    expect(error).toBeInstanceOf(PrometheusUnavailable);
    // Go's TLS server answers a missing client certificate with the `bad_certificate` alert.
    expect(error.message).toBe(
      `cannot reach Prometheus at ${url}: TLS handshake failed: sslv3 alert bad certificate (ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE); check prometheus.tls (client certificate, https on the port)`,
    );
  });

  it('reports a wrong password as a 401 that points at the auth settings, without the password', async () => {
    const wrongDir = mkdtempSync(join(tmpdir(), 'meshwatch-pw-'));
    try {
      writeFileSync(join(wrongDir, 'password'), 'not-the-password\n');
      const wrong = client(
        secured({ basicAuth: { username: 'meshwatch', passwordFile: join(wrongDir, 'password') } }),
      );
      const error = (await rejection(wrong.query('vector(1)'))) as PrometheusQueryError;
      expect(error).toBeInstanceOf(PrometheusQueryError);
      expect({ message: error.message, status: error.status }).toEqual({
        message:
          'Prometheus returned 401 for query "vector(1)": Unauthorized (check prometheus.basic_auth, prometheus.bearer_token_file and prometheus.headers)',
        status: 401,
      });
    } finally {
      removeDir(wrongDir);
    }
  });

  it('keeps the basic-auth password out of every serialization of an error', async () => {
    const error = await rejection(prom.query('sum('));
    const texts = [
      error.message,
      String(error.stack),
      JSON.stringify(error),
      JSON.stringify(error.cause),
      JSON.stringify(pino.stdSerializers.err(error)),
    ];
    const encoded = Buffer.from(`meshwatch:${PASSWORD}`).toString('base64');
    expect(texts.filter((t) => t.includes(PASSWORD) || t.includes(encoded))).toEqual([]);
  });
});

describe('when Prometheus cannot be reached', () => {
  it('reports a refused connection as PrometheusUnavailable naming the URL and the cause', async () => {
    const port = await freePort();
    const error = await rejection(client(base(`http://127.0.0.1:${port}`)).query('up'));
    expect(error).toBeInstanceOf(PrometheusUnavailable);
    expect({ message: error.message, cause: error.cause }).toEqual({
      message: `cannot reach Prometheus at http://127.0.0.1:${port}/: connect ECONNREFUSED 127.0.0.1:${port}`,
      cause: Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), { code: 'ECONNREFUSED' }),
    });
  });
});

describe('against a stub server, for faults the real one cannot produce', () => {
  let stub: StubServer;
  let dir: string;
  const TOKEN = 'tok-3f9a-very-secret';

  beforeAll(async () => {
    stub = await startStubServer();
    dir = mkdtempSync(join(tmpdir(), 'meshwatch-token-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  });

  afterAll(async () => {
    await stub.close();
    removeDir(dir);
  });

  beforeEach(() => {
    stub.requests.length = 0;
  });

  const ok = (data: unknown, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ status: 'success', data, ...extra });

  it('POSTs the query form under the URL path prefix with the bearer token and the tenant header', async () => {
    stub.behave((request) => ({
      kind: 'respond',
      body: ok({ resultType: request.url.includes('query_range') ? 'matrix' : 'vector', result: [] }),
    }));
    const c = client(
      base(`${stub.url}prefix?dedup=false`, {
        bearerTokenFile: join(dir, 'token'),
        headers: { 'X-Scope-OrgID': 'tenant-a' },
      }),
    );
    await c.query('up{job="a"}', { timeMs: 1700000000123 });
    await c.queryRange('up', { startMs: 1700000000000, endMs: 1700000060000, stepMs: 15000 });
    expect(
      stub.requests.map((r) => ({
        method: r.method,
        url: r.url,
        body: r.body,
        contentType: r.headers['content-type'],
        authorization: r.headers.authorization,
        tenant: r.headers['x-scope-orgid'],
      })),
    ).toEqual([
      {
        method: 'POST',
        url: '/prefix/api/v1/query?dedup=false',
        body: 'query=up%7Bjob%3D%22a%22%7D&timeout=5&time=1700000000.123',
        contentType: 'application/x-www-form-urlencoded',
        authorization: `Bearer ${TOKEN}`,
        tenant: 'tenant-a',
      },
      {
        method: 'POST',
        url: '/prefix/api/v1/query_range?dedup=false',
        body: 'query=up&start=1700000000&end=1700000060&step=15&timeout=5',
        contentType: 'application/x-www-form-urlencoded',
        authorization: `Bearer ${TOKEN}`,
        tenant: 'tenant-a',
      },
    ]);
  });

  it('sends the new token once the token file is rotated', async () => {
    stub.behave({ kind: 'respond', body: ok({ resultType: 'vector', result: [] }) });
    const tokenFile = join(dir, 'rotating');
    writeFileSync(tokenFile, 'first-token');
    const c = client(base(stub.url, { bearerTokenFile: tokenFile }));
    await c.query('up');
    writeFileSync(tokenFile, 'second-token-longer');
    await c.query('up');
    expect(stub.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer first-token',
      'Bearer second-token-longer',
    ]);
  });

  it('reports an unreadable token file as ConfigError naming the key', async () => {
    const c = client(base(stub.url, { bearerTokenFile: join(dir, 'missing') }));
    const error = (await rejection(c.query('up'))) as ConfigError;
    expect({ name: error.name, key: error.key, message: error.message }).toEqual({
      name: 'ConfigError',
      key: 'prometheus.bearer_token_file',
      message: `cannot read prometheus.bearer_token_file ${join(dir, 'missing')}: ENOENT: no such file or directory, stat '${join(dir, 'missing')}'`,
    });
  });

  it('surfaces warnings and infos of a partial response', async () => {
    stub.behave({
      kind: 'respond',
      body: ok(
        { resultType: 'vector', result: [] },
        { warnings: ['partial response: store down'], infos: ['info'] },
      ),
    });
    expect(await client(base(stub.url)).query('up')).toEqual({
      data: [],
      warnings: ['partial response: store down', 'info'],
    });
  });

  it('reports malformed JSON as PrometheusResponseError', async () => {
    stub.behave({ kind: 'respond', body: '{"status":"success","data":{' });
    const error = await rejection(client(base(stub.url)).query('up'));
    expect(error).toBeInstanceOf(PrometheusResponseError);
    expect(error.message).toBe(
      'Prometheus returned a body that is not JSON for query "up" (body starts "{\\"status\\":\\"success\\",\\"data\\":{")',
    );
  });

  it('reports a body of the wrong shape as PrometheusResponseError', async () => {
    stub.behave({
      kind: 'respond',
      body: ok({ resultType: 'vector', result: [{ metric: {}, value: 'x' }] }),
    });
    const error = await rejection(client(base(stub.url)).query('up'));
    expect(error).toBeInstanceOf(PrometheusResponseError);
    expect(error.message).toBe(
      'Prometheus returned an unexpected response for query "up": data.result[0].value is not a [time, value] pair',
    );
  });

  it("reports a proxy's error page as PrometheusQueryError with its status", async () => {
    stub.behave({
      kind: 'respond',
      status: 503,
      headers: { 'Content-Type': 'text/html' },
      body: '<h1>503 Service Unavailable</h1>\n',
    });
    const error = (await rejection(client(base(stub.url)).query('up'))) as PrometheusQueryError;
    expect({
      name: error.name,
      message: error.message,
      status: error.status,
      errorType: error.errorType,
    }).toEqual({
      name: 'PrometheusQueryError',
      message: 'Prometheus returned 503 for query "up": <h1>503 Service Unavailable</h1>',
      status: 503,
      errorType: undefined,
    });
  });

  it('does not follow a redirect, which could carry the credentials elsewhere', async () => {
    stub.behave({
      kind: 'respond',
      status: 302,
      headers: { Location: 'http://elsewhere.example/api/v1/query' },
      body: '',
    });
    const error = await rejection(
      client(base(stub.url, { bearerTokenFile: join(dir, 'token') })).query('up'),
    );
    expect({ name: error.name, message: error.message, requests: stub.requests.length }).toEqual({
      name: 'PrometheusResponseError',
      message:
        'Prometheus redirected query "up" (302) to http://elsewhere.example/api/v1/query: set prometheus.url to the final address',
      requests: 1,
    });
  });

  it('gives up on a server that never answers after the timeout, as PrometheusUnavailable', async () => {
    stub.behave({ kind: 'hang' });
    const started = Date.now();
    const error = await rejection(client(base(stub.url, { timeoutMs: 300 })).query('up'));
    const elapsedMs = Date.now() - started;
    expect(error.message).toBe(
      `cannot reach Prometheus at ${stub.url}: no complete answer within 300 ms (prometheus.timeout) for query "up"`,
    );
    expect(error).toBeInstanceOf(PrometheusUnavailable);
    expect(elapsedMs).toBeLessThan(2000);
  });

  it('gives up on a body that trickles forever, though bytes keep arriving', async () => {
    stub.behave({ kind: 'stream', chunk: ' ', everyMs: 20 });
    const error = await rejection(client(base(stub.url, { timeoutMs: 300 })).query('up'));
    expect(error).toBeInstanceOf(PrometheusUnavailable);
    expect(error.message).toBe(
      `cannot reach Prometheus at ${stub.url}: no complete answer within 300 ms (prometheus.timeout) for query "up"`,
    );
  });

  const tooLarge = (query: string, size: string): string =>
    `Prometheus response for query "${query}" ${size}, over the limit of 1000 bytes: raise prometheus.max_response_bytes or narrow the query (aggregate with sum by)`;

  it('refuses a body over maxResponseBytes that declares its length', async () => {
    stub.behave({
      kind: 'respond',
      headers: { 'Content-Length': '5000' },
      body: ok({ resultType: 'vector', result: [] }).padEnd(5000),
    });
    const error = await rejection(client(base(stub.url, { maxResponseBytes: 1000 })).query('up'));
    expect({ name: error.name, message: error.message }).toEqual({
      name: 'PrometheusResponseError',
      message: tooLarge('up', 'is 5000 bytes (its Content-Length)'),
    });
  });

  it('refuses a chunked body over maxResponseBytes', async () => {
    stub.behave({
      kind: 'respond',
      chunked: true,
      body: ok({ resultType: 'vector', result: [] }).padEnd(5000),
    });
    const error = await rejection(client(base(stub.url, { maxResponseBytes: 1000 })).query('up'));
    expect({ name: error.name, message: error.message }).toEqual({
      name: 'PrometheusResponseError',
      message: tooLarge('up', 'is 5000 bytes'),
    });
  });

  it('cuts off a body that never ends once it passes maxResponseBytes', async () => {
    stub.behave({ kind: 'stream', chunk: 'x'.repeat(256) });
    const error = await rejection(
      client(base(stub.url, { maxResponseBytes: 1000, timeoutMs: 1000 })).query('up'),
    );
    const bytes = /is at least (\d+) bytes/.exec(error.message)?.[1] ?? '';
    expect({ name: error.name, message: error.message }).toEqual({
      name: 'PrometheusResponseError',
      message: tooLarge('up', `is at least ${bytes} bytes`),
    });
    expect(Number(bytes)).toBeGreaterThan(1000);
  });

  it("rejects with the caller's abort reason, not a Prometheus error", async () => {
    stub.behave({ kind: 'hang' });
    const controller = new AbortController();
    const pending = client(base(stub.url)).query('up', { signal: controller.signal });
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
  });

  it('never puts the bearer token in a message, a cause or their serializations, even when the server echoes it', async () => {
    stub.behave((request) => ({
      kind: 'respond',
      status: 422,
      body: JSON.stringify({
        status: 'error',
        errorType: 'execution',
        error: `denied ${request.headers.authorization}`,
      }),
    }));
    const error = await rejection(
      client(base(stub.url, { bearerTokenFile: join(dir, 'token') })).query('up'),
    );
    const texts = [
      error.message,
      String(error.stack),
      JSON.stringify(error),
      JSON.stringify(error.cause),
      String(error.cause),
      JSON.stringify(pino.stdSerializers.err(error)),
    ];
    expect(error.message).toBe('Prometheus returned 422 execution for query "up": denied Bearer <redacted>');
    expect(texts.filter((t) => t.includes(TOKEN))).toEqual([]);
  });
});
