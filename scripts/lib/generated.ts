import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../../src/errors';

/** Writes generated files under `outDir`, creating folders, and returns the paths written. */
export function writeGeneratedFiles(
  outDir: string,
  files: ReadonlyArray<{ path: string; content: string }>,
  log: (line: string) => void,
): string[] {
  return files.map(({ path, content }) => {
    const target = join(outDir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    log(`wrote ${target}`);
    return target;
  });
}

/** Parses a repeatable `--label key=value` option. */
export function parseLabel(text: string, example: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`--label ${text}: expected key=value, e.g. ${example}`);
  return [text.slice(0, at), text.slice(at + 1)];
}
