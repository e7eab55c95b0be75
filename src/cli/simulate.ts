/** `meshwatch simulate`: serve a scenario's mesh as Istio's proxies report it, or write its history. */
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { Command, Option } from 'commander';
import { UsageError } from '../errors';
import { writeBackfill } from '../sim/backfill';
import { loadScenario } from '../sim/load';
import { startSimulator } from '../sim/server';
import { parseDurationMs, parseTime } from '../sim/time';
import type { CliIo } from './io';

interface SimulateOptions {
  scenario: string;
  listen: string;
  epoch?: string;
  backfill?: string;
  from?: string;
  to?: string;
  step: string;
  set: string[];
}

/** Splits `HOST:PORT` (`[::1]:9090` for IPv6). */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535)
    throw new UsageError(`invalid --listen ${JSON.stringify(text)}: expected HOST:PORT`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

async function serve(options: SimulateOptions, io: CliIo, nowMs: number): Promise<void> {
  const scenario = loadScenario(options.scenario, options.set);
  const epochMs = options.epoch === undefined ? nowMs : parseTime(options.epoch, nowMs);
  const { host, port } = parseListen(options.listen);
  const simulator = await startSimulator({ scenario, epochMs, host, port });
  io.stderr.write(
    `simulating ${scenario.name} (epoch ${new Date(epochMs).toISOString()}) on ${simulator.url}/metrics\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await simulator.stop();
  io.stderr.write('simulator stopped\n');
}

async function backfill(options: SimulateOptions, io: CliIo, nowMs: number): Promise<void> {
  if (options.from === undefined || options.to === undefined) {
    throw new UsageError('--backfill needs --from and --to');
  }
  const fromMs = parseTime(options.from, nowMs);
  const toMs = parseTime(options.to, nowMs);
  if (toMs < fromMs) throw new UsageError(`--to (${options.to}) is before --from (${options.from})`);
  const stepMs = parseDurationMs(options.step);
  if (!stepMs || stepMs < 1000)
    throw new UsageError(`invalid --step ${JSON.stringify(options.step)}: at least 1s`);
  const scenario = loadScenario(options.scenario, options.set);
  const epochMs = options.epoch === undefined ? fromMs : parseTime(options.epoch, nowMs);
  const out = createWriteStream(options.backfill as string);
  // Progress only matters for long ranges; a line every few percent keeps logs readable.
  const long = (toMs - fromMs) / stepMs > 10_000;
  let shown = -1;
  const summary = await writeBackfill({
    scenario,
    epochMs,
    fromMs,
    toMs,
    stepMs,
    out,
    onProgress: (done) => {
      const percent = Math.floor(done * 20) * 5;
      if (long && percent > shown) {
        shown = percent;
        io.stderr.write(`backfill ${percent}%\n`);
      }
    },
  });
  out.end();
  await finished(out);
  io.stderr.write(
    `wrote ${summary.samples} samples (${summary.steps} steps) to ${options.backfill}; load them with ` +
      `promtool tsdb create-blocks-from openmetrics ${options.backfill} DATA_DIR\n`,
  );
}

/** Registers `meshwatch simulate` on `program`. */
export function registerSimulateCommand(program: Command, io: CliIo): void {
  program
    .command('simulate')
    .description(
      "serve an Istio mesh scenario as its proxies' metrics (sidecars, ztunnel, waypoints), or write its history as OpenMetrics",
    )
    .requiredOption(
      '--scenario <file>',
      'scenario YAML file (see docs/scenarios.md)',
      io.env.MESHWATCH_SIM_SCENARIO,
    )
    .addOption(
      new Option('--listen <host:port>', 'address to serve /metrics on').default(
        io.env.MESHWATCH_SIM_LISTEN ?? '127.0.0.1:15090',
      ),
    )
    .option('--epoch <time>', 'scenario start: RFC3339, Unix seconds, now, now-7d (default: now, or --from)')
    .option('--backfill <file>', 'write OpenMetrics history to this file instead of serving')
    .option('--from <time>', 'first backfill time')
    .option('--to <time>', 'last backfill time')
    .option('--step <duration>', 'backfill sample interval', '30s')
    .option(
      '--set <path=value>',
      'override a scenario value, e.g. incidents[0].at=7d5m (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(async (options: SimulateOptions) => {
      const nowMs = Date.now();
      if (options.backfill !== undefined) await backfill(options, io, nowMs);
      else await serve(options, io, nowMs);
    });
}
