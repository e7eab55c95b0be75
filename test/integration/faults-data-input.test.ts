import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../src/sim/server';
import { samplesOf } from '../helpers/metrics-text';
import { startMeshwatch, waitForMetrics, type RunningMeshwatch } from '../helpers/meshwatch';
import { freePort, waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { scenarioFrom } from '../helpers/simulator';

/**
 * Input that is wrong, into a real Prometheus: churn far beyond meshwatch's caps, label values
 * built to break exposition, JSON and PromQL, and a remote-write Prometheus whose newest samples
 * arrive late (poll.query_offset).
 */
const RULES = resolve(__dirname, '../../rules/meshwatch.rules.yml');

const value = (text: string, name: string, labels: Record<string, string> = {}): number =>
  samplesOf(text, name, labels)[0]?.value ?? NaN;

/** Rewrites a Prometheus's config file and reloads it, as a config-reloader sidecar would. */
async function reconfigure(prometheus: RunningPrometheus, yaml: string): Promise<void> {
  writeFileSync(join(prometheus.dir, 'prometheus.yml'), yaml);
  expect((await fetch(`${prometheus.url}/-/reload`, { method: 'POST' })).status).toBe(200);
}

/** Instant query results of a PromQL expression. */
async function promQuery(
  prometheus: RunningPrometheus,
  expr: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (
    (await res.json()) as {
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    }
  ).data.result;
}

/** A Prometheus configuration scraping `jobs` (name to targets) every second. */
function scrapeYaml(jobs: Record<string, string[]>, extra: string[] = []): string {
  return (
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      ...extra,
      'scrape_configs:',
      ...Object.entries(jobs).flatMap(([job, targets]) => [
        `  - job_name: ${job}`,
        '    static_configs:',
        `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      ]),
    ].join('\n') + '\n'
  );
}

/** How long the churn lasts, from 40 s after the scenario's epoch. */
const CHURN_SECONDS = 240;

/**
 * Ten times the churn, steadily: into a mesh of one edge (frontend -> catalog) a new short-lived
 * caller arrives every second (a CronJob fleet, each job with its own service account, calling
 * catalog for 8 s) and a new workload every 10 s (a preview environment, called for 30 s and
 * then deleted), for four minutes, against caps of 6 destinations and 30 edges. catalog's
 * sidecar restarts every 20 s, as a rollout would, so the series the gone jobs left in it go
 * too: what Prometheus holds at any moment stays the same size while the names keep changing.
 */
function churnScenario(): string {
  const jobs = Array.from({ length: CHURN_SECONDS }, (_, i) => i);
  const previews = Array.from({ length: CHURN_SECONDS / 10 }, (_, i) => i);
  const rollouts = Array.from({ length: CHURN_SECONDS / 20 }, (_, i) => 60 + i * 20);
  return [
    'name: fault-churn',
    'seed: 21',
    'pattern: { daily_amplitude: 0, weekend_factor: 1, noise: 0 }',
    'workloads:',
    '  - { name: frontend, namespace: shop }',
    '  - { name: catalog, namespace: shop }',
    ...previews.map((k) => `  - { name: app-${k}, namespace: preview }`),
    ...jobs.map((i) => `  - { name: job-${i}, namespace: jobs }`),
    'calls:',
    '  - { from: shop/frontend, to: shop/catalog, rate: 20 }',
    'restarts:',
    ...rollouts.map((at) => `  - { workload: shop/catalog, replica: 0, at: ${at}s }`),
    // Deleted with its last request: its series go at the moment its traffic ends.
    ...previews.map((k) => `  - { workload: preview/app-${k}, replica: 0, at: ${40 + k * 10 + 30}s }`),
    'incidents:',
    ...previews.map(
      (k) =>
        `  - { kind: new_caller, at: ${40 + k * 10}s, duration: 30s, from: shop/frontend, to: preview/app-${k}, rate: 2 }`,
    ),
    ...jobs.map(
      (i) =>
        `  - { kind: new_caller, at: ${40 + i}s, duration: 8s, from: jobs/job-${i}, to: shop/catalog, rate: 1 }`,
    ),
  ].join('\n');
}

describe('meshwatch under ten times the usual churn of callers and workloads', () => {
  let sim: RunningSimulator;
  let prometheus: RunningPrometheus;
  let mw: RunningMeshwatch;

  afterAll(async () => {
    await mw?.stop('SIGKILL');
    await prometheus?.stop();
    await sim?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('keeps memory flat and its caps, counts the drops, and MeshwatchCapacityExceeded fires in Prometheus', async () => {
    const epochMs = Date.now() - 30_000;
    sim = await startSimulator({ scenario: scenarioFrom({ yaml: churnScenario() }), epochMs });
    const port = await freePort();
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${sim.port}`], ruleFiles: [RULES] });
    mw = await startMeshwatch({
      prometheus: { url: prometheus.url, timeout: '900ms' },
      poll: { interval: '1s', rate_window: '10s' },
      warmup: { lookback: '0s' },
      // A fresh install learns the mesh for an hour: the churn is learned, not reported as new.
      // Gone series are forgotten after a minute, so the caps are what bounds the state.
      detectors: { new_caller: { learning_period: '1h', forget_after: '1m' } },
      limits: { max_destinations: 6, max_edges: 30, evict_after: '1m' },
      log: { level: 'info' },
      server: { port },
    });
    await waitFor('meshwatch to be ready', async () => (await fetch(`${mw.url}/readyz`)).ok, 30_000);
    // Scraped only once warm (as a rollout's readiness gate would), so the rule's warm-up guard holds.
    await reconfigure(
      prometheus,
      scrapeYaml({ targets: [`127.0.0.1:${sim.port}`], meshwatch: [`127.0.0.1:${port}`] }, [
        'rule_files:',
        `  - ${JSON.stringify(RULES)}`,
      ]),
    );

    const memory: Array<{ atMs: number; rss: number; heap: number }> = [];
    const tracked: Array<Record<string, number>> = [];
    const churnFrom = epochMs + 40_000;
    const churnTo = churnFrom + CHURN_SECONDS * 1000;
    while (Date.now() < churnTo) {
      const text = await mw.metrics();
      memory.push({
        atMs: Date.now(),
        rss: value(text, 'process_resident_memory_bytes'),
        heap: value(text, 'nodejs_heap_size_used_bytes'),
      });
      tracked.push(
        Object.fromEntries(
          samplesOf(text, 'meshwatch_tracked_series').map((s) => [s.labels.detector, s.value]),
        ),
      );
      await new Promise((r) => setTimeout(r, 2000));
    }
    const text = await mw.metrics();
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    process.stdout.write(
      `churn memory (MB, every 20 s): ${memory
        .filter((_, i) => i % 10 === 0)
        .map((m) => `rss ${mb(m.rss)} heap ${mb(m.heap)}`)
        .join(', ')}\n`,
    );

    // Caps hold at every sample: destinations per detector, edges for new_caller.
    for (const t of tracked) {
      expect(t.traffic ?? 0).toBeLessThanOrEqual(6);
      expect(t.errors ?? 0).toBeLessThanOrEqual(6);
      expect(t.new_caller ?? 0).toBeLessThanOrEqual(30);
    }
    expect(Math.max(...tracked.map((t) => t.new_caller ?? 0))).toBe(30);
    expect(Math.max(...tracked.map((t) => t.traffic ?? 0))).toBe(6);
    expect(value(text, 'meshwatch_series_dropped_total', { reason: 'capacity' })).toBeGreaterThan(100);
    expect(value(text, 'meshwatch_series_dropped_total', { reason: 'evicted' })).toBeGreaterThan(10);
    // Memory flat: after the first minute of churn, the heap left after each collection (the
    // lowest of a half) and the resident size of the last half stay within GC noise of the first
    // half's, while 240 callers and 24 workloads came and went (the soak bench shows hours).
    const settled = memory.filter((m) => m.atMs >= churnFrom + 60_000);
    const half = Math.floor(settled.length / 2);
    const [first, last] = [settled.slice(0, half), settled.slice(half)];
    const low = (xs: typeof memory) => Math.min(...xs.map((m) => m.heap));
    const high = (xs: typeof memory) => Math.max(...xs.map((m) => m.rss));
    expect(low(last)).toBeLessThan(low(first) + 10 * 2 ** 20);
    expect(high(last)).toBeLessThan(high(first) + 32 * 2 ** 20);
    // Said once in the log when the refusals start, not at every poll.
    const atCapacity = mw
      .logLines()
      .filter((l) => String(l.msg).startsWith('at capacity: refusing new series'));
    expect(atCapacity.length).toBeGreaterThanOrEqual(1);
    expect(atCapacity.length).toBeLessThan(value(text, 'meshwatch_polls_total') / 10);
    expect(atCapacity[0]).toMatchObject({ level: 'warn', maxDestinations: 6, maxEdges: 30 });

    // The alert, from the shipped rules, in the real Prometheus that scrapes meshwatch.
    await waitFor(
      'MeshwatchCapacityExceeded to fire',
      async () => {
        const res = await fetch(`${prometheus.url}/api/v1/alerts`);
        const body = (await res.json()) as {
          data: { alerts: Array<{ labels: Record<string, string>; state: string }> };
        };
        return body.data.alerts.some(
          (a) => a.labels.alertname === 'MeshwatchCapacityExceeded' && a.state === 'firing',
        );
      },
      60_000,
      1000,
    );
    // Learning, not reporting: no finding from churn, no crash, no failed poll.
    expect(mw.logLines().filter((l) => l.msg === 'finding opened')).toEqual([]);
    expect(value(text, 'meshwatch_poll_failures_total')).toBe(0);
    expect(mw.child.exitCode).toBeNull();
  }, 480_000);
});

