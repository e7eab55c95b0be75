import pino from 'pino';
import { createPrometheusClient } from '../../src/adapters/prometheus/client';
import { engineOptions, meshQueryOf } from '../../src/app/engine-options';
import { coarseMeshQueryOf, warmUp, type WarmupProgress, type WarmupReport } from '../../src/app/warmup';
import { parseConfig } from '../../src/config/load';
import { DetectionEngine, type EngineResult } from '../../src/core/engine';
import { DAY, EPOCH_MS, HOUR, MINUTE, prometheusOnHistory } from '../helpers/history';

/**
 * The two-resolution warm-up (hourly steps over the week, the last hours at the live step) against
 * replaying every step, on the same week of history in a real Prometheus: the baselines they build
 * judge the first live poll alike, and the incident after the warm-up opens the same findings
 * (and nothing opens before it that replaying every step would not open).
 */
const STEP = MINUTE;
const LOOKBACK = 7 * DAY;
const LIVE = 3 * HOUR;
const EVERY_STEP = 'warmup: { lookback: 7d, step: 1m, coarse_step: 0s }';
const TWO_RESOLUTIONS = 'warmup: { lookback: 7d, step: 1m, coarse_step: 1h, recent: 2h }';

// Each scenario at its own epoch (eight days apart) in one Prometheus; the incident an hour into
// the live part.
const CASES = [
  { scenario: 'denial-spike.yaml', finding: 'unauthorized/Kubernetes/shop/payments' },
  { scenario: 'traffic-drop.yaml', finding: 'traffic/Kubernetes/shop/catalog' },
  { scenario: 'error-burst.yaml', finding: 'errors/Kubernetes/shop/cart' },
].map((c, i) => ({ ...c, epochMs: EPOCH_MS + i * 8 * DAY }));

/**
 * Tolerances, in the band's own unit (the half-width of the band, `threshold` noise widths): the
 * expected values agree within a quarter of the band, and each band edge within half of it. A
 * value then scores at most a few tenths of a noise width apart under the two schedules, far
 * below the threshold's 3 to 5 noise widths; and the band's width is set by the noise the
 * baseline keeps, whose half-life (6 h) the live part covers only in part, while the count noise
 * of the live rate window is part of every band alike.
 */
const EXPECTED_TOLERANCE = 0.25;
const EDGE_TOLERANCE = 0.5;

interface Replay {
  report: WarmupReport;
  progress: WarmupProgress[];
  first: EngineResult | undefined;
  opened: string[];
}

/** Warms an engine up on the week before `evalFromMs` with the schedule of `configYaml`, then polls each step. */
async function replay(url: string, configYaml: string, evalFromMs: number): Promise<Replay> {
  const config = parseConfig(configYaml, {}, { prometheusUrl: url }, 'test');
  const engine = new DetectionEngine(engineOptions(config));
  const client = createPrometheusClient(config.prometheus);
  const logger = pino({ level: 'silent' });
  const common = { maxSamplesPerQuery: 1_000_000, blind: new Set<never>(), retryDelayMs: 0 };
  const opened: string[] = [];
  const progress: WarmupProgress[] = [];
  let first: EngineResult | undefined;
  try {
    const report = await warmUp(
      client,
      {
        meshQuery: meshQueryOf(config),
        coarseMeshQuery: coarseMeshQueryOf(config),
        learn: (s) => engine.observe(s, false),
      },
      { ...common, ...config.warmup, endMs: evalFromMs, onProgress: (p) => progress.push(p) },
      logger,
    );
    await warmUp(
      client,
      {
        meshQuery: meshQueryOf(config),
        learn: (s) => {
          const result = engine.observe(s, true);
          first ??= result;
          for (const t of result.transitions)
            if (t.kind === 'opened') opened.push(`${t.finding.id}@${(s.timeMs - evalFromMs) / STEP}`);
        },
      },
      { ...common, stepMs: STEP, lookbackMs: LIVE, endMs: evalFromMs + LIVE },
      logger,
    );
    return { report, progress, first, opened };
  } finally {
    client.close();
  }
}

