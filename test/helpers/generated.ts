import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * Fails, naming the command that regenerates it, when the committed file at `path` (relative to
 * the repository) is not exactly `content`: generated files are committed and must not drift.
 */
export function expectCommittedAsGenerated(
  path: string,
  content: string,
  source: string,
  command: string,
): void {
  const committed = readFileSync(join(ROOT, path), 'utf8');
  if (committed !== content) {
    throw new Error(
      `${path} differs from what ${source} generates: run \`${command}\` and commit the result.\n` +
        firstDifference(committed, content),
    );
  }
}

function firstDifference(committed: string, generated: string): string {
  const a = committed.split('\n');
  const b = generated.split('\n');
  const line = a.findIndex((l, i) => l !== b[i]);
  const at = line === -1 ? a.length : line;
  return `first difference at line ${at + 1}:\n  committed: ${a[at] ?? '(end of file)'}\n  generated: ${b[at] ?? '(end of file)'}`;
}
