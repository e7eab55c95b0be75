import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { samplesOf } from '../helpers/metrics-text';
import { startMeshwatch, waitForMetrics, type RunningMeshwatch } from '../helpers/meshwatch';
import { freePort, waitFor } from '../helpers/ports';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { PLAINTEXT_IN_MESH_SCENARIO, startSimulatorForTest, type TestSimulator } from '../helpers/simulator';

const value = (text: string, name: string, labels: Record<string, string> = {}): number | undefined =>
  samplesOf(text, name, labels)[0]?.value;

describe('reloading the configuration of a running meshwatch', () => {
  let sim: TestSimulator;
  let prometheus: RunningPrometheus;
  let mw: RunningMeshwatch;
  // The file as the test writes it; each step changes it and writes it whole.
  let file: Record<string, unknown>;

  const write = (config: Record<string, unknown>): void => {
    file = config;
    writeFileSync(mw.configFile, stringify(config));
  };
  const logs = (msg: string) => mw.logLines().filter((l) => l.msg === msg);
  const logsStarting = (prefix: string) => mw.logLines().filter((l) => String(l.msg).startsWith(prefix));
  const reload = async (): Promise<{ status: number; body: string }> => {
    const res = await fetch(`${mw.url}/-/reload`, { method: 'POST' });
    return { status: res.status, body: await res.text() };
  };
  const pollsTotal = async (): Promise<number> => value(await mw.metrics(), 'meshwatch_polls_total') ?? NaN;
  const waitForPolls = async (after: number): Promise<void> => {
    await waitForMetrics(
      mw,
      `a poll after poll ${after}`,
      (t) => (value(t, 'meshwatch_polls_total') ?? 0) > after + 1,
    );
  };
  const plaintextFinding = async () =>
    (await mw.findings()).findings.find((f) => f.id === 'plaintext/Kubernetes/shop/catalog');

  beforeAll(async () => {
    sim = await startSimulatorForTest({
      scenario: { yaml: PLAINTEXT_IN_MESH_SCENARIO },
      epochMs: Date.now() - 60_000,
    });
    prometheus = await startPrometheus({ targets: [sim.target] });
    const config = {
      prometheus: { url: prometheus.url, timeout: '900ms' },
      poll: { interval: '1s', rate_window: '10s' },
      // A short warm-up that does happen, so that the test can tell that a reload does not redo it.
      warmup: { lookback: '30s', step: '1s', coarse_step: '0s', recent: '0s' },
      detectors: { plaintext: { threshold: 1 } },
    };
    // The environment overrides the file at start, and must at every reload too.
    mw = await startMeshwatch(config, { env: { MESHWATCH_DETECTORS_ERRORS_THRESHOLD: '7' } });
    file = { ...config, server: { host: '127.0.0.1', port: mw.port } };
    await waitFor('the plaintext finding', async () => (await plaintextFinding()) !== undefined, 60_000, 250);
  });

  afterAll(async () => {
    await mw?.stop('SIGKILL');
    await prometheus?.stop();
    await sim?.stop();
    removeDir(prometheus?.dir ?? '');
  });

  it('applies a changed threshold on SIGHUP at the next poll, keeping the warm-up, the findings and the tracked series', async () => {
    const before = await mw.metrics();
    expect(value(before, 'meshwatch_detector_threshold', { detector: 'traffic' })).toBe(5);
    expect(value(before, 'meshwatch_config_last_reload_successful')).toBe(1);
    const loadedAt = value(before, 'meshwatch_config_last_reload_success_timestamp_seconds') ?? NaN;
    expect(loadedAt).toBeGreaterThan(Date.now() / 1000 - 600);
    const finding = await plaintextFinding();
    expect(finding).toMatchObject({ threshold: 1, stale: false });
    const tracked = samplesOf(before, 'meshwatch_tracked_series');
    const warmupDone = value(before, 'meshwatch_warmup_steps', { state: 'done' });
    expect(warmupDone).toBeGreaterThan(0);
    expect(finding?.first_seen).toEqual(expect.any(String));

    write({ ...file, detectors: { traffic: { threshold: 2.5 }, plaintext: { threshold: 3 } } });
    // process.kill, not child.kill: the helper's stop() takes a child that was sent any signal as killed.
    process.kill(mw.child.pid as number, 'SIGHUP');

    const after = await waitForMetrics(
      mw,
      'the new traffic threshold',
      (t) => value(t, 'meshwatch_detector_threshold', { detector: 'traffic' }) === 2.5,
    );
    expect(value(after, 'meshwatch_detector_threshold', { detector: 'plaintext' })).toBe(3);
    // MESHWATCH_DETECTORS_ERRORS_THRESHOLD still wins over the file (which does not set it).
    expect(value(after, 'meshwatch_detector_threshold', { detector: 'errors' })).toBe(7);
    expect(value(after, 'meshwatch_config_last_reload_successful')).toBe(1);
    expect(value(after, 'meshwatch_config_last_reload_success_timestamp_seconds')).toBeGreaterThan(loadedAt);
    expect(logsStarting('configuration reloaded')).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'configuration reloaded; applies from the next poll: detectors.plaintext.threshold, detectors.traffic.threshold',
        trigger: 'SIGHUP',
        file: mw.configFile,
        needsRestart: [],
      }),
    ]);

    await waitForPolls(await pollsTotal());
    // The finding is the same one, judged by the new threshold from the next poll on.
    await waitFor(
      'the finding to carry the new threshold',
      async () => (await plaintextFinding())?.threshold === 3,
      30_000,
      250,
    );
    expect(await plaintextFinding()).toMatchObject({ first_seen: finding?.first_seen, stale: false });
    // No warm-up again, no baseline or known edge lost.
    const later = await mw.metrics();
    expect(logs('warm-up complete; polling')).toHaveLength(1);
    expect(value(later, 'meshwatch_warmup_complete')).toBe(1);
    expect(value(later, 'meshwatch_warmup_steps', { state: 'done' })).toBe(warmupDone);
    expect(samplesOf(later, 'meshwatch_tracked_series')).toEqual(tracked);
    expect(mw.child.exitCode).toBeNull();
  });

  it('answers POST /-/reload of a bad file with a 500 naming the key, and keeps running the old config', async () => {
    write({ ...file, detectors: { ...(file.detectors as object), traffic: { threshold: -1 } } });
    const answer = await reload();
    expect(answer).toEqual({
      status: 500,
      body: `failed to reload the configuration: ${mw.configFile}: detectors.traffic.threshold: -1 is out of range (allowed: a number greater than 0)\n`,
    });
    const failed = await mw.metrics();
    expect(value(failed, 'meshwatch_config_last_reload_successful')).toBe(0);
    expect(logs('reloading the configuration failed; the running configuration is kept')).toEqual([
      expect.objectContaining({
        level: 'error',
        trigger: 'POST /-/reload',
        key: 'detectors.traffic.threshold',
        file: mw.configFile,
        error: expect.objectContaining({ code: 'MW_ERR_CONFIG' }),
      }),
    ]);

    // Still polling with what ran before.
    await waitForPolls(value(failed, 'meshwatch_polls_total') ?? NaN);
    const still = await mw.metrics();
    expect(value(still, 'meshwatch_detector_threshold', { detector: 'traffic' })).toBe(2.5);
    expect(value(still, 'meshwatch_detector_threshold', { detector: 'plaintext' })).toBe(3);
    expect(value(still, 'meshwatch_config_last_reload_successful')).toBe(0);
    expect(await plaintextFinding()).toMatchObject({ threshold: 3, stale: false });
    expect(mw.child.exitCode).toBeNull();
  });

  it('says that a changed port needs a restart, keeps serving on the running one, and counts the reload as good', async () => {
    const otherPort = await freePort();
    write({
      ...file,
      server: { host: '127.0.0.1', port: otherPort },
      detectors: { traffic: { threshold: 2.5 }, plaintext: { threshold: 3 } },
    });
    expect(await reload()).toEqual({ status: 200, body: 'configuration reloaded\n' });
    expect(logsStarting('changed keys that need a restart')).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'changed keys that need a restart to apply, kept at their running values: server.port',
        keys: ['server.port'],
        trigger: 'POST /-/reload',
      }),
    ]);
    const text = await mw.metrics();
    expect(value(text, 'meshwatch_config_last_reload_successful')).toBe(1);
    expect(value(text, 'meshwatch_detector_threshold', { detector: 'traffic' })).toBe(2.5);
    await expect(fetch(`http://127.0.0.1:${otherPort}/livez`)).rejects.toThrow();
    expect((await fetch(`${mw.url}/readyz`)).status).toBe(200);
  });
});
