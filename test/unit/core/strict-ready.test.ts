import { StrictReadinessTracker, type StrictReadinessOptions } from '../../../src/core/strict-ready';
import type { DropCounts } from '../../../src/core/series-table';
import {
  DAY,
  HOUR,
  MINUTE,
  T0,
  connections,
  deniedConnections,
  dest,
  newEngine,
  requests,
  snapshot,
} from './factories';

const WEEK = 7 * DAY;

function tracker(options: Partial<StrictReadinessOptions> = {}): {
  readiness: StrictReadinessTracker;
  drops: DropCounts;
} {
  const drops: DropCounts = { capacity: 0, evicted: 0 };
  const readiness = new StrictReadinessTracker(
    { lookbackMs: WEEK, capacity: 100, evictAfterMs: DAY, ...options },
    drops,
  );
  return { readiness, drops };
}

const mtls = (path: string) => ({ destination: dest(path), plaintextRate: 0 });
const plaintext = (path: string, rate = 0.5) => ({ destination: dest(path), plaintextRate: rate });

describe('StrictReadinessTracker', () => {
  it('calls a destination only ever seen over mTLS ready', () => {
    const { readiness } = tracker();
    readiness.observe(T0, [mtls('shop/cart')]);
    readiness.observe(T0 + MINUTE, [mtls('shop/cart')]);
    expect(readiness.readiness()).toEqual([{ destination: dest('shop/cart'), ready: true }]);
  });

  it('flips a destination to not ready the poll it serves plaintext, and names when', () => {
    const { readiness } = tracker();
    readiness.observe(T0, [mtls('shop/cart'), mtls('shop/payments')]);
    readiness.observe(T0 + MINUTE, [mtls('shop/cart'), plaintext('shop/payments')]);
    expect(readiness.readiness()).toEqual([
      { destination: dest('shop/cart'), ready: true },
      { destination: dest('shop/payments'), ready: false, lastPlaintextMs: T0 + MINUTE },
    ]);
  });

  it('turns ready again once the lookback has passed without plaintext, not a poll before', () => {
    const { readiness } = tracker({ lookbackMs: 2 * HOUR });
    readiness.observe(T0, [plaintext('shop/payments')]);
    readiness.observe(T0 + HOUR, [plaintext('shop/payments')]);
    readiness.observe(T0 + 3 * HOUR - MINUTE, [mtls('shop/payments')]);
    expect(readiness.readiness()).toEqual([
      { destination: dest('shop/payments'), ready: false, lastPlaintextMs: T0 + HOUR },
    ]);
    readiness.observe(T0 + 3 * HOUR, [mtls('shop/payments')]);
    expect(readiness.readiness()).toEqual([
      { destination: dest('shop/payments'), ready: true, lastPlaintextMs: T0 + HOUR },
    ]);
  });

  it('keeps the latest plaintext sighting when history arrives out of order', () => {
    const { readiness } = tracker();
    readiness.observe(T0 + HOUR, [plaintext('shop/payments')]);
    readiness.observe(T0, [plaintext('shop/payments')]);
    expect(readiness.readiness()).toEqual([
      { destination: dest('shop/payments'), ready: false, lastPlaintextMs: T0 + HOUR },
    ]);
  });

  it('forgets an mTLS-only destination not seen for limits.evict_after, and counts it evicted', () => {
    const { readiness, drops } = tracker({ evictAfterMs: DAY });
    readiness.observe(T0, [mtls('shop/cart'), mtls('shop/payments')]);
    readiness.observe(T0 + DAY, [mtls('shop/payments')]);
    expect(readiness.readiness().map((r) => r.destination)).toEqual([
      dest('shop/cart'),
      dest('shop/payments'),
    ]);
    readiness.observe(T0 + DAY + MINUTE, [mtls('shop/payments')]);
    expect(readiness.readiness()).toEqual([{ destination: dest('shop/payments'), ready: true }]);
    expect(drops).toEqual({ capacity: 0, evicted: 1 });
  });

  it('does not forget a destination that served plaintext within the lookback: it would come back ready', () => {
    const { readiness, drops } = tracker({ evictAfterMs: DAY, lookbackMs: WEEK });
    readiness.observe(T0, [plaintext('legacy/batch')]);
    readiness.observe(T0 + 3 * DAY, [mtls('shop/cart')]);
    expect(readiness.readiness()).toEqual([
      { destination: dest('legacy/batch'), ready: false, lastPlaintextMs: T0 },
      { destination: dest('shop/cart'), ready: true },
    ]);
    readiness.observe(T0 + WEEK, [mtls('shop/cart')]);
    expect(readiness.readiness()).toEqual([{ destination: dest('shop/cart'), ready: true }]);
    expect(drops).toEqual({ capacity: 0, evicted: 1 });
  });

  it('refuses new destinations over limits.max_destinations and counts each refusal, keeping the ones it has', () => {
    const { readiness, drops } = tracker({ capacity: 1 });
    readiness.observe(T0, [plaintext('shop/payments'), mtls('shop/cart')]);
    readiness.observe(T0 + MINUTE, [mtls('shop/payments'), mtls('shop/cart')]);
    expect(readiness.readiness()).toEqual([
      { destination: dest('shop/payments'), ready: false, lastPlaintextMs: T0 },
    ]);
    expect(readiness.tracked).toBe(1);
    expect(drops).toEqual({ capacity: 2, evicted: 0 });
  });

  it('judges by a new lookback after a retune, keeping every sighting', () => {
    const { readiness } = tracker({ lookbackMs: WEEK });
    readiness.observe(T0, [plaintext('shop/payments')]);
    readiness.observe(T0 + 2 * DAY, [mtls('shop/payments')]);
    readiness.retune({ lookbackMs: DAY, capacity: 100, evictAfterMs: DAY });
    expect(readiness.readiness()).toEqual([
      { destination: dest('shop/payments'), ready: true, lastPlaintextMs: T0 },
    ]);
    readiness.retune({ lookbackMs: 3 * DAY, capacity: 100, evictAfterMs: DAY });
    expect(readiness.readiness()).toEqual([
      { destination: dest('shop/payments'), ready: false, lastPlaintextMs: T0 },
    ]);
  });
});

