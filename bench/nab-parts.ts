/**
 * Research harness of issue 12: scores each part of the detection engine (the seasonal deviation, the
 * shape model, the spatial rule) alone and combined on the NAB corpus with the project's own scorer,
 * at a sweep of thresholds, for the whole set and its two halves (alphabetical order: the first 17 files
 * and the last 18), in the three NAB profiles. Every part sees each file row by row, as a detector polls,
 * and nothing reads a file's min, max or later rows. `--cost` measures the cost per value and the bytes
 * per series of the shape model and the spatial rule instead.
 *
 * Run after a build:
 *   node dist/bench/nab-parts.js [--data ../shared/nab] [--detail] [--json]
 *   node --expose-gc dist/bench/nab-parts.js --cost [--data ../shared/nab]
 */
import path from 'node:path';
import { readJsonFile, readNabCorpus, type NabSeries, type NabWindows } from '../src/bench/nab/corpus';
import {
  CorpusScorer,
  nabProfiles,
  rowWeights,
  type NabProfileName,
  type ScoredFile,
} from '../src/bench/nab/scorer';
import { createBaseline, strongestPart, trafficBaselineOptions } from '../src/core/baseline';
import { ShapeModel } from '../src/core/baseline/shape';
import { SpatialRange } from '../src/core/baseline/spatial';
import type { AnomalyPart } from '../src/core/types';
import { heapAfterGc } from './heap';

/** The detector's default threshold: the seasonal deviation's, in noise widths. */
const DEFAULT_THRESHOLD = trafficBaselineOptions.threshold;

/**
 * The combined score on the detector's threshold scale, and the part that raised it, as the baseline
 * with `shape: true` combines them (`strongestPart`), the seasonal deviation weighted by `levelWeight`.
 * `part` is undefined when every part is 0.
 */
export function combinedScore(
  deviation: number,
  shape: number,
  newRange: boolean,
  levelWeight: number,
): { score: number; part: AnomalyPart | undefined } {
  const strongest = strongestPart(levelWeight * deviation, DEFAULT_THRESHOLD, shape, newRange);
  return { score: strongest.score, part: strongest.score > 0 ? strongest.part : undefined };
}

/** The parts' outputs for one file, computed once (the deviation per detector threshold, on demand). */
interface FileParts {
  series: NabSeries;
  shape: Float64Array;
  newRange: Uint8Array;
  deviation: Map<string, Float64Array>;
}

/** A model: the row scores on the threshold scale, and the part that raised each. */
type Model = (
  file: FileParts,
  threshold: number,
) => { scores: Float64Array; parts: (AnomalyPart | undefined)[] };

const SWEEP = [3, 3.5, 4, 4.5, 5, 5.5, 6, 7, 8, 9, 10, 11, 12];
const PROFILES: readonly NabProfileName[] = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'];

function fileParts(series: NabSeries): FileParts {
  const n = series.values.length;
  const shape = new Float64Array(n);
  const newRange = new Uint8Array(n);
  const model = new ShapeModel();
  const spatial = new SpatialRange();
  for (let i = 0; i < n; i++) {
    const t = series.timesMs[i] ?? 0;
    const v = series.values[i];
    shape[i] = model.observe(t, v)?.score ?? 0;
    newRange[i] = spatial.observe(t, v)?.newRange === true ? 1 : 0;
  }
  return { series, shape, newRange, deviation: new Map() };
}

/**
 * The seasonal baseline's score, run with `threshold` (its band, holding and acceptance depend on it, so
 * a weighted level is run at threshold / weight: its band is where the level part fires). Cached.
 */
function deviation(file: FileParts, threshold: number, novelty: boolean): Float64Array {
  const key = `${threshold}/${novelty}`;
  let scores = file.deviation.get(key);
  if (scores === undefined) {
    const baseline = createBaseline({ ...trafficBaselineOptions, threshold, novelty });
    scores = new Float64Array(file.series.values.length);
    for (let i = 0; i < scores.length; i++)
      scores[i] = baseline.observe(file.series.timesMs[i] ?? 0, file.series.values[i])?.score ?? 0;
    file.deviation.set(key, scores);
  }
  return scores;
}

