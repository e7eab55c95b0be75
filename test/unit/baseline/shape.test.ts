import { ConfigError } from '../../../src/errors';
import { FuzzyArt } from '../../../src/core/baseline/fuzzy-art';
import { ShapeModel, type ShapeJudgement, type ShapeOptions } from '../../../src/core/baseline/shape';
import { FEATURES } from '../../../src/core/baseline/shape-features';
import { DAY, HOUR, MINUTE, T0, normalNoise } from './factories';

/**
 * A day of five-minute slots: 20 at night, 80 by day (06:00 to 18:00), 40 more from 11:00 to 13:00, and a
 * wobble of noise 2 per slot. On `flappingDay` the morning (06:00 to 12:00) drops to the night level every
 * other half hour: a rhythm the series never had, inside its usual range. Constant within each slot, so
 * any poll interval up to five minutes sees the same blocks.
 */
function dailySeries(flappingDay = -1): (t: number) => number {
  const noise = normalNoise(7);
  const wobble = Array.from({ length: 40 * 288 }, () => noise());
  return (t) => {
    const slot = Math.floor((t - T0) / (5 * MINUTE));
    const hour = ((t - T0) % DAY) / HOUR;
    const day = Math.floor((t - T0) / DAY);
    const daytime = hour >= 6 && hour < 18;
    const flapping = day === flappingDay && hour >= 6 && hour < 12 && Math.floor(hour * 2) % 2 === 1;
    return (daytime && !flapping ? 80 : 20) + (hour >= 11 && hour < 13 ? 40 : 0) + 2 * (wobble[slot] ?? 0);
  };
}

/** The same day without noise: 20, 80 and 120 exactly. */
function exactSeries(t: number): number {
  const hour = ((t - T0) % DAY) / HOUR;
  return (hour >= 6 && hour < 18 ? 80 : 20) + (hour >= 11 && hour < 13 ? 40 : 0);
}

/** Feeds `series` every `stepMs` over [fromMs, toMs) and returns every judgement. */
function run(
  model: ShapeModel,
  series: (t: number) => number | undefined,
  fromMs: number,
  toMs: number,
  stepMs: number,
): ShapeJudgement[] {
  const out: ShapeJudgement[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) {
    const j = model.observe(t, series(t));
    if (j !== undefined) out.push(j);
  }
  return out;
}

/** A judgement as "day d hh:mm resonance [anomaly score]", for whole-output assertions. */
function line(j: ShapeJudgement): string {
  const day = Math.floor((j.pointStartMs - T0) / DAY);
  const at = new Date(j.pointStartMs).toISOString().slice(11, 16);
  return `day ${day} ${at} ${j.resonance}${j.anomalous ? ` anomaly ${j.score.toFixed(2)}` : ''}`;
}

/** A judgement with its values rounded (block means summed in another order differ in the last bits). */
function rounded(j: ShapeJudgement): string {
  return `${line(j)} value ${j.value.toFixed(6)} activation ${j.activation.toFixed(6)} vigilance ${j.vigilance.toFixed(6)}`;
}

const news = (js: ShapeJudgement[]): string[] =>
  js.filter((j) => j.resonance === 'cluster' || j.anomalous).map(line);

