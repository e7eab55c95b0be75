import { PassThrough } from 'node:stream';
import { backtestCommand } from '../../../src/cli/backtest';
import { UsageError } from '../../../src/errors';

const NOW = Date.UTC(2026, 0, 8);
const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: {} };
const range = { from: '2026-01-06T00:00:00Z', to: '2026-01-07T00:00:00Z' };

async function usageError(opts: Parameters<typeof backtestCommand>[1]): Promise<string> {
  const err: unknown = await backtestCommand(io, opts, NOW).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof UsageError)) throw new Error(`expected a UsageError, got ${String(err)}`);
  return err.message;
}

describe('meshwatch backtest arguments', () => {
  it('asks for an output when neither --json nor --html is given', async () => {
    expect(await usageError(range)).toBe(
      'backtest needs an output: --json (findings and alerts on stdout), --html FILE, or both',
    );
  });

  it('asks for both ends of the range', async () => {
    expect(await usageError({ json: true, from: range.from })).toBe(
      'backtest needs a range: --from TIME and --to TIME (RFC3339, Unix seconds, or now-7d)',
    );
  });

  it('names a time it cannot read and the forms it accepts', async () => {
    expect(await usageError({ json: true, from: 'yesterday', to: 'now' })).toBe(
      'invalid time "yesterday": use RFC3339 (2026-11-22T15:00:00Z), Unix seconds, now, or now-7d / now+1h30m',
    );
  });

  it('refuses a range whose start is not before its end', async () => {
    expect(await usageError({ json: true, from: range.to, to: range.from })).toBe(
      '--from (2026-01-07T00:00:00.000Z) must be before --to (2026-01-06T00:00:00.000Z)',
    );
  });

  it('refuses a step that is not a duration of at least a second', async () => {
    expect(await usageError({ json: true, ...range, step: '60' })).toBe(
      'invalid --step "60": use a duration of at least 1s, e.g. 30s or 1m',
    );
  });
});
