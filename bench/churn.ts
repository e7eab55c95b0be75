/**
 * Memory over many polls of a mesh whose callers and workloads come and go at ten times the
 * normal rate, with the caps set low enough that they are reached early: once they are, the heap
 * must stay flat. The daemon's own poll path runs in this process (a `Poller` with
 * `MeshwatchMetrics`, Prometheus answering from memory), 30 s between polls, with a jump ahead
 * every so often so that the eviction and forget windows pass within the run.
 *
 * "Normal" is taken as a rollout's worth a few times an hour: 2% of callers and 1% of
 * destinations replaced every 5 minutes. Ten times that: every generation (10 polls, 5 minutes)
 * replaces 20% of the callers with never-seen ones and renames 10% of the destinations.
 *
 * Run after a build: node --expose-gc dist/bench/churn.js [--destinations N] [--polls N]
 * [--json] (npm run -s bench:churn -- --json); the last line of --json is one JSON object.
 */
import { createLogger } from '../src/adapters/logger';
import { MeshwatchMetrics } from '../src/adapters/metrics/metrics';
import { decodeInstantResponse } from '../src/adapters/prometheus/decode';
import { Poller } from '../src/app/poller';
import { parseConfig } from '../src/config/load';
import { heapAfterGc } from './heap';
import { labelsAnswer, meshAnswer } from './mesh-answer';
import { count } from './args';

const POLL_MS = 30_000;
const POLLS_PER_GENERATION = 10;
const CALLER_CHURN = 0.2;
const DESTINATION_CHURN = 0.1;
/** Every this many polls, time jumps ahead by JUMP_MS: past evict_after and forget_after. */
const JUMP_EVERY = 50;
const JUMP_MS = 3 * 3_600_000;
/**
 * Flat: the second half's least-squares slope, over the polls of the second half, moves the heap
 * by less than this share of its mean there.
 */
const FLAT_SHARE = 0.05;

/** The caps and windows of the run, scaled to the mesh so that each is reached. */
function configFor(destinations: number): string {
  const edges = destinations * 25;
  return [
    'limits:',
    // Room for the mesh of one generation and a little more: the renamed destinations fill it.
    `  max_destinations: ${Math.round(destinations * 1.05)}`,
    // new_caller keeps two entries per mTLS edge (2 x edges for one generation); the callers of
    // two more generations fill the rest.
    `  max_edges: ${Math.round(edges * 2.5)}`,
    '  evict_after: 1h',
    'detectors:',
    '  new_caller:',
    '    forget_after: 2h',
    '    learning_period: 0s',
    '',
  ].join('\n');
}

interface Sample {
  poll: number;
  heap_bytes: number;
  rss_bytes: number;
  /** Distinct strings the mesh decoder holds from poll to poll (its interner). */
  interned_strings: number;
}

