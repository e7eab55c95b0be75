import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const DOC = 'docs/faults.md';

/** A row of the fault matrix: its fault and the test named in its last cell. */
interface Row {
  line: number;
  fault: string;
  cells: string[];
  file: string;
  test: string;
}

/** The rows of every table in docs/faults.md whose header starts with "Fault". */
function matrixRows(text: string): Row[] {
  const rows: Row[] = [];
  let inMatrix = false;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line.startsWith('|')) {
      inMatrix = false;
      continue;
    }
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    if (cells[0] === 'Fault') {
      inMatrix = true;
      continue;
    }
    if (!inMatrix || /^-+$/.test(cells[0] ?? '')) continue;
    const proof = /^`([^`]+)` › (.+)$/.exec(cells[cells.length - 1] ?? '');
    rows.push({
      line: i + 1,
      fault: cells[0] ?? '',
      cells,
      file: proof?.[1] ?? '',
      test: (proof?.[2] ?? '').replace(/\\\|/g, '|'),
    });
  }
  return rows;
}

/** The names of the it() and test() cases of a test file, unescaped. */
function testNames(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(/\b(?:it|test)(?:\.each\([^)]*\))?\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g)) {
    names.add((m[2] ?? '').replace(/\\(.)/g, '$1'));
  }
  return names;
}

/** The faults issue 14 lists, each as words its row's first cell has (lower case). */
const REQUIRED_FAULTS = [
  'prometheus down at start',
  'prometheus down mid-run',
  'slower than `prometheus.timeout`',
  'flapping',
  '5xx with an html body',
  '4xx with prometheus',
  'malformed json',
  'cut off mid-way',
  'over `prometheus.max_response_bytes`',
  '200 with `status: "error"`',
  '`nan`, `+inf` and `-inf`',
  'partial-response `warnings`',
  'counter reset',
  'scrape gap',
  'target leaves service discovery and comes back',
  'labels stripped',
  'ten times the usual churn',
  'hostile label values',
  'ingestion lag',
  'sigterm while a poll',
  'sigterm during the warm-up',
  'sigkill and restart',
  'alertmanager down',
  'alertmanager slow',
  'disk full or read-only',
  'bad config file at reload',
];

describe('the fault matrix in docs/faults.md', () => {
  const rows = matrixRows(readFileSync(join(ROOT, DOC), 'utf8'));

  it('has a row for each fault the matrix must cover', () => {
    const uncovered = REQUIRED_FAULTS.filter(
      (words) => !rows.some((r) => r.fault.toLowerCase().includes(words)),
    );
    expect(uncovered).toEqual([]);
  });

  it('says, for every row, what meshwatch does, the metric, the log line and the test', () => {
    const incomplete = rows.filter((r) => r.cells.length !== 5 || r.cells.some((c) => c === '') || !r.file);
    expect(incomplete.map((r) => `${DOC}:${r.line} ${r.fault}`)).toEqual([]);
  });

  it('names, in every row, a test that exists in an integration test file', () => {
    const missing = rows.filter((r) => {
      const path = join(ROOT, r.file);
      if (!r.file.startsWith('test/integration/') || !existsSync(path)) return true;
      return !testNames(readFileSync(path, 'utf8')).has(r.test);
    });
    expect(missing.map((r) => `${DOC}:${r.line} ${r.file} › ${r.test}`)).toEqual([]);
  });
});
