import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createPrometheusClient } from '../../src/adapters/prometheus/client';
import { quoteQuery } from '../../src/adapters/prometheus/decode';
import type { PrometheusClientOptions, PrometheusHttpClient } from '../../src/adapters/prometheus/types';
import { samplesOf } from '../helpers/metrics-text';
import { startMeshwatch, waitForMetrics, type RunningMeshwatch } from '../helpers/meshwatch';
import { waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { PLAINTEXT_IN_MESH_SCENARIO, startSimulatorForTest, type TestSimulator } from '../helpers/simulator';

const EMPTY = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } });

const options = (url: string, overrides: Partial<PrometheusClientOptions> = {}): PrometheusClientOptions => ({
  url,
  timeoutMs: 5000,
  maxResponseBytes: 1000,
  headers: {},
  tls: { insecureSkipVerify: false },
  ...overrides,
});

const clients: PrometheusHttpClient[] = [];
function client(o: PrometheusClientOptions): PrometheusHttpClient {
  const created = createPrometheusClient(o);
  clients.push(created);
  return created;
}

/** The message of the error `promise` rejects with (with the error's name). */
async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('expected the promise to reject');
}

const tooLarge = (query: string, size: string, cap = 1000): string =>
  `Prometheus response for query ${quoteQuery(query)} ${size}, over the limit of ${cap} bytes: raise prometheus.max_response_bytes or narrow the query (aggregate with sum by)`;

