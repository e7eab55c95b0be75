import { engineOptions } from '../../../src/app/engine-options';
import { planReload } from '../../../src/app/reload';
import { parseConfig } from '../../../src/config/load';
import { DetectionEngine } from '../../../src/core/engine';
import type { EdgeSample } from '../../../src/core/mesh';
import {
  assessmentsOf,
  dailyCycle,
  DAY,
  HOUR,
  MINUTE,
  replay,
  requests,
  snapshot,
  T0,
} from '../core/factories';

const RUNNING = parseConfig('', {}, {}, 'meshwatch.yml');
/** The engine options a reload of `yaml` over the default config runs with. */
const reloaded = (yaml: string) =>
  engineOptions(planReload(RUNNING, parseConfig(yaml, {}, {}, 'meshwatch.yml')).config);

const cycle = dailyCycle(20);
// The noise is drawn once per time, so that two engines fed the same times see the same rates.
const rates = new Map<number, number>();
const cartRateAt = (t: number): number => {
  if (!rates.has(t)) rates.set(t, cycle(t));
  return rates.get(t) ?? NaN;
};
const mesh = (t: number, cartRate = cartRateAt(t)): EdgeSample[] => [
  requests('shop/frontend', 'shop/cart', cartRate),
  requests('shop/cart', 'shop/db', 5),
];
/** An engine that learned three days of history, as the warm-up teaches it. */
const warmEngine = (): DetectionEngine => {
  const engine = new DetectionEngine(engineOptions(RUNNING));
  replay(engine, T0, T0 + 3 * DAY, 5 * MINUTE, (t) => mesh(t), false);
  return engine;
};
// The daily peak: the cycle is flat there, so two polls a minute apart expect the same.
const AT = T0 + 3 * DAY + 18 * HOUR;

describe('retuning the detection engine on a config reload', () => {
  it('keeps the baselines and known edges, and judges the next poll by the new threshold', () => {
    const retuned = warmEngine();
    const twin = warmEngine();
    const normal = assessmentsOf(twin.observe(snapshot(AT, mesh(AT)), true), 'traffic')[0];
    retuned.observe(snapshot(AT, mesh(AT)), true);
    const tracked = retuned.tracked();
    if (!normal) throw new Error('the warm twin assesses cart');
    // Halfway to the upper edge of the running band: a score near 2.5, under 5 and over 1.
    const raised = normal.expected + 0.5 * (normal.upper - normal.expected);

    expect(retuned.retune(reloaded('detectors: { traffic: { threshold: 1, open_after_polls: 1 } }'))).toEqual(
      [],
    );
    const after = retuned.observe(snapshot(AT + MINUTE, mesh(AT + MINUTE, raised)), true);
    const unchanged = twin.observe(snapshot(AT + MINUTE, mesh(AT + MINUTE, raised)), true);

    const cart = (r: typeof after) =>
      assessmentsOf(r, 'traffic').find((a) => a.destination.workload === 'cart');
    // The same learned baseline (expected value, score); only the threshold and the band it draws differ.
    expect(cart(after)?.expected).toBe(cart(unchanged)?.expected);
    expect(cart(after)?.score).toBeCloseTo(cart(unchanged)?.score ?? NaN, 9);
    expect(cart(after)?.score).toBeGreaterThan(1);
    expect(cart(after)?.score).toBeLessThan(5);
    // The baseline draws its band with the new threshold (1 noise width instead of 5): the raised rate is
    // outside it, and inside the running one.
    expect(cart(after)?.upper).toBeLessThan(raised);
    expect(cart(unchanged)?.upper).toBeGreaterThan(raised);
    expect(after.detections.find((d) => d.detector === 'traffic')?.threshold).toBe(1);
    expect(after.transitions.map((t) => [t.kind, t.finding.id, t.finding.threshold])).toEqual([
      ['opened', 'traffic/shop/cart', 1],
    ]);
    expect(unchanged.transitions).toEqual([]);
    // Nothing known became new, and no series was dropped or added by the retune.
    expect(after.newCallers).toEqual([]);
    expect(retuned.tracked()).toEqual(tracked);

    // What a rebuilt engine would do instead: no baseline, so no judgement at all.
    const rebuilt = new DetectionEngine(reloaded('detectors: { traffic: { threshold: 1 } }'));
    expect(
      assessmentsOf(rebuilt.observe(snapshot(AT + MINUTE, mesh(AT + MINUTE, raised)), true), 'traffic'),
    ).toEqual([]);
  });

  it('closes the findings of a detector turned off, and runs it again with its baselines when turned back on', () => {
    const engine = warmEngine();
    const withPlaintext = (t: number) => [...mesh(t), requests('legacy/cron', 'shop/cart', 1, 'none')];
    replay(engine, AT, AT + 2 * MINUTE, MINUTE, withPlaintext, true);
    // The plaintext caller is a new caller too; that finding is not the plaintext detector's to close.
    expect(engine.findings().map((f) => f.id)).toEqual(['new_caller/shop/cart', 'plaintext/shop/cart']);

    const closed = engine.retune(reloaded('detectors: { plaintext: { enabled: false } }'));
    expect(closed.map((t) => [t.kind, t.finding.id])).toEqual([['closed', 'plaintext/shop/cart']]);
    expect(engine.findings().map((f) => f.id)).toEqual(['new_caller/shop/cart']);
    const off = engine.observe(snapshot(AT + 2 * MINUTE, withPlaintext(AT + 2 * MINUTE)), true);
    expect(off.detections.map((d) => d.detector)).toEqual([
      'traffic',
      'errors',
      'unauthorized',
      'new_caller',
    ]);

    engine.retune(reloaded(''));
    const on = engine.observe(snapshot(AT + 3 * MINUTE, withPlaintext(AT + 3 * MINUTE)), true);
    expect(on.transitions.map((t) => [t.kind, t.finding.id])).toEqual([['opened', 'plaintext/shop/cart']]);
    expect(assessmentsOf(on, 'traffic').length).toBe(2);
  });

  it('keeps every known edge under a lowered edge limit, refusing only new ones, and takes new ones again once raised', () => {
    const engine = warmEngine();
    const before = engine.tracked();
    engine.retune(reloaded('limits: { max_edges: 2 }'));
    engine.drainDrops();
    const stranger = (t: number) => [...mesh(t), requests('attack/probe', 'shop/db', 1)];
    const full = engine.observe(snapshot(AT, stranger(AT)), true);
    expect(engine.tracked()).toEqual(before);
    expect(full.newCallers).toEqual([]);
    expect(engine.drainDrops().capacity).toBeGreaterThan(0);

    engine.retune(reloaded(''));
    const room = engine.observe(snapshot(AT + MINUTE, stranger(AT + MINUTE)), true);
    expect(room.newCallers.map((c) => [c.destination.workload, c.caller.workload])).toEqual([
      ['db', 'probe'],
    ]);
  });
});
