/**
 * A synthetic mesh-query answer, as Prometheus would send it for the query of `meshQuery` on a
 * large mixed mesh: long SPIFFE principals, labels in Prometheus's order (sorted by name), values
 * at Go's full float precision, and several kinds of series per edge. Per destination, 25 callers;
 * per edge: mTLS requests; TCP connections on three in four; denials (with the destination
 * service) on one in five; plaintext requests on one in twenty; L4 denials on one in ten; and
 * 5xx per destination: about 53.5 series per destination, 107,000 at 2,000 destinations.
 */

export const CALLERS_PER_DESTINATION = 25;
export const SERIES_PER_DESTINATION = 53.5;

/** What varies between answers of one mesh. */
export interface AnswerOptions {
  destinations: number;
  /** Changes the values (one poll to the next). */
  seed: number;
  /** Replaces this share of callers with callers never seen before (churn), 0 by default. */
  churn?: number;
  /** Which generation of churned callers (a new set each time). */
  generation?: number;
  /** Renames this share of destinations each generation (workloads replaced), 0 by default. */
  destinationChurn?: number;
  /** Evaluation time, seconds. */
  timeSeconds?: number;
}

const principal = (ns: string, sa: string): string => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

/** Destinations for about `series` series. */
export function destinationsFor(series: number): number {
  return Math.max(1, Math.round(series / SERIES_PER_DESTINATION));
}

/** The answer's body. */
export function meshAnswer(options: AnswerOptions): string {
  const { destinations, seed } = options;
  const time = options.timeSeconds ?? 1764633600;
  const churn = options.churn ?? 0;
  const generation = options.generation ?? 0;
  const destinationChurn = options.destinationChurn ?? 0;
  // Prometheus answers `a or b or ...` with a's series, then b's: the kinds one after another,
  // each in the order of its series' hashes (here a fixed shuffle), labels sorted by name.
  const byKind = new Map<string, string[]>();
  const push = (metric: Record<string, string>, value: number): void => {
    const sorted: Record<string, string> = {};
    for (const name of Object.keys(metric).sort()) sorted[name] = metric[name] as string;
    const kind = metric.meshwatch_kind as string;
    const list = byKind.get(kind) ?? [];
    list.push(JSON.stringify({ metric: sorted, value: [time, String(value)] }));
    byKind.set(kind, list);
  };
  for (let d = 0; d < destinations; d++) {
    const dns = `payments-team-${d % 60}-prod`;
    // A renamed destination is a new workload of this generation; the others keep their names.
    const renamed = destinationChurn > 0 && ((d * 29) % 1000) / 1000 < destinationChurn;
    const destination = {
      destination_cluster: 'cluster-eu-west-1',
      destination_workload_namespace: dns,
      destination_workload: renamed ? `checkout-service-${d}-g${generation}-v2` : `checkout-service-${d}-v2`,
    };
    for (let c = 0; c < CALLERS_PER_DESTINATION; c++) {
      // Churned callers are new workloads (and identities) of this generation.
      const churned = churn > 0 && ((d * 13 + c * 7) % 1000) / 1000 < churn;
      const sns = `frontend-team-${(d + c) % 60}-prod`;
      const sw = churned ? `job-${generation}-${d}-${c}` : `api-gateway-${(d * 7 + c) % 3000}-v1`;
      const edge = {
        ...destination,
        source_cluster: 'cluster-eu-west-1',
        source_workload_namespace: sns,
        source_workload: sw,
        source_principal: principal(sns, `${sw}-service-account`),
      };
      const v = (((d * 31 + c * 17 + seed * 7) % 1000) + 1) / 60.123;
      push({ ...edge, connection_security_policy: 'mutual_tls', meshwatch_kind: 'requests' }, v);
      if (c % 4 !== 3) {
        push(
          {
            ...edge,
            connection_security_policy: 'mutual_tls',
            reporter: 'destination',
            meshwatch_kind: 'tcp_connections',
          },
          v / 9.7,
        );
      }
      if (c % 5 === 0) {
        push(
          {
            ...edge,
            destination_service_namespace: dns,
            destination_service_name: `checkout-service-${d}`,
            meshwatch_kind: 'denied',
          },
          v / 97.3,
        );
      }
      if (c % 20 === 7) {
        push({ ...edge, connection_security_policy: 'none', meshwatch_kind: 'requests' }, v / 13.1);
      }
      if (c % 10 === 3) {
        push(
          { ...edge, connection_security_policy: 'mutual_tls', meshwatch_kind: 'denied_connections' },
          v / 51.7,
        );
      }
    }
    push({ ...destination, meshwatch_kind: 'server_errors' }, 0.0166667 * ((d % 7) + 1));
  }
  const parts = [...byKind.values()].flatMap((list) => shuffled(list));
  return `{"status":"success","data":{"resultType":"vector","result":[${parts.join(',')}]}}`;
}

/** `list` in a fixed pseudo-random order (the same for every answer of one mesh). */
function shuffled<T>(list: T[]): T[] {
  let state = 0x9e3779b9;
  const random = (): number => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 2 ** 32;
  };
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The answer of the required-labels query on a mesh that has every label: one sample per check. */
export function labelsAnswer(query: string): string {
  const result: string[] = [];
  for (const m of query.matchAll(/"metric", "([^"]*)", "", ""\), "label", "([^"]*)"/g)) {
    result.push(JSON.stringify({ metric: { label: m[2], metric: m[1] }, value: [1764633600, '1'] }));
  }
  return `{"status":"success","data":{"resultType":"vector","result":[${result.join(',')}]}}`;
}
