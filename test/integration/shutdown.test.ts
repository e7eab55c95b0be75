import { startMeshwatch } from '../helpers/meshwatch';
import { waitFor } from '../helpers/ports';
import { startStubServer, type StubServer } from '../helpers/stub-server';

// A Prometheus that never answers is a fault the real one cannot be made to produce: it is what
// keeps a poll in flight while the shutdown runs.
describe('shutdown on SIGTERM', () => {
  let stub: StubServer;
  beforeAll(async () => {
    stub = await startStubServer({ kind: 'hang' });
  });
  afterAll(async () => {
    await stub.close();
  });

  it('turns unready, gives the poll in flight a bounded time, closes the server and exits 0', async () => {
    const mw = await startMeshwatch({
      prometheus: { url: stub.url, timeout: '20s' },
      warmup: { lookback: '0s' },
      poll: { interval: '30s' },
      shutdown: { timeout: '2s' },
      log: { level: 'debug' },
    });
    await waitFor('the first poll to reach Prometheus', async () => stub.requests.length > 0, 15000, 100);
    expect((await fetch(`${mw.url}/readyz`)).status).toBe(200);

    const started = Date.now();
    mw.child.kill('SIGTERM');
    await waitFor(
      '/readyz to answer 503',
      async () => (await fetch(`${mw.url}/readyz`)).status === 503,
      1500,
      50,
    );
    const code = await mw.stop();
    const tookMs = Date.now() - started;

    expect(code).toBe(0);
    // Bounded by shutdown.timeout (2 s), far below the 20 s query timeout.
    expect(tookMs).toBeGreaterThanOrEqual(1900);
    expect(tookMs).toBeLessThan(10000);
    const messages = mw.logLines().map((l) => l.msg);
    expect(messages).toEqual(
      expect.arrayContaining([
        'shutting down: unready, no new polls',
        'the poll in flight did not finish in time; aborting it',
        'stopped',
      ]),
    );
    expect(messages.indexOf('stopped')).toBe(messages.length - 1);
    await expect(fetch(`${mw.url}/livez`)).rejects.toThrow();
  });

  it('exits 0 at once on SIGINT when no poll is in flight', async () => {
    stub.behave({
      kind: 'respond',
      body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }),
    });
    const mw = await startMeshwatch({
      prometheus: { url: stub.url },
      warmup: { lookback: '0s' },
      poll: { interval: '30s' },
      shutdown: { timeout: '5s' },
    });
    await waitFor('a poll to finish', async () => (await mw.findings()).status !== 'pending', 15000, 100);
    const started = Date.now();
    expect(await mw.stop('SIGINT')).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(mw.logLines().at(-1)?.msg).toBe('stopped');
  });
});
