/**
 * Runs a baseline over NAB series exactly as a detector would poll them (row by row, the file's own
 * timestamps) and scores the result. Pure: the corpus comes in already read.
 */
import { createBaseline, type BaselineOptions } from '../../core/baseline';
import type { NabSeries } from './corpus';
import { CorpusScorer, nabProfiles, type NabProfileName, type ScoredFile } from './scorer';

/** Normalised scores per NAB profile. */
export type NabProfileScores = Record<NabProfileName, number>;

/** The `bench nab` result, in the shape its JSON output has. */
export interface NabBenchResult {
  files: number;
  windows: number;
  /** The detector threshold (score units) the scores were taken at. */
  threshold: number;
  scores: NabProfileScores;
  /** The threshold of the sweep with the best standard score (in-sample, as NAB's published numbers are). */
  best: { threshold: number; scores: NabProfileScores };
}

/** Detector thresholds the sweep tries besides the one given. */
export const nabSweepThresholds: readonly number[] = [2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 7, 8, 10, 12];

/**
 * NAB anomaly score of each row: the baseline's score s mapped to s / (s + threshold), so the detector's
 * threshold lands on 0.5 and a row is a NAB detection exactly when the detector calls it anomalous.
 * Rows without an estimate (warm-up) score 0.
 */
export function nabRowScores(series: NabSeries, options: BaselineOptions): Float64Array {
  const baseline = createBaseline(options);
  const scores = new Float64Array(series.values.length);
  for (let i = 0; i < scores.length; i++) {
    const estimate = baseline.observe(series.timesMs[i] ?? 0, series.values[i]);
    const s = estimate?.score ?? 0;
    scores[i] = s === Infinity ? 1 : s / (s + options.threshold);
  }
  return scores;
}

/** Scores of every profile for the corpus at one detector threshold; rows count as detections at >= 0.5. */
export function scoreNab(
  series: readonly NabSeries[],
  options: BaselineOptions,
  onFile: (series: NabSeries, detections: number) => void = () => undefined,
): NabProfileScores {
  const files: ScoredFile[] = series.map((s) => {
    const scores = nabRowScores(s, options);
    onFile(s, scores.filter((x) => x >= 0.5).length);
    return { rows: s.values.length, windows: s.windows, scores };
  });
  const score = (name: NabProfileName): number =>
    new CorpusScorer(files, nabProfiles[name]).score(0.5).normalized;
  return {
    standard: score('standard'),
    reward_low_FP_rate: score('reward_low_FP_rate'),
    reward_low_FN_rate: score('reward_low_FN_rate'),
  };
}

/**
 * The benchmark: scores at `options.threshold`, then the same detector re-run at each sweep threshold
 * (holding and acceptance depend on it, so the sweep runs the detector, not just a cut-off).
 * `progress` hears one line per file of the run at `options.threshold`.
 */
export function runNabBenchmark(
  series: readonly NabSeries[],
  options: BaselineOptions,
  progress: (line: string) => void = () => undefined,
): NabBenchResult {
  const scores = scoreNab(series, options, (s, detections) =>
    progress(
      `${s.name}: ${s.values.length} rows, ${s.windows.length} windows, ${detections} rows over threshold`,
    ),
  );
  let best = { threshold: options.threshold, scores };
  for (const threshold of nabSweepThresholds) {
    if (threshold === options.threshold) continue;
    const candidate = scoreNab(series, { ...options, threshold });
    if (candidate.standard > best.scores.standard) best = { threshold, scores: candidate };
  }
  return {
    files: series.length,
    windows: series.reduce((sum, s) => sum + s.windows.length, 0),
    threshold: options.threshold,
    scores,
    best,
  };
}
