import { Writable } from 'node:stream';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerCheckConfigCommand } from '../../../src/cli/check-config';
import type { CliIo } from '../../../src/cli/io';

const FIXTURES = join(__dirname, '../../fixtures/config');

/** A Writable that keeps what was written, for asserting whole outputs. */
function memoryStream(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

/** Runs `meshwatch check-config ...args` in-process and returns what a user would see. */
async function checkConfig(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const stdout = memoryStream();
  const stderr = memoryStream();
  const io: CliIo = { stdout, stderr, env };
  const program = new Command('meshwatch').exitOverride();
  registerCheckConfigCommand(program, io);
  const before = process.exitCode;
  let exitCode = 0;
  try {
    await program.parseAsync(['check-config', ...args], { from: 'user' });
    exitCode = Number(process.exitCode ?? 0);
  } catch (err) {
    exitCode = (err as { exitCode?: number }).exitCode ?? -1;
  } finally {
    process.exitCode = before;
  }
  return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
}

describe('meshwatch check-config', () => {
  it('prints FILE: ok and exits 0 for a valid file', async () => {
    const file = join(FIXTURES, 'valid-full.yml');
    expect(await checkConfig([file])).toEqual({ exitCode: 0, stdout: `${file}: ok\n`, stderr: '' });
  });

  it('prints the one problem on stderr and exits 1 for an invalid file', async () => {
    const file = join(FIXTURES, 'invalid-unknown-key.yml');
    expect(await checkConfig([file])).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: `${file}: unknown key poll.intervall (keys allowed under poll: interval, rate_window, query_offset)\n`,
    });
  });

  it('validates the file together with the MESHWATCH_* environment the daemon would see', async () => {
    const file = join(FIXTURES, 'valid-minimal.yml');
    expect(await checkConfig([file], { MESHWATCH_SERVER_PORT: 'abc' })).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'MESHWATCH_SERVER_PORT (server.port): "abc" is not an integer (allowed: 0 to 65535)\n',
    });
  });

  it('checks the web config file the configuration names, as the daemon does at start', async () => {
    const file = join(FIXTURES, 'valid-minimal.yml');
    const webConfig = join(FIXTURES, 'no-such-web-config.yml');
    expect(await checkConfig([file], { MESHWATCH_SERVER_WEB_CONFIG_FILE: webConfig })).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: `server.web_config_file: ${webConfig} not found\n`,
    });
  });

  it('exits 1 with a clear message when the file does not exist', async () => {
    const file = join(FIXTURES, 'no-such-file.yml');
    expect(await checkConfig([file])).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: `${file}: config file not found\n`,
    });
  });

  it('exits 1 with usage help when the file argument is missing', async () => {
    expect(await checkConfig([])).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: "error: missing required argument 'file'\n",
    });
  });
});
