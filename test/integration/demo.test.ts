import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { requireBuild } from '../helpers/meshwatch';
import { waitFor } from '../helpers/ports';

const DEMO = resolve(__dirname, '../../dist/scripts/demo.js');
// Backfill and start-up (~15-40s on a busy machine), the story's spike about 1.5 minutes after
// going live, then the rule's for: 1m and Alertmanager's group_wait: about 3 minutes in all.
const ONCE_TIMEOUT_MS = 330_000;

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

/** Processes whose command line mentions `text` (the demo's temporary folder: Prometheus's TSDB is in it). */
function processesMentioning(text: string): string[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return cmdline.includes(text) ? [`${pid} ${cmdline}`] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

/** The demo's temporary folder, from the paths it prints. */
const demoDir = (output: string): string =>
  /(\/\S*meshwatch-demo-[^/\s]+)\//.exec(output)?.[1] ?? 'no demo folder printed';

describe('npm run demo', () => {
  it(
    'plays the story (plaintext, new caller, unauthorized spike) up to the page, then stops everything it started',
    async () => {
      const demo = runDemo(['--once']);
      const code = await demo.exited;
      const out = demo.output();
      expect({ code, out }).toMatchObject({ code: 0 });
      const timeline = out
        .split('\n')
        .map((l) => l.replace(/^\[\d\d:\d\d\] /, ''))
        .filter((l) => /^(FINDING opened (plaintext|new_caller|unauthorized)|PAGE) /.test(l))
        .map(
          (l) =>
            /^(FINDING opened \S+ at \S+|PAGE firing to pager: \S+ severity=\S+ destination=\S+)/.exec(
              l,
            )?.[1],
        );
      expect(timeline).toEqual([
        'FINDING opened plaintext at shop/catalog:',
        'FINDING opened new_caller at shop/payments:',
        'FINDING opened unauthorized at shop/payments:',
        'PAGE firing to pager: MeshUnauthorizedAccessSpike severity=critical destination=shop/payments',
      ]);
      expect(out).toMatch(/FINDING opened plaintext at shop\/catalog: .*callers: shop\/cart /);
      expect(out).toMatch(
        /FINDING opened unauthorized at shop\/payments: .*callers: shop\/cart \(spiffe:\/\/cluster\.local\/ns\/shop\/sa\/cart\)/,
      );
      expect(out).toContain('done: nothing left running');
      const urls = addresses(out);
      // findings and metrics of meshwatch, Prometheus, Alertmanager, the simulator.
      expect(urls.length).toBeGreaterThanOrEqual(4);
      for (const url of urls) expect(await refused(url)).toBe(true);
      expect(processesMentioning(demoDir(out))).toEqual([]);
    },
    ONCE_TIMEOUT_MS,
  );

  it('stops everything on Ctrl-C once running and exits 0', async () => {
    const demo = runDemo([]);
    await waitFor(
      'the demo to be up',
      async () => demo.output().includes('press Ctrl-C to stop'),
      120_000,
      200,
    );
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    const out = demo.output();
    expect(out).toContain('done: nothing left running');
    for (const url of addresses(out)) expect(await refused(url)).toBe(true);
    expect(processesMentioning(demoDir(out))).toEqual([]);
  }, 180_000);

  it('stops on Ctrl-C while still backfilling and exits 0', async () => {
    const demo = runDemo([]);
    await waitFor('the backfill to start', async () => demo.output().includes('backfilling'), 30_000, 100);
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain('interrupted: stopping everything started so far');
    expect(processesMentioning(demoDir(demo.output()))).toEqual([]);
  }, 60_000);
});
