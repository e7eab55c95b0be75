/**
 * Turns each live step of a replay into the backtest's findings, alerts and charts. Pure state:
 * it sees the engine's results, never Prometheus. Memory is bounded whatever the range: a short
 * ring of recent points per assessed series (so a chart shows the lead-up to a finding), at most
 * `maxCharts` charts, each merged down to at most `maxPointsPerChart` points.
 */
import type { EngineResult } from '../../core/engine';
import type { FindingTransition } from '../../core/findings';
import { destinationKey } from '../../core/keys';
import type { Assessment, DetectorName } from '../../core/types';
import { AlertEvaluator, type DetectorAlertRule } from './alerts';
import type { BacktestFinding, BacktestResult, ChartPoint, SignalChart } from './types';

/** Bounds of what a backtest keeps for its charts. */
export interface RecorderLimits {
  /** Points kept from before a finding opens. */
  leadPoints: number;
  maxCharts: number;
  maxPointsPerChart: number;
}

/** Enough lead-up to see the baseline before the incident, few enough for thousands of destinations. */
export const DEFAULT_RECORDER_LIMITS: RecorderLimits = {
  leadPoints: 60,
  maxCharts: 50,
  maxPointsPerChart: 1200,
};

// A single caller "is the cause" when it accounts for more than half of the finding's rate.
const DOMINANT_SHARE = 0.5;

interface OpenFinding {
  finding: BacktestFinding;
  callerRates: Map<string, number>;
  observedSum: number;
}

interface Recording {
  chart: SignalChart;
  /** Raw points merged into one chart point; doubles each time the chart is halved. */
  stride: number;
  bucket: ChartPoint[];
}

/** Accumulates a replay's live steps; `result` reads out what it found. */
export class BacktestRecorder {
  private readonly alerts: AlertEvaluator;
  private readonly open = new Map<string, OpenFinding>();
  private readonly findings: BacktestFinding[] = [];
  private readonly recent = new Map<string, ChartPoint[]>();
  private readonly recordings = new Map<string, Recording>();
  private chartsOmitted = 0;
  private steps = 0;

  constructor(
    rules: Record<DetectorName, DetectorAlertRule>,
    private readonly limits: RecorderLimits = DEFAULT_RECORDER_LIMITS,
  ) {
    this.alerts = new AlertEvaluator(rules);
  }

  /** Takes one live step's engine result (its transitions included) at `timeMs`. */
  step(timeMs: number, result: EngineResult): void {
    this.steps += 1;
    const thresholds = new Map<DetectorName, number>();
    const assessed = new Map<string, Assessment>();
    for (const d of result.detections) {
      thresholds.set(d.detector, d.threshold);
      for (const a of d.assessments) assessed.set(seriesKey(d.detector, a), a);
    }
    for (const t of result.transitions) this.transition(timeMs, t, thresholds.get(t.finding.detector) ?? 0);
    for (const [key, open] of this.open) {
      const a = assessed.get(key);
      if (a) accumulate(open, a);
    }
    for (const [key, a] of assessed) this.record(key, a, timeMs);
    this.alerts.evaluate(
      timeMs,
      result.detections.flatMap((d) =>
        d.assessments.map((a) => ({
          detector: d.detector,
          destination: a.destination,
          score: a.score,
          threshold: d.threshold,
        })),
      ),
    );
  }

  /** What the replay found, findings and alerts in the order they started. */
  result(range: { fromMs: number; toMs: number; stepMs: number; warmupSteps: number }): BacktestResult {
    for (const open of this.open.values()) open.finding.sourcePrincipal = dominantCaller(open);
    const charts = [...this.recordings.values()].map(({ chart, bucket }) => ({
      ...chart,
      points: bucket.length > 0 ? [...chart.points, merge(bucket)] : [...chart.points],
    }));
    return {
      ...range,
      steps: this.steps,
      findings: this.findings.map((f) => ({ ...f })),
      alerts: this.alerts.alerts(),
      charts,
      chartsOmitted: this.chartsOmitted,
    };
  }