/** Text-format escaping of a label value: backslash, double quote and newline. */
const escapeValue = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** One server-side istio_requests_total series of a sidecar, as Envoy writes it. */
function requestSeries(
  edge: { source: string; principal: string; destination: string },
  count: number,
): string {
  const labels: Record<string, string> = {
    reporter: 'destination',
    source_workload: edge.source,
    source_workload_namespace: 'evil',
    source_principal: edge.principal,
    source_app: edge.source,
    source_cluster: 'Kubernetes',
    destination_workload: edge.destination,
    destination_workload_namespace: 'shop',
    destination_principal: 'spiffe://cluster.local/ns/shop/sa/catalog',
    destination_service: 'catalog.shop.svc.cluster.local',
    destination_service_name: 'catalog',
    destination_service_namespace: 'shop',
    destination_cluster: 'Kubernetes',
    request_protocol: 'http',
    response_code: '200',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
  };
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeValue(v)}"`)
    .join(',');
  return `istio_requests_total{${body}} ${count}\n`;
}

/** A loopback HTTP server answering every request with `handler`'s body. */
async function serve(
  handler: (url: string, body: Buffer) => Promise<{ type: string; body: Buffer }>,
): Promise<{
  url: string;
  target: string;
  close(): Promise<void>;
}> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handler(req.url ?? '/', Buffer.concat(chunks)).then(
        ({ type, body }) =>
          res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length }).end(body),
        (err: unknown) => res.writeHead(502).end(String(err)),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    target: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Forwards one request to `base` (uncompressed) and returns the status, content type and body. */
