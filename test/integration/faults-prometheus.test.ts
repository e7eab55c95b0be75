/**
 * The fault matrix's rows about Prometheus being unavailable or answering wrongly: each runs the
 * real daemon against a real Prometheus scraping the simulator, with a fault-injecting proxy in
 * front of it for the answers a real Prometheus cannot be made to give. Every row proves: no
 * crash, no finding the scenario does not cause (and none opened or closed by the fault), the
 * metric and the log line that say what happened.
 */
import { startFaultProxy, type Fault, type FaultProxy, type ProxiedRequest } from '../helpers/fault-proxy';
import { samplesOf } from '../helpers/metrics-text';
import { startMeshwatch, waitForMetrics, type RunningMeshwatch } from '../helpers/meshwatch';
import { freePort, waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { PLAINTEXT_IN_MESH_SCENARIO, startSimulatorForTest, type TestSimulator } from '../helpers/simulator';

// The one finding the scenario causes (legacy/reporting calls shop/catalog in plaintext); any other is false.
const FINDING = 'plaintext/Kubernetes/shop/catalog';
const POLL_FAILED = 'poll failed; keeping the last findings, marked stale';
const MAX_RESPONSE_BYTES = 256 * 1024;

const config = (url: string) => ({
  prometheus: { url, timeout: '900ms', max_response_bytes: MAX_RESPONSE_BYTES },
  poll: { interval: '1s', rate_window: '10s' },
  warmup: { lookback: '10m' },
  log: { level: 'debug' },
});

/** The body of /api/v1/findings. */
type Findings = Awaited<ReturnType<RunningMeshwatch['findings']>> & { last_success?: string | null };

const value = (text: string, name: string): number => samplesOf(text, name)[0]?.value ?? NaN;

/** The daemon's state that every row compares before and after its fault. */
interface Mark {
  logs: number;
  failures: number;
  warnings: number;
  firstSeen: unknown;
}

/** Waits until polls succeed and the scenario's finding, and only it, is open and fresh. */
async function steady(mw: RunningMeshwatch): Promise<Findings> {
  let doc: Findings | undefined;
  await waitFor(
    `fresh findings with ${FINDING} alone`,
    async () => {
      doc = await mw.findings();
      return (
        doc.status === 'ok' &&
        doc.findings.length === 1 &&
        doc.findings[0]?.id === FINDING &&
        doc.findings[0]?.stale === false
      );
    },
    60000,
    250,
  );
  await waitForMetrics(mw, 'meshwatch_prometheus_up 1', (t) => value(t, 'meshwatch_prometheus_up') === 1);
  return doc as Findings;
}

async function mark(mw: RunningMeshwatch): Promise<Mark> {
  const doc = await steady(mw);
  const text = await mw.metrics();
  return {
    logs: mw.logLines().length,
    failures: value(text, 'meshwatch_poll_failures_total'),
    warnings: value(text, 'meshwatch_prometheus_query_warnings_total'),
    firstSeen: doc.findings[0]?.first_seen,
  };
}

/** Log lines written since `m`. */
const since = (mw: RunningMeshwatch, m: Mark): Array<Record<string, unknown>> => mw.logLines().slice(m.logs);

/** The process is alive and answers /livez. */
async function expectAlive(mw: RunningMeshwatch): Promise<void> {
  expect(mw.child.exitCode).toBeNull();
  expect(mw.child.signalCode).toBeNull();
  expect((await fetch(`${mw.url}/livez`)).status).toBe(200);
}

/** While a fault makes polls fail: the last findings are kept, marked stale, and Prometheus counts as down. */
async function expectFailingPolls(mw: RunningMeshwatch, m: Mark, polls = 2): Promise<string> {
  const text = await waitForMetrics(
    mw,
    `${polls} more failed polls`,
    (t) => value(t, 'meshwatch_poll_failures_total') >= m.failures + polls,
  );
  await expectAlive(mw);
  const doc = await mw.findings();
  expect(doc.status).toBe('stale');
  expect(doc.findings.map((f) => [f.id, f.stale, f.first_seen])).toEqual([[FINDING, true, m.firstSeen]]);
  expect(value(await mw.metrics(), 'meshwatch_prometheus_up')).toBe(0);
  return text;
}

/** After the fault: polls succeed again by themselves, with the very finding of before (not closed and reopened). */
async function expectRecovered(mw: RunningMeshwatch, m: Mark): Promise<void> {
  const doc = await steady(mw);
  await expectAlive(mw);
  expect(doc.findings.map((f) => [f.id, f.first_seen])).toEqual([[FINDING, m.firstSeen]]);
  const transitions = since(mw, m).filter((l) => l.msg === 'finding opened' || l.msg === 'finding closed');
  expect(transitions).toEqual([]);
}

/** The poll failures logged since `m`: at least one, and each one the fault's. */
function expectPollErrors(mw: RunningMeshwatch, m: Mark, error: Record<string, unknown>): void {
  const failed = since(mw, m).filter((l) => l.msg === POLL_FAILED);
  expect(failed.length).toBeGreaterThan(0);
  for (const line of failed) expect(line).toMatchObject({ level: 'error', error });
}

describe('when Prometheus is unavailable', () => {
  let sim: TestSimulator;
  let prometheus: RunningPrometheus | undefined;
  let mw: RunningMeshwatch;
  let port: number;

  beforeAll(async () => {
    sim = await startSimulatorForTest({
      scenario: { yaml: PLAINTEXT_IN_MESH_SCENARIO },
      epochMs: Date.now() - 60_000,
    });
    // Nothing listens on the port until the first test starts Prometheus there.
    port = await freePort();
    mw = await startMeshwatch(config(`http://127.0.0.1:${port}`));
  });

  afterAll(async () => {
    await mw?.stop('SIGKILL');
    await prometheus?.stop();
    await sim?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('is live but not ready while Prometheus is down at start, retries the warm-up, and becomes ready once Prometheus is up', async () => {
    await waitFor(
      'a second attempt at the warm-up',
      async () => mw.logLines().some((l) => (l.attempt as number) >= 2),
      30000,
      250,
    );
    await expectAlive(mw);
    const readyz = await fetch(`${mw.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toContain('warming up');
    const text = await mw.metrics();
    expect(value(text, 'meshwatch_warmup_complete')).toBe(0);
    expect(value(text, 'meshwatch_prometheus_up')).toBe(0);
    expect(value(text, 'meshwatch_polls_total')).toBe(0);
    expect((await mw.findings()).findings).toEqual([]);
    const retries = mw
      .logLines()
      .filter(
        (l) =>
          l.msg ===
          'warm-up: fetching history failed; retrying (meshwatch stays unready until warm-up completes)',
      );
    expect(retries.map((l) => l.attempt).slice(0, 2)).toEqual([1, 2]);
    for (const line of retries) {
      expect(line).toMatchObject({
        level: 'error',
        retryInSeconds: 1,
        error: { code: 'MW_ERR_PROMETHEUS_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') },
      });
    }

    prometheus = await startPrometheus({ targets: [sim.target], port });
    await waitFor('/readyz 200', async () => (await fetch(`${mw.url}/readyz`)).status === 200, 60000, 250);
    expect(value(await mw.metrics(), 'meshwatch_warmup_complete')).toBe(1);
    expect(mw.logLines().map((l) => l.msg)).toContain('warm-up complete; polling');
    const doc = await steady(mw);
    expect(doc.findings.map((f) => f.id)).toEqual([FINDING]);
    await expectAlive(mw);
  });

  it('keeps its findings marked stale with meshwatch_prometheus_up 0 while Prometheus is down mid-run, and is back by itself', async () => {
    const m = await mark(mw);
    await prometheus?.stop();
    const text = await expectFailingPolls(mw, m);
    expect(value(text, 'meshwatch_polls_total')).toBeGreaterThan(
      value(text, 'meshwatch_poll_failures_total'),
    );
    expect((await fetch(`${mw.url}/readyz`)).status).toBe(200);
    expectPollErrors(mw, m, {
      code: 'MW_ERR_PROMETHEUS_UNAVAILABLE',
      message: expect.stringMatching(/^cannot reach Prometheus at http:\/\/127\.0\.0\.1:\d+\/: /),
      query: expect.any(String),
    });

    await prometheus?.start();
    await expectRecovered(mw, m);
  });
});

describe('when the path to Prometheus is slow or flaps, or an answer is wrong', () => {
  let sim: TestSimulator;
  let prometheus: RunningPrometheus;
  let proxy: FaultProxy;
  let mw: RunningMeshwatch;

  /** The poll's mesh query (it tags each part with a meshwatch_kind label; the label check's does not). */
  const meshQuery = (r: ProxiedRequest): boolean =>
    r.path === '/api/v1/query' && (r.form.get('query') ?? '').includes('"meshwatch_kind"');

  beforeAll(async () => {
    sim = await startSimulatorForTest({
      scenario: { yaml: PLAINTEXT_IN_MESH_SCENARIO },
      epochMs: Date.now() - 60_000,
    });
    prometheus = await startPrometheus({ targets: [sim.target] });
    proxy = await startFaultProxy(prometheus.url);
    mw = await startMeshwatch(config(proxy.url));
    await steady(mw);
  });

  afterAll(async () => {
    await mw?.stop('SIGKILL');
    await proxy?.close();
    await prometheus?.stop();
    await sim?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  afterEach(() => proxy.clear());

  /** Proves a row whose fault makes every poll fail while it lasts. */
  async function proveFailingPolls(
    fault: Fault,
    error: Record<string, unknown>,
    match?: (r: ProxiedRequest) => boolean,
  ): Promise<void> {
    const m = await mark(mw);
    const faultedBefore = proxy.counts().faulted;
    proxy.inject(fault, { match });
    await expectFailingPolls(mw, m);
    expect(proxy.counts().faulted).toBeGreaterThan(faultedBefore);
    expectPollErrors(mw, m, error);
    proxy.clear();
    await expectRecovered(mw, m);
  }

  it('fails a poll whose answer takes longer than prometheus.timeout as a timeout, counts it, and polls fine next', async () => {
    await proveFailingPolls(
      { kind: 'delay', ms: 2500 },
      {
        code: 'MW_ERR_PROMETHEUS_UNAVAILABLE',
        message: expect.stringContaining('no complete answer within 900 ms (prometheus.timeout)'),
      },
    );
  });

  it('rides out a Prometheus that flaps up and down: failures counted, no finding opened or closed', async () => {
    const m = await mark(mw);
    const requestsBefore = proxy.counts().requests;
    let failures = m.failures;
    for (let flap = 0; flap < 4; flap++) {
      await proxy.down();
      const text = await waitForMetrics(
        mw,
        `a failed poll while down (flap ${flap})`,
        (t) => value(t, 'meshwatch_poll_failures_total') > failures,
      );
      failures = value(text, 'meshwatch_poll_failures_total');
      await expectAlive(mw);
      expect((await mw.findings()).findings.map((f) => [f.id, f.stale])).toEqual([[FINDING, true]]);
      await proxy.up();
      await waitForMetrics(
        mw,
        `a good poll while up (flap ${flap})`,
        (t) => value(t, 'meshwatch_prometheus_up') === 1,
      );
    }
    expect(failures).toBeGreaterThanOrEqual(m.failures + 4);
    expect(proxy.counts().requests).toBeGreaterThan(requestsBefore);
    expectPollErrors(mw, m, {
      code: 'MW_ERR_PROMETHEUS_UNAVAILABLE',
      message: expect.stringMatching(/^cannot reach Prometheus at /),
    });
    await expectRecovered(mw, m);
  });

  it('fails a poll answered 502 with an HTML page by a proxy, naming the status and the page', async () => {
    await proveFailingPolls(
      {
        kind: 'respond',
        status: 502,
        headers: { 'content-type': 'text/html' },
        body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
      },
      {
        code: 'MW_ERR_PROMETHEUS_QUERY',
        status: 502,
        message: expect.stringMatching(
          /^Prometheus returned 502 for query ".*": <html> <head><title>502 Bad Gateway<\/title>/,
        ),
      },
    );
  });

  it("fails a poll answered 400 with Prometheus's own error JSON, naming its errorType and error", async () => {
    // The real Prometheus answers a query it cannot parse with its error JSON.
    await proveFailingPolls(
      {
        kind: 'rewrite',
        form: (form) => {
          form.set('query', 'sum(');
          return form;
        },
      },
      {
        code: 'MW_ERR_PROMETHEUS_QUERY',
        status: 400,
        message: expect.stringMatching(
          /^Prometheus returned 400 bad_data for query ".*": invalid parameter "query": .*parse error/,
        ),
      },
    );
  });

  it('fails a poll whose answer is malformed JSON', async () => {
    await proveFailingPolls(
      { kind: 'transform', body: (body) => body.replace('"value":[', '"value":[,') },
      {
        code: 'MW_ERR_PROMETHEUS_RESPONSE',
        message: expect.stringMatching(/^Prometheus returned a body that is not JSON for query /),
      },
    );
  });

  it('fails a poll whose answer is cut off mid-body by a closed connection, saying how much came', async () => {
    await proveFailingPolls(
      { kind: 'cut', fraction: 0.5 },
      {
        code: 'MW_ERR_PROMETHEUS_UNAVAILABLE',
        message: expect.stringMatching(
          /^the answer of Prometheus at http:\/\/127\.0\.0\.1:\d+\/ to query ".*" was cut off after \d+ of \d+ bytes: the connection closed mid-body \(aborted\)$/,
        ),
      },
    );
  });

  it('refuses an answer over prometheus.max_response_bytes, naming its size, the limit and the key', async () => {
    // Valid JSON, padded with whitespace past the limit, sent chunked: only counting finds the size.
    await proveFailingPolls(
      {
        kind: 'transform',
        chunked: true,
        body: (body) => `${body.slice(0, -1)}${' '.repeat(MAX_RESPONSE_BYTES)}}`,
      },
      {
        code: 'MW_ERR_PROMETHEUS_RESPONSE',
        message: expect.stringMatching(
          new RegExp(
            `^Prometheus response for query ".*" is \\d+ bytes, over the limit of ${MAX_RESPONSE_BYTES} bytes: raise prometheus.max_response_bytes`,
          ),
        ),
      },
    );
  });

  it('fails a poll answered 200 with status "error", naming the error', async () => {
    await proveFailingPolls(
      {
        kind: 'respond',
        status: 200,
        body: JSON.stringify({
          status: 'error',
          errorType: 'internal',
          error: 'expanding series: store gateway unavailable',
        }),
      },
      {
        code: 'MW_ERR_PROMETHEUS_RESPONSE',
        message: expect.stringMatching(
          /: status is "error", not "success": expanding series: store gateway unavailable$/,
        ),
      },
    );
  });

  it('fails a poll whose mesh answer holds NaN, +Inf and -Inf rates rather than learn or judge them', async () => {
    const kinds = ['NaN', '+Inf', '-Inf'];
    await proveFailingPolls(
      {
        kind: 'transform',
        body: (body) => {
          let i = 0;
          return body.replace(
            /("value":\[[-+.\deE]+,)"[^"]*"/g,
            (_all, head: string) => `${head}"${kinds[i++ % 3]}"`,
          );
        },
      },
      {
        code: 'MW_ERR_PROMETHEUS_RESPONSE',
        message: expect.stringMatching(
          /^Prometheus returned \d+ series whose rate is NaN, \+Inf or -Inf for query "label_replace\(.*"; a sum of rates never is, so the answer is not used$/,
        ),
        query: expect.stringContaining('istio_requests_total'),
      },
      meshQuery,
    );
  });

  it('computes findings from an answer with partial-response warnings, and counts and logs each warning', async () => {
    const m = await mark(mw);
    const warning = 'partial response: store-gateway 10.0.3.7:10901 is unavailable';
    proxy.inject(
      {
        kind: 'transform',
        body: (body) => JSON.stringify({ ...(JSON.parse(body) as object), warnings: [warning] }),
      },
      { match: meshQuery },
    );
    const lastSuccess = Date.parse(String(((await mw.findings()) as Findings).last_success));
    await waitForMetrics(
      mw,
      'two counted warnings',
      (t) => value(t, 'meshwatch_prometheus_query_warnings_total') >= m.warnings + 2,
    );
    const text = await mw.metrics();
    expect(value(text, 'meshwatch_poll_failures_total')).toBe(m.failures);
    expect(value(text, 'meshwatch_prometheus_up')).toBe(1);
    const doc = (await mw.findings()) as Findings;
    expect(doc.status).toBe('ok');
    expect(Date.parse(String(doc.last_success))).toBeGreaterThan(lastSuccess);
    expect(doc.findings.map((f) => [f.id, f.stale, f.first_seen])).toEqual([[FINDING, false, m.firstSeen]]);
    const warned = since(mw, m).filter(
      (l) => l.msg === 'Prometheus returned a warning with the result; it may be partial',
    );
    expect(warned.length).toBeGreaterThanOrEqual(2);
    for (const line of warned) {
      expect(line).toMatchObject({
        level: 'warn',
        warning,
        query: expect.stringContaining('istio_requests_total'),
      });
    }
    await expectAlive(mw);
    proxy.clear();
    await expectRecovered(mw, m);
  });
});
