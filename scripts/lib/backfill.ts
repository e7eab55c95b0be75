import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries';
import { repoPath } from './repo';

const run = promisify(execFile);

/** One stretch of history to write, at its own resolution. */
export interface HistoryRange {
  fromMs: number;
  toMs: number;
  stepMs: number;
}

/**
 * Writes a scenario's history with the built `meshwatch simulate --backfill` (a child process:
 * the simulator is pure CPU, and the caller's event loop keeps its timers) and turns each range
 * into TSDB blocks in `dataDir` with `promtool tsdb create-blocks-from openmetrics`.
 */
export async function backfillHistory(options: {
  scenarioFile: string;
  set: readonly string[];
  epochMs: number;
  ranges: readonly HistoryRange[];
  /** Scratch folder for the OpenMetrics files. */
  dir: string;
  dataDir: string;
  /** Aborts the child processes, e.g. on Ctrl-C. */
  signal?: AbortSignal;
}): Promise<void> {
  const cli = repoPath('dist', 'src', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  const promtool = requireBinary(['promtool'], 'prometheus');
  for (const [i, range] of options.ranges.entries()) {
    const file = join(options.dir, `history-${i}.om`);
    await run(
      process.execPath,
      [
        cli,
        'simulate',
        '--scenario',
        options.scenarioFile,
        ...options.set.flatMap((s) => ['--set', s]),
        '--backfill',
        file,
        '--epoch',
        String(options.epochMs / 1000),
        '--from',
        String(range.fromMs / 1000),
        '--to',
        String(range.toMs / 1000),
        '--step',
        `${range.stepMs / 1000}s`,
      ],
      { signal: options.signal },
    );
    // Blocks of a day, not promtool's default 2 hours: a week is then ~10 blocks instead of ~85,
    // which is several times faster to write and to open.
    const args = ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', '--max-block-duration=24h'];
    try {
      await run(promtool, [...args, file, options.dataDir], {
        maxBuffer: 16 << 20,
        signal: options.signal,
      });
    } finally {
      // The file is scratch once it is blocks: a week of a large mesh is close to a gigabyte.
      rmSync(file, { force: true });
    }
  }
}
