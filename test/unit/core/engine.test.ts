import type { EngineResult } from '../../../src/core/engine';
import type { EdgeSample } from '../../../src/core/mesh';
import type { Finding } from '../../../src/core/types';
import {
  assessmentsOf,
  dailyCycle,
  DAY,
  defaultOptions,
  denied,
  dest,
  HOUR,
  MINUTE,
  newEngine,
  plaintextCaller,
  replay,
  requests,
  snapshot,
  T0,
  WINDOW_SECONDS,
} from './factories';

const STEP = 30_000;
const mtls = (): EdgeSample[] => [requests('shop/frontend', 'shop/cart', 4)];
const withPlaintext = (): EdgeSample[] => [...mtls(), requests('legacy/cron', 'shop/cart', 1, 'none')];

/** The one plaintext finding these tests open, as /api/v1/findings would explain it. */
const plaintextFinding = (firstSeenMs: number, lastSeenMs: number): Finding => ({
  id: 'plaintext/shop/cart',
  detector: 'plaintext',
  destination: dest('shop/cart'),
  signal: 'plaintext_requests_per_second',
  observed: 1,
  expected: 0,
  lower: 0,
  upper: 1 / WINDOW_SECONDS,
  score: WINDOW_SECONDS,
  threshold: defaultOptions().detectors.plaintext.threshold,
  layers: ['http'],
  topCallers: [{ caller: plaintextCaller('legacy/cron'), rate: 1, layer: 'http' }],
  firstSeenMs,
  lastSeenMs,
  stale: false,
});

const transitions = (results: EngineResult[]) =>
  results.flatMap((r) => r.transitions.map((t) => [t.kind, t.finding.id, t.finding.firstSeenMs]));

describe('findings of the engine', () => {
  const engine = () =>
    newEngine((o) => {
      o.detectors.plaintext = { ...o.detectors.plaintext, openAfterPolls: 3, closeAfterPolls: 2 };
    });

  it('open after openAfterPolls consecutive polls over the threshold', () => {
    const e = engine();
    const polls = replay(e, T0, T0 + 3 * STEP, STEP, withPlaintext, true);
    expect(transitions(polls)).toEqual([['opened', 'plaintext/shop/cart', T0 + 2 * STEP]]);
    expect(e.findings()).toEqual([plaintextFinding(T0 + 2 * STEP, T0 + 2 * STEP)]);
  });

  it('close after closeAfterPolls consecutive polls under the threshold, keeping the finding until then', () => {
    const e = engine();
    replay(e, T0, T0 + 4 * STEP, STEP, withPlaintext, true);
    const clean = replay(e, T0 + 4 * STEP, T0 + 6 * STEP, STEP, mtls, true);
    expect(transitions(clean.slice(0, 1))).toEqual([]);
    expect(transitions(clean.slice(1))).toEqual([['closed', 'plaintext/shop/cart', T0 + 2 * STEP]]);
    expect(e.findings()).toEqual([]);
  });

  it('do not flap on alternate polls: neither open from nothing nor close once open', () => {
    const alternate = (t: number): EdgeSample[] => (((t - T0) / STEP) % 2 === 0 ? withPlaintext() : mtls());
    const closed = engine();
    expect(transitions(replay(closed, T0, T0 + 20 * STEP, STEP, alternate, true))).toEqual([]);
    expect(closed.findings()).toEqual([]);

    const open = engine();
    replay(open, T0, T0 + 3 * STEP, STEP, withPlaintext, true);
    const flapping = replay(open, T0 + 3 * STEP, T0 + 22 * STEP, STEP, (t) => alternate(t + STEP), true);
    expect(transitions(flapping)).toEqual([]);
    expect(open.findings()).toEqual([plaintextFinding(T0 + 2 * STEP, T0 + 21 * STEP)]);
  });

  it('never come from history', () => {
    const e = engine();
    const history = replay(
      e,
      T0,
      T0 + HOUR,
      STEP,
      (t) => [...withPlaintext(), denied('shop/mallory', 'shop/cart', t > T0 + 50 * MINUTE ? 80 : 0)],
      false,
    );
    expect(transitions(history)).toEqual([]);
    expect(e.findings()).toEqual([]);
  });

  it('are marked stale, unchanged otherwise, when a poll fails', () => {
    const e = engine();
    replay(e, T0, T0 + 3 * STEP, STEP, withPlaintext, true);
    e.markStale();
    expect(e.findings()).toEqual([{ ...plaintextFinding(T0 + 2 * STEP, T0 + 2 * STEP), stale: true }]);
  });
});