/** A model of the parts named, the level (if any) weighted and with or without the baseline's novelty. */
function model(
  level: { weight: number; novelty: boolean } | undefined,
  shape: boolean,
  newRange: boolean,
): Model {
  return (f, t) => {
    const n = f.series.values.length;
    const dev = level === undefined ? undefined : deviation(f, t / level.weight, level.novelty);
    const scores = new Float64Array(n);
    const parts: (AnomalyPart | undefined)[] = new Array<AnomalyPart | undefined>(n);
    for (let i = 0; i < n; i++) {
      const c = combinedScore(
        dev?.[i] ?? 0,
        shape ? (f.shape[i] ?? 0) : 0,
        newRange && f.newRange[i] === 1,
        level?.weight ?? 0,
      );
      scores[i] = c.score;
      parts[i] = c.part;
    }
    return { scores, parts };
  };
}

const models: Record<string, Model> = {
  'level alone (seasonal deviation, novelty off)': model({ weight: 1, novelty: false }, false, false),
  'level alone, novelty on (shipped today)': model({ weight: 1, novelty: true }, false, false),
  'shape alone': model(undefined, true, false),
  'new_range alone': model(undefined, false, true),
  'shape + new_range': model(undefined, true, true),
  'level + shape + new_range': model({ weight: 1, novelty: false }, true, true),
  'level (novelty on) + shape + new_range': model({ weight: 1, novelty: true }, true, true),
  'level/2 + shape + new_range': model({ weight: 0.5, novelty: false }, true, true),
  'level/2 (novelty on) + shape + new_range': model({ weight: 0.5, novelty: true }, true, true),
  'the baseline with shape: true (level + shape + new_range on the threshold scale)': (f, t) => {
    const baseline = createBaseline({ ...trafficBaselineOptions, threshold: t, shape: true });
    const n = f.series.values.length;
    const scores = new Float64Array(n);
    const parts: (AnomalyPart | undefined)[] = new Array<AnomalyPart | undefined>(n);
    for (let i = 0; i < n; i++) {
      const e = baseline.observe(f.series.timesMs[i] ?? 0, f.series.values[i]);
      scores[i] = e?.score ?? 0;
      parts[i] = e === undefined || e.score === 0 ? undefined : e.part;
    }
    return { scores, parts };
  },
};

type ProfileScores = Record<NabProfileName, number>;
interface HalvesScores {
  all: ProfileScores;
  first: ProfileScores;
  last: ProfileScores;
}

function scoreAt(files: readonly FileParts[], m: Model, threshold: number): HalvesScores {
  const scored: ScoredFile[] = files.map((f) => ({
    rows: f.series.values.length,
    windows: f.series.windows,
    scores: m(f, threshold).scores,
  }));
  const half = Math.floor(files.length / 2);
  const profiles = (subset: ScoredFile[]): ProfileScores =>
    Object.fromEntries(
      PROFILES.map((p) => [p, new CorpusScorer(subset, nabProfiles[p]).score(threshold).normalized]),
    ) as ProfileScores;
  return {
    all: profiles(scored),
    first: profiles(scored.slice(0, half)),
    last: profiles(scored.slice(half)),
  };
}

/** Where the standard points go at one threshold: windows found and false-positive rows, by part. */
interface Diagnosis {
  found: Record<AnomalyPart, number>;
  missed: string[];
  falsePositiveRows: Record<AnomalyPart, number>;
  falsePositiveCost: Record<AnomalyPart, number>;
}

