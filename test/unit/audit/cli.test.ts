import { PassThrough } from 'node:stream';
import { auditCommand, type AuditOptions } from '../../../src/cli/audit';
import { buildProgram } from '../../../src/cli/main';
import { UsageError } from '../../../src/errors';

const NOW = Date.UTC(2026, 0, 8);
const io = () => ({ stdout: new PassThrough(), stderr: new PassThrough(), env: {} });

async function usageError(opts: AuditOptions): Promise<string> {
  const err: unknown = await auditCommand(io(), opts, NOW).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof UsageError)) throw new Error(`expected a UsageError, got ${String(err)}`);
  return err.message;
}

describe('meshwatch audit arguments', () => {
  it('asks for an output when none of --json, --html and --policies-out is given', async () => {
    expect(await usageError({ lookback: '7d' })).toBe(
      'audit needs an output: --json (the report on stdout), --html FILE, --policies-out DIR, or several',
    );
  });

  it.each(['7', 'week', '30m', ''])(
    'refuses the lookback %j: it must be a duration of at least an hour',
    async (lookback) => {
      expect(await usageError({ json: true, lookback })).toBe(
        `invalid --lookback ${JSON.stringify(lookback)}: use a duration of at least 1h, e.g. 7d or 24h`,
      );
    },
  );

  it.each(['-1', '1.5', 'ten'])('refuses --min-requests %j', async (minRequests) => {
    expect(await usageError({ json: true, minRequests })).toBe(
      `invalid --min-requests ${JSON.stringify(minRequests)}: use a whole number, 0 or more`,
    );
  });

  it('refuses an empty namespace', async () => {
    expect(await usageError({ json: true, namespace: ['shop', ''] })).toBe(
      'invalid --namespace "": name a namespace',
    );
  });

  it.each([
    ['--root-namespace', { rootNamespace: '' }],
    ['--policies-out', { policiesOut: '' }],
    ['--policies', { policies: '' }],
    ['--html', { html: '' }],
  ] as const)('refuses an empty %s', async (option, opts) => {
    expect(await usageError({ json: true, ...opts })).toBe(`invalid ${option} "": it needs a value`);
  });

  it('is a command of the meshwatch program, and its option errors reach the user', async () => {
    const cli = io();
    let stderr = '';
    cli.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const run = buildProgram(cli).parseAsync(['node', 'meshwatch', 'audit', '--json', '--lookback', '10m'], {
      from: 'node',
    });
    await expect(run).rejects.toThrow(
      new UsageError('invalid --lookback "10m": use a duration of at least 1h, e.g. 7d or 24h'),
    );
    expect(stderr).toBe('');
  });
});
