import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The path of a binary a test needs, or an error saying which Debian package to install.
 * Tests never skip because a binary is missing: they fail with this message.
 */
export function requireBinary(names: string[], debianPackage: string): string {
  for (const name of names) {
    const found = which(name);
    if (found) return found;
  }
  throw new Error(
    `${names.join(' or ')} not found on PATH: install it with \`apt-get install -y ${debianPackage}\` (as root), or run \`bash .ci/run\`, which does`,
  );
}

/**
 * Makes sure Debian packages are installed, for the demo: installs the missing ones with apt-get
 * when running as root, and otherwise fails with the exact command to run.
 */
export function ensureDebianPackages(
  wanted: Array<{ binary: string; debianPackage: string }>,
  log: (line: string) => void,
): void {
  const missing = [...new Set(wanted.filter((w) => !which(w.binary)).map((w) => w.debianPackage))];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${missing.join(', ')}: install with \`sudo apt-get install -y ${missing.join(' ')}\` and run again`,
    );
  }
  log(`installing Debian packages: ${missing.join(' ')} (apt-get, as root)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-q'],
    ['install', '-y', '-q', '--no-install-recommends', ...missing],
  ]) {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (result.status !== 0) {
      throw new Error(
        `apt-get ${args.join(' ')} failed (exit ${result.status}); install ${missing.join(' ')} by hand`,
      );
    }
  }
}
