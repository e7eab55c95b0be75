/**
 * Which alerts Prometheus would have fired, from the per-step scores: the shipped rules compare
 * `meshwatch_anomaly_score >= meshwatch_detector_threshold` at each evaluation and fire once the
 * comparison has held for the rule's `for:`. Pure state: time comes in with each step.
 */
import { parseDuration } from '../../config/duration';
import { destinationKey } from '../../core/keys';
import type { DetectorName, Destination } from '../../core/types';
import { DEFAULT_ALERT_RULE_OPTIONS, detectorAlert, detectorAlertRules } from '../../rules/alerts';
import type { BacktestAlert } from './types';

/** What the evaluator needs of a detector's alert rule. */
export interface DetectorAlertRule {
  alertname: string;
  severity: string;
  forMs: number;
}

/** The shipped rule of each detector (name, severity, `for:`), read from the rule generator itself. */
export function shippedDetectorAlertRules(): Record<DetectorName, DetectorAlertRule> {
  const rules = detectorAlertRules(DEFAULT_ALERT_RULE_OPTIONS);
  const detectors: DetectorName[] = ['unauthorized', 'new_caller', 'plaintext', 'traffic', 'errors'];
  return Object.fromEntries(
    detectors.map((detector) => {
      const name = detectorAlert(detector).alert;
      const rule = rules.find((r) => r.alert === name);
      const forMs = rule?.for === undefined ? 0 : parseDuration(rule.for);
      if (rule === undefined || forMs === undefined)
        throw new Error(`rules/alerts.ts has no usable rule for detector ${detector}`);
      return [detector, { alertname: name, severity: rule.labels.severity ?? '', forMs }];
    }),
  ) as Record<DetectorName, DetectorAlertRule>;
}

/** One detector's score of one destination at one evaluation. */
export interface ScoredDestination {
  detector: DetectorName;
  destination: Destination;
  score: number;
  threshold: number;
}

interface Active {
  activeAtMs: number;
  alert: BacktestAlert | undefined;
}

/**
 * Replays the alert rules' evaluation. A destination missing from a step's scores (no traffic,
 * so no score series) ends its alert, as a vanished series does in Prometheus.
 */
export class AlertEvaluator {
  private readonly active = new Map<string, Active>();
  private readonly fired: BacktestAlert[] = [];

  constructor(private readonly rules: Record<DetectorName, DetectorAlertRule>) {}

  /** Evaluates every rule at `timeMs` against that step's scores. */
  evaluate(timeMs: number, scores: Iterable<ScoredDestination>): void {
    const holding = new Set<string>();
    for (const s of scores) {
      if (!(s.score >= s.threshold)) continue;
      const key = `${s.detector}/${destinationKey(s.destination)}`;
      holding.add(key);
      const state = this.active.get(key) ?? { activeAtMs: timeMs, alert: undefined };
      this.active.set(key, state);
      const rule = this.rules[s.detector];
      if (state.alert === undefined && timeMs - state.activeAtMs >= rule.forMs) {
        state.alert = {
          alertname: rule.alertname,
          severity: rule.severity,
          detector: s.detector,
          destination: s.destination,
          startMs: timeMs,
          endMs: null,
        };
        this.fired.push(state.alert);
      }
    }
    for (const [key, state] of this.active) {
      if (holding.has(key)) continue;
      if (state.alert) state.alert.endMs = timeMs;
      this.active.delete(key);
    }
  }

  /** Every alert that fired so far, in firing order; `endMs` null for those still firing. */
  alerts(): BacktestAlert[] {
    return this.fired.map((a) => ({ ...a }));
  }
}
