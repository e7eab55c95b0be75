/**
 * The live poll path at three sizes of mesh: decoding the mesh-query answer, the detection engine,
 * publishing to the metrics registry (one `Poller.poll`, the daemon's own code, with Prometheus
 * answering from memory), and rendering /metrics; against `JSON.parse` of the same body measured
 * in the same run. Then the daemon's memory at the largest size: a real `meshwatch run` polling a
 * loopback HTTP server that serves the answer every second, its peak RSS (VmHWM) against the
 * shipped Deployment's memory limit.
 *
 * Run after a build: node --expose-gc dist/bench/poll.js [--sizes 10000,50000,107000] [--rounds N]
 * [--daemon-polls N] [--json] (npm run -s bench:poll -- --json); the last line of --json is one
 * JSON object describing the largest size.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeInstantResponse } from '../src/adapters/prometheus/decode';
import { createLogger } from '../src/adapters/logger';
import { MeshwatchMetrics } from '../src/adapters/metrics/metrics';
import { Poller } from '../src/app/poller';
import { parseConfig } from '../src/config/load';
import type { EdgeSample } from '../src/core/mesh';
import { decodeMesh } from '../src/signals/mesh';
import type { MeshDecoder } from '../src/signals/mesh-decoder';
import { heapAfterGc } from './heap';
import { feed, learnRange, memoryPrometheus, RANGE_STEPS } from './harness';
import { destinationsFor, labelsAnswer, meshAnswer } from './mesh-answer';
import { freePort } from '../scripts/lib/net';
import { count, option } from './args';
import { shippedMemoryLimit, shippedNodeOptions } from './shipped';

const ROOT = join(__dirname, '..', '..');

const ms = (from: bigint, to: bigint): number => Number(to - from) / 1e6;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
};

interface SizeResult {
  series: number;
  destinations: number;
  body_bytes: number;
  parse_ms: number;
  poll_ms: number;
  render_ms: number;
  /** One step of history decoded and learned (the warm-up's work per step at this size). */
  learn_step_ms: number;
  /** The same from a range answer of `RANGE_STEPS` steps, as the warm-up reads history. */
  range_step_ms: number;
  ratio: number;
  exported_series: number;
  metrics_bytes: number;
  heap_after_gc_bytes: number;
}

/**
 * One step of history, decoded as the poller decodes its polls; a build from before the
 * streaming decoder (a before/after comparison) decodes it whole.
 */
function historyStep(poller: Poller, body: Buffer): EdgeSample[] {
  const decoder = (poller as { decoder?: MeshDecoder }).decoder;
  return decoder
    ? feed(decoder.sink('mesh'), body).samples
    : decodeMesh(decodeInstantResponse(body.toString('utf8'), 'mesh').data);
}

