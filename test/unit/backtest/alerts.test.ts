import {
  AlertEvaluator,
  shippedDetectorAlertRules,
  type ScoredDestination,
} from '../../../src/app/backtest/alerts';

const PAYMENTS = { cluster: '', namespace: 'shop', workload: 'payments' };
const CART = { cluster: '', namespace: 'shop', workload: 'cart' };
const SECOND = 1000;

const score = (value: number, destination = PAYMENTS): ScoredDestination => ({
  detector: 'unauthorized',
  destination,
  score: value,
  threshold: 5,
});

/** Evaluates one list of scores per 30s step, starting at t=0. */
function replay(steps: ScoredDestination[][]): AlertEvaluator {
  const evaluator = new AlertEvaluator(shippedDetectorAlertRules());
  steps.forEach((scores, i) => evaluator.evaluate(i * 30 * SECOND, scores));
  return evaluator;
}

describe('alert evaluation over per-step scores', () => {
  it('reads every detector alert name, severity and for: from the shipped rules', () => {
    expect(shippedDetectorAlertRules()).toEqual({
      unauthorized: { alertname: 'MeshUnauthorizedAccessSpike', severity: 'critical', forMs: 60 * SECOND },
      new_caller: { alertname: 'MeshNewCaller', severity: 'warning', forMs: 60 * SECOND },
      plaintext: { alertname: 'MeshPlaintextTraffic', severity: 'warning', forMs: 300 * SECOND },
      traffic: { alertname: 'MeshTrafficAnomaly', severity: 'warning', forMs: 600 * SECOND },
      errors: { alertname: 'MeshErrorRateAnomaly', severity: 'warning', forMs: 300 * SECOND },
    });
  });

  it('fires once the score has held at or over the threshold for the rule for: and ends when it drops', () => {
    const evaluator = replay([
      [score(1)],
      [score(5)],
      [score(9)],
      [score(7)],
      [score(6)],
      [score(2)],
      [score(1)],
    ]);
    expect(evaluator.alerts()).toEqual([
      {
        alertname: 'MeshUnauthorizedAccessSpike',
        severity: 'critical',
        detector: 'unauthorized',
        destination: PAYMENTS,
        startMs: 90 * SECOND,
        endMs: 150 * SECOND,
      },
    ]);
  });

  it('keeps a blip shorter than for: quiet', () => {
    expect(replay([[score(9)], [score(9)], [score(1)], [score(9)], [score(1)]]).alerts()).toEqual([]);
  });

  it('leaves the end null for an alert still firing at the end of the range', () => {
    expect(replay([[score(9)], [score(9)], [score(9)]]).alerts()).toEqual([
      expect.objectContaining({ startMs: 60 * SECOND, endMs: null }),
    ]);
  });

  it('ends an alert whose destination is no longer scored, as a vanished series does', () => {
    const alerts = replay([
      [score(9), score(9, CART)],
      [score(9), score(9, CART)],
      [score(9), score(9, CART)],
      [score(9)],
    ]).alerts();
    expect(alerts.map((a) => [a.destination.workload, a.startMs, a.endMs])).toEqual([
      ['payments', 60 * SECOND, null],
      ['cart', 60 * SECOND, 90 * SECOND],
    ]);
  });
});
