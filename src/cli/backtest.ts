/** `meshwatch backtest`: what the daemon would have found and paged over a range of history. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createLogger } from '../adapters/logger';
import { createPrometheusClient } from '../adapters/prometheus/client';
import { backtestJson, runBacktest, type BacktestRange } from '../app/backtest';
import { progressBar, progressStep } from '../app/backtest/progress';
import { parseDuration } from '../config/duration';
import { loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { UsageError } from '../errors';
import { renderBacktestReport } from '../report/html';
import { parseTime } from '../sim/time';
import type { CliIo } from './io';

interface BacktestOptions {
  from?: string;
  to?: string;
  config?: string;
  prometheusUrl?: string;
  step?: string;
  json?: boolean;
  html?: string;
}

// Below this many steps a run takes a second or two and a progress display is noise.
const PROGRESS_MIN_STEPS = 2000;

/** Registers `meshwatch backtest --from T --to T [--config FILE] [--prometheus-url URL] [--step D] --json | --html FILE`. */
export function registerBacktestCommand(program: Command, io: CliIo): void {
  program
    .command('backtest')
    .description(
      'replay the detectors over Prometheus history and report the findings and alerts they would have raised',
    )
    .option('--from <time>', 'start of the range: RFC3339, Unix seconds, or now-7d')
    .option('--to <time>', 'end of the range (inclusive): RFC3339, Unix seconds, or now')
    .option('-c, --config <file>', "YAML configuration file, the daemon's (env: MESHWATCH_CONFIG)")
    .option('--prometheus-url <url>', 'Prometheus base URL (env: MESHWATCH_PROMETHEUS_URL)')
    .option('--step <duration>', 'time between two replayed polls (default: poll.interval)')
    .option('--json', 'print the findings and alerts as JSON on stdout')
    .option('--html <file>', 'write a self-contained HTML report with charts to FILE')
    .action(async (opts: BacktestOptions) => {
      await backtestCommand(io, opts, Date.now());
    });
}

/** Parses the options, runs the backtest and writes its outputs; throws UsageError for bad input. */
export async function backtestCommand(io: CliIo, opts: BacktestOptions, nowMs: number): Promise<void> {
  if (!opts.json && opts.html === undefined)
    throw new UsageError(
      'backtest needs an output: --json (findings and alerts on stdout), --html FILE, or both',
    );
  if (opts.from === undefined || opts.to === undefined)
    throw new UsageError(
      'backtest needs a range: --from TIME and --to TIME (RFC3339, Unix seconds, or now-7d)',
    );
  const fromMs = parseTime(opts.from, nowMs);
  const toMs = parseTime(opts.to, nowMs);
  if (fromMs >= toMs)
    throw new UsageError(
      `--from (${new Date(fromMs).toISOString()}) must be before --to (${new Date(toMs).toISOString()})`,
    );
  const config = loadConfig({
    file: opts.config ?? io.env.MESHWATCH_CONFIG,
    env: io.env,
    flags: { prometheusUrl: opts.prometheusUrl },
  });
  const range: BacktestRange = { fromMs, toMs, stepMs: stepOf(opts.step, config) };
  const prometheus = createPrometheusClient(config.prometheus);
  // stdout carries the JSON: logs (Prometheus warnings about partial data) go to stderr.
  const logger = createLogger(config.log.level === 'silent' ? 'silent' : 'warn', io.stderr);
  const steps = config.warmup.lookbackMs / config.warmup.stepMs + (toMs - fromMs) / range.stepMs;
  const progress = steps >= PROGRESS_MIN_STEPS ? progressWriter(io.stderr) : undefined;
  try {
    const result = await runBacktest({ config, prometheus, logger, onProgress: progress?.update }, range);
    progress?.done();
    if (opts.html !== undefined) writeFileSync(opts.html, renderBacktestReport(result));
    if (opts.json) io.stdout.write(`${JSON.stringify(backtestJson(result), null, 2)}\n`);
  } finally {
    prometheus.close();
  }
}

function stepOf(text: string | undefined, config: Config): number {
  if (text === undefined) return config.poll.intervalMs;
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000)
    throw new UsageError(
      `invalid --step ${JSON.stringify(text)}: use a duration of at least 1s, e.g. 30s or 1m`,
    );
  return ms;
}

/** A bar redrawn in place on a terminal; plain percentage lines when stderr is a pipe or a file. */
function progressWriter(stream: NodeJS.WritableStream): {
  update: (fraction: number, phase: string) => void;
  done: () => void;
} {
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  let lastPercent = -1;
  return {
    update: (fraction, phase) => {
      if (tty) {
        stream.write(`\r${progressBar(fraction, phase)}`);
        return;
      }
      const percent = progressStep(fraction);
      if (percent <= lastPercent) return;
      lastPercent = percent;
      stream.write(`backtest: ${percent}% ${phase}\n`);
    },
    done: () => {
      if (tty) stream.write('\n');
    },
  };
}