/** Least-squares slope of heap over poll, bytes per poll. */
function slope(samples: readonly Sample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((s, x) => s + x.poll, 0) / n;
  const my = samples.reduce((s, x) => s + x.heap_bytes, 0) / n;
  let num = 0;
  let den = 0;
  for (const x of samples) {
    num += (x.poll - mx) * (x.heap_bytes - my);
    den += (x.poll - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Exported series of a /metrics text: its sample lines. */
const seriesOf = (text: string): number =>
  text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;

async function main(): Promise<void> {
  const destinations = count('--destinations', 500);
  const polls = count('--polls', 300);
  const every = Math.max(1, Math.round(polls / 60));
  const config = parseConfig(configFor(destinations), {}, {}, 'bench');
  const metrics = new MeshwatchMetrics('bench');
  let body = '';
  let series = 0;
  const poller: Poller = new Poller({
    config,
    metrics,
    logger: createLogger('silent'),
    prometheus: {
      async query(promql) {
        return decodeInstantResponse(promql === poller.meshQuery ? body : labelsAnswer(promql), promql);
      },
      async queryWith(promql, sink) {
        const into = sink(promql);
        into.write(Buffer.from(body, 'latin1'));
        const result = into.end();
        series = (result as unknown as { series: number }).series;
        return result;
      },
    },
  });

  const samples: Sample[] = [];
  const capReached: Record<string, number | null> = { destinations: null, edges: null };
  const { maxDestinations, maxEdges } = config.limits;
  const peakTracked: Record<string, number> = {};
  let atMs = Date.UTC(2026, 0, 5);
  const started = Date.now();
  for (let poll = 0; poll < polls; poll++) {
    if (poll > 0 && poll % JUMP_EVERY === 0) atMs += JUMP_MS;
    atMs += POLL_MS;
    body = meshAnswer({
      destinations,
      seed: poll,
      churn: CALLER_CHURN,
      destinationChurn: DESTINATION_CHURN,
      generation: Math.floor(poll / POLLS_PER_GENERATION),
      timeSeconds: atMs / 1000,
    });
    await poller.poll(atMs);
    body = '';
    const tracked = poller.engine.tracked();
    for (const [detector, n] of Object.entries(tracked))
      peakTracked[detector] = Math.max(peakTracked[detector] ?? 0, n);
    if (capReached.destinations === null && tracked.traffic >= maxDestinations)
      capReached.destinations = poll;
    if (capReached.edges === null && tracked.new_caller >= maxEdges) capReached.edges = poll;
    if (poll % every === 0 || poll === polls - 1) {
      samples.push({
        poll,
        heap_bytes: heapAfterGc(),
        rss_bytes: process.memoryUsage().rss,
        interned_strings: poller.decoder.interner.size,
      });
    }
  }
  const failures = (await metrics.pollFailuresTotal.get()).values[0]?.value ?? 0;
  if (failures > 0) throw new Error(`${failures} of ${polls} polls failed: the bench measures nothing`);

  const dropped: Record<string, number> = {};
  for (const v of (await metrics.seriesDropped.get()).values) dropped[String(v.labels.reason)] = v.value;
  const rendered = await metrics.registry.metrics();
  const secondHalf = samples.filter((s) => s.poll >= polls / 2);
  const perPoll = slope(secondHalf);
  const meanHeap = secondHalf.reduce((s, x) => s + x.heap_bytes, 0) / Math.max(1, secondHalf.length);
  const span = (secondHalf.at(-1)?.poll ?? 0) - (secondHalf[0]?.poll ?? 0);
  const growthShare = meanHeap === 0 ? 0 : (perPoll * span) / meanHeap;
  const heaps = samples.map((s) => s.heap_bytes);
  const summary = {
    polls,
    destinations,
    series,
    seconds: Math.round((Date.now() - started) / 1000),
    simulated_hours: Number(
      ((polls * POLL_MS + Math.floor((polls - 1) / JUMP_EVERY) * JUMP_MS) / 3_600_000).toFixed(1),
    ),
    heap_start_bytes: heaps[0] ?? 0,
    heap_peak_bytes: Math.max(...heaps),
    heap_end_bytes: heaps.at(-1) ?? 0,
    rss_start_bytes: samples[0]?.rss_bytes ?? 0,
    rss_peak_bytes: Math.max(...samples.map((s) => s.rss_bytes)),
    rss_end_bytes: samples.at(-1)?.rss_bytes ?? 0,
    slope_bytes_per_poll: Math.round(perPoll),
    second_half_growth_share: Number(growthShare.toFixed(4)),
    flat: Math.abs(growthShare) < FLAT_SHARE,
    flat_rule: `|slope x polls of the second half| < ${FLAT_SHARE * 100}% of its mean heap`,
    caps: { max_destinations: maxDestinations, max_edges: maxEdges },
    cap_reached_at_poll: capReached,
    tracked_end: poller.engine.tracked(),
    tracked_peak: peakTracked,
    dropped_total: dropped,
    exported_series: seriesOf(rendered),
    interned_strings_start: samples[0]?.interned_strings ?? 0,
    interned_strings_end: samples.at(-1)?.interned_strings ?? 0,
    samples,
  };
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
  process.stdout.write(
    `churn: ${polls} polls of ${destinations} destinations (${summary.simulated_hours} h simulated): heap after gc ${mib(summary.heap_start_bytes)} -> peak ${mib(summary.heap_peak_bytes)} -> ${mib(summary.heap_end_bytes)}, second half ${summary.slope_bytes_per_poll} B/poll (${(growthShare * 100).toFixed(1)}%, ${summary.flat ? 'flat' : 'NOT flat'}); RSS peak ${mib(summary.rss_peak_bytes)}; interned strings ${summary.interned_strings_start} -> ${summary.interned_strings_end}; tracked ${JSON.stringify(summary.tracked_end)}; dropped ${JSON.stringify(dropped)}; ${summary.exported_series} exported series\n`,
  );
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

void main();