describe('the engine under a flood of new principals', () => {
  /** One poll in which `count` principals never seen before each call shop/cart and are denied. */
  const flood = (poll: number, count: number): EdgeSample[] =>
    Array.from({ length: count }, (_, i) => [
      requests(`attack/p${poll}-${i}`, 'shop/cart', 0.1),
      denied(`attack/p${poll}-${i}`, 'shop/cart', 0.1),
    ]).flat();

  it('keeps tracked edges at maxEdges and counts every refused one, poll after poll', () => {
    const engine = newEngine((o) => {
      o.maxEdges = 100;
    });
    const tracked = [];
    const drops = [];
    for (let poll = 0; poll < 5; poll++) {
      engine.observe(snapshot(T0 + poll * STEP, flood(poll, 1000)), true);
      tracked.push(engine.tracked());
      drops.push(engine.drainDrops());
    }
    const bounded = { traffic: 1, errors: 1, unauthorized: 1, new_caller: 100 };
    expect(tracked).toEqual([bounded, bounded, bounded, bounded, bounded]);
    // new_caller keeps 100 edges and the unauthorized detector 100 denied edges: each refuses the rest.
    expect(drops).toEqual([
      { capacity: 1850, evicted: 0 },
      { capacity: 2000, evicted: 0 },
      { capacity: 2000, evicted: 0 },
      { capacity: 2000, evicted: 0 },
      { capacity: 2000, evicted: 0 },
    ]);
    expect(engine.drainDrops()).toEqual({ capacity: 0, evicted: 0 });
  });

  it('does not call an edge it has no room to remember new, and counts it as refused instead', () => {
    const engine = newEngine((o) => {
      o.maxEdges = 100;
    });
    engine.observe(snapshot(T0, flood(0, 100)), false);
    const result = engine.observe(snapshot(T0 + STEP, flood(1, 1000)), true);
    // A refused edge cannot be told from an edge of the known mesh that was refused in history, so it is not
    // called new (no false alarm forever); meshwatch_series_dropped_total{reason="capacity"} says it is blind.
    expect(result.newCallers).toEqual([]);
    expect(engine.drainDrops()).toEqual({ capacity: 1000 + 1050, evicted: 0 });
  });

  it('forgets destinations and edges not seen for evictAfterMs, and counts them as evicted', () => {
    const engine = newEngine((o) => {
      o.evictAfterMs = HOUR;
      o.detectors.new_caller = { ...o.detectors.new_caller, forgetAfterMs: DAY };
    });
    engine.observe(
      snapshot(T0, [requests('shop/frontend', 'shop/cart', 1), denied('x/y', 'shop/cart', 1)]),
      true,
    );
    engine.observe(snapshot(T0 + HOUR + MINUTE, [requests('shop/frontend', 'shop/search', 1)]), true);
    // new_caller keeps each in-mesh edge twice: by principal, and by workload for when it loses its identity.
    expect(engine.tracked()).toEqual({ traffic: 1, errors: 1, unauthorized: 1, new_caller: 4 });
    // shop/cart from traffic, errors, unauthorized and STRICT readiness, and the denied edge x/y -> shop/cart.
    expect(engine.drainDrops()).toEqual({ capacity: 0, evicted: 5 });
  });
});

describe('the traffic detector with the shape model on', () => {
  it('holds an event part (a new range) in its assessments for 15 minutes, so a finding opens and an alert can', () => {
    const engine = newEngine((o) => {
      o.baselines.traffic = { ...o.baselines.traffic, shape: true };
    });
    const cycle = dailyCycle(20);
    replay(
      engine,
      T0,
      T0 + 3 * DAY,
      5 * MINUTE,
      (t) => [requests('shop/frontend', 'shop/cart', cycle(t))],
      false,
    );
    // At the daily peak (30/s, 1% noise): one poll 1.5/s above every rate cart has had, 7% of its range and
    // well inside its band (not a level anomaly), then back to normal.
    const at = T0 + 3 * DAY + 18 * HOUR;
    const polls = replay(
      engine,
      at,
      at + 20 * MINUTE,
      MINUTE,
      (t) => [requests('shop/frontend', 'shop/cart', t === at ? 32.5 : cycle(t))],
      true,
    );
    const traffic = polls.map((r) => assessmentsOf(r, 'traffic')[0]);
    const held = traffic.map((a) => a?.part);
    expect(held.slice(0, 15)).toEqual(Array(15).fill('new_range'));
    expect(held.slice(15)).toEqual(Array(5).fill('level'));
    // A closing finding explains its last poll, which is back to normal.
    expect(polls.flatMap((r) => r.transitions.map((t) => [t.kind, t.finding.part]))).toEqual([
      ['opened', 'new_range'],
      ['closed', 'level'],
    ]);
  });
});
