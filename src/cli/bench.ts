/**
 * `meshwatch bench ...`: benchmarks of the detectors. `bench nab` runs the traffic baseline, with the options
 * the traffic detector ships, over the Numenta Anomaly Benchmark and scores it as NAB does.
 */
import path from 'node:path';
import { Command } from 'commander';
import { trafficBaselineOptions } from '../core/baseline';
import { readJsonFile, readNabCorpus, type NabWindows } from '../bench/nab/corpus';
import { runNabBenchmark, type NabBenchResult } from '../bench/nab/runner';
import { UsageError } from '../errors';
import type { CliIo } from './io';

/** Options of `bench nab` as commander parses them. */
interface NabCommandOptions {
  data: string;
  windows?: string;
  files?: string;
  threshold?: string;
  json?: boolean;
}

/** Adds `bench` and its subcommands (`nab`) to the program. */
export function registerBenchCommand(program: Command, io: CliIo): void {
  const bench = program.command('bench').description('benchmarks of the detectors');
  bench
    .command('nab')
    .description(
      'score the traffic baseline on the Numenta Anomaly Benchmark (standard, low-FP, low-FN profiles)',
    )
    .requiredOption('--data <dir>', 'NAB folder holding data/ and labels/', io.env.MESHWATCH_BENCH_NAB_DATA)
    .option('--windows <file>', 'anomaly windows JSON (default: <dir>/labels/windows.json)')
    .option(
      '--files <file>',
      'JSON list of data files to score, relative to <dir>/data (default: every file with windows)',
    )
    .option(
      '--threshold <score>',
      `detector threshold (default: the traffic detector's, ${trafficBaselineOptions.threshold})`,
    )
    .option('--json', 'print the result as JSON on stdout (progress still goes to stderr)')
    .action((options: NabCommandOptions) => {
      const result = benchNab(options, (line) => io.stderr.write(`${line}\n`));
      io.stdout.write(options.json ? `${JSON.stringify(result)}\n` : formatNabTable(result));
    });
}

function benchNab(options: NabCommandOptions, progress: (line: string) => void): NabBenchResult {
  const threshold =
    options.threshold === undefined ? trafficBaselineOptions.threshold : Number(options.threshold);
  if (!(Number.isFinite(threshold) && threshold > 0)) {
    throw new UsageError(`--threshold must be a positive number, got ${JSON.stringify(options.threshold)}`);
  }
  const windows = readJsonFile(options.windows ?? path.join(options.data, 'labels', 'windows.json'));
  if (!isWindows(windows))
    throw new UsageError('the windows file must map file names to [[start, end], ...]');
  let names: string[] | undefined;
  if (options.files !== undefined) {
    const list = readJsonFile(options.files);
    if (!Array.isArray(list) || !list.every((n) => typeof n === 'string')) {
      throw new UsageError(`--files ${options.files} must hold a JSON list of relative paths`);
    }
    names = list as string[];
  }
  const series = readNabCorpus(options.data, windows, names);
  return runNabBenchmark(series, { ...trafficBaselineOptions, threshold }, progress);
}

function isWindows(value: unknown): value is NabWindows {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (list) =>
      Array.isArray(list) &&
      list.every((w) => Array.isArray(w) && w.length === 2 && w.every((t) => typeof t === 'string')),
  );
}

/** The human-readable form of a `bench nab` result. */
export function formatNabTable(result: NabBenchResult): string {
  const row = (label: string, s: NabBenchResult['scores']): string =>
    `${label.padEnd(22)}${[s.standard, s.reward_low_FP_rate, s.reward_low_FN_rate].map((x) => x.toFixed(2).padStart(10)).join('')}\n`;
  return (
    `NAB: ${result.files} files, ${result.windows} windows\n` +
    `${'threshold'.padEnd(22)}${'standard'.padStart(10)}${'low FP'.padStart(10)}${'low FN'.padStart(10)}\n` +
    row(`${result.threshold} (default)`, result.scores) +
    row(`${result.best.threshold} (best)`, result.best.scores)
  );
}
