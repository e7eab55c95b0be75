/** Headless Chromium (Debian's `chromium`) driven by flags only: no DevTools client, no npm dependency. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { which } from './binaries';
import { removeDir } from './prometheus';

const run = promisify(execFile);

/** The Chromium binary; fails (never skips) with the command that installs it. */
export function chromiumBinary(): string {
  const found = which('chromium') ?? which('chromium-browser');
  if (!found) throw new Error('install chromium: apt-get install -y chromium');
  return found;
}

// Quiet, offline, and runnable as root in a container: no sandbox (needs user namespaces), no GPU,
// none of the background fetches a fresh profile would start.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

async function chromium(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'meshwatch-chromium-'));
  try {
    return await run(chromiumBinary(), [...FLAGS, `--user-data-dir=${profile}`, ...args], {
      timeout: 60_000,
      maxBuffer: 32 << 20,
    });
  } finally {
    removeDir(profile);
  }
}

/** A page as Chromium loaded it: the DOM after its scripts ran, and what it logged to the console as errors. */
export interface LoadedPage {
  dom: string;
  /**
   * Every console message the page raised, from Chromium's log. Chromium 156 logs them all at INFO
   * (`INFO:CONSOLE:12] "text", source: ...`) whatever their level, so errors cannot be told from
   * logs there: a page meant to log nothing (the report) must have none at all.
   */
  consoleMessages: string[];
}

/** Loads a local HTML file and returns its DOM after its scripts ran, with the console messages it raised. */
export async function loadPage(file: string): Promise<LoadedPage> {
  const { stdout, stderr } = await chromium([
    '--enable-logging=stderr',
    '--v=0',
    '--dump-dom',
    pathToFileURL(file).href,
  ]);
  // Older builds write `CONSOLE(12)`; uncaught exceptions and CSP refusals arrive the same way.
  const consoleMessages = stderr.split('\n').filter((l) => /CONSOLE[:(]\d+|Uncaught|Refused to/.test(l));
  return { dom: stdout, consoleMessages };
}

/** Saves a screenshot of a local HTML file as PNG at `png`. */
export async function screenshot(
  file: string,
  png: string,
  size = { width: 1200, height: 2000 },
): Promise<void> {
  await chromium([
    `--screenshot=${png}`,
    `--window-size=${size.width},${size.height}`,
    '--hide-scrollbars',
    pathToFileURL(file).href,
  ]);
}