function diagnose(files: readonly FileParts[], m: Model, threshold: number): Diagnosis {
  const zero = (): Record<AnomalyPart, number> => ({ level: 0, shape: 0, new_range: 0 });
  const d: Diagnosis = { found: zero(), missed: [], falsePositiveRows: zero(), falsePositiveCost: zero() };
  for (const f of files) {
    const { scores, parts } = m(f, threshold);
    const rows = rowWeights({ rows: scores.length, windows: f.series.windows }, nabProfiles.standard);
    const best = f.series.windows.map((): { weight: number; part: AnomalyPart | undefined } => ({
      weight: -Infinity,
      part: undefined,
    }));
    for (let i = 0; i < scores.length; i++) {
      const part = parts[i];
      if (!((scores[i] ?? 0) >= threshold) || part === undefined) continue;
      const w = rows.window[i] ?? -1;
      const weight = rows.weight[i] ?? 0;
      const b = best[w];
      if (b !== undefined) {
        if (weight > b.weight) best[w] = { weight, part };
      } else if (weight !== 0) {
        d.falsePositiveRows[part] += 1;
        d.falsePositiveCost[part] += weight;
      }
    }
    best.forEach((b, w) => {
      if (b.part === undefined) d.missed.push(`${path.basename(f.series.name)}#${w}`);
      else d.found[b.part] += 1;
    });
  }
  for (const part of Object.keys(d.falsePositiveCost) as AnomalyPart[])
    d.falsePositiveCost[part] = Number(d.falsePositiveCost[part].toFixed(2));
  return d;
}

function printScores(files: readonly FileParts[], detail: boolean, json: boolean): void {
  const results: Record<string, unknown> = {};
  const fmt = (s: ProfileScores): string => PROFILES.map((p) => s[p].toFixed(2).padStart(8)).join('');
  for (const [name, m] of Object.entries(models)) {
    const sweep = SWEEP.map((threshold) => ({ threshold, scores: scoreAt(files, m, threshold) }));
    const atDefault = sweep.find((r) => r.threshold === DEFAULT_THRESHOLD);
    const best = sweep.reduce((a, b) => (b.scores.all.standard > a.scores.all.standard ? b : a));
    const diagnosis = detail
      ? { default: diagnose(files, m, DEFAULT_THRESHOLD), best: diagnose(files, m, best.threshold) }
      : undefined;
    results[name] = { sweep, default: atDefault, best, diagnosis };
    if (json) continue;
    process.stdout.write(
      `\n${name}\n  threshold    all: std   lowFP   lowFN | first 17: std lowFP lowFN | last 18: std lowFP lowFN\n`,
    );
    for (const r of sweep) {
      const mark = r.threshold === DEFAULT_THRESHOLD ? '*' : r === best ? 'b' : ' ';
      process.stdout.write(
        `  ${mark}${String(r.threshold).padStart(5)}  ${fmt(r.scores.all)} |${fmt(r.scores.first)} |${fmt(r.scores.last)}\n`,
      );
    }
    if (diagnosis !== undefined) {
      process.stdout.write(`  at ${DEFAULT_THRESHOLD}: ${JSON.stringify(diagnosis.default)}\n`);
      if (best.threshold !== DEFAULT_THRESHOLD)
        process.stdout.write(`  at ${best.threshold}: ${JSON.stringify(diagnosis.best)}\n`);
    }
  }
  if (json) process.stdout.write(`${JSON.stringify(results)}\n`);
}

/** Nanoseconds per value of `observe`, over the corpus' rows replayed `rounds` times (shifted in time). */
function nsPerValue(
  series: readonly NabSeries[],
  rounds: number,
  make: () => (t: number, v: number) => unknown,
): number {
  let values = 0;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (const s of series) {
      const observe = make();
      for (let i = 0; i < s.values.length; i++) observe(s.timesMs[i] ?? 0, s.values[i] ?? 0);
      values += s.values.length;
    }
  }
  return Number(process.hrtime.bigint() - start) / values;
}

