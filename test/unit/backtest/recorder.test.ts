import { shippedDetectorAlertRules } from '../../../src/app/backtest/alerts';
import { BacktestRecorder } from '../../../src/app/backtest/recorder';
import type { EngineResult } from '../../../src/core/engine';
import type { FindingTransition } from '../../../src/core/findings';
import type { Assessment, Finding } from '../../../src/core/types';

const MINUTE = 60_000;
const PAYMENTS = { cluster: '', namespace: 'shop', workload: 'payments' };
const CART = 'spiffe://cluster.local/ns/shop/sa/cart';
const FRONTEND = 'spiffe://cluster.local/ns/shop/sa/frontend';

function assessment(score: number, observed: number, callers: Array<[string, number]> = []): Assessment {
  return {
    detector: 'unauthorized',
    destination: PAYMENTS,
    signal: 'unauthorized_requests_per_second',
    observed,
    expected: 0.1,
    lower: 0,
    upper: 0.5,
    score,
    layers: ['http'],
    topCallers: callers.map(([principal, rate]) => ({
      caller: { principal, namespace: 'shop', workload: principal.split('/').at(-1) ?? '', cluster: '' },
      rate,
      layer: 'http',
    })),
  };
}

function transition(kind: 'opened' | 'closed', a: Assessment, firstSeenMs: number): FindingTransition {
  const finding: Finding = {
    ...a,
    id: 'unauthorized/shop/payments',
    threshold: 5,
    firstSeenMs,
    lastSeenMs: firstSeenMs,
    stale: false,
  };
  return { kind, finding };
}

function result(a: Assessment, transitions: FindingTransition[] = []): EngineResult {
  return {
    detections: [{ detector: 'unauthorized', threshold: 5, assessments: [a] }],
    mtlsRatios: [],
    plaintextCallers: [],
    unauthorizedCallers: [],
    newCallers: [],
    transitions,
  };
}

/** A quiet minute, then a denial spike from cart opening at minute 3 and closing at minute 6. */
function spike(recorder: BacktestRecorder): void {
  const quiet = assessment(0, 0.1, [[FRONTEND, 0.1]]);
  const loud = (score: number) =>
    assessment(score, 25, [
      [CART, 24],
      [FRONTEND, 1],
    ]);
  recorder.step(0, result(quiet));
  recorder.step(MINUTE, result(quiet));
  recorder.step(2 * MINUTE, result(loud(8)));
  recorder.step(3 * MINUTE, result(loud(12), [transition('opened', loud(12), 3 * MINUTE)]));
  recorder.step(4 * MINUTE, result(loud(20)));
  recorder.step(5 * MINUTE, result(quiet));
  recorder.step(6 * MINUTE, result(quiet, [transition('closed', quiet, 3 * MINUTE)]));
}

const RANGE = { fromMs: 0, toMs: 6 * MINUTE, stepMs: MINUTE, warmupSteps: 100 };

describe('the backtest recorder', () => {
  it('lists each finding with its span, peak score and the one caller behind it, and the alert it fired', () => {
    const recorder = new BacktestRecorder(shippedDetectorAlertRules());
    spike(recorder);
    const { findings, alerts, steps } = recorder.result(RANGE);
    expect({ findings, alerts, steps }).toEqual({
      steps: 7,
      findings: [
        {
          detector: 'unauthorized',
          destination: PAYMENTS,
          signal: 'unauthorized_requests_per_second',
          sourcePrincipal: CART,
          startMs: 3 * MINUTE,
          endMs: 6 * MINUTE,
          peakScore: 20,
          threshold: 5,
        },
      ],
      alerts: [
        {
          alertname: 'MeshUnauthorizedAccessSpike',
          severity: 'critical',
          detector: 'unauthorized',
          destination: PAYMENTS,
          startMs: 3 * MINUTE,
          endMs: 5 * MINUTE,
        },
      ],
    });
  });

  it('names no caller when none accounts for more than half of the rate', () => {
    const recorder = new BacktestRecorder(shippedDetectorAlertRules());
    const shared = assessment(9, 20, [
      [CART, 10],
      [FRONTEND, 10],
    ]);
    recorder.step(0, result(shared, [transition('opened', shared, 0)]));
    expect(recorder.result(RANGE).findings.map((f) => [f.sourcePrincipal, f.endMs])).toEqual([[null, null]]);
  });

  it('charts the signal of a finding from a few steps before it opened to the end', () => {
    const recorder = new BacktestRecorder(shippedDetectorAlertRules(), {
      leadPoints: 2,
      maxCharts: 5,
      maxPointsPerChart: 100,
    });
    spike(recorder);
    const [chart, ...rest] = recorder.result(RANGE).charts;
    expect(rest).toEqual([]);
    expect(chart?.points.map((p) => [p.timeMs / MINUTE, p.observed, p.score])).toEqual([
      [1, 0.1, 0],
      [2, 25, 8],
      [3, 25, 12],
      [4, 25, 20],
      [5, 0.1, 0],
      [6, 0.1, 0],
    ]);
  });

  it('halves a chart that reaches its point budget, each point the envelope of the steps it merges', () => {
    const recorder = new BacktestRecorder(shippedDetectorAlertRules(), {
      leadPoints: 0,
      maxCharts: 5,
      maxPointsPerChart: 4,
    });
    const values = [1, 9, 2, 3, 4, 8, 5, 6];
    values.forEach((v, i) => {
      const a = assessment(v, v);
      recorder.step(i * MINUTE, result(a, i === 0 ? [transition('opened', a, 0)] : []));
    });
    expect(recorder.result(RANGE).charts[0]?.points.map((p) => [p.timeMs / MINUTE, p.observed])).toEqual([
      [0, 9],
      [4, 8],
    ]);
  });
});
