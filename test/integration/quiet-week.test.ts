import { backfillScenario, DAY, EPOCH_MS, HOUR, MINUTE, replayHistory } from '../helpers/history';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';

/**
 * A normal week must not page anyone: the quiet shop (daily cycle, weekend dip) for seven days
 * from a Monday, with a sidecar restart (its counters reset) on Wednesday and a 10-minute
 * Prometheus outage (no samples at all) on Thursday. The first day teaches the baselines; the
 * other six are replayed poll by poll (one poll per 5-minute step of the backfill).
 */
const STEP = 5 * MINUTE;
const OUTAGE: [number, number] = [3 * DAY + 10 * HOUR, 3 * DAY + 10 * HOUR + 10 * MINUTE];

describe('a quiet week replayed from a real Prometheus', () => {
  let prometheus: RunningPrometheus;
  let dir: string;

  beforeAll(async () => {
    const history = await backfillScenario({
      scenario: 'quiet.yaml',
      set: [
        'restarts=[{workload: shop/cart, replica: 0, at: 2d13h}, {workload: shop/catalog, replica: 1, at: 4d2h}]',
      ],
      // The outage: nothing was scraped, so nothing is in the TSDB.
      ranges: [
        [EPOCH_MS, EPOCH_MS + OUTAGE[0]],
        [EPOCH_MS + OUTAGE[1] + STEP, EPOCH_MS + 7 * DAY],
      ],
      stepMs: STEP,
    });
    dir = history.dir;
    prometheus = await startPrometheus({ dataDir: history.dataDir });
  }, 300_000);

  afterAll(async () => {
    await prometheus?.stop();
    removeDir(dir);
  });

  it('opens no finding in six days of live polls across a restart, an outage and a weekend', async () => {
    const transitions = await replayHistory({
      prometheusUrl: prometheus.url,
      // rate() needs two samples in its window: three steps of the 5-minute history.
      configYaml: 'poll: { rate_window: 15m }',
      learnFromMs: EPOCH_MS,
      evalFromMs: EPOCH_MS + DAY,
      evalToMs: EPOCH_MS + 7 * DAY - STEP,
      stepMs: STEP,
    });
    expect(
      transitions.map(
        (t) =>
          `${t.kind} ${t.finding.id} at +${((t.atMs - EPOCH_MS) / HOUR).toFixed(2)}h score ${t.finding.score.toFixed(1)}`,
      ),
    ).toEqual([]);
  });
});
