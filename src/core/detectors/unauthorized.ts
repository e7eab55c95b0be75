import { destinationKey, edgeKey } from '../keys';
import type { EdgeSample } from '../mesh';
import type { SeriesTable } from '../series-table';
import type { Assessment, Caller, Destination, Layer } from '../types';
import type { BaselineDetector } from './baseline-detector';
import { callerKey, destinationsOf, layersOf, sumByDestination, topContributions } from './signals';

/** The `signal` label of the denied rate. */
export const DENIED_SIGNAL = 'denied_requests_per_second';

/** What the unauthorized detector concludes from one poll. */
export interface UnauthorizedResult {
  assessments: Assessment[];
  /** Denied rate of the top callers of each destination, per layer. */
  callers: Array<{ destination: Destination; caller: Caller; rate: number; layer: Layer }>;
}

/**
 * Denials per destination against a seasonal baseline that knows small counts are noisy: a few
 * denials in a quiet hour stay under the threshold, 50 a second where there were none do not.
 * Two kinds of denial add up: requests answered 401/403 (an L7 AuthorizationPolicy at a sidecar or
 * a waypoint, a failed JWT) and connections an L4 AuthorizationPolicy refused at ztunnel
 * (`response_flags="DENY"`), each named with its layer. Each destination's top denied callers are
 * named, and a caller never denied there before is marked new: a principal probing where it has
 * no access.
 */
export class UnauthorizedDetector {
  constructor(
    private readonly baselines: BaselineDetector,
    private readonly deniedEdges: SeriesTable<true>,
    private topCallers: number,
  ) {}

  /** New settings from a config reload; the baselines and the denied edges are kept. */
  retune(topCallers: number, maxEdges: number, evictAfterMs: number): void {
    this.topCallers = topCallers;
    this.deniedEdges.setLimits(maxEdges, evictAfterMs);
  }

  /** Learns and scores one snapshot; `volume` holds the destinations' traffic (see `volumeSamples`). */
  observe(timeMs: number, samples: readonly EdgeSample[], volume: readonly EdgeSample[]): UnauthorizedResult {
    const denied = sumByDestination(samples, (s) => s.kind === 'denied' || s.kind === 'denied_connections');
    const destinations = destinationsOf(volume);
    for (const [key, sums] of denied) if (!destinations.has(key)) destinations.set(key, sums.destination);
    const callers: UnauthorizedResult['callers'] = [];
    const values = [...destinations.values()].map((destination) => {
      const sums = denied.get(destinationKey(destination));
      const contributions = [...(sums?.callers.values() ?? [])];
      const top = topContributions(contributions, this.topCallers).map((c) => {
        const edge = edgeKey(destination, callerKey(c.caller));
        return { ...c, isNew: !this.deniedEdges.has(edge) };
      });
      for (const c of top) callers.push({ destination, caller: c.caller, rate: c.rate, layer: c.layer });
      return { destination, value: sums?.total ?? 0, topCallers: top, layers: layersOf(contributions) };
    });
    for (const sums of denied.values()) {
      for (const c of sums.callers.values()) {
        if (c.rate > 0)
          this.deniedEdges.touch(edgeKey(sums.destination, callerKey(c.caller)), timeMs, () => true);
      }
    }
    this.deniedEdges.evict(timeMs);
    return { assessments: this.baselines.observe(timeMs, values), callers };
  }
}
