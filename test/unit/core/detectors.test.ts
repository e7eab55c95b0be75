import { NewCallerDetector } from '../../../src/core/detectors/new-caller';
import { SeriesTable } from '../../../src/core/series-table';
import type { EdgeSample } from '../../../src/core/mesh';
import {
  assessmentsOf,
  caller,
  dailyCycle,
  DAY,
  defaultOptions,
  denied,
  dest,
  HOUR,
  MINUTE,
  newEngine,
  normalNoise,
  plaintextCaller,
  replay,
  requests,
  scoreOf,
  serverErrors,
  snapshot,
  T0,
  WINDOW_SECONDS,
} from './factories';

const STEP = 5 * MINUTE;
const defaults = defaultOptions();
const threshold = (detector: keyof typeof defaults.detectors): number =>
  defaults.detectors[detector].threshold;

describe('the traffic detector', () => {
  // Eight days of history at a 5-minute step: a week for the weekly profile plus a day to spare.
  const cart = dailyCycle(100);
  const search = dailyCycle(5, 2);
  const normal = (t: number): EdgeSample[] => [
    requests('shop/frontend', 'shop/cart', cart(t)),
    requests('shop/frontend', 'shop/search', search(t)),
  ];

  function learnedEngine(days = 8) {
    const engine = newEngine();
    replay(engine, T0 + (8 - days) * DAY, T0 + 8 * DAY, STEP, normal, false);
    return engine;
  }

  it('stays quiet through a normal day after learning the daily cycle from history', () => {
    const engine = learnedEngine();
    const day = replay(engine, T0 + 8 * DAY, T0 + 9 * DAY, STEP, normal, true);
    const scores = day.map((r) => scoreOf(r, 'traffic', 'shop/cart') ?? NaN);
    expect(scores.filter((s) => !(s < threshold('traffic')))).toEqual([]);
    expect(day.flatMap((r) => r.transitions)).toEqual([]);
    expect(engine.findings()).toEqual([]);
  });

  it('scores a drop to 10% of the usual rate over the threshold within three steps', () => {
    const engine = learnedEngine();
    const start = T0 + 8 * DAY + 14 * HOUR;
    replay(engine, T0 + 8 * DAY, start, STEP, normal, true);
    const drop = replay(
      engine,
      start,
      start + 3 * STEP,
      STEP,
      (t) => [requests('shop/frontend', 'shop/cart', 0.1 * cart(t))],
      true,
    );
    const scores = drop.map((r) => scoreOf(r, 'traffic', 'shop/cart') ?? NaN);
    expect(scores.some((s) => s >= threshold('traffic'))).toBe(true);
    const first = assessmentsOf(drop[0], 'traffic')[0];
    // The band says why: the observed value is far under the lower edge of the usual band.
    expect(first && first.observed < first.lower && first.lower < first.expected).toBe(true);
  });

  it('treats a destination missing from a snapshot as a gap: no assessment, and nothing learned from it', () => {
    // Two days are enough to know the level; a zero then is plainly a drop.
    const engine = learnedEngine(2);
    const twin = learnedEngine(2);
    const at = T0 + 8 * DAY + 12 * HOUR;
    replay(engine, T0 + 8 * DAY, at, STEP, normal, true);
    replay(twin, T0 + 8 * DAY, at, STEP, normal, true);

    // Another destination still reports: the poll worked, shop/cart just had no series.
    const gap = engine.observe(snapshot(at, [requests('shop/frontend', 'shop/search', search(at))]), true);
    expect(assessmentsOf(gap, 'traffic').map((a) => a.destination)).toEqual([dest('shop/search')]);
    // A zero, by contrast, is an assessment (of a drop).
    const zero = twin.observe(snapshot(at, [requests('shop/frontend', 'shop/cart', 0)]), true);
    expect(scoreOf(zero, 'traffic', 'shop/cart')).toBeGreaterThanOrEqual(threshold('traffic'));

    const after = engine.observe(snapshot(at + STEP, normal(at + STEP)), true);
    expect(scoreOf(after, 'traffic', 'shop/cart')).toBeLessThan(threshold('traffic'));
  });
});

