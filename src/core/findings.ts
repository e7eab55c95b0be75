import type { Assessment, DetectorName, Finding } from './types';
import { destinationKey } from './keys';

/** Hysteresis of one detector: how many polls it takes to open and to close a finding. */
export interface FindingPolicy {
  threshold: number;
  openAfterPolls: number;
  closeAfterPolls: number;
}

interface Track {
  over: number;
  under: number;
  finding: Finding | undefined;
}

/** A finding that opened or closed in this poll. */
export interface FindingTransition {
  kind: 'opened' | 'closed';
  finding: Finding;
}

/**
 * Turns per-poll assessments into findings without flapping: a finding opens after
 * `openAfterPolls` consecutive polls at or over the threshold and closes after `closeAfterPolls`
 * consecutive polls under it. A destination the detector did not assess in a poll (it had no
 * traffic) counts as under. Pure state: time comes in with each call.
 */
export class FindingTracker {
  private readonly tracks = new Map<string, Track>();

  /** Applies one poll's assessments of `detector` and returns what opened or closed. */
  update(
    detector: DetectorName,
    assessments: readonly Assessment[],
    policy: FindingPolicy,
    nowMs: number,
  ): FindingTransition[] {
    const transitions: FindingTransition[] = [];
    const seen = new Set<string>();
    for (const assessment of assessments) {
      const id = findingId(detector, assessment);
      seen.add(id);
      const track = this.tracks.get(id) ?? { over: 0, under: 0, finding: undefined };
      this.tracks.set(id, track);
      if (assessment.score >= policy.threshold) {
        track.over += 1;
        track.under = 0;
        if (track.finding) {
          track.finding = {
            ...explain(assessment, policy),
            id,
            firstSeenMs: track.finding.firstSeenMs,
            lastSeenMs: nowMs,
            stale: false,
          };
        } else if (track.over >= policy.openAfterPolls) {
          track.finding = {
            ...explain(assessment, policy),
            id,
            firstSeenMs: nowMs,
            lastSeenMs: nowMs,
            stale: false,
          };
          transitions.push({ kind: 'opened', finding: track.finding });
        }
      } else {
        this.under(id, track, transitions, policy);
        if (track.finding) track.finding = { ...track.finding, ...explain(assessment, policy), stale: false };
      }
    }
    for (const [id, track] of this.tracks) {
      if (seen.has(id) || !id.startsWith(`${detector}/`)) continue;
      this.under(id, track, transitions, policy);
    }
    return transitions;
  }

  /** Marks every open finding stale: the last poll failed, so they are what was known before. */
  markStale(): void {
    for (const track of this.tracks.values()) {
      if (track.finding) track.finding = { ...track.finding, stale: true };
    }
  }

  /** Open findings, ordered by detector then destination. */
  findings(): Finding[] {
    return [...this.tracks.values()]
      .flatMap((t) => (t.finding ? [t.finding] : []))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  private under(id: string, track: Track, transitions: FindingTransition[], policy: FindingPolicy): void {
    track.over = 0;
    track.under += 1;
    if (track.finding && track.under >= policy.closeAfterPolls) {
      transitions.push({ kind: 'closed', finding: track.finding });
      track.finding = undefined;
    }
    if (!track.finding) this.tracks.delete(id);
  }
}

function findingId(detector: DetectorName, assessment: Assessment): string {
  return `${detector}/${destinationKey(assessment.destination)}`;
}

function explain(
  a: Assessment,
  policy: FindingPolicy,
): Omit<Finding, 'id' | 'firstSeenMs' | 'lastSeenMs' | 'stale'> {
  return {
    detector: a.detector,
    destination: a.destination,
    signal: a.signal,
    observed: a.observed,
    expected: a.expected,
    lower: a.lower,
    upper: a.upper,
    score: a.score,
    threshold: policy.threshold,
    layers: a.layers,
    ...(a.part === undefined ? {} : { part: a.part }),
    topCallers: a.topCallers,
  };
}