/** Each baseline assessment of a result: its id and its numbers. */
function baselines(result: EngineResult | undefined) {
  return (result?.detections ?? [])
    .filter((d) => ['traffic', 'errors', 'unauthorized'].includes(d.detector))
    .flatMap((d) =>
      d.assessments.map((a) => ({
        id: `${d.detector}/${a.signal}/${a.destination.namespace}/${a.destination.workload}`,
        observed: a.observed,
        expected: a.expected,
        lower: a.lower,
        upper: a.upper,
      })),
    );
}

describe('the two-resolution warm-up against replaying every step', () => {
  let history: Awaited<ReturnType<typeof prometheusOnHistory>>;

  beforeAll(async () => {
    history = await prometheusOnHistory(
      'meshwatch-warmup-resolutions-',
      CASES.map((c) => ({
        scenario: c.scenario,
        set: [`incidents[0].at=${(LOOKBACK + HOUR) / 1000}s`],
        epochMs: c.epochMs,
        ranges: [[c.epochMs, c.epochMs + LOOKBACK + LIVE]],
        stepMs: STEP,
      })),
    );
  }, 600_000);

  afterAll(async () => {
    await history?.stop();
  });

  it.each(CASES)(
    'builds baselines that judge the first live poll alike, and opens the same findings ($scenario)',
    async (c) => {
      const evalFromMs = c.epochMs + LOOKBACK;
      const every = await replay(history.prometheus.url, EVERY_STEP, evalFromMs);
      const two = await replay(history.prometheus.url, TWO_RESOLUTIONS, evalFromMs);

      // The cost: 10,080 steps against 166 hourly ones (the week but its last two hours, the first
      // ending an hour after the lookback starts) and the 119 minutes after the last of them.
      expect(every.progress.at(-1)).toEqual({
        plannedSteps: LOOKBACK / STEP,
        doneSteps: LOOKBACK / STEP,
        remainingMs: 0,
      });
      expect(two.progress.at(-1)).toEqual({ plannedSteps: 166 + 119, doneSteps: 166 + 119, remainingMs: 0 });
      expect(two.report.steps).toBe(166 + 119);

      const a = baselines(every.first);
      const b = baselines(two.first);
      expect(b.map((x) => x.id)).toEqual(a.map((x) => x.id));
      expect(a.filter((x) => x.id.startsWith('traffic/')).length).toBeGreaterThanOrEqual(5);
      const gaps = a.map((x, i) => {
        const y = b[i] ?? x;
        const half = Math.max(x.upper - x.expected, x.expected - x.lower, 1e-9);
        return {
          id: x.id,
          expected: Math.abs(x.expected - y.expected) / half,
          lower: Math.abs(x.lower - y.lower) / half,
          upper: Math.abs(x.upper - y.upper) / half,
        };
      });
      console.log(
        `${c.scenario}: gaps in band half-widths (expected, lower, upper):\n` +
          gaps
            .map((g) => `  ${g.id}: ${g.expected.toFixed(3)} ${g.lower.toFixed(3)} ${g.upper.toFixed(3)}`)
            .join('\n'),
      );
      for (const g of gaps) {
        expect({ id: g.id, within: g.expected <= EXPECTED_TOLERANCE }).toEqual({ id: g.id, within: true });
        expect({ id: g.id, within: Math.max(g.lower, g.upper) <= EDGE_TOLERANCE }).toEqual({
          id: g.id,
          within: true,
        });
      }

      // Detection: from the incident on, the same findings open at the same polls, the incident's
      // among them; before it, nothing that replaying every step would not open too (on the
      // denial spike, every step opens two traffic findings in the first live minutes that the
      // two resolutions do not).
      const incident = HOUR / STEP;
      const from = (opened: string[], after: boolean) =>
        opened.filter((o) => Number(o.split('@')[1]) >= incident === after);
      console.log(
        `${c.scenario}: every step opened ${every.opened.join(', ')}; two resolutions ${two.opened.join(', ')}`,
      );
      expect(from(two.opened, true)).toEqual(from(every.opened, true));
      expect(from(every.opened, true).map((o) => o.split('@')[0])).toContain(c.finding);
      expect(from(two.opened, false).filter((o) => !every.opened.includes(o))).toEqual([]);
    },
    600_000,
  );
});