describe('the errors detector', () => {
  function history(rates: (t: number) => { requests: number; errors: number }) {
    const engine = newEngine();
    const samples = (t: number): EdgeSample[] => {
      const r = rates(t);
      return [
        requests('shop/frontend', 'shop/cart', r.requests),
        ...(r.errors > 0 ? [serverErrors('shop/cart', r.errors)] : []),
      ];
    };
    replay(engine, T0, T0 + 2 * DAY, STEP, samples, false);
    return { engine, samples };
  }

  it('scores a 5xx burst of 30% at a busy destination over the threshold', () => {
    const noise = normalNoise(7);
    // 50 requests a second, 0.5% of them 5xx, give or take a fifth of that.
    const { engine } = history(() => ({ requests: 50, errors: 0.25 * (1 + 0.2 * noise()) }));
    const burst = engine.observe(
      snapshot(T0 + 2 * DAY, [requests('shop/frontend', 'shop/cart', 50), serverErrors('shop/cart', 15)]),
      true,
    );
    const [assessment] = assessmentsOf(burst, 'errors');
    expect(assessment?.observed).toBeCloseTo(0.3, 12);
    expect(assessment?.score).toBeGreaterThanOrEqual(threshold('errors'));
    expect(assessment && assessment.upper < 0.3).toBe(true);
  });

  it('does not score a single 503 at a destination with 3 requests a window over the threshold', () => {
    // MISSING PIECE (fails until it lands): the count-aware errors detector. `Baseline.observe(t, v,
    // countWindowSeconds?)` takes the counts behind a ratio, and `errorRatios` computes `requests` per
    // destination, but `BaselineDetector.observe` calls `baseline.observe(timeMs, value)` without it
    // (`DestinationValue` has no field to carry it), so a ratio of 1/3 after a history of exact zeros is
    // judged by a band ~1e-9 wide. The counts behind it are requests x rate window = 3.
    const { engine } = history(() => ({ requests: 3 / WINDOW_SECONDS, errors: 0 }));
    const one503 = engine.observe(
      snapshot(T0 + 2 * DAY, [
        requests('shop/frontend', 'shop/cart', 3 / WINDOW_SECONDS),
        serverErrors('shop/cart', 1 / WINDOW_SECONDS),
      ]),
      true,
    );
    const [assessment] = assessmentsOf(one503, 'errors');
    expect(assessment?.observed).toBeCloseTo(1 / 3, 12);
    expect(assessment?.score).toBeLessThan(threshold('errors'));
  });
});

describe('the unauthorized detector', () => {
  const mallory = 'shop/mallory';
  const auditor = 'ops/auditor';

  /** Two quiet days: 20 requests a second to shop/cart, with one denial of ops/auditor an hour before the end. */
  function quietEngine() {
    const engine = newEngine();
    const end = T0 + 2 * DAY;
    replay(
      engine,
      T0,
      end,
      STEP,
      (t) => [
        requests('shop/frontend', 'shop/cart', 20),
        ...(t === end - HOUR ? [denied(auditor, 'shop/cart', 1 / WINDOW_SECONDS)] : []),
      ],
      false,
    );
    return { engine, at: end };
  }

  it('does not score 2 denials in a window over a quiet baseline over the threshold', () => {
    const { engine, at } = quietEngine();
    const result = engine.observe(
      snapshot(at, [
        requests('shop/frontend', 'shop/cart', 20),
        denied(mallory, 'shop/cart', 2 / WINDOW_SECONDS),
      ]),
      true,
    );
    expect(scoreOf(result, 'unauthorized', 'shop/cart')).toBeLessThan(threshold('unauthorized'));
  });

  it('scores 50 denials a second from one principal over the threshold and names it first, as new', () => {
    const { engine, at } = quietEngine();
    const result = engine.observe(
      snapshot(at, [
        requests('shop/frontend', 'shop/cart', 20),
        requests(mallory, 'shop/cart', 50),
        denied(mallory, 'shop/cart', 50),
        denied(auditor, 'shop/cart', 0.5),
      ]),
      true,
    );
    const [assessment] = assessmentsOf(result, 'unauthorized');
    expect(assessment?.score).toBeGreaterThanOrEqual(threshold('unauthorized'));
    expect(assessment?.observed).toBe(50.5);
    // ops/auditor was denied here in history, so it is not new.
    expect(assessment?.topCallers).toEqual([
      { caller: caller(mallory), rate: 50, layer: 'http', isNew: true },
      { caller: caller(auditor), rate: 0.5, layer: 'http', isNew: false },
    ]);
    expect(result.unauthorizedCallers).toEqual([
      { destination: dest('shop/cart'), caller: caller(mallory), rate: 50, layer: 'http' },
      { destination: dest('shop/cart'), caller: caller(auditor), rate: 0.5, layer: 'http' },
    ]);
  });

  it('no longer marks a caller new once it has been denied at that destination', () => {
    const { engine, at } = quietEngine();
    const burst = (): EdgeSample[] => [
      requests('shop/frontend', 'shop/cart', 20),
      denied(mallory, 'shop/cart', 50),
    ];
    const [first, second] = replay(engine, at, at + 2 * STEP, STEP, burst, true);
    expect(assessmentsOf(first, 'unauthorized')[0]?.topCallers).toEqual([
      { caller: caller(mallory), rate: 50, layer: 'http', isNew: true },
    ]);
    expect(assessmentsOf(second, 'unauthorized')[0]?.topCallers).toEqual([
      { caller: caller(mallory), rate: 50, layer: 'http', isNew: false },
    ]);
  });
});

