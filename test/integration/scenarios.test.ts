import { DAY, EPOCH_MS, expectIncidentFound, HOUR, MINUTE, prometheusOnHistory } from '../helpers/history';
import type { RunningPrometheus } from '../helpers/prometheus';

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
  let history: Awaited<ReturnType<typeof prometheusOnHistory>>;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    history = await prometheusOnHistory(
      'meshwatch-scenarios-',
      CASES.map((c, i) => ({
        scenario: c.scenario,
        set: [`incidents[0].at=${INCIDENT_AT / 1000}s`],
        epochMs: epochOf(i),
        ranges: [[epochOf(i), epochOf(i) + INCIDENT_AT + c.evalAfterMs]],
        stepMs: STEP,
      })),
    );
    prometheus = history.prometheus;
  }, 300_000);

  afterAll(async () => {
    await history?.stop();
  });

  it.each(CASES.map((c, i) => [c.scenario, c, i] as const))(
    '%s is found by the right detector in time',
    async (_name, c, i) => {
      const epochMs = epochOf(i);
      const { hit, line } = await expectIncidentFound(prometheus.url, {
        epochMs,
        evalFromMs: epochMs + LEARN,
        incidentMs: epochMs + INCIDENT_AT,
        evalToMs: epochMs + INCIDENT_AT + c.evalAfterMs,
        stepMs: STEP,
        configYaml: CONFIG,
        // The simulator's mesh is one cluster with Istio's default id, `Kubernetes`.
        finding: `${c.detector}/Kubernetes/${c.destination}`,
        withinPolls: c.withinPolls,
      });
      if (c.topCaller) expect(hit?.finding.topCallers[0]?.caller.principal).toBe(c.topCaller);
      process.stdout.write(`${c.scenario}: ${line}\n`);
    },
  );
});
