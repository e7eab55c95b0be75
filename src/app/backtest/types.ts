/** Data types of a backtest: what replaying history through the engine found. Times are Unix milliseconds. */
import type { DetectorName, Destination } from '../../core/types';

/** A finding the daemon would have opened, from its opening to its closing step. */
export interface BacktestFinding {
  detector: DetectorName;
  destination: Destination;
  signal: string;
  /** The caller behind most of the finding's rate, or null when no single known caller is. */
  sourcePrincipal: string | null;
  startMs: number;
  /** The step the finding closed at; null when it was still open at the end of the range. */
  endMs: number | null;
  peakScore: number;
  threshold: number;
}

/** An alert Prometheus would have fired on the finding scores, honouring its rule's `for:`. */
export interface BacktestAlert {
  alertname: string;
  severity: string;
  detector: DetectorName;
  destination: Destination;
  /** The evaluation at which the alert went from pending to firing. */
  startMs: number;
  /** The evaluation at which the condition no longer held; null when still firing at the end. */
  endMs: number | null;
}

/** One step of a charted signal: what the detector saw against its baseline. */
export interface ChartPoint {
  timeMs: number;
  observed: number;
  expected: number;
  lower: number;
  upper: number;
  score: number;
}

/** The recorded signal of one (detector, destination) that had at least one finding. */
export interface SignalChart {
  detector: DetectorName;
  destination: Destination;
  signal: string;
  threshold: number;
  points: ChartPoint[];
}

/** Everything a backtest produced: the JSON output and the HTML report are both views of it. */
export interface BacktestResult {
  fromMs: number;
  toMs: number;
  stepMs: number;
  /** Live steps that had data (a gap in Prometheus history is skipped, not scored). */
  steps: number;
  /** History steps replayed to warm up the baselines before `fromMs`. */
  warmupSteps: number;
  findings: BacktestFinding[];
  alerts: BacktestAlert[];
  charts: SignalChart[];
  /** Findings whose signal was not charted because the chart budget was spent. */
  chartsOmitted: number;
}

/** The `--json` document (snake_case, RFC 3339 times), as issue 7 specifies it. */
export interface BacktestJson {
  findings: Array<{
    detector: DetectorName;
    /** Empty where the telemetry has no cluster label. */
    destination_cluster: string;
    destination_namespace: string;
    destination_workload: string;
    source_principal: string | null;
    start: string;
    end: string | null;
    peak_score: number;
  }>;
  alerts: Array<{
    alertname: string;
    severity: string;
    destination_cluster: string;
    destination_namespace: string;
    destination_workload: string;
    start: string;
    end: string | null;
  }>;
}
