import {
  DAY,
  EPOCH_MS,
  HOUR,
  MINUTE,
  prometheusOnHistory,
  replayHistory,
  type ReplayedTransition,
} from '../helpers/history';
import type { RunningPrometheus } from '../helpers/prometheus';

/**
 * A traffic drop or surge of the size the scenarios use is found whatever the hour of the week it
 * starts at: at night (the daily low), on the steep morning and evening slopes of the daily cycle,
 * at the afternoon peak, on a weekday and at the weekend (where traffic dips and the hour-of-week
 * profile has seen one week only). The quiet shop (peak 14:00 UTC, half-amplitude daily cycle,
 * weekend x0.6) learns a week, then each incident hits its own destination at its own hour, so
 * one replay of the second week judges them all, each within the stated number of polls.
 */
const STEP = MINUTE;
const WITHIN_POLLS = 5;
const LEARN = 7 * DAY;

interface Incident {
  destination: string;
  /** Offset into the second week (Monday 00:00 UTC = 0). */
  atMs: number;
  factor: number;
  what: string;
}

const drop = 0.1;
const surge = 5;
const WEEKDAY: Incident[] = [
  { destination: 'shop/catalog', atMs: DAY + 3 * HOUR, factor: drop, what: 'Tuesday 03:00, the night low' },
  { destination: 'shop/cart', atMs: DAY + 8 * HOUR, factor: drop, what: 'Tuesday 08:00, the morning rise' },
  { destination: 'shop/frontend', atMs: DAY + 14 * HOUR, factor: drop, what: 'Tuesday 14:00, the peak' },
  {
    destination: 'shop/payments',
    atMs: DAY + 20 * HOUR,
    factor: surge,
    what: 'Tuesday 20:00, the evening fall',
  },
];
const WEEKEND: Incident[] = [
  { destination: 'shop/frontend', atMs: 5 * DAY + 3 * HOUR, factor: drop, what: 'Saturday 03:00' },
  { destination: 'shop/catalog', atMs: 5 * DAY + 8 * HOUR, factor: drop, what: 'Saturday 08:00' },
  { destination: 'shop/payments', atMs: 6 * DAY + 14 * HOUR, factor: surge, what: 'Sunday 14:00' },
  { destination: 'shop/cart', atMs: 6 * DAY + 20 * HOUR, factor: drop, what: 'Sunday 20:00' },
];
const WEEKS = [WEEKDAY, WEEKEND];
// Three weeks apart: each history is two weeks long, still starting on a Monday.
const epochOf = (i: number): number => EPOCH_MS + i * 21 * DAY;
const EVAL_AFTER = 30 * MINUTE;

describe('traffic drops and surges at every hour of the week, replayed from a real Prometheus', () => {
  let history: Awaited<ReturnType<typeof prometheusOnHistory>>;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    history = await prometheusOnHistory(
      'meshwatch-traffic-hours-',
      WEEKS.map((incidents, i) => ({
        scenario: 'quiet.yaml',
        set: [
          `incidents=[${incidents
            .map(
              (x) =>
                `{kind: traffic_change, at: ${(LEARN + x.atMs) / 1000}s, duration: 1h, to: ${x.destination}, factor: ${x.factor}}`,
            )
            .join(', ')}]`,
        ],
        epochMs: epochOf(i),
        ranges: [[epochOf(i), epochOf(i) + LEARN + Math.max(...incidents.map((x) => x.atMs)) + EVAL_AFTER]],
        stepMs: STEP,
      })),
    );
    prometheus = history.prometheus;
  }, 600_000);

  afterAll(async () => {
    await history?.stop();
  });

  it.each(WEEKS.map((incidents, i) => [i === 0 ? 'a weekday' : 'a weekend', incidents, i] as const))(
    'finds each on %s within the stated polls, and nothing else',
    async (_when, incidents, i) => {
      const epochMs = epochOf(i);
      const live = epochMs + LEARN + Math.min(...incidents.map((x) => x.atMs)) - 6 * HOUR;
      const transitions: ReplayedTransition[] = await replayHistory({
        prometheusUrl: prometheus.url,
        configYaml: 'poll: { rate_window: 3m }',
        learnFromMs: epochMs,
        evalFromMs: live,
        evalToMs: epochMs + LEARN + Math.max(...incidents.map((x) => x.atMs)) + EVAL_AFTER,
        stepMs: STEP,
      });
      const opened = transitions.filter((t) => t.kind === 'opened');
      const found = incidents.map((x) => {
        const startMs = epochMs + LEARN + x.atMs;
        const hit = opened.find(
          (t) =>
            t.finding.id === `traffic/Kubernetes/${x.destination}` &&
            t.atMs >= startMs &&
            t.atMs < startMs + HOUR,
        );
        return { what: x.what, destination: x.destination, polls: hit ? (hit.atMs - startMs) / STEP : null };
      });
      process.stdout.write(`${_when}: ${JSON.stringify(found)}\n`);
      expect(found.map((f) => f.polls !== null && f.polls <= WITHIN_POLLS)).toEqual(found.map(() => true));
      // Nothing else: no finding before the first incident, and none but the incidents' own traffic
      // findings (a return to the level before an incident is not a second one).
      const expectedIds = new Set(incidents.map((x) => `traffic/Kubernetes/${x.destination}`));
      expect(opened.filter((t) => !expectedIds.has(t.finding.id)).map((t) => t.finding.id)).toEqual([]);
      expect(opened.length).toBe(incidents.length);
    },
  );
});
