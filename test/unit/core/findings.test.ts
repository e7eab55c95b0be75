import { FindingTracker } from '../../../src/core/findings';
import type { Assessment } from '../../../src/core/types';

const assessment = (workload: string, score: number): Assessment => ({
  detector: 'plaintext',
  destination: { cluster: '', namespace: 'shop', workload },
  signal: 'plaintext_requests_per_second',
  observed: score / 120,
  expected: 0,
  lower: 0,
  upper: 1 / 120,
  score,
  layers: [],
  topCallers: [],
});

const policy = { threshold: 1, openAfterPolls: 2, closeAfterPolls: 2 };

describe('the finding tracker', () => {
  it('opens a finding only after the configured number of consecutive polls over the threshold', () => {
    const tracker = new FindingTracker();
    expect(tracker.update('plaintext', [assessment('cart', 5)], policy, 1000)).toEqual([]);
    const opened = tracker.update('plaintext', [assessment('cart', 7)], policy, 2000);
    expect(opened.map((t) => [t.kind, t.finding.id, t.finding.firstSeenMs])).toEqual([
      ['opened', 'plaintext/shop/cart', 2000],
    ]);
    expect(tracker.findings()).toEqual([
      {
        id: 'plaintext/shop/cart',
        detector: 'plaintext',
        destination: { cluster: '', namespace: 'shop', workload: 'cart' },
        signal: 'plaintext_requests_per_second',
        observed: 7 / 120,
        expected: 0,
        lower: 0,
        upper: 1 / 120,
        score: 7,
        threshold: 1,
        layers: [],
        topCallers: [],
        firstSeenMs: 2000,
        lastSeenMs: 2000,
        stale: false,
      },
    ]);
  });

  it('does not open on a blip shorter than the open count', () => {
    const tracker = new FindingTracker();
    tracker.update('plaintext', [assessment('cart', 5)], policy, 1000);
    tracker.update('plaintext', [assessment('cart', 0)], policy, 2000);
    expect(tracker.update('plaintext', [assessment('cart', 5)], policy, 3000)).toEqual([]);
    expect(tracker.findings()).toEqual([]);
  });

  it('keeps the first-seen time and closes only after the configured polls under the threshold', () => {
    const tracker = new FindingTracker();
    tracker.update('plaintext', [assessment('cart', 5)], policy, 1000);
    tracker.update('plaintext', [assessment('cart', 5)], policy, 2000);
    tracker.update('plaintext', [assessment('cart', 0)], policy, 3000);
    tracker.update('plaintext', [assessment('cart', 9)], policy, 4000);
    expect(tracker.findings().map((f) => [f.firstSeenMs, f.lastSeenMs, f.score])).toEqual([[2000, 4000, 9]]);
    expect(tracker.update('plaintext', [assessment('cart', 0)], policy, 5000)).toEqual([]);
    const closed = tracker.update('plaintext', [], policy, 6000);
    expect(closed.map((t) => [t.kind, t.finding.id])).toEqual([['closed', 'plaintext/shop/cart']]);
    expect(tracker.findings()).toEqual([]);
  });

  it('marks open findings stale without changing them otherwise', () => {
    const tracker = new FindingTracker();
    const once = { ...policy, openAfterPolls: 1 };
    tracker.update('plaintext', [assessment('cart', 5)], once, 1000);
    tracker.markStale();
    expect(tracker.findings().map((f) => [f.id, f.stale, f.lastSeenMs])).toEqual([
      ['plaintext/shop/cart', true, 1000],
    ]);
    tracker.update('plaintext', [assessment('cart', 5)], once, 2000);
    expect(tracker.findings().map((f) => f.stale)).toEqual([false]);
  });
});
