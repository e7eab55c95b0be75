/**
 * The cost of one poll's decoding and detection, as a ratio against `JSON.parse` of the same body
 * measured in the same run: a synthetic mesh-query answer of 2,000 destinations, 25 callers each
 * (50,000 edges) with long SPIFFE principals, mTLS requests on every edge, TCP connections on one in
 * five and denials on one in ten, and 5xx per destination. Four bodies (different values) are
 * polled in turn; the first rounds warm the engine up (history, then live) and are not timed.
 * It does not cover publishing to the registry or rendering /metrics.
 *
 * Run after a build: node dist/bench/poll-engine.js [--destinations N] [--rounds N] [--json]
 * (npm run -s bench:poll -- --json); the last line of --json is one JSON object.
 */
import { decodeInstantResponse } from '../src/adapters/prometheus/decode';
import { engineOptions } from '../src/app/engine-options';
import { parseConfig } from '../src/config/load';
import { DetectionEngine } from '../src/core/engine';
import { decodeMesh } from '../src/signals/mesh';

const CALLERS = 25;

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at < 0 ? fallback : Number(process.argv[at + 1]);
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** One mesh-query answer, as Prometheus would send it. */
function body(destinations: number, seed: number): string {
  const result: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
  const principal = (ns: string, sa: string) =>
    `spiffe://cluster.local/ns/${ns}/sa/${sa}-service-account-long-name`;
  for (let d = 0; d < destinations; d++) {
    const dns = `team-${d % 50}`;
    const dw = `workload-${d}-deployment`;
    const destination = {
      destination_cluster: 'Kubernetes',
      destination_workload_namespace: dns,
      destination_workload: dw,
    };
    for (let c = 0; c < CALLERS; c++) {
      const sns = `team-${(d + c) % 50}`;
      const sw = `caller-${(d * 7 + c) % 3000}-deployment`;
      const edge = {
        ...destination,
        source_cluster: 'Kubernetes',
        source_workload_namespace: sns,
        source_workload: sw,
        source_principal: principal(sns, sw),
      };
      const v = ((d * 31 + c * 17 + seed) % 1000) / 100 + 0.01;
      result.push({
        metric: { ...edge, connection_security_policy: 'mutual_tls', meshwatch_kind: 'requests' },
        value: [1, String(v)],
      });
      if (c % 5 === 0)
        result.push({
          metric: {
            ...edge,
            connection_security_policy: 'mutual_tls',
            reporter: 'destination',
            meshwatch_kind: 'tcp_connections',
          },
          value: [1, String(v / 10)],
        });
      if (c % 10 === 0)
        result.push({ metric: { ...edge, meshwatch_kind: 'denied' }, value: [1, String(v / 100)] });
    }
    result.push({ metric: { ...destination, meshwatch_kind: 'server_errors' }, value: [1, '0.01'] });
  }
  return JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
}

function main(): void {
  const destinations = argument('--destinations', 2000);
  const rounds = argument('--rounds', 12);
  const warm = Math.min(4, rounds - 1);
  const bodies = [0, 1, 2, 3].map((seed) => body(destinations, seed));
  const engine = new DetectionEngine(engineOptions(parseConfig('', {}, {}, 'bench')));
  const ms = { parse: 0, decode: 0, engine: 0 };
  let series = 0;
  for (let i = 0; i < rounds; i++) {
    const text = bodies[i % bodies.length] as string;
    const t0 = process.hrtime.bigint();
    JSON.parse(text);
    const t1 = process.hrtime.bigint();
    const samples = decodeMesh(decodeInstantResponse(text, 'mesh').data);
    const t2 = process.hrtime.bigint();
    engine.observe({ timeMs: Date.UTC(2026, 0, 5) + i * 30_000, samples }, i >= warm);
    const t3 = process.hrtime.bigint();
    series = samples.length;
    if (i < warm) continue;
    ms.parse += Number(t1 - t0) / 1e6;
    ms.decode += Number(t2 - t1) / 1e6;
    ms.engine += Number(t3 - t2) / 1e6;
  }
  const timed = rounds - warm;
  const result = {
    series,
    body_bytes: bodies[0]?.length ?? 0,
    parse_ms: Math.round(ms.parse / timed),
    decode_ms: Math.round(ms.decode / timed),
    engine_ms: Math.round(ms.engine / timed),
    ratio: Number(((ms.decode + ms.engine) / ms.parse).toFixed(2)),
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(
    `poll-engine: ${series} series, decode + engine ${result.ratio}x JSON.parse (${result.decode_ms} + ${result.engine_ms} ms against ${result.parse_ms} ms), peak RSS ${Math.round(result.peak_rss_bytes / 2 ** 20)} MiB\n`,
  );
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