function forward(
  base: string,
  req: { method: string; url: string; body: Buffer; type?: string },
): Promise<{ type: string; body: Buffer }> {
  return new Promise((resolveForward, reject) => {
    const out = request(
      `${base}${req.url}`,
      { method: req.method, headers: req.type ? { 'Content-Type': req.type } : {} },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolveForward({ type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    out.on('error', reject);
    out.end(req.body);
  });
}

const TD = 'spiffe://cluster.local/ns/evil/sa/';
/** Label values built to break the text format, JSON, logs and PromQL. */
const HOSTILE = [
  { source: 'quote', principal: `${TD}a"b`, destination: 'catalog' },
  {
    source: 'brace',
    principal: `${TD}x"} 1\nistio_requests_total{reporter="destination"} 9e9`,
    destination: 'catalog',
  },
  { source: 'backslash', principal: `${TD}back\\slash\\"\\n`, destination: 'catalog' },
  { source: 'long', principal: `${TD}${'x'.repeat(10 * 1024)}`, destination: 'catalog' },
  { source: 'worker") or vector(1) #', principal: `${TD}promql`, destination: 'catalog' },
  { source: '名前-🚀', principal: `${TD}unicode-名前`, destination: 'catalog' },
  { source: 'newdest', principal: `${TD}newdest`, destination: 'catalog"}\n{x="' },
];
/** Becomes invalid UTF-8 on the way from Prometheus to meshwatch (see the proxy below). */
const MARKER = 'INVALID-UTF8-MARK';
const CORRUPTED = `${TD}corrupted-${MARKER}`;

describe('meshwatch on hostile label values', () => {
  let prometheus: RunningPrometheus;
  let mw: RunningMeshwatch;
  const servers: Array<{ close(): Promise<void> }> = [];

  afterAll(async () => {
    await mw?.stop('SIGKILL');
    await prometheus?.stop();
    for (const s of servers) await s.close();
    removeDir(prometheus?.dir ?? '');
  });

  it('does not crash, exports them escaped, answers valid JSON and never puts them into PromQL', async () => {
    const started = Date.now();
    let hostile = false;
    // The mesh: frontend -> catalog at 10 req/s, then the hostile callers at 1 req/s each.
    const mesh = await serve(async () => {
      const s = (Date.now() - started) / 1000;
      let text = requestSeries(
        {
          source: 'frontend',
          principal: 'spiffe://cluster.local/ns/shop/sa/frontend',
          destination: 'catalog',
        },
        Math.floor(10 * s),
      );
      if (hostile) {
        for (const edge of [
          ...HOSTILE,
          { source: 'corrupted', principal: CORRUPTED, destination: 'catalog' },
        ]) {
          text += requestSeries(edge, Math.floor(s));
        }
      }
      return { type: 'text/plain; version=0.0.4', body: Buffer.from(text) };
    });
    // Invalid UTF-8 straight from an exporter: Prometheus refuses the scrape, nothing reaches meshwatch.
    const invalid = await serve(async () => ({
      type: 'text/plain; version=0.0.4',
      body: Buffer.concat([
        Buffer.from('istio_requests_total{reporter="destination",source_principal="bad'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('",destination_workload="catalog"} 1\n'),
      ]),
    }));
    servers.push(mesh, invalid);
    const port = await freePort();
    prometheus = await startPrometheus({ targets: [mesh.target, invalid.target] });
    // Between meshwatch and Prometheus: records every query, and turns the marker into invalid
    // UTF-8, as a broken engine or proxy could send it.
    const queries: string[] = [];
    const proxy = await serve(async (url, body) => {
      const params = new URLSearchParams(url.split('?')[1] ?? '');
      for (const [k, v] of [...params, ...new URLSearchParams(body.toString())])
        if (k === 'query') queries.push(v);
      const answer = await forward(prometheus.url, {
        method: body.length > 0 ? 'POST' : 'GET',
        url,
        body,
        type: 'application/x-www-form-urlencoded',
      });
      const text = answer.body.toString('latin1').split(MARKER).join('i\xc3(\xff');
      return { type: answer.type, body: Buffer.from(text, 'latin1') };
    });
    servers.push(proxy);
    mw = await startMeshwatch({
      prometheus: { url: proxy.url, timeout: '900ms' },
      poll: { interval: '1s', rate_window: '10s' },
      warmup: { lookback: '0s' },
      detectors: { new_caller: { learning_period: '10s' } },
      log: { level: 'info' },
      server: { port },
    });
    await reconfigure(
      prometheus,
      scrapeYaml({ targets: [mesh.target, invalid.target], meshwatch: [`127.0.0.1:${port}`] }),
    );
    // The learning period starts with the first poll that reads the mesh; then 15 polls of 1 s.
    const learning = await waitForMetrics(
      mw,
      'new_caller to learn the mesh',
      (t) => value(t, 'meshwatch_tracked_series', { detector: 'new_caller' }) >= 1,
      60_000,
    );
    const from = value(learning, 'meshwatch_polls_total');
    await waitForMetrics(
      mw,
      'the learning period to pass',
      (t) => value(t, 'meshwatch_polls_total') >= from + 15,
      60_000,
    );
    hostile = true;

    await waitFor(
      'a new-caller finding naming every hostile caller',
      async () => {
        const doc = await mw.findings();
        const principals = doc.findings.flatMap((f) =>
          (f.top_callers as Array<{ source_principal: string }>).map((c) => c.source_principal),
        );
        return HOSTILE.every((h) => principals.includes(h.principal));
      },
      60_000,
      500,
    );
    // /api/v1/findings is valid JSON carrying the values exactly.
    const raw = await (await fetch(`${mw.url}/api/v1/findings`)).text();
    const doc = JSON.parse(raw) as { findings: Array<Record<string, unknown>> };
    expect(doc.findings.map((f) => f.id).sort()).toEqual([
      'new_caller/Kubernetes/shop/catalog',
      'new_caller/Kubernetes/shop/catalog"}\n{x="',
    ]);
    const callers = doc.findings.flatMap((f) => f.top_callers as Array<Record<string, string>>);
    expect(callers.map((c) => c.source_workload)).toEqual(
      expect.arrayContaining(HOSTILE.map((h) => h.source)),
    );
    const corrupted = callers.find((c) => c.source_workload === 'corrupted');
    expect(corrupted?.source_principal).toBe(`${TD}corrupted-i\ufffd(\ufffd`);

    // Exported escaped: Prometheus scrapes meshwatch and reads back every value exactly.
    await waitFor(
      'Prometheus to read the hostile callers back from meshwatch',
      async () => {
        const result = await promQuery(prometheus, 'meshwatch_new_caller_requests_per_second');
        const got = result.map((r) => r.metric.source_principal);
        return HOSTILE.every((h) => got.includes(h.principal));
      },
      60_000,
      1000,
    );
    const scraped = await promQuery(prometheus, 'up');
    expect(Object.fromEntries(scraped.map((r) => [r.metric.instance, r.value[1]]))).toEqual({
      [mesh.target]: '1',
      [invalid.target]: '0',
      [`127.0.0.1:${port}`]: '1',
    });
    const targets = (await (await fetch(`${prometheus.url}/api/v1/targets`)).json()) as {
      data: { activeTargets: Array<{ scrapeUrl: string; lastError: string }> };
    };
    expect(targets.data.activeTargets.find((t) => t.scrapeUrl.includes(invalid.target))?.lastError).toMatch(
      /UTF-8/i,
    );
    const destinations = await promQuery(
      prometheus,
      'count by (destination_workload) (meshwatch_new_caller_requests_per_second)',
    );
    expect(destinations.map((r) => r.metric.destination_workload).sort()).toEqual([
      'catalog',
      'catalog"}\n{x="',
    ]);

    // No injection: meshwatch sent only its own two fixed queries, whatever the labels held.
    expect([...new Set(queries)].length).toBe(2);
    expect(queries.filter((q) => q.includes('evil') || q.includes('vector(1)'))).toEqual([]);
    // Logs stay JSON lines (logLines parses each one), naming the callers.
    const openedLines = mw.logLines().filter((l) => l.msg === 'finding opened');
    expect(openedLines.map((l) => l.detector)).toEqual(['new_caller', 'new_caller']);
    expect(JSON.stringify(openedLines)).toContain(JSON.stringify(HOSTILE[1]?.principal).slice(1, -1));
    expect(mw.child.exitCode).toBeNull();
    expect(value(await mw.metrics(), 'meshwatch_poll_failures_total')).toBe(0);
  }, 240_000);
});

describe('meshwatch reading a remote-write Prometheus whose newest samples arrive late', () => {
  let sim: RunningSimulator;
  let source: RunningPrometheus;
  let receiver: RunningPrometheus;
  const daemons: RunningMeshwatch[] = [];

  afterAll(async () => {
    for (const d of daemons) await d.stop('SIGKILL');
    await source?.stop();
    await receiver?.stop();
    await sim?.stop();
    removeDir(source?.dir ?? '');
    removeDir(receiver?.dir ?? '');
  });

  it('reads lagging data as a traffic drop without poll.query_offset, and the true rate with it', async () => {
    sim = await startSimulator({
      scenario: scenarioFrom({
        yaml: `
name: fault-lag
seed: 31
pattern: { daily_amplitude: 0, weekend_factor: 1, noise: 0 }
workloads:
  - { name: frontend, namespace: shop }
  - { name: catalog, namespace: shop }
calls:
  - { from: shop/frontend, to: shop/catalog, rate: 20 }
`,
      }),
      epochMs: Date.now() - 60_000,
    });
    // The receiver is what meshwatch reads (Mimir, Thanos Receive); the source scrapes the mesh and
    // remote-writes in batches sent every 20 s: the newest samples reach the receiver 0-20 s late.
    receiver = await startPrometheus({ extraArgs: ['--web.enable-remote-write-receiver'] });
    source = await startPrometheus({});
    await reconfigure(
      source,
      scrapeYaml({ targets: [`127.0.0.1:${sim.port}`] }) +
        [
          'remote_write:',
          `  - url: ${receiver.url}/api/v1/write`,
          '    queue_config: { batch_send_deadline: 20s, max_samples_per_send: 100000, capacity: 200000, min_shards: 1, max_shards: 1 }',
        ].join('\n') +
        '\n',
    );
    const common = {
      prometheus: { url: receiver.url, timeout: '900ms' },
      warmup: { lookback: '0s' },
      log: { level: 'debug' },
    };
    const lagging = await startMeshwatch({ ...common, poll: { interval: '1s', rate_window: '1m' } });
    daemons.push(lagging);
    const offset = await startMeshwatch({
      ...common,
      poll: { interval: '1s', rate_window: '1m', query_offset: '45s' },
    });
    daemons.push(offset);
    const catalog = { signal: 'requests_per_second', destination_workload: 'catalog' };
    // A full rate window of data behind the offset: 45 s + 1 m after the first samples arrived.
    await waitFor(
      'the receiver to hold two minutes of the mesh',
      async () => {
        const r = await promQuery(receiver, 'time() - min(timestamp(istio_requests_total offset 110s))');
        return r.length > 0;
      },
      240_000,
      1000,
    );
    // And both daemons score it (after a gap in the telemetry, a whole rate window first).
    for (const d of daemons) {
      await waitForMetrics(
        d,
        'a traffic rate for catalog',
        (t) => Number.isFinite(value(t, 'meshwatch_signal_observed', catalog)),
        120_000,
      );
    }
    const rows: Array<{ lagSeconds: number; lagging: number; offset: number }> = [];
    for (let i = 0; i < 60; i++) {
      const [a, b, lag] = await Promise.all([
        lagging.metrics(),
        offset.metrics(),
        promQuery(receiver, 'time() - max(timestamp(istio_requests_total))'),
      ]);
      rows.push({
        lagSeconds: Number(lag[0]?.value[1] ?? NaN),
        lagging: value(a, 'meshwatch_signal_observed', catalog),
        offset: value(b, 'meshwatch_signal_observed', catalog),
      });
      await new Promise((r) => setTimeout(r, 1000));
    }
    process.stdout.write(
      `lag (s) / observed without offset / with 45s offset (req/s): ${rows
        .filter((_, i) => i % 5 === 0)
        .map((r) => `${r.lagSeconds.toFixed(0)}/${r.lagging.toFixed(1)}/${r.offset.toFixed(1)}`)
        .join(' ')}\n`,
    );
    // The receiver really lags: at some point its newest sample is 10 s old or more.
    expect(Math.max(...rows.map((r) => r.lagSeconds))).toBeGreaterThanOrEqual(10);
    // Without the offset the rate window misses its newest seconds: a drop of a fifth or more.
    expect(Math.min(...rows.map((r) => r.lagging))).toBeLessThan(16.5);
    // With it, every poll reads the true 20 req/s (Poisson counts over 1 m: a few percent).
    for (const r of rows) {
      expect(r.offset).toBeGreaterThan(17.5);
      expect(r.offset).toBeLessThan(22.5);
    }
    expect(offset.logLines().filter((l) => l.msg === 'finding opened')).toEqual([]);
    // The log says which time each poll evaluated: 45 s before it ran.
    const done = offset.logLines().filter((l) => l.msg === 'poll done');
    const last = done[done.length - 1] as { time: string; evaluatedAt: string };
    const behind = Date.parse(last.time) - Date.parse(last.evaluatedAt);
    expect(behind).toBeGreaterThanOrEqual(45_000);
    expect(behind).toBeLessThan(47_000);
  }, 400_000);
});
