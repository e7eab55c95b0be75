import { assessPlaintext } from '../../../src/core/detectors/plaintext';
import type { EdgeSample } from '../../../src/core/mesh';

const sample = (over: Partial<EdgeSample> & { from: string; to: string }): EdgeSample => {
  const [dns, dw] = over.to.split('/') as [string, string];
  const [sns, sw] = over.from.split('/') as [string, string];
  return {
    destination: { namespace: dns, workload: dw },
    caller: {
      namespace: sns,
      workload: sw,
      principal: over.policy === 'none' ? 'unknown' : `spiffe://cluster.local/ns/${sns}/sa/${sw}`,
    },
    policy: over.policy ?? 'mutual_tls',
    kind: over.kind ?? 'requests',
    rate: over.rate ?? 1,
  };
};

const options = { threshold: 1, rateWindowSeconds: 120, topCallers: 10 };

describe('the plaintext detector', () => {
  it('scores a destination by the plaintext requests over the rate window and names the caller', () => {
    const result = assessPlaintext(
      [
        sample({ from: 'shop/frontend', to: 'shop/cart', rate: 9 }),
        sample({ from: 'legacy/batch', to: 'shop/cart', rate: 1, policy: 'none' }),
      ],
      options,
    );
    expect(result).toEqual({
      assessments: [
        {
          detector: 'plaintext',
          destination: { namespace: 'shop', workload: 'cart' },
          signal: 'plaintext_requests_per_second',
          observed: 1,
          expected: 0,
          lower: 0,
          upper: 1 / 120,
          score: 120,
          topCallers: [{ caller: { namespace: 'legacy', workload: 'batch', principal: 'unknown' }, rate: 1 }],
        },
      ],
      mtlsRatios: [{ destination: { namespace: 'shop', workload: 'cart' }, ratio: 0.9 }],
      plaintextCallers: [
        {
          destination: { namespace: 'shop', workload: 'cart' },
          caller: { namespace: 'legacy', workload: 'batch', principal: 'unknown' },
          rate: 1,
        },
      ],
    });
  });

  it('gives an mTLS-only destination a score of 0 and an mTLS ratio of 1', () => {
    const result = assessPlaintext(
      [sample({ from: 'shop/frontend', to: 'shop/payments', rate: 3 })],
      options,
    );
    expect(result.assessments.map((a) => [a.destination.workload, a.score, a.observed])).toEqual([
      ['payments', 0, 0],
    ]);
    expect(result.mtlsRatios).toEqual([
      { destination: { namespace: 'shop', workload: 'payments' }, ratio: 1 },
    ]);
    expect(result.plaintextCallers).toEqual([]);
  });

  it('counts plaintext TCP connections as plaintext traffic too', () => {
    const result = assessPlaintext(
      [
        sample({
          from: 'shop/payments',
          to: 'db/ledger',
          rate: 0.5,
          policy: 'none',
          kind: 'tcp_connections',
        }),
      ],
      options,
    );
    expect(result.assessments[0]?.score).toBe(60);
    expect(result.mtlsRatios[0]?.ratio).toBe(0);
  });

  it('reaches the default threshold with a single plaintext request in the window', () => {
    const result = assessPlaintext(
      [sample({ from: 'legacy/cron', to: 'shop/cart', rate: 1 / 120, policy: 'none' })],
      options,
    );
    expect(result.assessments[0]?.score).toBeCloseTo(1, 10);
    expect(result.assessments[0]?.observed).toBeCloseTo(result.assessments[0]?.upper ?? NaN, 12);
  });

  it('ignores the client side policy "unknown" and zero rates', () => {
    const result = assessPlaintext(
      [
        sample({ from: 'shop/frontend', to: 'shop/cart', rate: 2, policy: 'unknown' }),
        sample({ from: 'legacy/batch', to: 'shop/cart', rate: 0, policy: 'none' }),
      ],
      options,
    );
    expect(result.assessments.map((a) => a.score)).toEqual([0]);
    expect(result.mtlsRatios).toEqual([]);
  });

  it('keeps only the top callers by rate, largest first', () => {
    const callers = ['a', 'b', 'c'].map((w, i) =>
      sample({ from: `legacy/${w}`, to: 'shop/cart', rate: i + 1, policy: 'none' }),
    );
    const result = assessPlaintext(callers, { ...options, topCallers: 2 });
    expect(result.assessments[0]?.topCallers.map((c) => [c.caller.workload, c.rate])).toEqual([
      ['c', 3],
      ['b', 2],
    ]);
    expect(result.assessments[0]?.observed).toBe(6);
  });
});
