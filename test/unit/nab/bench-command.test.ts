import path from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { registerBenchCommand } from '../../../src/cli/bench';
import { trafficBaselineOptions } from '../../../src/core/baseline';

const nabDir = path.resolve(__dirname, '../../../../shared/nab');
const twoFiles = path.resolve(__dirname, 'fixtures/two-files.json');

/** A stream that keeps what is written to it. */
function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

async function runBench(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const stdout = sink();
  const stderr = sink();
  const program = new Command().exitOverride();
  registerBenchCommand(program, { stdout, stderr, env: {} });
  await program.parseAsync(['bench', 'nab', ...args], { from: 'user' });
  return { stdout: stdout.text(), stderr: stderr.text() };
}

const scores = {
  standard: expect.any(Number),
  reward_low_FP_rate: expect.any(Number),
  reward_low_FN_rate: expect.any(Number),
};

describe('meshwatch bench nab', () => {
  it('prints the documented JSON shape on stdout and one progress line per file on stderr', async () => {
    const { stdout, stderr } = await runBench(['--data', nabDir, '--files', twoFiles, '--json']);
    expect(JSON.parse(stdout)).toEqual({
      files: 2,
      windows: 5,
      threshold: trafficBaselineOptions.threshold,
      scores,
      best: { threshold: expect.any(Number), scores },
    });
    expect(stderr.split('\n')).toEqual([
      expect.stringMatching(
        /^artificialWithAnomaly\/art_daily_jumpsup\.csv: 4032 rows, 1 windows, \d+ rows over threshold$/,
      ),
      expect.stringMatching(/^realTraffic\/speed_7578\.csv: 1127 rows, 4 windows, \d+ rows over threshold$/),
      '',
    ]);
  });

  it('scores at the threshold given on the command line and never reports a best below it', async () => {
    const { stdout } = await runBench(['--data', nabDir, '--files', twoFiles, '--threshold', '3', '--json']);
    const result = JSON.parse(stdout) as {
      threshold: number;
      scores: { standard: number };
      best: { scores: { standard: number } };
    };
    expect(result.threshold).toBe(3);
    expect(result.best.scores.standard).toBeGreaterThanOrEqual(result.scores.standard);
  });

  it('prints a table without --json', async () => {
    const { stdout } = await runBench(['--data', nabDir, '--files', twoFiles]);
    const number = ' +-?\\d+\\.\\d{2}';
    expect(stdout.split('\n')).toEqual([
      'NAB: 2 files, 5 windows',
      'threshold               standard    low FP    low FN',
      expect.stringMatching(
        new RegExp(`^${trafficBaselineOptions.threshold} \\(default\\)${number}${number}${number}$`),
      ),
      expect.stringMatching(new RegExp(`^\\S+ \\(best\\)${number}${number}${number}$`)),
      '',
    ]);
  });

  it('rejects a threshold that is not a positive number', async () => {
    await expect(runBench(['--data', nabDir, '--files', twoFiles, '--threshold', 'abc'])).rejects.toThrow(
      '--threshold must be a positive number, got "abc"',
    );
  });
});
