/**
 * Compiles a scenario and an epoch into the simulated mesh: every pod, every series it exports (with
 * its rendered labels) and the counting processes that feed it. Pure; the server and the backfill
 * only evaluate it at a time.
 */
import { hashInts, hashString } from './random';
import { countBefore, type CountingProcess } from './process';
import { istioLabels, renderLabels, type Reporter } from './labels';
import { patternShape, rampShape, type Shape, type Window } from './shape';
import type { Call, DenialKind, Incident, Protocol, Scenario, Tls, Workload } from './scenario';

/** Metric families the simulator exports. */
export type MetricName = 'istio_requests_total' | 'istio_tcp_connections_opened_total';

/** A pod: its counters all reset together when its sidecar restarts. */
export interface Pod {
  name: string;
  namespace: string;
  /** Restart times, seconds since the epoch, ascending. */
  restarts: number[];
}

/** One exported series: its rendered labels, its pod and the processes summed into it. */
export interface Series {
  metric: MetricName;
  labels: string;
  pod: Pod;
  processes: CountingProcess[];
}

/** The compiled mesh. */
export interface Mesh {
  epochMs: number;
  series: Series[];
}

// Kubernetes' pod-template-hash alphabet: no vowels, no look-alike characters.
const POD_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function podSuffix(hash: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += POD_ALPHABET[hashInts(hash, i) % POD_ALPHABET.length];
  return text;
}

/** Deterministic, Kubernetes-looking pod names: `cart-7d9f8b6c5d-x2k9p`. */
export function podNames(workload: Workload, seed: number): string[] {
  const template = podSuffix(hashString(workload.id, seed), 10);
  return Array.from(
    { length: workload.replicas },
    (_, i) => `${workload.name}-${template}-${podSuffix(hashString(`${workload.id}#${i}`, seed), 5)}`,
  );
}

const DENIAL: Record<DenialKind, { code: number; flags: string }> = {
  rbac: { code: 403, flags: '-' },
  jwt: { code: 401, flags: '-' },
  ext_authz: { code: 403, flags: 'UAEX' },
};

/** A stream of requests with one label set per side, before it is spread over pods. */
interface Stream {
  id: string;
  from: Workload;
  to: Workload;
  protocol: Protocol;
  tls: Tls;
  code: number | undefined;
  flags: string;
  rate: number;
  shape: Shape;
}

const seconds = (ms: number) => ms / 1000;
const window = (i: { atMs: number; durationMs: number }, inside: number, outside: number): Window => ({
  start: seconds(i.atMs),
  end: seconds(i.atMs + i.durationMs),
  inside,
  outside,
});

/** Streams of a call (or a new caller's call), shaped by the incidents that touch it. */
function callStreams(call: Call, id: string, extra: Window[], incidents: Incident[], ctx: Context): Stream[] {
  const into = incidents.filter((x) => 'to' in x && x.to === call.to);
  const traffic = into.flatMap((x) => (x.kind === 'traffic_change' ? [window(x, x.factor, 1)] : []));
  const bursts = call.protocol === 'tcp' ? [] : into.flatMap((x) => (x.kind === 'error_burst' ? [x] : []));
  const fallbacks = incidents.flatMap((x) =>
    x.kind === 'plaintext_fallback' && x.from === call.from && x.to === call.to ? [x] : [],
  );
  const burstCut = bursts.map((b) => window(b, 1 - b.share, 1));
  const fallbackCut = fallbacks.map((f) => window(f, 1 - f.share, 1));
  const codes = call.codes.length ? call.codes : [{ code: undefined, share: 1 }];
  const shape = (windows: Window[]) =>
    patternShape(call.pattern, ctx.epochSeconds, [...extra, ...traffic, ...windows]);
  const base = {
    from: ctx.workload(call.from),
    to: ctx.workload(call.to),
    protocol: call.protocol,
    flags: '-',
  };
  const streams: Stream[] = codes.map(({ code, share }) => ({
    ...base,
    id: `${id}:${code}`,
    tls: call.tls,
    code,
    rate: call.rate * share,
    shape: shape([...burstCut, ...fallbackCut]),
  }));
  fallbacks.forEach((f, i) => {
    for (const { code, share } of codes) {
      streams.push({
        ...base,
        id: `${id}:fallback${i}:${code}`,
        tls: 'plaintext',
        code,
        rate: call.rate * share,
        shape: shape([...burstCut, window(f, f.share, 0)]),
      });
    }
  });
  bursts.forEach((b, i) => {
    streams.push({
      ...base,
      id: `${id}:burst${i}`,
      tls: call.tls,
      code: b.code,
      rate: call.rate,
      shape: shape([...fallbackCut, window(b, b.share, 0)]),
    });
  });
  return streams;
}

interface Context {
  epochSeconds: number;
  workload(id: string): Workload;
}

