import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { requireBuild } from '../helpers/meshwatch';
import { waitFor } from '../helpers/ports';

const DEMO = resolve(__dirname, '../../dist/scripts/demo.js');

/** Runs the demo (the README's first command, after its build step) and collects its output. */
function runDemo(args: string[]) {
  requireBuild();
  const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

/** Every address the demo printed: after it stops, none may answer. */
function addresses(output: string): string[] {
  return [...new Set([...output.matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]))];
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch {
    return true;
  }
}

describe('npm run demo', () => {
  it('prints the plaintext finding as it appears, then stops everything it started', async () => {
    const demo = runDemo(['--once']);
    const code = await demo.exited;
    const out = demo.output();
    expect(code).toBe(0);
    expect(out).toMatch(/FINDING plaintext at shop\/catalog: .* from shop\/cart/);
    expect(out).toContain('done: nothing left running');
    const urls = addresses(out);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const url of urls) expect(await refused(url)).toBe(true);
  });

  it('stops everything on Ctrl-C and exits 0', async () => {
    const demo = runDemo([]);
    await waitFor(
      'the demo to be up',
      async () => demo.output().includes('press Ctrl-C to stop'),
      60000,
      200,
    );
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    for (const url of addresses(demo.output())) expect(await refused(url)).toBe(true);
  });
});