  private transition(timeMs: number, t: FindingTransition, threshold: number): void {
    const key = t.finding.id;
    if (t.kind === 'closed') {
      const open = this.open.get(key);
      if (!open) return;
      open.finding.endMs = timeMs;
      open.finding.sourcePrincipal = dominantCaller(open);
      this.open.delete(key);
      return;
    }
    const finding: BacktestFinding = {
      detector: t.finding.detector,
      destination: t.finding.destination,
      signal: t.finding.signal,
      sourcePrincipal: null,
      startMs: t.finding.firstSeenMs,
      endMs: null,
      peakScore: 0,
      threshold,
    };
    this.findings.push(finding);
    this.open.set(key, { finding, callerRates: new Map(), observedSum: 0 });
    if (this.recordings.has(key)) return;
    if (this.recordings.size >= this.limits.maxCharts) {
      this.chartsOmitted += 1;
      return;
    }
    const lead = this.recent.get(key) ?? [];
    this.recent.delete(key);
    this.recordings.set(key, {
      chart: {
        detector: t.finding.detector,
        destination: t.finding.destination,
        signal: t.finding.signal,
        threshold,
        points: lead,
      },
      stride: 1,
      bucket: [],
    });
  }

  private record(key: string, a: Assessment, timeMs: number): void {
    const point: ChartPoint = {
      timeMs,
      observed: a.observed,
      expected: a.expected,
      lower: a.lower,
      upper: a.upper,
      score: a.score,
    };
    const recording = this.recordings.get(key);
    if (!recording) {
      const ring = this.recent.get(key) ?? [];
      ring.push(point);
      if (ring.length > this.limits.leadPoints) ring.shift();
      this.recent.set(key, ring);
      return;
    }
    recording.bucket.push(point);
    if (recording.bucket.length < recording.stride) return;
    recording.chart.points.push(merge(recording.bucket));
    recording.bucket = [];
    if (recording.chart.points.length >= this.limits.maxPointsPerChart) {
      recording.chart.points = halve(recording.chart.points);
      recording.stride *= 2;
    }
  }
}

const seriesKey = (detector: DetectorName, a: Assessment): string =>
  `${detector}/${destinationKey(a.destination)}`;

function accumulate(open: OpenFinding, a: Assessment): void {
  open.finding.peakScore = Math.max(open.finding.peakScore, a.score);
  open.observedSum += a.observed;
  for (const c of a.topCallers) {
    open.callerRates.set(c.caller.principal, (open.callerRates.get(c.caller.principal) ?? 0) + c.rate);
  }
}

/** The principal behind more than half the finding's rate over its life; `unknown` (plaintext) names no one. */
function dominantCaller(open: OpenFinding): string | null {
  const total = Math.max(
    open.observedSum,
    [...open.callerRates.values()].reduce((s, r) => s + r, 0),
  );
  let best: [string, number] | undefined;
  for (const entry of open.callerRates) if (!best || entry[1] > best[1]) best = entry;
  if (!best || best[0] === 'unknown' || total <= 0 || best[1] / total <= DOMINANT_SHARE) return null;
  return best[0];
}

/** Several steps as one chart point: the envelope, so that a merged chart still shows every peak. */
function merge(points: readonly ChartPoint[]): ChartPoint {
  const first = points[0];
  if (!first) throw new Error('merge of no points');
  return {
    timeMs: first.timeMs,
    observed: Math.max(...points.map((p) => p.observed)),
    expected: points.reduce((s, p) => s + p.expected, 0) / points.length,
    lower: Math.min(...points.map((p) => p.lower)),
    upper: Math.max(...points.map((p) => p.upper)),
    score: Math.max(...points.map((p) => p.score)),
  };
}

function halve(points: readonly ChartPoint[]): ChartPoint[] {
  const out: ChartPoint[] = [];
  for (let i = 0; i < points.length; i += 2) out.push(merge(points.slice(i, i + 2)));
  return out;
}