function denialStreams(incident: Incident, index: number, ctx: Context): Stream[] {
  if (incident.kind !== 'denial_spike' && incident.kind !== 'denial_ramp') return [];
  const denial = DENIAL[incident.denial];
  const start = seconds(incident.atMs);
  const end = seconds(incident.atMs + incident.durationMs);
  // Attackers do not follow office hours: denial rates are flat (or a straight ramp), without jitter.
  const shape =
    incident.kind === 'denial_spike'
      ? patternShape({ dailyAmplitude: 0, peakHour: 0, weekendFactor: 1, noise: 0 }, ctx.epochSeconds, [
          { start, end, inside: 1, outside: 0 },
        ])
      : rampShape(start, end, incident.startRate, incident.endRate);
  return [
    {
      id: `incidents[${index}]`,
      from: ctx.workload(incident.from),
      to: ctx.workload(incident.to),
      protocol: incident.protocol,
      tls: incident.tls,
      code: denial.code,
      flags: denial.flags,
      rate: incident.kind === 'denial_spike' ? incident.rate : 1,
      shape,
    },
  ];
}

/** Compiles `scenario` with its epoch (Unix ms) into pods and series. */
export function compileMesh(scenario: Scenario, epochMs: number): Mesh {
  const workloads = new Map(scenario.workloads.map((w) => [w.id, w]));
  const ctx: Context = {
    epochSeconds: seconds(epochMs),
    workload: (id) => {
      const found = workloads.get(id);
      if (!found) throw new Error(`scenario refers to unknown workload ${id}; it was not validated`);
      return found;
    },
  };
  const pods = new Map<string, Pod[]>();
  for (const w of scenario.workloads) {
    pods.set(
      w.id,
      podNames(w, scenario.seed).map((name, replica) => ({
        name,
        namespace: w.namespace,
        restarts: scenario.restarts
          .filter((r) => r.workload === w.id && r.replica === replica)
          .map((r) => Math.floor(seconds(r.atMs)))
          .sort((a, b) => a - b),
      })),
    );
  }
  const streams: Stream[] = [
    ...scenario.calls.flatMap((c, i) => callStreams(c, `calls[${i}]`, [], scenario.incidents, ctx)),
    ...scenario.incidents.flatMap((x, i) =>
      x.kind === 'new_caller'
        ? callStreams(x.call, `incidents[${i}]`, [window(x, 1, 0)], scenario.incidents, ctx)
        : denialStreams(x, i, ctx),
    ),
  ];

  const byKey = new Map<string, Series>();
  const add = (reporter: Reporter, stream: Stream, pod: Pod, process: CountingProcess) => {
    const metric: MetricName =
      stream.protocol === 'tcp' ? 'istio_tcp_connections_opened_total' : 'istio_requests_total';
    const labels = renderLabels(
      istioLabels({
        reporter,
        from: stream.from,
        to: stream.to,
        protocol: stream.protocol,
        tls: stream.tls,
        code: stream.code,
        responseFlags: stream.flags,
        trustDomain: scenario.trustDomain,
        cluster: scenario.cluster,
        pod: pod.name,
        podNamespace: pod.namespace,
      }),
      stream.protocol === 'tcp' ? ['response_code', 'grpc_response_status'] : [],
    );
    const key = metric + labels;
    let series = byKey.get(key);
    if (!series) {
      series = { metric, labels, pod, processes: [] };
      byKey.set(key, series);
    }
    series.processes.push(process);
  };
  for (const stream of streams) {
    // A caller without a sidecar is one anonymous source: its pods are invisible to everyone.
    const sources = stream.from.mesh ? (pods.get(stream.from.id) ?? []) : [undefined];
    const targets = pods.get(stream.to.id) ?? [];
    const cellRate = stream.rate / (sources.length * targets.length);
    const streamKey = hashString(stream.id, scenario.seed);
    sources.forEach((source, i) => {
      targets.forEach((target, j) => {
        // One process per (client pod, server pod): both sidecars count the same requests.
        const process = { key: hashInts(streamKey, i, j), rate: cellRate, shape: stream.shape };
        if (source) add('source', stream, source, process);
        if (stream.to.mesh) add('destination', stream, target, process);
      });
    });
  }
  return { epochMs, series: [...byKey.values()] };
}

/**
 * A series' counter at `timeMs`: requests since its pod's last restart (or the epoch). 0 means the
 * series is not exported yet, as Envoy only creates a series on its first request.
 */
export function seriesValue(series: Series, timeMs: number, epochMs: number): number {
  const second = Math.max(0, Math.floor((timeMs - epochMs) / 1000));
  let since = 0;
  for (const r of series.pod.restarts) if (r <= second) since = r;
  let value = 0;
  for (const process of series.processes) {
    value += countBefore(process, second) - (since > 0 ? countBefore(process, since) : 0);
  }
  return value;
}
