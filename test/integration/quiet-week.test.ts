import { destinationKey } from '../../src/core/keys';
import { DAY, EPOCH_MS, HOUR, MINUTE, prometheusOnHistory, replayHistory } from '../helpers/history';
import type { RunningPrometheus } from '../helpers/prometheus';

/**
 * A normal week must not page anyone, on every kind of mesh: the quiet shop (daily cycle, weekend
 * dip) for seven days from a Monday with sidecars, in ambient mode (ztunnel alone, and with a
 * waypoint), half-way through a migration, and over two clusters. Each week has two proxy
 * restarts (their counters reset: a sidecar, a ztunnel, a waypoint) and a 10-minute Prometheus
 * outage (no samples at all) on Thursday. The first day teaches the baselines; the other six are
 * replayed poll by poll (one poll per 5-minute step of the backfill).
 */
const STEP = 5 * MINUTE;
const OUTAGE: [number, number] = [3 * DAY + 10 * HOUR, 3 * DAY + 10 * HOUR + 10 * MINUTE];

/**
 * What each mesh's replay must have scored, so that a quiet week is quiet because meshwatch saw the
 * mesh and found nothing, not because it saw nothing: the traffic signal of every destination, by
 * `<destination>=<signal>`, and how many destinations the other detectors scored.
 */
interface Seen {
  traffic: string[];
  errors: number;
  plaintext: number;
}

const WEEKS: Array<{ mesh: string; scenario: string; restarts: string; seen: Seen }> = [
  {
    mesh: 'sidecars',
    scenario: 'quiet.yaml',
    restarts:
      '[{workload: shop/cart, replica: 0, at: 2d13h}, {workload: shop/catalog, replica: 1, at: 4d2h}]',
    // ledger serves only TCP: scored on its connections.
    seen: {
      traffic: [
        'Kubernetes/data/ledger=connections_per_second',
        'Kubernetes/shop/cart=requests_per_second',
        'Kubernetes/shop/catalog=requests_per_second',
        'Kubernetes/shop/frontend=requests_per_second',
        'Kubernetes/shop/payments=requests_per_second',
      ],
      errors: 4,
      plaintext: 5,
    },
  },
  {
    mesh: 'ambient (ztunnel only)',
    scenario: 'ambient.yaml',
    restarts: '[{ztunnel: 0, at: 2d13h}, {ztunnel: 1, at: 4d2h}]',
    // ztunnel alone: every workload on its connections, and no status codes for errors.
    seen: {
      traffic: [
        'Kubernetes/data/ledger=connections_per_second',
        'Kubernetes/shop/cart=connections_per_second',
        'Kubernetes/shop/catalog=connections_per_second',
        'Kubernetes/shop/frontend=connections_per_second',
        'Kubernetes/shop/payments=connections_per_second',
      ],
      errors: 0,
      plaintext: 5,
    },
  },
  {
    mesh: 'ambient with a waypoint',
    scenario: 'ambient-waypoint.yaml',
    restarts: '[{ztunnel: 0, at: 2d13h}, {waypoint: shop/waypoint, replica: 0, at: 4d2h}]',
    // shop's waypoint serves HTTP; data/ledger has no waypoint.
    seen: {
      traffic: [
        'Kubernetes/data/ledger=connections_per_second',
        'Kubernetes/shop/cart=requests_per_second',
        'Kubernetes/shop/catalog=requests_per_second',
        'Kubernetes/shop/frontend=requests_per_second',
        'Kubernetes/shop/payments=requests_per_second',
      ],
      errors: 4,
      plaintext: 5,
    },
  },
  {
    mesh: 'mixed sidecar and ambient',
    scenario: 'mixed.yaml',
    restarts: '[{workload: shop/frontend, replica: 0, at: 2d13h}, {ztunnel: 1, at: 4d2h}]',
    // cart and payments moved to ambient (connections); frontend and catalog keep sidecars.
    seen: {
      traffic: [
        'Kubernetes/data/ledger=connections_per_second',
        'Kubernetes/shop/cart=connections_per_second',
        'Kubernetes/shop/catalog=requests_per_second',
        'Kubernetes/shop/frontend=requests_per_second',
        'Kubernetes/shop/payments=connections_per_second',
      ],
      errors: 2,
      plaintext: 5,
    },
  },
  {
    mesh: 'two clusters',
    scenario: 'multicluster.yaml',
    restarts:
      '[{workload: shop/cart, replica: 0, at: 2d13h}, {workload: cluster-b/shop/catalog, replica: 1, at: 4d2h}]',
    // catalog and payments in both clusters, scored apart.
    seen: {
      traffic: [
        'cluster-a/shop/cart=requests_per_second',
        'cluster-a/shop/catalog=requests_per_second',
        'cluster-a/shop/frontend=requests_per_second',
        'cluster-a/shop/payments=requests_per_second',
        'cluster-b/data/ledger=connections_per_second',
        'cluster-b/shop/catalog=requests_per_second',
        'cluster-b/shop/payments=requests_per_second',
      ],
      errors: 6,
      plaintext: 7,
    },
  },
];

// Two weeks apart (still Mondays), so that one week's last rate window never reaches into the next.
const epochOf = (i: number): number => EPOCH_MS + i * 14 * DAY;

describe('a quiet week replayed from a real Prometheus', () => {
  let history: Awaited<ReturnType<typeof prometheusOnHistory>>;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    history = await prometheusOnHistory(
      'meshwatch-quiet-week-',
      WEEKS.map((week, i) => ({
        scenario: week.scenario,
        set: [`restarts=${week.restarts}`],
        epochMs: epochOf(i),
        // The outage: nothing was scraped, so nothing is in the TSDB.
        ranges: [
          [epochOf(i), epochOf(i) + OUTAGE[0]],
          [epochOf(i) + OUTAGE[1] + STEP, epochOf(i) + 7 * DAY],
        ],
        stepMs: STEP,
      })),
    );
    prometheus = history.prometheus;
  }, 600_000);

  afterAll(async () => {
    await history?.stop();
  });

  it.each(WEEKS.map((w, i) => [w.mesh, i] as const))(
    'opens no finding in six days of live polls on %s, across restarts, an outage and a weekend',
    async (_mesh, i) => {
      const epochMs = epochOf(i);
      let seen: Seen = { traffic: [], errors: 0, plaintext: 0 };
      const transitions = await replayHistory({
        prometheusUrl: prometheus.url,
        // rate() needs two samples in its window: three steps of the 5-minute history.
        configYaml: 'poll: { rate_window: 15m }',
        learnFromMs: epochMs,
        evalFromMs: epochMs + DAY,
        evalToMs: epochMs + 7 * DAY - STEP,
        stepMs: STEP,
        onLiveStep: (result) => {
          const of = (detector: string) =>
            result.detections.find((d) => d.detector === detector)?.assessments ?? [];
          seen = {
            traffic: of('traffic')
              .map((a) => `${destinationKey(a.destination)}=${a.signal}`)
              .sort(),
            errors: of('errors').length,
            plaintext: of('plaintext').length,
          };
        },
      });
      process.stdout.write(`${WEEKS[i]?.mesh}: ${JSON.stringify(seen)}\n`);
      expect(seen).toEqual(WEEKS[i]?.seen);
      expect(
        transitions.map(
          (t) =>
            `${t.kind} ${t.finding.id} at +${((t.atMs - epochMs) / HOUR).toFixed(2)}h score ${t.finding.score.toFixed(1)}`,
        ),
      ).toEqual([]);
    },
  );
});