describe('the new-caller detector', () => {
  const known = (t: number): EdgeSample[] => [requests('shop/frontend', 'shop/cart', 10 + (t % 3))];

  it('never reports an edge seen in history as new', () => {
    const engine = newEngine();
    replay(engine, T0, T0 + DAY, STEP, known, false);
    const live = replay(engine, T0 + DAY, T0 + DAY + HOUR, STEP, known, true);
    expect(live.flatMap((r) => r.newCallers)).toEqual([]);
    expect(live.map((r) => scoreOf(r, 'new_caller', 'shop/cart'))).toEqual(live.map(() => 0));
  });

  it('reports a new edge after warm-up with its requests in the rate window, until newFor has passed', () => {
    const engine = newEngine();
    replay(engine, T0, T0 + DAY, STEP, known, false);
    const at = T0 + DAY;
    const withStranger = (t: number): EdgeSample[] => [
      ...known(t),
      requests('shop/mallory', 'shop/cart', 0.5),
    ];
    const first = engine.observe(snapshot(at, withStranger(at)), true);
    expect(assessmentsOf(first, 'new_caller')).toEqual([
      {
        detector: 'new_caller',
        destination: dest('shop/cart'),
        signal: 'new_caller_requests_per_second',
        observed: 0.5,
        expected: 0,
        lower: 0,
        upper: 1 / WINDOW_SECONDS,
        score: 0.5 * WINDOW_SECONDS,
        layers: ['http'],
        topCallers: [{ caller: caller('shop/mallory'), rate: 0.5, layer: 'http', isNew: true }],
      },
    ]);
    expect(first.newCallers).toEqual([
      { destination: dest('shop/cart'), caller: caller('shop/mallory'), rate: 0.5, layer: 'http' },
    ]);

    const newForMs = defaults.detectors.new_caller.newForMs;
    const stillNew = engine.observe(
      snapshot(at + newForMs - MINUTE, withStranger(at + newForMs - MINUTE)),
      true,
    );
    expect(stillNew.newCallers.map((c) => c.caller)).toEqual([caller('shop/mallory')]);
    const known_ = engine.observe(snapshot(at + newForMs, withStranger(at + newForMs)), true);
    expect(known_.newCallers).toEqual([]);
    expect(scoreOf(known_, 'new_caller', 'shop/cart')).toBe(0);
  });

  it('takes the edges of the first learning period as the known mesh when there is no history', () => {
    const engine = newEngine();
    const learningMs = defaults.detectors.new_caller.learningMs;
    const early = replay(
      engine,
      T0,
      T0 + learningMs,
      STEP,
      (t) => [...known(t), ...(t >= T0 + 30 * MINUTE ? [requests('shop/batch', 'shop/cart', 1)] : [])],
      true,
    );
    expect(early.flatMap((r) => r.newCallers)).toEqual([]);
    const later = engine.observe(
      snapshot(T0 + learningMs, [
        ...known(T0 + learningMs),
        requests('shop/batch', 'shop/cart', 1),
        requests('shop/mallory', 'shop/cart', 1),
      ]),
      true,
    );
    expect(later.newCallers).toEqual([
      { destination: dest('shop/cart'), caller: caller('shop/mallory'), rate: 1, layer: 'http' },
    ]);
  });

  /** A new-caller detector alone: new for an hour, edges remembered for a day. */
  const newCallerDetector = (): NewCallerDetector =>
    new NewCallerDetector(
      {
        threshold: 1,
        rateWindowSeconds: WINDOW_SECONDS,
        newForMs: HOUR,
        learningMs: HOUR,
        aliasRefreshMs: DAY / 16,
        topCallers: 10,
      },
      new SeriesTable(100, DAY, { capacity: 0, evicted: 0 }),
    );

  it('keys a plaintext caller by its workload, as it has no principal', () => {
    const detector = newCallerDetector();
    detector.observe(T0, [requests('legacy/cron', 'shop/cart', 1, 'none')], false);
    const result = detector.observe(
      T0 + STEP,
      [requests('legacy/cron', 'shop/cart', 1, 'none'), requests('legacy/batch', 'shop/cart', 2, 'none')],
      true,
    );
    expect(result.callers).toEqual([
      { destination: dest('shop/cart'), caller: plaintextCaller('legacy/batch'), rate: 2, layer: 'http' },
    ]);
    expect(detector.tracked).toBe(2);
  });

  it('knows each workload an identity called from, when one of them falls back to plaintext', () => {
    const detector = newCallerDetector();
    // One service account in two clusters: one identity, one edge, two workloads behind it.
    const both = [requests('east/shop/web', 'shop/cart', 1), requests('west/shop/web', 'shop/cart', 1)];
    detector.observe(T0, both, false);
    for (let t = T0 + STEP; t < T0 + 4 * STEP; t += STEP) detector.observe(t, both, true);
    const fallback = detector.observe(
      T0 + 4 * STEP,
      [requests('east/shop/web', 'shop/cart', 1), requests('west/shop/web', 'shop/cart', 1, 'none')],
      true,
    );
    expect(fallback.callers).toEqual([]);
    // The identity's edge and an alias per workload.
    expect(detector.tracked).toBe(3);
  });
});