describe('shape model (ShapeModel)', () => {
  it('reports a rhythm the series never had once, and no new shape on the regular days around it', () => {
    const regular = run(new ShapeModel(), dailySeries(), T0, T0 + 10 * DAY, 5 * MINUTE);
    const flapping = run(new ShapeModel(), dailySeries(6), T0, T0 + 10 * DAY, 5 * MINUTE);
    expect({ regular: news(regular), flapping: news(flapping) }).toEqual({
      regular: [],
      flapping: ['day 6 11:30 cluster anomaly 0.63'],
    });
  });

  it('fixes its range from the first two days alone, padded by their span, and clamps later values to it', () => {
    const model = new ShapeModel();
    run(model, exactSeries, T0, T0 + 2 * DAY, 5 * MINUTE);
    const duringCalibration = model.range;
    run(model, exactSeries, T0 + 2 * DAY, T0 + 3 * DAY, 5 * MINUTE);
    const afterADay = model.range;
    // A value far beyond the range is judged (clamped to the top level) and does not move the range.
    run(model, () => 10_000, T0 + 3 * DAY, T0 + 3 * DAY + HOUR, 5 * MINUTE);
    expect({ duringCalibration, afterADay, afterASpike: model.range }).toEqual({
      duringCalibration: undefined,
      afterADay: { low: -80, high: 220 },
      afterASpike: { low: -80, high: 220 },
    });
  });

  it('judges each point from what came before it: a different future leaves every earlier judgement unchanged', () => {
    const base = dailySeries();
    const wild = (t: number): number => (t < T0 + 4 * DAY ? base(t) : 1000 * Math.sin(t / 600_000));
    const a = run(new ShapeModel(), base, T0, T0 + 6 * DAY, 5 * MINUTE);
    const b = run(new ShapeModel(), wild, T0, T0 + 6 * DAY, 5 * MINUTE);
    // The point open when the futures part is closed by the first different value: it is the first to differ.
    const before = (js: ShapeJudgement[]): ShapeJudgement[] =>
      js.filter((j) => j.pointStartMs < T0 + 4 * DAY - 30 * MINUTE);
    expect({ judgements: before(b).length, same: before(b) }).toEqual({ judgements: 95, same: before(a) });
  });

  it('sees the same points whether the series is polled every 30 s, every minute or every 5 minutes', () => {
    const at = (stepMs: number): string[] =>
      run(new ShapeModel(), dailySeries(6), T0, T0 + 8 * DAY, stepMs).map(rounded);
    const fiveMinutes = at(5 * MINUTE);
    expect({ points: fiveMinutes.length, thirtySeconds: at(30_000), minute: at(MINUTE) }).toEqual({
      points: 287,
      thirtySeconds: fiveMinutes,
      minute: fiveMinutes,
    });
  });

  it('makes each row its own point when rows are longer than a point (hourly rows)', () => {
    const js = run(new ShapeModel(), dailySeries(), T0, T0 + 3 * DAY, HOUR);
    expect(js.map(line)).toEqual(
      Array.from({ length: 23 }, (_, h) => `day 2 ${String(h).padStart(2, '0')}:00 learned`),
    );
  });

  it('rebuilds in a warm start (history every minute, then polls every 30 s) the judgements of live polls', () => {
    const series = dailySeries(6);
    const live = run(new ShapeModel(), series, T0, T0 + 8 * DAY, 30_000).map(rounded);
    const warm = new ShapeModel();
    const replayed = run(warm, series, T0, T0 + 5 * DAY, MINUTE);
    const polled = run(warm, series, T0 + 5 * DAY, T0 + 8 * DAY, 30_000);
    expect([...replayed, ...polled].map(rounded)).toEqual(live);
  });

  it('treats a gap as no value: gaps inside a point change nothing, and a gap past a point closes it', () => {
    const series = dailySeries(6);
    // Two polls of every five minutes are missing (undefined or NaN); each slot still has a value.
    const gappy = (t: number): number | undefined => {
      const minute = Math.floor((t - T0) / MINUTE) % 5;
      return minute === 1 ? undefined : minute === 3 ? NaN : series(t);
    };
    const full = run(new ShapeModel(), series, T0, T0 + 8 * DAY, MINUTE).map(rounded);
    const model = new ShapeModel();
    const withGaps = run(model, gappy, T0, T0 + 8 * DAY, MINUTE).map(rounded);
    // Prometheus down at 00:40 on day 8: the point 23:30 to 00:00 is over, so the gap closes it.
    const closed = model.observe(T0 + 8 * DAY + 40 * MINUTE, undefined);
    expect({ same: withGaps, closedByTheGap: closed && line(closed) }).toEqual({
      same: full,
      closedByTheGap: 'day 7 23:30 learned',
    });
  });

  it('restarts its window after a gap longer than half of it, and invents no values for the gap', () => {
    const series = dailySeries();
    const model = new ShapeModel();
    run(model, series, T0, T0 + 3 * DAY, 5 * MINUTE);
    // No data from 00:00 to 03:00: the first value after the gap closes the point open before it, and the
    // next judgement needs 8 new points (03:00 to 07:00).
    const after = run(model, series, T0 + 3 * DAY + 3 * HOUR, T0 + 3 * DAY + 8 * HOUR, 5 * MINUTE);
    expect(after.map(line)).toEqual(['day 2 23:30 category', 'day 3 06:30 learned', 'day 3 07:00 learned']);
  });

  it('keeps its state fixed and within 8 KB: at most 128 categories of 32 bytes', () => {
    const model = new ShapeModel();
    const noise = normalNoise(3);
    let walk = 100;
    run(model, () => (walk += 5 * noise()), T0, T0 + 30 * DAY, 5 * MINUTE);
    expect({ stateBytes: model.stateBytes, categories: model.categories }).toEqual({
      stateBytes: 6570,
      categories: 128,
    });
  });

  it('rejects options it cannot honour with a ConfigError naming the option', () => {
    const error = (options: ShapeOptions): unknown => {
      try {
        new ShapeModel(options);
      } catch (e) {
        return e instanceof ConfigError ? `${e.key}: ${e.message}` : e;
      }
      return undefined;
    };
    expect(
      [
        { pointSeconds: 0 },
        { calibrationSeconds: 3600 },
        { calibrationSeconds: 30 * 86_400 },
        { maxCategories: 256 },
      ].map(error),
    ).toEqual([
      'shape.pointSeconds: shape.pointSeconds must be a number of seconds >= 1, got 0',
      'shape.calibrationSeconds: shape.calibrationSeconds must be between 10 and 256 points of pointSeconds, got 3600',
      'shape.calibrationSeconds: shape.calibrationSeconds must be between 10 and 256 points of pointSeconds, got 2592000',
      'shape.maxCategories: shape.maxCategories must be an integer from 1 to 128, got 256',
    ]);
  });
});

