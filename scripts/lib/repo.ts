import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository root: the nearest folder above this file holding package.json. Scripts run both
 * from source (ts-jest) and compiled under dist/, so a fixed number of `..` would be wrong in one.
 */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

/** A path inside the repository, e.g. `repoPath('scenarios', 'demo.yaml')`. */
export const repoPath = (...parts: string[]): string => join(repoRoot(), ...parts);