/** Times `rounds` polls of one size in this process (bodies kept as Buffers, outside the heap). */
async function measureSize(destinations: number, rounds: number): Promise<SizeResult> {
  const bodies = [0, 1, 2, 3].map((seed) => Buffer.from(meshAnswer({ destinations, seed }), 'latin1'));
  const config = parseConfig('', {}, {}, 'bench');
  const metrics = new MeshwatchMetrics('bench');
  let current: Buffer = Buffer.alloc(0);
  const poller: Poller = new Poller({
    config,
    metrics,
    logger: createLogger('silent'),
    prometheus: memoryPrometheus(() => current),
  });
  const blind = await poller.checkTelemetry(0);
  // Enough history that every baseline scores (and exports its series) in the timed polls.
  const warm = 24;
  const start = Date.UTC(2026, 0, 5);
  const t = { parse: [] as number[], poll: [] as number[], render: [] as number[], learn: [] as number[] };
  let rendered = '';
  let rangeStepMs = 0;
  for (let i = 0; i < warm + rounds; i++) {
    const body = bodies[i % bodies.length] as Buffer;
    const text = body.toString('latin1');
    if (i === warm) rangeStepMs = learnRange(poller, bodies, start + warm * 30_000, blind);
    const at = start + (i < warm ? i : i + RANGE_STEPS) * 30_000;
    if (i < warm) {
      // History first, as the warm-up replays it (its cost per step, once warm, is the warm-up's
      // at this size); then the live polls are timed.
      const h0 = process.hrtime.bigint();
      poller.learn({ timeMs: at, samples: historyStep(poller, body) }, blind);
      if (i >= warm / 2) t.learn.push(ms(h0, process.hrtime.bigint()));
      continue;
    }
    const t0 = process.hrtime.bigint();
    JSON.parse(text);
    const t1 = process.hrtime.bigint();
    current = body;
    await poller.poll(at);
    const t2 = process.hrtime.bigint();
    rendered = await metrics.registry.metrics();
    const t3 = process.hrtime.bigint();
    t.parse.push(ms(t0, t1));
    t.poll.push(ms(t1, t2));
    t.render.push(ms(t2, t3));
  }
  current = Buffer.alloc(0);
  const series = decodeInstantResponse((bodies[0] as Buffer).toString('utf8'), 'mesh').data.length;
  // The daemon's state, not the bench's four bodies (Buffers, which heapAfterGc counts).
  const heap = heapAfterGc() - bodies.reduce((bytes, b) => bytes + b.length, 0);
  const ratios = t.poll.map((p, i) => p / (t.parse[i] as number));
  return {
    series,
    destinations,
    body_bytes: (bodies[0] as Buffer).length,
    parse_ms: Math.round(median(t.parse)),
    poll_ms: Math.round(median(t.poll)),
    render_ms: Math.round(median(t.render)),
    learn_step_ms: Math.round(median(t.learn)),
    range_step_ms: Math.round(rangeStepMs),
    ratio: Number(median(ratios).toFixed(2)),
    exported_series: rendered.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
    metrics_bytes: Buffer.byteLength(rendered),
    heap_after_gc_bytes: heap,
  };
}

/** Serves the mesh answer (four bodies in turn) and a full labels answer, as Prometheus would. */
function answerServer(destinations: number): Promise<{ server: Server; port: number; served: () => number }> {
  const bodies = [0, 1, 2, 3].map((seed) => Buffer.from(meshAnswer({ destinations, seed }), 'latin1'));
  let served = 0;
  const server = createServer((req, res) => {
    let form = '';
    req.on('data', (chunk: Buffer) => (form += chunk.toString()));
    req.on('end', () => {
      const query = new URLSearchParams(form).get('query') ?? '';
      res.setHeader('Content-Type', 'application/json');
      if (query.includes('meshwatch_kind')) {
        res.end(bodies[served++ % bodies.length]);
      } else {
        res.end(labelsAnswer(query));
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        server,
        port: typeof address === 'object' && address ? address.port : 0,
        served: () => served,
      });
    }),
  );
}

