/**
 * Reproduces the Dockerfile's runtime stage without a Docker engine: a clean folder with the production
 * dependencies only (`npm ci --omit=dev`) plus the built output, so a test can prove nothing at run time
 * needs a dev dependency. After a build: `node dist/scripts/production-install.js [DIR]` prints the folder.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../src/errors';

/** What the Dockerfile's runtime stage copies besides node_modules; a unit test keeps the two equal. */
export const RUNTIME_PATHS = ['dist/src', 'package.json', 'scenarios'] as const;

/** The command the Dockerfile's deps stage runs: production dependencies, no install scripts. */
export const PRODUCTION_NPM_CI = ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'] as const;

/** Runs a command in a folder; throws when it fails. Passed in so that callers choose how output is shown. */
export type CommandRunner = (command: string, args: readonly string[], cwd: string) => void;

/** Runs a command with its output discarded unless it fails (execFileSync then throws with stderr). */
export const quietRunner: CommandRunner = (command, args, cwd) => {
  execFileSync(command, [...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env } });
};

/** Options of {@link prepareProductionInstall}. */
export interface ProductionInstallOptions {
  /** The repository, with dist/ built. */
  root: string;
  /** Folder to install into (empty or missing); a fresh temporary folder when unset. */
  dir?: string;
  run?: CommandRunner;
}

/** Installs the runtime image's contents into a folder and returns it; its CLI is `<dir>/dist/src/cli/main.js`. */
export function prepareProductionInstall(options: ProductionInstallOptions): string {
  const root = resolve(options.root);
  const built = join(root, 'dist/src/cli/main.js');
  if (!existsSync(built)) throw new UsageError(`${built} is missing: run \`npm run build\` first`);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'meshwatch-production-'));
  // Lock file first, as the Dockerfile does: npm ci installs exactly what the lock pins.
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
  (options.run ?? quietRunner)('npm', PRODUCTION_NPM_CI, dir);
  for (const path of RUNTIME_PATHS) cpSync(join(root, path), join(dir, path), { recursive: true });
  return dir;
}

if (require.main === module) {
  const dir = prepareProductionInstall({ root: resolve(__dirname, '../..'), dir: process.argv[2] });
  console.log(dir);
}