describe('the plaintext detector in the engine', () => {
  it('scores plaintext requests, exports the mTLS ratio and the plaintext callers, and opens a finding', () => {
    const engine = newEngine();
    const at = T0 + HOUR;
    const result = engine.observe(
      snapshot(at, [
        requests('shop/frontend', 'shop/cart', 3),
        requests('legacy/cron', 'shop/cart', 1, 'none'),
      ]),
      true,
    );
    const assessment = {
      detector: 'plaintext',
      destination: dest('shop/cart'),
      signal: 'plaintext_requests_per_second',
      observed: 1,
      expected: 0,
      lower: 0,
      upper: 1 / WINDOW_SECONDS,
      score: WINDOW_SECONDS,
      layers: ['http'],
      topCallers: [{ caller: plaintextCaller('legacy/cron'), rate: 1, layer: 'http' }],
    };
    expect(assessmentsOf(result, 'plaintext')).toEqual([assessment]);
    expect(result.mtlsRatios).toEqual([{ destination: dest('shop/cart'), ratio: 0.75 }]);
    expect(result.plaintextCallers).toEqual([
      { destination: dest('shop/cart'), caller: plaintextCaller('legacy/cron'), rate: 1, layer: 'http' },
    ]);
    const { detector, destination, signal, observed, expected, lower, upper, score, layers, topCallers } =
      assessment;
    expect(engine.findings()).toEqual([
      {
        id: 'plaintext/shop/cart',
        ...{ detector, destination, signal, observed, expected, lower, upper, score, layers, topCallers },
        threshold: threshold('plaintext'),
        firstSeenMs: at,
        lastSeenMs: at,
        stale: false,
      },
    ]);
  });
});

describe('blind detectors', () => {
  it('produce no detection at all, not an all-quiet one', () => {
    const engine = newEngine();
    const result = engine.observe(
      snapshot(T0, [
        requests('shop/frontend', 'shop/cart', 3),
        requests('legacy/cron', 'shop/cart', 1, 'none'),
        denied('shop/mallory', 'shop/cart', 5),
      ]),
      true,
      new Set([
        'plaintext:http',
        'plaintext:tcp',
        'unauthorized:http',
        'unauthorized:tcp',
        'new_caller:http',
        'new_caller:tcp',
      ] as const),
    );
    expect(result.detections.map((d) => d.detector)).toEqual(['traffic', 'errors']);
    expect(result).toMatchObject({
      mtlsRatios: [],
      plaintextCallers: [],
      unauthorizedCallers: [],
      newCallers: [],
      transitions: [],
    });
    expect(engine.findings()).toEqual([]);
  });
});