describe('bounded fuzzy ART memory (FuzzyArt)', () => {
  /** A feature whose every value is `level` (complement-coded). */
  const feature = (level: number): Uint8Array => {
    const x = new Uint8Array(FEATURES);
    x.fill(level, 0, FEATURES / 2);
    x.fill(255 - level, FEATURES / 2);
    return x;
  };

  it('replaces the least recently used category when it is full, not the oldest', () => {
    const art = new FuzzyArt(3);
    const present = (level: number): string => `${level} ${art.present(feature(level), 0.99, 0.99)}`;
    // 0 is used again before 250 arrives, so 250 replaces 100, and 100 then replaces 200.
    expect({ presented: [0, 100, 200, 0, 250, 100, 0].map(present), categories: art.categories }).toEqual({
      presented: [
        '0 cluster',
        '100 cluster',
        '200 cluster',
        '0 learned',
        '250 cluster',
        '100 cluster',
        '0 learned',
      ],
      categories: 3,
    });
  });

  it('puts a shape close to a known one in its cluster, one far from all in a new cluster, and lets every close category learn', () => {
    const art = new FuzzyArt(8);
    const present = (level: number, upper: number, lower: number): string =>
      `${level} ${art.present(feature(level), upper, lower)} ${art.activation.toFixed(3)}`;
    expect([
      present(100, 0.9, 0.5),
      present(110, 0.99, 0.5),
      present(200, 0.99, 0.5),
      present(105, 0.9, 0.5),
    ]).toEqual([
      '100 cluster 0.000',
      // 245/255 of the feature and of the current level match: (245/255)^5.
      '110 category 0.819',
      '200 cluster 0.113',
      // 105 matches 100 and 110 alike, (250/255)^5, above the upper vigilance: both learn it.
      '105 learned 0.906',
    ]);
  });
});