/** A loopback server answering every request with `answer`, for compressed bodies the stub cannot send. */
async function serve(answer: (res: ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

const servers: Server[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

describe('the response size cap, against a loopback server', () => {
  it('counts a gzip body after decompression, though its Content-Length is under the cap', async () => {
    const body = EMPTY.padEnd(5000);
    const gzipped = gzipSync(body);
    expect(gzipped.length).toBeLessThan(1000);
    const { url, server } = await serve((res) => {
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': String(gzipped.length) });
      res.end(gzipped);
    });
    servers.push(server);
    expect(await failure(client(options(url)).query('up'))).toEqual({
      name: 'PrometheusResponseError',
      message: tooLarge('up', 'is 5000 bytes'),
    });
  });

  it('refuses a declared length over the cap at once, without reading the body', async () => {
    const { url, server } = await serve((res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(10 ** 9) });
      res.write(EMPTY);
      // ...and nothing more: a client that read on would wait for the deadline.
    });
    servers.push(server);
    const started = Date.now();
    expect(await failure(client(options(url, { timeoutMs: 5000 })).query('up'))).toEqual({
      name: 'PrometheusResponseError',
      message: tooLarge('up', `is ${10 ** 9} bytes (its Content-Length)`),
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('still decodes a gzip body under the cap', async () => {
    const gzipped = gzipSync(EMPTY);
    const { url, server } = await serve((res) => {
      res.writeHead(200, { 'Content-Encoding': 'gzip' });
      res.end(gzipped);
    });
    servers.push(server);
    expect(await client(options(url)).query('up')).toEqual({ data: [], warnings: [] });
  });

  it('gives a lower bound for a body that trickles past the cap until the deadline', async () => {
    const { url, server } = await serve((res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const timer = setInterval(
        () => (res.destroyed ? clearInterval(timer) : res.write('x'.repeat(100))),
        20,
      );
    });
    servers.push(server);
    const { name, message } = await failure(client(options(url, { timeoutMs: 500 })).query('up'));
    expect(name).toBe('PrometheusResponseError');
    const bytes = Number(/is at least (\d+) bytes/.exec(message)?.[1]);
    expect(message).toBe(tooLarge('up', `is at least ${bytes} bytes`));
    // Over the cap, short of the 16 MiB at which the count stops on its own: the deadline ended it.
    expect(bytes).toBeGreaterThan(1000);
    expect(bytes).toBeLessThan(16 * 2 ** 20);
  });

  it('stops counting a body that never ends at four times the cap, well before the deadline', async () => {
    const cap = 4 * 2 ** 20;
    const chunk = 'x'.repeat(64 * 1024);
    let written = 0;
    const { url, server } = await serve((res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const more = (): void => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    });
    servers.push(server);
    const started = Date.now();
    const { message } = await failure(
      client(options(url, { maxResponseBytes: cap, timeoutMs: 20000 })).query('up'),
    );
    expect(Date.now() - started).toBeLessThan(10000);
    const bytes = Number(/is at least (\d+) bytes/.exec(message)?.[1]);
    expect(message).toBe(tooLarge('up', `is at least ${bytes} bytes`, cap));
    expect(bytes).toBeGreaterThanOrEqual(4 * cap);
    expect(bytes).toBeLessThan(4 * cap + 2 ** 20);
    // The server is stopped by the closed connection, not by a read of the whole stream.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = written;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(written).toBe(after);
  });
});

describe('the response size cap, against the real Prometheus', () => {
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    prometheus = await startPrometheus();
  });

  afterAll(async () => {
    await prometheus?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('names the size of the decompressed answer, as Prometheus sends it gzipped without a length', async () => {
    const query = 'vector(1)';
    const form = new URLSearchParams({ query, time: '1764633600' });
    const direct = await fetch(`${prometheus.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Accept-Encoding': 'gzip' },
      body: form.toString(),
    });
    expect(direct.headers.get('content-encoding')).toBe('gzip');
    const size = Buffer.byteLength(await direct.text());
    const error = await failure(
      client(options(prometheus.url, { maxResponseBytes: 20 })).query(query, { timeMs: 1764633600_000 }),
    );
    expect(error).toEqual({
      name: 'PrometheusResponseError',
      message: tooLarge(query, `is ${size} bytes`, 20),
    });
  });
});

describe('meshwatch polling a real Prometheus with a small max_response_bytes', () => {
  let sim: TestSimulator;
  let prometheus: RunningPrometheus;
  let mw: RunningMeshwatch;

  beforeAll(async () => {
    sim = await startSimulatorForTest({
      // Any small mesh: what matters here is the size of Prometheus's answer, not its contents.
      scenario: { yaml: PLAINTEXT_IN_MESH_SCENARIO },
      epochMs: Date.now() - 60_000,
    });
    prometheus = await startPrometheus({ targets: [sim.target] });
    await waitFor(
      'Prometheus to scrape the simulated mesh',
      async () => {
        const res = await fetch(`${prometheus.url}/api/v1/query?query=istio_requests_total`);
        return ((await res.json()) as { data: { result: unknown[] } }).data.result.length > 0;
      },
      30000,
      250,
    );
    mw = await startMeshwatch({
      prometheus: { url: prometheus.url, timeout: '900ms', max_response_bytes: 200 },
      poll: { interval: '1s', rate_window: '10s' },
      warmup: { lookback: '0s' },
    });
  });

  afterAll(async () => {
    await mw?.stop('SIGKILL');
    await prometheus?.stop();
    await sim?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('fails each poll, counted and logged with the size, the cap and the key to raise', async () => {
    const text = await waitForMetrics(
      mw,
      'two failed polls',
      (t) => (samplesOf(t, 'meshwatch_poll_failures_total')[0]?.value ?? 0) >= 2,
      20000,
    );
    expect(samplesOf(text, 'meshwatch_prometheus_up')[0]?.value).toBe(0);
    const failed = mw
      .logLines()
      .filter((l) => l.msg === 'poll failed; keeping the last findings, marked stale');
    expect(failed.length).toBeGreaterThanOrEqual(2);
    const error = failed[0]?.error as { code: string; message: string; query: string };
    const bytes = Number(/ is (\d+) bytes,/.exec(error.message)?.[1]);
    expect(bytes).toBeGreaterThan(200);
    expect(error).toEqual({
      code: 'MW_ERR_PROMETHEUS_RESPONSE',
      query: error.query,
      message: tooLarge(error.query, `is ${bytes} bytes`, 200),
    });
    expect(samplesOf(text, 'meshwatch_polls_total')[0]?.value).toBeGreaterThanOrEqual(2);
  });
});
