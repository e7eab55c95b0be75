import { assessPlaintext } from '../../../src/core/detectors/plaintext';
import { volumeSamples } from '../../../src/core/detectors/signals';
import type { EdgeSample } from '../../../src/core/mesh';
import { connections, dest, deniedConnections, plaintextCaller, requests } from './factories';

const options = { threshold: 1, rateWindowSeconds: 120, topCallers: 10 };
const assess = (samples: EdgeSample[]) => assessPlaintext(samples, volumeSamples(samples), options);

describe('the plaintext detector', () => {
  it('scores a destination by the plaintext requests over the rate window and names the caller', () => {
    const result = assess([
      requests('shop/frontend', 'shop/cart', 9),
      requests('legacy/batch', 'shop/cart', 1, 'none'),
    ]);
    expect(result).toEqual({
      assessments: [
        {
          detector: 'plaintext',
          destination: dest('shop/cart'),
          signal: 'plaintext_requests_per_second',
          observed: 1,
          expected: 0,
          lower: 0,
          upper: 1 / 120,
          score: 120,
          layers: ['http'],
          topCallers: [{ caller: plaintextCaller('legacy/batch'), rate: 1, layer: 'http' }],
        },
      ],
      mtlsRatios: [{ destination: dest('shop/cart'), ratio: 0.9 }],
      plaintextCallers: [
        { destination: dest('shop/cart'), caller: plaintextCaller('legacy/batch'), rate: 1, layer: 'http' },
      ],
    });
  });

  it('gives an mTLS-only destination a score of 0 and an mTLS ratio of 1', () => {
    const result = assess([requests('shop/frontend', 'shop/payments', 3)]);
    expect(result.assessments.map((a) => [a.destination.workload, a.score, a.observed, a.layers])).toEqual([
      ['payments', 0, 0, []],
    ]);
    expect(result.mtlsRatios).toEqual([{ destination: dest('shop/payments'), ratio: 1 }]);
    expect(result.plaintextCallers).toEqual([]);
  });

  it("counts a sidecar's plaintext TCP connections (none) as plaintext traffic too", () => {
    const result = assess([connections('shop/payments', 'db/ledger', 0.5, 'none')]);
    expect(result.assessments[0]?.score).toBe(60);
    expect(result.assessments[0]?.layers).toEqual(['tcp']);
    expect(result.mtlsRatios[0]?.ratio).toBe(0);
  });

  it("counts ztunnel's unknown (plaintext into an ambient workload) as plaintext, and not an absent policy", () => {
    const result = assess([
      connections('shop/frontend', 'shop/cart', 3),
      connections('legacy/batch', 'shop/cart', 1, 'unknown'),
      { ...connections('shop/web', 'shop/cart', 5), policy: '' },
    ]);
    expect(result.assessments.map((a) => [a.observed, a.score, a.layers])).toEqual([[1, 120, ['tcp']]]);
    expect(result.plaintextCallers).toEqual([
      { destination: dest('shop/cart'), caller: plaintextCaller('legacy/batch'), rate: 1, layer: 'tcp' },
    ]);
    expect(result.mtlsRatios).toEqual([{ destination: dest('shop/cart'), ratio: 0.75 }]);
  });

  it('reaches the default threshold with a single plaintext request in the window', () => {
    const result = assess([requests('legacy/cron', 'shop/cart', 1 / 120, 'none')]);
    expect(result.assessments[0]?.score).toBeCloseTo(1, 10);
    expect(result.assessments[0]?.observed).toBeCloseTo(result.assessments[0]?.upper ?? NaN, 12);
  });

  it('ignores zero rates', () => {
    const result = assess([
      requests('shop/frontend', 'shop/cart', 2),
      requests('legacy/batch', 'shop/cart', 0, 'none'),
    ]);
    expect(result.assessments.map((a) => a.score)).toEqual([0]);
  });

  it('keeps only the top callers by rate, largest first', () => {
    const callers = ['a', 'b', 'c'].map((w, i) => requests(`legacy/${w}`, 'shop/cart', i + 1, 'none'));
    const result = assessPlaintext(callers, volumeSamples(callers), { ...options, topCallers: 2 });
    expect(result.assessments[0]?.topCallers.map((c) => [c.caller.workload, c.rate])).toEqual([
      ['c', 3],
      ['b', 2],
    ]);
    expect(result.assessments[0]?.observed).toBe(6);
  });

  it('leaves out plaintext connections an L4 policy refused (STRICT in ambient mode): they were not served', () => {
    const refusedAll = assess([
      connections('shop/frontend', 'shop/cart', 3),
      connections('legacy/batch', 'shop/cart', 2, 'unknown'),
      deniedConnections('legacy/batch', 'shop/cart', 2, 'unknown'),
    ]);
    expect(refusedAll.assessments.map((a) => a.score)).toEqual([0]);
    const refusedHalf = assess([
      connections('legacy/batch', 'shop/cart', 2, 'unknown'),
      deniedConnections('legacy/batch', 'shop/cart', 1, 'unknown'),
    ]);
    expect(refusedHalf.assessments.map((a) => a.observed)).toEqual([1]);
  });

  it("counts a waypoint-fronted workload's traffic once: not the waypoint's own mTLS hop, not a caller's connections beside its requests", () => {
    // What Istio reports for clients calling shop/cart through its waypoint: the waypoint's view
    // (requests, and the connections they came on) and the destination ztunnel's view of the
    // waypoint's connections to the workload (ztunnel names the waypoint as the caller).
    const result = assess([
      requests('shop/frontend', 'shop/cart', 8),
      connections('shop/frontend', 'shop/cart', 0.8, 'mutual_tls', 'waypoint'),
      requests('legacy/batch', 'shop/cart', 2, 'none'),
      connections('legacy/batch', 'shop/cart', 0.2, 'none', 'waypoint'),
      connections('shop/waypoint', 'shop/cart', 1, 'mutual_tls'),
      // A plaintext caller that bypasses the waypoint is seen by the ztunnel alone.
      connections('legacy/scanner', 'shop/cart', 0.5, 'unknown'),
    ]);
    expect(result.assessments[0]?.topCallers).toEqual([
      { caller: plaintextCaller('legacy/batch'), rate: 2, layer: 'http' },
      { caller: plaintextCaller('legacy/scanner'), rate: 0.5, layer: 'tcp' },
    ]);
    expect(result.assessments[0]?.layers).toEqual(['http', 'tcp']);
    expect(result.mtlsRatios[0]?.ratio).toBeCloseTo(8.8 / (8.8 + 2.5), 12);
  });

  it('tells same-named destinations in two clusters apart', () => {
    const result = assess([
      requests('shop/frontend', 'cluster-a/shop/cart', 4),
      requests('legacy/batch', 'cluster-b/shop/cart', 1, 'none'),
    ]);
    expect(result.assessments.map((a) => [a.destination, a.score])).toEqual([
      [dest('cluster-a/shop/cart'), 0],
      [dest('cluster-b/shop/cart'), 120],
    ]);
  });
});