/** Heap bytes per series of `count` instances, each fed three days of 5-minute values (calibrated). */
function bytesPerSeries(count: number, make: () => { observe(t: number, v: number): unknown }): number {
  const before = heapAfterGc();
  const held: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const instance = make();
    for (let t = 0; t < 864; t++)
      instance.observe(t * 300_000, 100 + (i % 7) + ((t * 7) % 11) + (t % 288 < 144 ? 50 : 0));
    held.push(instance);
  }
  const after = heapAfterGc();
  if (held.length !== count) throw new Error('unreachable');
  return (after - before) / count;
}

/** 300,000 polls every 30 s (104 days): a daily cycle with noise, as the traffic detector sees a destination. */
function pollSeries(): NabSeries {
  const n = 300_000;
  const timesMs = new Float64Array(n);
  const values = new Float64Array(n);
  let seed = 1;
  for (let i = 0; i < n; i++) {
    timesMs[i] = Date.UTC(2026, 0, 5) + i * 30_000;
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    const day = ((i * 30) % 86_400) / 86_400;
    values[i] = 100 * (0.55 - 0.45 * Math.cos(2 * Math.PI * day)) * (0.95 + 0.1 * (seed / 2_147_483_648));
  }
  return { name: 'polls', timesMs, values, windows: [] };
}

function printCost(series: readonly NabSeries[]): void {
  const rows = series.reduce((n, s) => n + s.values.length, 0);
  const polls = [pollSeries()];
  const pollNs = {
    shape: nsPerValue(polls, 2, () => {
      const m = new ShapeModel();
      return (t, v) => m.observe(t, v);
    }),
    spatial: nsPerValue(polls, 2, () => {
      const m = new SpatialRange();
      return (t, v) => m.observe(t, v);
    }),
    baselineWithNovelty: nsPerValue(polls, 2, () => {
      const b = createBaseline(trafficBaselineOptions);
      return (t, v) => b.observe(t, v);
    }),
  };
  // Warm the JIT before timing.
  nsPerValue(series, 1, () => {
    const m = new ShapeModel();
    return (t, v) => m.observe(t, v);
  });
  const shapeNs = nsPerValue(series, 2, () => {
    const m = new ShapeModel();
    return (t, v) => m.observe(t, v);
  });
  const spatialNs = nsPerValue(series, 2, () => {
    const m = new SpatialRange();
    return (t, v) => m.observe(t, v);
  });
  const baselineNs = nsPerValue(series, 2, () => {
    const b = createBaseline(trafficBaselineOptions);
    return (t, v) => b.observe(t, v);
  });
  const count = 5000;
  const result = {
    nab: {
      valuesTimed: 2 * rows,
      nsPerValue: {
        shape: round(shapeNs),
        spatial: round(spatialNs),
        baselineWithNovelty: round(baselineNs),
      },
    },
    polls30s: {
      valuesTimed: 2 * 300_000,
      nsPerValue: {
        shape: round(pollNs.shape),
        spatial: round(pollNs.spatial),
        baselineWithNovelty: round(pollNs.baselineWithNovelty),
      },
    },
    heapBytesPerSeries: {
      shape: Math.round(bytesPerSeries(count, () => new ShapeModel())),
      spatial: Math.round(bytesPerSeries(count, () => new SpatialRange())),
    },
    stateBytesPerSeries: { shape: new ShapeModel().stateBytes, spatial: new SpatialRange().stateBytes },
    series: count,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const round = (x: number): number => Number(x.toFixed(1));

function main(): void {
  const args = process.argv.slice(2);
  const at = args.indexOf('--data');
  const dataDir = at >= 0 ? (args[at + 1] ?? '../shared/nab') : '../shared/nab';
  const windows = readJsonFile(path.join(dataDir, 'labels', 'windows.json')) as NabWindows;
  const series = readNabCorpus(dataDir, windows);
  if (args.includes('--cost')) printCost(series);
  else printScores(series.map(fileParts), args.includes('--detail'), args.includes('--json'));
}

main();
