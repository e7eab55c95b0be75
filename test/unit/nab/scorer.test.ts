import path from 'node:path';
import { readFileSync } from 'node:fs';
import {
  CorpusScorer,
  nabProfiles,
  rawFileScore,
  type NabProfileName,
  type ScoredFile,
} from '../../../src/bench/nab/scorer';
import { parseNabCsv, toRowWindows, type NabWindows } from '../../../src/bench/nab/corpus';

const nabDir = path.resolve(__dirname, '../../../../shared/nab');
const readJson = <T>(relative: string): T =>
  JSON.parse(readFileSync(path.join(nabDir, relative), 'utf8')) as T;

describe('NAB scorer', () => {
  it('gives raw -0.9540 on the README hand case (two windows, detections at rows 30, 31 and 37)', () => {
    const scores = new Float64Array(100);
    for (const row of [30, 31, 37]) scores[row] = 1;
    const file: ScoredFile = {
      rows: 100,
      windows: [
        [30, 34],
        [65, 69],
      ],
      scores,
    };
    // The hand case has no probation; 100 rows have floor(15) rows of it, none of which is a detection.
    const raw = rawFileScore(file, 0.5, { tpWeight: 1, fpWeight: 1, fnWeight: 1 });
    expect(raw).toBeCloseTo(-0.954, 4);
  });

  it("reproduces NAB's published scores of the Numenta HTM detector on the development set for all three profiles", () => {
    const windows = readJson<NabWindows>('labels/windows.json');
    const golden = readJson<{ files: Record<string, number[]> }>('golden/numenta_dev_scores.json');
    const expected = readJson<Record<NabProfileName, { threshold: number; raw: number; normalized: number }>>(
      'golden/numenta_dev_expected.json',
    );
    const files: ScoredFile[] = Object.keys(windows).map((name) => {
      const { timesMs } = parseNabCsv(name, readFileSync(path.join(nabDir, 'data', name), 'utf8'));
      const scores = golden.files[name] ?? [];
      return { rows: timesMs.length, windows: toRowWindows(timesMs, windows[name] ?? []), scores };
    });
    const round = (x: number): number => Math.round(x * 1000) / 1000;
    const actual = Object.fromEntries(
      (Object.keys(nabProfiles) as NabProfileName[]).map((name) => {
        const score = new CorpusScorer(files, nabProfiles[name]).score(expected[name].threshold);
        return [name, { raw: round(score.raw), normalized: round(score.normalized) }];
      }),
    );
    const wanted = Object.fromEntries(
      Object.entries(expected).map(([name, e]) => [
        name,
        { raw: round(e.raw), normalized: round(e.normalized) },
      ]),
    );
    expect(actual).toEqual(wanted);
  });
});
