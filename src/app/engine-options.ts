import type { Config } from '../config/types';
import { trafficBaselineOptions } from '../core/baseline';
import type { EngineOptions } from '../core/engine';
import { meshQuery, type MeshQueryOptions } from '../signals/mesh';

// A denial level that stays high for six hours becomes the new normal: long enough that an
// attack is paged and looked at, short enough that a policy change does not alarm for days.
const UNAUTHORIZED_ACCEPT_SHIFT_SECONDS = 6 * 3600;

/** The detection engine's options from the configuration: the one place they are derived. */
export function engineOptions(config: Config): EngineOptions {
  const rateWindowSeconds = config.poll.rateWindowMs / 1000;
  const { threshold: _threshold, ...traffic } = trafficBaselineOptions; // the threshold comes from the config
  return {
    rateWindowSeconds,
    topCallers: config.limits.topCallers,
    maxDestinations: config.limits.maxDestinations,
    maxEdges: config.limits.maxEdges,
    evictAfterMs: config.limits.evictAfterMs,
    strictReadyLookbackMs: config.audit.lookbackMs,
    detectors: config.detectors,
    baselines: {
      traffic: {
        ...traffic,
        countWindowSeconds: rateWindowSeconds,
        shape: config.detectors.traffic.shapeModel,
      },
      // The 5xx ratio's count noise depends on the requests behind it; the detector gives it per value.
      errors: { direction: 'up' },
      unauthorized: {
        direction: 'up',
        countWindowSeconds: rateWindowSeconds,
        acceptShiftAfterSeconds: UNAUTHORIZED_ACCEPT_SHIFT_SECONDS,
      },
    },
  };
}

/**
 * The mesh query (one per poll, replayed over history by the warm-up) from the configuration;
 * `overrides` (the audit's hourly window and namespaces) replace what they set.
 */
export function meshQueryOf(config: Config, overrides: Partial<MeshQueryOptions> = {}): string {
  return meshQuery({
    serverReporters: config.telemetry.serverReporters,
    rateWindowMs: config.poll.rateWindowMs,
    denialCodes: config.detectors.unauthorized.denialCodes.map(String),
    denialFlags: config.detectors.unauthorized.denialFlags,
    ...overrides,
  });
}
