/**
 * The NAB scorer (Numenta Anomaly Benchmark v1.1), pure: per-row detector scores and labelled
 * windows in, raw and normalised scores out. Follows /work/shared/nab/README.md and NAB's
 * `sweeper.py`; checked against NAB's own golden results in test/unit/nab.
 */

/** One cost profile of NAB (`standard`, `reward_low_FP_rate`, `reward_low_FN_rate`). */
export interface CostProfile {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

/** The three profiles NAB reports, as in its `profiles.json`. */
export const nabProfiles: Readonly<Record<NabProfileName, CostProfile>> = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
};

/** Names of NAB's cost profiles. */
export type NabProfileName = 'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate';

/** An anomaly window as inclusive row indices `[first, last]`. */
export type RowWindow = readonly [number, number];

/** A labelled file: its row count and its windows, in time order and not overlapping. */
export interface LabelledFile {
  rows: number;
  windows: readonly RowWindow[];
}

/** A file and the detector's score for each of its rows. */
export interface ScoredFile extends LabelledFile {
  scores: ArrayLike<number>;
}

/** What NAB reports for one profile. */
export interface NabScore {
  raw: number;
  /** 0 = never fires, 100 = perfect. */
  normalized: number;
}

/** NAB's scaled sigmoid: 2 / (1 + e^(5x)) - 1, and -1 past x = 3. */
export function scaledSigmoid(x: number): number {
  return x > 3 ? -1 : 2 / (1 + Math.exp(5 * x)) - 1;
}

/** Rows NAB neither rewards nor penalises at the start of a file. */
export function probationRows(rows: number): number {
  // NAB: min(floor(0.15 * n), 0.15 * 5000).
  return Math.min(Math.floor(0.15 * rows), 750);
}

/**
 * The weight of a detection at each row, and the window (index) each row belongs to (-1 = outside).
 * Rows in probation have weight 0 and window -1, so detections there count for nothing.
 */
export function rowWeights(
  file: LabelledFile,
  profile: CostProfile,
): { weight: Float64Array; window: Int32Array } {
  const weight = new Float64Array(file.rows);
  const window = new Int32Array(file.rows).fill(-1);
  const maxTp = scaledSigmoid(-1);
  const probation = probationRows(file.rows);
  let next = 0;
  let previous: RowWindow | undefined;
  for (let i = 0; i < file.rows; i++) {
    let current = file.windows[next];
    while (current !== undefined && i > current[1]) {
      previous = current;
      next += 1;
      current = file.windows[next];
    }
    let w: number;
    let inWindow = -1;
    if (current !== undefined && i >= current[0]) {
      const width = current[1] - current[0] + 1;
      w = (scaledSigmoid(-(current[1] - i + 1) / width) * profile.tpWeight) / maxTp;
      inWindow = next;
    } else if (previous === undefined) {
      w = -profile.fpWeight;
    } else {
      w = scaledSigmoid(Math.abs(previous[1] - i) / (previous[1] - previous[0])) * profile.fpWeight;
    }
    if (i >= probation) {
      weight[i] = w;
      window[i] = inWindow;
    }
  }
  return { weight, window };
}

/** Raw NAB score of one file: each window's best detection (or -fnWeight) plus every false positive. */
export function rawFileScore(file: ScoredFile, threshold: number, profile: CostProfile): number {
  return rawFromWeights(rowWeights(file, profile), file.windows.length, file.scores, threshold, profile);
}

function rawFromWeights(
  rows: { weight: Float64Array; window: Int32Array },
  windowCount: number,
  scores: ArrayLike<number>,
  threshold: number,
  profile: CostProfile,
): number {
  const best = new Float64Array(windowCount).fill(-profile.fnWeight);
  let falsePositives = 0;
  for (let i = 0; i < rows.weight.length; i++) {
    if (!((scores[i] ?? 0) >= threshold)) continue;
    const w = rows.window[i] ?? -1;
    const weight = rows.weight[i] ?? 0;
    if (w >= 0) best[w] = Math.max(best[w] ?? -profile.fnWeight, weight);
    else falsePositives += weight;
  }
  let raw = falsePositives;
  for (const b of best) raw += b;
  return raw;
}

/** NAB score of a corpus at one threshold: raw sum over files, normalised between "never fires" and perfect. */
export function scoreCorpus(files: readonly ScoredFile[], threshold: number, profile: CostProfile): NabScore {
  return new CorpusScorer(files, profile).score(threshold);
}

/** Scores one corpus at many thresholds, computing the row weights once. */
export class CorpusScorer {
  private readonly rows: { weight: Float64Array; window: Int32Array }[];
  private readonly windows: number;

  constructor(
    private readonly files: readonly ScoredFile[],
    private readonly profile: CostProfile,
  ) {
    this.rows = files.map((file) => rowWeights(file, profile));
    this.windows = files.reduce((sum, file) => sum + file.windows.length, 0);
  }

  /** The corpus score when every row scoring >= threshold is a detection. */
  score(threshold: number): NabScore {
    let raw = 0;
    this.files.forEach((file, i) => {
      const rows = this.rows[i];
      if (rows !== undefined)
        raw += rawFromWeights(rows, file.windows.length, file.scores, threshold, this.profile);
    });
    const nullScore = -this.profile.fnWeight * this.windows;
    const perfect = this.profile.tpWeight * this.windows;
    const normalized = perfect === nullScore ? 0 : (100 * (raw - nullScore)) / (perfect - nullScore);
    return { raw, normalized };
  }
}
