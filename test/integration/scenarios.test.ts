import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  backfillScenario,
  DAY,
  EPOCH_MS,
  HOUR,
  MINUTE,
  replayHistory,
  type ReplayedTransition,
} from '../helpers/history';
import { removeDir, startPrometheus, type RunningPrometheus } from '../helpers/prometheus';

/**
 * Each incident kind, in a day of quiet history backfilled into a real Prometheus and replayed
 * through the engine as the daemon would: the first day teaches the baselines and the known
 * edges, then every minute is a poll. Each incident starts an hour into the live part, and must
 * be found by the right detector, for the right destination, within the stated number of polls,
 * with no finding at all before it starts.
 */
const STEP = MINUTE;
const LEARN = DAY;
const INCIDENT_AT = LEARN + HOUR;
const CONFIG = 'poll: { rate_window: 3m }';

interface Case {
  scenario: string;
  detector: string;
  destination: string;
  /** Polls (minutes) from the incident's start to the finding. */
  withinPolls: number;
  /** How long to replay after the incident starts. */
  evalAfterMs: number;
  /** For denials: the caller the finding must name first. */
  topCaller?: string;
}

const CASES: Case[] = [
  {
    scenario: 'denial-spike.yaml',
    detector: 'unauthorized',
    destination: 'shop/payments',
    withinPolls: 3,
    evalAfterMs: 20 * MINUTE,
    topCaller: 'spiffe://cluster.local/ns/shop/sa/cart',
  },
  {
    scenario: 'new-caller.yaml',
    detector: 'new_caller',
    destination: 'shop/payments',
    withinPolls: 2,
    evalAfterMs: 20 * MINUTE,
  },
  {
    scenario: 'plaintext-fallback.yaml',
    detector: 'plaintext',
    destination: 'shop/cart',
    withinPolls: 2,
    evalAfterMs: 20 * MINUTE,
  },
  {
    scenario: 'traffic-drop.yaml',
    detector: 'traffic',
    destination: 'shop/catalog',
    withinPolls: 5,
    evalAfterMs: 20 * MINUTE,
  },
  {
    scenario: 'error-burst.yaml',
    detector: 'errors',
    destination: 'shop/cart',
    withinPolls: 5,
    evalAfterMs: 20 * MINUTE,
  },
  {
    scenario: 'denial-ramp.yaml',
    detector: 'unauthorized',
    destination: 'shop/frontend',
    withinPolls: 60,
    evalAfterMs: 3 * HOUR,
  },
];

// Each scenario gets its own epoch, two days apart, so all of them fit in one Prometheus.
const epochOf = (i: number): number => EPOCH_MS + i * 2 * DAY;

describe('incident scenarios replayed from a real Prometheus', () => {
  let prometheus: RunningPrometheus;
  let dir: string;
  const found = new Map<string, ReplayedTransition[]>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshwatch-scenarios-'));
    const dataDir = join(dir, 'data');
    // promtool runs one at a time into the shared folder; the simulator writes are fast.
    for (const [i, c] of CASES.entries()) {
      const epochMs = epochOf(i);
      await backfillScenario({
        scenario: c.scenario,
        set: [`incidents[0].at=${INCIDENT_AT / 1000}s`],
        epochMs,
        ranges: [[epochMs, epochMs + INCIDENT_AT + c.evalAfterMs]],
        stepMs: STEP,
        dataDir,
      });
    }
    prometheus = await startPrometheus({ dataDir });
  }, 300_000);

  afterAll(async () => {
    await prometheus?.stop();
    removeDir(dir);
  });

  it.each(CASES.map((c, i) => [c.scenario, c, i] as const))(
    '%s is found by the right detector in time',
    async (_name, c, i) => {
      const epochMs = epochOf(i);
      const transitions = await replayHistory({
        prometheusUrl: prometheus.url,
        configYaml: CONFIG,
        learnFromMs: epochMs,
        evalFromMs: epochMs + LEARN,
        evalToMs: epochMs + INCIDENT_AT + c.evalAfterMs,
        stepMs: STEP,
      });
      found.set(c.scenario, transitions);
      const incidentMs = epochMs + INCIDENT_AT;
      const opened = transitions.filter((t) => t.kind === 'opened');
      // Quiet before the incident: no finding of any kind.
      expect(opened.filter((t) => t.atMs < incidentMs).map((t) => t.finding.id)).toEqual([]);
      const hit = opened.find((t) => t.finding.id === `${c.detector}/${c.destination}`);
      expect(hit).toBeDefined();
      const polls = ((hit?.atMs ?? Infinity) - incidentMs) / STEP;
      expect(polls).toBeLessThanOrEqual(c.withinPolls);
      if (c.topCaller) expect(hit?.finding.topCallers[0]?.caller.principal).toBe(c.topCaller);
      process.stdout.write(
        `${c.scenario}: ${c.detector} finding for ${c.destination} after ${polls} polls (1 poll = 1 min); also opened: ${
          opened
            .filter((t) => t !== hit)
            .map((t) => `${t.finding.id}@+${(t.atMs - incidentMs) / STEP}`)
            .join(', ') || 'nothing'
        }\n`,
      );
    },
  );
});