/** Peak RSS of the real daemon polling `destinations` every second for `polls` polls. */
async function daemonPeak(
  destinations: number,
  polls: number,
): Promise<{ peak_rss_bytes: number; polls: number; poll_seconds: number }> {
  const { server, port, served } = await answerServer(destinations);
  const metricsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'meshwatch-bench-'));
  const configFile = join(dir, 'meshwatch.yml');
  writeFileSync(
    configFile,
    [
      // The cap as shipped since it was raised, set here so that a build from before runs too.
      `prometheus:\n  url: http://127.0.0.1:${port}\n  timeout: 5s\n  max_response_bytes: 134217728`,
      'poll:\n  interval: 5s',
      'warmup:\n  lookback: 0s',
      `server:\n  host: 127.0.0.1\n  port: ${metricsPort}`,
      'log:\n  level: debug',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'run', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: option('--node-options', shippedNodeOptions()) },
  });
  // The daemon logs JSON lines; a failed poll would make the peak meaningless.
  const failures: string[] = [];
  const durations: number[] = [];
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const done = /"durationSeconds":([0-9.]+).*"poll done"/.exec(line);
      if (done) durations.push(Number(done[1]));
    }
    for (const line of lines)
      if (
        line.includes('"poll failed') ||
        line.includes(`"level":"error"`) ||
        line.includes(`"level":"fatal"`)
      )
        failures.push(line);
  });
  const vmHwm = (): number => {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  };
  let peak = 0;
  try {
    const deadline = Date.now() + polls * 10_000 + 60_000;
    // Scraped after each poll, as Prometheus scrapes it: rendering /metrics is part of the peak.
    let scraped = 0;
    let lastScrape = '';
    while (served() < polls + 1 && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 500));
      if (scraped < served() - 1) {
        scraped = served() - 1;
        lastScrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
          (r) => r.text(),
          () => '',
        );
      }
      peak = Math.max(peak, vmHwm());
    }
    if (served() < polls + 1)
      throw new Error(`the daemon answered ${served()} of ${polls + 1} polls in time`);
    await new Promise((r) => setTimeout(r, 3000));
    peak = Math.max(peak, vmHwm());
    const gauge = (name: string): number =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(lastScrape)?.[1] ?? NaN);
    process.stdout.write(
      `poll: the daemon at its last scrape: heap used ${Math.round(gauge('nodejs_heap_size_used_bytes') / 2 ** 20)} MiB of ${Math.round(gauge('nodejs_heap_size_total_bytes') / 2 ** 20)} MiB, external ${Math.round(gauge('nodejs_external_memory_bytes') / 2 ** 20)} MiB, RSS ${Math.round(gauge('process_resident_memory_bytes') / 2 ** 20)} MiB\n`,
    );
  } finally {
    child.kill('SIGTERM');
    server.close();
  }
  return { peak_rss_bytes: peak, polls: served(), poll_seconds: median(durations) };
}

async function main(): Promise<void> {
  const sizes = option('--sizes', '10000,50000,107000')
    .split(',')
    .map((s) => destinationsFor(Number(s)));
  const rounds = count('--rounds', 8);
  const daemonPolls = count('--daemon-polls', 6, 0);
  const results: SizeResult[] = [];
  for (const destinations of sizes) {
    const r = await measureSize(destinations, rounds);
    results.push(r);
    process.stdout.write(
      `poll: ${r.series} series (${(r.body_bytes / 2 ** 20).toFixed(1)} MiB): decode + engine + publish ${r.poll_ms} ms, ${r.ratio}x JSON.parse (${r.parse_ms} ms); /metrics ${r.render_ms} ms, ${r.exported_series} series, ${(r.metrics_bytes / 2 ** 20).toFixed(1)} MiB; heap after gc ${Math.round(r.heap_after_gc_bytes / 2 ** 20)} MiB; a step of history ${r.learn_step_ms} ms (${r.range_step_ms} ms from a range answer)\n`,
    );
  }
  const largest = results.at(-1) as SizeResult;
  const daemon =
    daemonPolls === 0
      ? { peak_rss_bytes: 0, polls: 0, poll_seconds: 0 }
      : await daemonPeak(largest.destinations, daemonPolls);
  const limit = shippedMemoryLimit();
  const summary = {
    ...largest,
    peak_rss_bytes: daemon.peak_rss_bytes,
    memory_limit_bytes: limit,
    headroom: Number((limit / daemon.peak_rss_bytes).toFixed(2)),
    daemon_polls: daemon.polls,
    daemon_poll_seconds: daemon.poll_seconds,
    sizes: results,
  };
  process.stdout.write(
    `poll: at ${largest.series} series ${largest.ratio}x JSON.parse; the daemon's peak RSS ${Math.round(daemon.peak_rss_bytes / 2 ** 20)} MiB over ${daemon.polls} polls, limit ${Math.round(limit / 2 ** 20)} MiB (${summary.headroom}x headroom)\n`,
  );
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

void main();
