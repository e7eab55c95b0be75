import { createPrometheusClient } from '../../src/adapters/prometheus/client';
import { engineOptions, meshQueryOf } from '../../src/app/engine-options';
import { parseConfig } from '../../src/config/load';
import { DetectionEngine, type Detection } from '../../src/core/engine';
import { warmUp } from '../../src/app/warmup';
import { decodeMesh } from '../../src/signals/mesh';
import pino from 'pino';
import { backfillScenario, DAY, EPOCH_MS, HOUR, MINUTE } from '../helpers/history';
import { samplesOf } from '../helpers/metrics-text';
import { startMeshwatch, waitForMetrics } from '../helpers/meshwatch';
import { freePort, waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';

/**
 * Warm start against a real Prometheus holding a backfilled day of the quiet shop (plus an
 * edge, cart -> payments, that first appears in the last hours of history).
 */
const STEP = MINUTE;
const HISTORY_END = EPOCH_MS + DAY;
const CONFIG = 'poll: { interval: 1m, rate_window: 3m }\nwarmup: { step: 1m, lookback: 1d }';

describe('warm start from Prometheus history', () => {
  let prometheus: RunningPrometheus;
  let dir: string;

  beforeAll(async () => {
    const history = await backfillScenario({
      scenario: 'new-caller.yaml',
      set: [`incidents[0].at=${(DAY - 3 * HOUR) / 1000}s`],
      ranges: [[EPOCH_MS, HISTORY_END]],
      stepMs: STEP,
    });
    dir = history.dir;
    prometheus = await startPrometheus({ dataDir: history.dataDir });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    removeDir(dir);
  });

  it('rebuilds the same baselines as feeding the same history poll by poll', async () => {
    const config = parseConfig(CONFIG, {}, { prometheusUrl: prometheus.url }, 'test');
    const client = createPrometheusClient(config.prometheus);
    const fromRange = new DetectionEngine(engineOptions(config));
    const pollByPoll = new DetectionEngine(engineOptions(config));
    const query = meshQueryOf(config);
    try {
      // The daemon's warm-up: chunked range queries (max_samples_per_query forces many chunks).
      const report = await warmUp(
        client,
        { meshQuery: query, learn: (s) => fromRange.observe(s, false) },
        {
          lookbackMs: DAY,
          stepMs: STEP,
          maxSamplesPerQuery: 1000,
          endMs: HISTORY_END,
          blind: new Set(),
          retryDelayMs: 0,
        },
        pino({ level: 'silent' }),
      );
      expect(report.chunks).toBeGreaterThan(10);
      // The same history as live polls would have seen it: one instant query per step.
      for (let t = HISTORY_END - DAY; t < HISTORY_END; t += STEP) {
        const samples = decodeMesh((await client.query(query, { timeMs: t })).data);
        if (samples.length > 0) pollByPoll.observe({ timeMs: t, samples }, false);
      }
      expect(report.steps).toBeGreaterThan(DAY / STEP - 10);

      // Both judge the next poll identically (tolerance: 1e-9 relative).
      const next = decodeMesh((await client.query(query, { timeMs: HISTORY_END })).data);
      const a = fromRange.observe({ timeMs: HISTORY_END, samples: next }, true);
      const b = pollByPoll.observe({ timeMs: HISTORY_END, samples: next }, true);
      const flat = (detections: Detection[]) =>
        detections.flatMap((d) =>
          d.assessments.map((x) => ({
            id: `${d.detector}/${x.destination.namespace}/${x.destination.workload}`,
            values: [x.observed, x.expected, x.lower, x.upper, x.score],
          })),
        );
      const fa = flat(a.detections);
      const fb = flat(b.detections);
      expect(fa.map((x) => x.id)).toEqual(fb.map((x) => x.id));
      expect(fa.filter((x) => x.id.startsWith('traffic/')).length).toBeGreaterThanOrEqual(4);
      for (const [i, x] of fa.entries()) {
        for (const [j, v] of x.values.entries()) {
          const w = fb[i]?.values[j] ?? NaN;
          expect(Math.abs(v - w)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(v), Math.abs(w)));
        }
      }
      expect(fromRange.tracked()).toEqual(pollByPoll.tracked());
      // The edge that appeared in history is known: nothing is new.
      expect(a.newCallers).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('is unready until the warm-up is done, retries while Prometheus is down, and never calls a known edge new', async () => {
    // Six hours of recent history (the daemon looks back from now), with cart -> payments first
    // seen an hour before the end.
    const nowMs = Date.now();
    const recent = await backfillScenario({
      scenario: 'new-caller.yaml',
      set: [`incidents[0].at=${5 * 3600}s`, 'incidents[0].duration=2h'],
      epochMs: Math.floor((nowMs - 6 * HOUR) / STEP) * STEP,
      ranges: [[Math.floor((nowMs - 6 * HOUR) / STEP) * STEP, nowMs]],
      stepMs: STEP,
    });
    // meshwatch starts while no Prometheus listens on its port, so the warm-up has to wait and
    // retry; then a Prometheus holding that history starts on that very port.
    const port = await freePort();
    const mw = await startMeshwatch({
      prometheus: { url: `http://127.0.0.1:${port}`, timeout: '900ms' },
      poll: { interval: '1s', rate_window: '3m' },
      warmup: { lookback: '1d', step: '1m' },
      log: { level: 'info' },
    });
    let second: RunningPrometheus | undefined;
    try {
      await waitFor(
        'a failed warm-up attempt',
        async () => mw.logLines().some((l) => String(l.msg).startsWith('warm-up: fetching history failed')),
        20000,
        100,
      );
      expect((await fetch(`${mw.url}/readyz`)).status).toBe(503);
      expect(await (await fetch(`${mw.url}/readyz`)).text()).toContain('warming up');
      expect(samplesOf(await mw.metrics(), 'meshwatch_warmup_complete')[0]?.value).toBe(0);

      second = await startPrometheus({ dataDir: recent.dataDir, port });
      await waitForMetrics(
        mw,
        'warm-up to complete',
        (t) => samplesOf(t, 'meshwatch_warmup_complete')[0]?.value === 1,
        60000,
      );
      expect((await fetch(`${mw.url}/readyz`)).status).toBe(200);
      const messages = mw.logLines().map((l) => String(l.msg));
      expect(messages).toEqual(expect.arrayContaining(['warm-up progress', 'warm-up complete; polling']));
      const done = mw.logLines().find((l) => l.msg === 'warm-up complete; polling');
      expect(done).toMatchObject({ stepsWithData: expect.any(Number) });
      // Six hours at the default schedule: 4 or 5 hourly steps, then the last two hours at 1m.
      expect(Number(done?.stepsWithData)).toBeGreaterThan(4 + 119);
      // Live polls now run against "now", past the history: the mesh is silent there, and the
      // edges from history are known, so no new-caller finding appears.
      await waitForMetrics(
        mw,
        'a live poll',
        (t) => (samplesOf(t, 'meshwatch_polls_total')[0]?.value ?? 0) >= 2,
      );
      expect((await mw.findings()).findings.filter((f) => f.detector === 'new_caller')).toEqual([]);
      expect(
        samplesOf(await mw.metrics(), 'meshwatch_tracked_series', { detector: 'new_caller' })[0]?.value,
      ).toBeGreaterThan(5);
    } finally {
      await mw.stop('SIGKILL');
      await second?.stop();
      removeDir(recent.dir);
    }
  });
});
