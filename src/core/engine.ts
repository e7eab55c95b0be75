import type { BaselineOptions } from './baseline';
import { BaselineDetector } from './detectors/baseline-detector';
import { ERROR_RATIO_SIGNAL, errorRatios } from './detectors/errors';
import { NewCallerDetector, type NewCallerOptions } from './detectors/new-caller';
import { assessPlaintext } from './detectors/plaintext';
import type { BlindSet } from './detectors/requirements';
import { attributeToWorkloads, trafficRates, volumeSamples } from './detectors/signals';
import { DENIED_SIGNAL, UnauthorizedDetector } from './detectors/unauthorized';
import { FindingTracker, type FindingPolicy, type FindingTransition } from './findings';
import { nextKeyGeneration } from './keys';
import { layerOf, type EdgeSample, type MeshSnapshot } from './mesh';
import { SeriesTable, type DropCounts } from './series-table';
import { StrictReadinessTracker, type StrictReadiness } from './strict-ready';
import type { Assessment, Caller, DetectorName, Destination, Finding, Layer } from './types';

/** The signal name of the traffic detector, for a destination that serves HTTP. */
export const REQUEST_RATE_SIGNAL = 'requests_per_second';
/** The signal name of the traffic detector, for a destination seen only at L4 (ambient without waypoint, TCP). */
export const CONNECTION_RATE_SIGNAL = 'connections_per_second';

/** Per-detector settings the engine needs (from the `detectors.*` configuration). */
export interface DetectorSettings extends FindingPolicy {
  enabled: boolean;
}

/** Everything that shapes detection; built from the configuration by the app layer. */
export interface EngineOptions {
  rateWindowSeconds: number;
  /** Callers named per destination, in findings and per-caller gauges. */
  topCallers: number;
  /** Most destinations tracked per detector, and most edges tracked by the edge-keeping detectors. */
  maxDestinations: number;
  maxEdges: number;
  /** Destinations and denied edges not seen this long are forgotten. */
  evictAfterMs: number;
  /** `audit.lookback`: a destination is STRICT-ready when it served no plaintext this long. */
  strictReadyLookbackMs: number;
  detectors: Record<Exclude<DetectorName, 'new_caller'>, DetectorSettings> & {
    new_caller: DetectorSettings & { newForMs: number; forgetAfterMs: number; learningMs: number };
  };
  /** Baseline options per baseline-backed detector, without `threshold` (it comes from the settings). */
  baselines: Record<'traffic' | 'errors' | 'unauthorized', Omit<BaselineOptions, 'threshold'>>;
}

/** The new-caller detector's settings from the engine's, but for the rate window (fixed at construction). */
function newCallerOptions(options: EngineOptions): Omit<NewCallerOptions, 'rateWindowSeconds'> {
  const n = options.detectors.new_caller;
  return {
    threshold: n.threshold,
    newForMs: n.newForMs,
    learningMs: n.learningMs,
    aliasRefreshMs: Math.min(3_600_000, n.forgetAfterMs / 16),
    topCallers: options.topCallers,
  };
}

function strictReadinessOptions(options: EngineOptions) {
  return {
    lookbackMs: options.strictReadyLookbackMs,
    capacity: options.maxDestinations,
    evictAfterMs: options.evictAfterMs,
  };
}

/** One detector's assessments in one poll. */
export interface Detection {
  detector: DetectorName;
  threshold: number;
  assessments: Assessment[];
}

type CallerRate = { destination: Destination; caller: Caller; rate: number; layer: Layer };

/** What one observation produced. */
export interface EngineResult {
  detections: Detection[];
  mtlsRatios: Array<{ destination: Destination; ratio: number }>;
  plaintextCallers: CallerRate[];
  unauthorizedCallers: CallerRate[];
  newCallers: CallerRate[];
  /** Findings that opened or closed (live observations only). */
  transitions: FindingTransition[];
}

export type { BlindSet } from './detectors/requirements';

/**
 * The detection engine: all five detectors and the findings they open, as one pure state object.
 * `observe` takes a snapshot of the mesh and a time inside it; history (warm start) and live
 * polls go through the same call, history with `live` false so that it teaches baselines and
 * the known edges without opening findings for incidents long over.
 */
