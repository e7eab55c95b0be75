import { backfillScenario, HOUR, MINUTE } from '../helpers/history';
import { samplesOf } from '../helpers/metrics-text';
import { startMeshwatch, waitForMetrics } from '../helpers/meshwatch';
import { removeDir, startPrometheus } from '../helpers/prometheus';

/**
 * The daemon's warm-up progress as metrics, against a real Prometheus holding the last six hours
 * of the quiet shop: hourly steps up to the last hour, then that hour at the live step.
 */
describe('warm-up progress', () => {
  it('publishes the steps planned and done and the time left, done == planned and 0 left at the end', async () => {
    const nowMs = Date.now();
    const fromMs = Math.floor((nowMs - 6 * HOUR) / MINUTE) * MINUTE;
    const history = await backfillScenario({
      scenario: 'quiet.yaml',
      epochMs: fromMs,
      ranges: [[fromMs, nowMs]],
      stepMs: MINUTE,
    });
    const prometheus = await startPrometheus({ dataDir: history.dataDir });
    const mw = await startMeshwatch({
      prometheus: { url: prometheus.url },
      poll: { interval: '1m', rate_window: '2m' },
      warmup: { lookback: '6h', step: '1m', coarse_step: '1h', recent: '1h' },
      log: { level: 'info' },
    });
    try {
      const text = await waitForMetrics(
        mw,
        'warm-up to complete',
        (t) => samplesOf(t, 'meshwatch_warmup_complete')[0]?.value === 1,
        60_000,
      );
      const planned = samplesOf(text, 'meshwatch_warmup_steps', { state: 'planned' })[0]?.value;
      // At most 5 hourly steps (the first ends an hour into the lookback, the last an hour or
      // two before now) and the minutes after the last of them.
      expect(planned).toBeGreaterThan(4 + 60);
      expect(planned).toBeLessThan(5 + 120);
      expect(samplesOf(text, 'meshwatch_warmup_steps', { state: 'done' })[0]?.value).toBe(planned);
      expect(samplesOf(text, 'meshwatch_warmup_remaining_seconds')[0]?.value).toBe(0);
      const progress = mw.logLines().filter((l) => l.msg === 'warm-up progress');
      expect(progress.map((l) => l.resolution)).toEqual(['coarse', 'live']);
      expect(progress.map((l) => typeof l.remainingSeconds)).toEqual(['number', 'number']);
      expect(progress.at(-1)).toMatchObject({ progress: '100%', remainingSeconds: 0 });
    } finally {
      await mw.stop('SIGKILL');
      await prometheus.stop();
      removeDir(history.dir);
    }
  }, 120_000);
});