describe('the engine tracks STRICT readiness', () => {
  const mesh = (plaintextRate: number) => [
    requests('shop/frontend', 'shop/cart', 10),
    requests('shop/frontend', 'shop/payments', 5),
    ...(plaintextRate > 0 ? [requests('legacy/batch', 'shop/payments', plaintextRate, 'none')] : []),
  ];

  it('learns plaintext from history (the warm-up) as from live polls', () => {
    const engine = newEngine();
    engine.observe(snapshot(T0, mesh(0.2)), false);
    engine.observe(snapshot(T0 + HOUR, mesh(0)), true);
    expect(engine.strictReadiness()).toEqual([
      { destination: dest('shop/cart'), ready: true },
      { destination: dest('shop/payments'), ready: false, lastPlaintextMs: T0 },
    ]);
  });

  it('counts plaintext as the plaintext detector does: ztunnel\'s "unknown" blocks, connections an L4 policy refused do not', () => {
    const engine = newEngine();
    engine.observe(
      snapshot(T0, [
        connections('legacy/batch', 'data/ledger', 1, 'unknown'),
        connections('legacy/batch', 'data/vault', 1, 'unknown'),
        deniedConnections('legacy/batch', 'data/vault', 1, 'unknown'),
        connections('shop/cart', 'data/vault', 2),
      ]),
      true,
    );
    expect(engine.strictReadiness()).toEqual([
      { destination: dest('data/ledger'), ready: false, lastPlaintextMs: T0 },
      { destination: dest('data/vault'), ready: true },
    ]);
  });

  it('goes back to ready after audit.lookback without plaintext', () => {
    const engine = newEngine((o) => {
      o.strictReadyLookbackMs = 2 * HOUR;
    });
    engine.observe(snapshot(T0, mesh(0.2)), true);
    engine.observe(snapshot(T0 + 2 * HOUR, mesh(0)), true);
    expect(engine.strictReadiness().map((r) => [r.destination.workload, r.ready])).toEqual([
      ['cart', true],
      ['payments', true],
    ]);
  });

  it("keeps tracking with the plaintext detector turned off: readiness is the audit's question, not a page", () => {
    const engine = newEngine((o) => {
      o.detectors.plaintext.enabled = false;
    });
    const result = engine.observe(snapshot(T0, mesh(0.2)), true);
    expect(result.detections.map((d) => d.detector)).not.toContain('plaintext');
    expect(engine.strictReadiness().map((r) => [r.destination.workload, r.ready])).toEqual([
      ['cart', true],
      ['payments', false],
    ]);
  });

  it('says nothing while plaintext cannot be read on any layer, and the sightings are back when it can', () => {
    const engine = newEngine();
    engine.observe(snapshot(T0, mesh(0.2)), true);
    engine.observe(snapshot(T0 + MINUTE, mesh(0)), true, new Set(['plaintext:http', 'plaintext:tcp']));
    expect(engine.strictReadiness()).toEqual([]);
    engine.observe(snapshot(T0 + 2 * MINUTE, mesh(0)), true);
    expect(engine.strictReadiness().map((r) => [r.destination.workload, r.ready])).toEqual([
      ['cart', true],
      ['payments', false],
    ]);
  });

  it('forgets destinations with the others, after limits.evict_after', () => {
    const engine = newEngine((o) => {
      o.evictAfterMs = HOUR;
    });
    engine.observe(snapshot(T0, mesh(0)), true);
    engine.observe(snapshot(T0 + 2 * HOUR, [requests('shop/frontend', 'shop/cart', 10)]), true);
    expect(engine.strictReadiness()).toEqual([{ destination: dest('shop/cart'), ready: true }]);
  });
});