export class DetectionEngine {
  private readonly drops: DropCounts = { capacity: 0, evicted: 0 };
  private readonly tracker = new FindingTracker();
  private readonly traffic: BaselineDetector;
  private readonly errors: BaselineDetector;
  private readonly unauthorized: UnauthorizedDetector;
  private readonly unauthorizedBaselines: BaselineDetector;
  private readonly newCaller: NewCallerDetector;
  private readonly strictReady: StrictReadinessTracker;
  /** The latest observation could not read plaintext on any layer: readiness is unknown, not "ready". */
  private strictReadyBlind = false;

  constructor(private options: EngineOptions) {
    const d = options.detectors;
    const table = <T>(capacity: number, evictAfterMs: number) =>
      new SeriesTable<T>(capacity, evictAfterMs, this.drops);
    const baselines = (name: 'traffic' | 'errors' | 'unauthorized', signal: string) =>
      new BaselineDetector(
        name,
        signal,
        { ...options.baselines[name], threshold: d[name].threshold },
        table(options.maxDestinations, options.evictAfterMs),
      );
    this.traffic = baselines('traffic', REQUEST_RATE_SIGNAL);
    this.errors = baselines('errors', ERROR_RATIO_SIGNAL);
    this.unauthorizedBaselines = baselines('unauthorized', DENIED_SIGNAL);
    this.unauthorized = new UnauthorizedDetector(
      this.unauthorizedBaselines,
      table(options.maxEdges, options.evictAfterMs),
      options.topCallers,
    );
    this.newCaller = new NewCallerDetector(
      { ...newCallerOptions(options), rateWindowSeconds: options.rateWindowSeconds },
      table(options.maxEdges, d.new_caller.forgetAfterMs),
    );
    this.strictReady = new StrictReadinessTracker(strictReadinessOptions(options), this.drops);
  }

  /**
   * Applies what a config reload can change (thresholds, hysteresis, enabled, limits, new_caller's
   * durations) from the next observation on, keeping every baseline, known edge and open finding.
   * `rateWindowSeconds` and `baselines` stay as built: the running query and what the baselines
   * learned depend on them. A detector turned off closes its findings now (returned), since it no
   * longer assesses anything that would close them.
   */
  retune(options: EngineOptions): FindingTransition[] {
    const before = this.options.detectors;
    this.options = {
      ...options,
      rateWindowSeconds: this.options.rateWindowSeconds,
      baselines: this.options.baselines,
    };
    const d = options.detectors;
    const { maxDestinations, maxEdges, evictAfterMs } = options;
    this.traffic.retune(d.traffic.threshold, maxDestinations, evictAfterMs);
    this.errors.retune(d.errors.threshold, maxDestinations, evictAfterMs);
    this.unauthorizedBaselines.retune(d.unauthorized.threshold, maxDestinations, evictAfterMs);
    this.unauthorized.retune(options.topCallers, maxEdges, evictAfterMs);
    this.newCaller.retune(newCallerOptions(options), maxEdges, d.new_caller.forgetAfterMs);
    this.strictReady.retune(strictReadinessOptions(options));
    const transitions: FindingTransition[] = [];
    for (const name of Object.keys(d) as DetectorName[]) {
      if (before[name].enabled && !d[name].enabled) {
        // No assessments and a close after one poll: every finding of the detector closes now.
        transitions.push(...this.tracker.update(name, [], { ...d[name], closeAfterPolls: 1 }, 0));
      }
    }
    return transitions;
  }

  /**
   * Learns from one snapshot and scores it; findings move only for live snapshots. A detector
   * blind on a layer (a label it needs is missing there) reads only the other layer's samples,
   * and one blind on every layer does not run: it says nothing rather than "all quiet".
   */
  observe(snapshot: MeshSnapshot, live: boolean, blind: BlindSet = new Set()): EngineResult {
    const { timeMs } = snapshot;
    nextKeyGeneration();
    const all = attributeToWorkloads(snapshot.samples);
    const d = this.options.detectors;
    const on = (name: DetectorName): boolean =>
      d[name].enabled && !(blind.has(`${name}:http`) && blind.has(`${name}:tcp`));
    const samplesFor = (name: DetectorName): readonly EdgeSample[] =>
      blind.has(`${name}:http`) || blind.has(`${name}:tcp`)
        ? all.filter((s) => !blind.has(`${name}:${layerOf(s.kind)}`))
        : all;
    // Detectors that read the same samples share one volume view (it walks every sample).
    const volumes = new Map<readonly EdgeSample[], EdgeSample[]>();
    const volumeOf = (samples: readonly EdgeSample[]): EdgeSample[] => {
      let volume = volumes.get(samples);
      if (!volume) volumes.set(samples, (volume = volumeSamples(samples)));
      return volume;
    };
    const result: EngineResult = {
      detections: [],
      mtlsRatios: [],
      plaintextCallers: [],
      unauthorizedCallers: [],
      newCallers: [],
      transitions: [],
    };
    const detected = (detector: DetectorName, assessments: Assessment[]): void => {
      result.detections.push({ detector, threshold: d[detector].threshold, assessments });
    };

    if (on('traffic')) {
      const values = trafficRates(volumeOf(samplesFor('traffic'))).map((t) => ({
        destination: t.destination,
        value: t.value,
        layers: [t.layer],
        topCallers: [],
        ...(t.layer === 'tcp' ? { signal: CONNECTION_RATE_SIGNAL, variant: 'tcp' } : {}),
      }));
      detected('traffic', this.traffic.observe(timeMs, values));
    }
    if (on('errors'))
      detected(
        'errors',
        this.errors.observe(timeMs, errorRatios(samplesFor('errors'), this.options.rateWindowSeconds)),
      );
    if (on('unauthorized')) {
      const samples = samplesFor('unauthorized');
      const u = this.unauthorized.observe(timeMs, samples, volumeOf(samples));
      detected('unauthorized', u.assessments);
      result.unauthorizedCallers = u.callers;
    }
    if (on('new_caller')) {
      const n = this.newCaller.observe(timeMs, samplesFor('new_caller'), live);
      detected('new_caller', n.assessments);
      result.newCallers = n.callers;
    }
    // STRICT readiness is the audit's question, asked whether or not plaintext pages: it reads the
    // plaintext detector's assessments (every destination served, its plaintext by the detector's
    // rule) with the detector turned off too, but not where it is blind.
    this.strictReadyBlind = blind.has('plaintext:http') && blind.has('plaintext:tcp');
    if (!this.strictReadyBlind) {
      const samples = samplesFor('plaintext');
      const p = assessPlaintext(samples, volumeOf(samples), {
        threshold: d.plaintext.threshold,
        rateWindowSeconds: this.options.rateWindowSeconds,
        topCallers: this.options.topCallers,
      });
      this.strictReady.observe(
        timeMs,
        p.assessments.map((a) => ({ destination: a.destination, plaintextRate: a.observed })),
      );
      if (on('plaintext')) {
        detected('plaintext', p.assessments);
        result.mtlsRatios = p.mtlsRatios;
        result.plaintextCallers = p.plaintextCallers;
      }
    }

    if (live) {
      for (const { detector, assessments } of result.detections) {
        result.transitions.push(...this.tracker.update(detector, assessments, d[detector], timeMs));
      }
    }
    return result;
  }

  /** Marks every open finding stale: the last poll failed. */
  markStale(): void {
    this.tracker.markStale();
  }

  /** Open findings. */
  findings(): Finding[] {
    return this.tracker.findings();
  }

  /**
   * Each remembered destination's readiness for STRICT mTLS, as of the latest observation; none
   * while plaintext cannot be read on any layer (the sightings are kept for when it can again).
   */
  strictReadiness(): StrictReadiness[] {
    return this.strictReadyBlind ? [] : this.strictReady.readiness();
  }

  /** Series tracked per detector (destinations, or edges for new_caller). */
  tracked(): Record<Exclude<DetectorName, 'plaintext'>, number> {
    return {
      traffic: this.traffic.tracked,
      errors: this.errors.tracked,
      unauthorized: this.unauthorizedBaselines.tracked,
      new_caller: this.newCaller.tracked,
    };
  }

  /** Series dropped since the last call, by reason. */
  drainDrops(): DropCounts {
    const out = { ...this.drops };
    this.drops.capacity = 0;
    this.drops.evicted = 0;
    return out;
  }
}
