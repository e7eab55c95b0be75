/**
 * A scenario's traffic as streams: each call (and each incident) becomes Poisson streams of L7
 * requests, one per response code and TLS variant, and of the L4 connections that carry them, all
 * shaped by the daily pattern and the incidents' windows. Who reports a stream is mesh.ts's job.
 */
import { patternShape, rampShape, type Shape, type Window } from './shape';
import type { Call, DenialKind, Incident, Protocol, Tls, Workload } from './scenario';

/** What a stream counts: L7 requests (istio_requests_total) or L4 connections (istio_tcp_*). */
export type Layer = 'request' | 'connection';

/** A stream of requests or connections between two workloads, before it is spread over pods. */
export interface Stream {
  id: string;
  layer: Layer;
  from: Workload;
  to: Workload;
  protocol: Protocol;
  tls: Tls;
  /** HTTP status of requests; undefined for connections. */
  code: number | undefined;
  /** Envoy's response flags of requests (`UAEX` for ext_authz); `-` for connections. */
  flags: string;
  /** Refused by an L4 AuthorizationPolicy at the destination. */
  l4Denied: boolean;
  /** Denied by an HTTP policy: behind a waypoint, it never reaches the backend. */
  httpDenied: boolean;
  rate: number;
  shape: Shape;
}

/** What building streams needs from the compiled scenario. */
export interface StreamContext {
  epochSeconds: number;
  workload(id: string): Workload;
}

const seconds = (ms: number) => ms / 1000;

/** A window over an incident's time: the rate is multiplied by `inside` there, `outside` elsewhere. */
export const window = (i: { atMs: number; durationMs: number }, inside: number, outside: number): Window => ({
  start: seconds(i.atMs),
  end: seconds(i.atMs + i.durationMs),
  inside,
  outside,
});

/** Streams of a call (or a new caller's or a twin's call), shaped by the incidents that touch it. */
export function callStreams(
  call: Call,
  id: string,
  extra: Window[],
  incidents: Incident[],
  ctx: StreamContext,
): Stream[] {
  const into = incidents.filter((x) => 'to' in x && x.to === call.to);
  const traffic = into.flatMap((x) => (x.kind === 'traffic_change' ? [window(x, x.factor, 1)] : []));
  const bursts = call.protocol === 'tcp' ? [] : into.flatMap((x) => (x.kind === 'error_burst' ? [x] : []));
  const fallbacks = incidents.flatMap((x) =>
    x.kind === 'plaintext_fallback' && x.from === call.from && x.to === call.to ? [x] : [],
  );
  const burstCut = bursts.map((b) => window(b, 1 - b.share, 1));
  const fallbackCut = fallbacks.map((f) => window(f, 1 - f.share, 1));
  const layer: Layer = call.protocol === 'tcp' ? 'connection' : 'request';
  const codes = call.codes.length ? call.codes : [{ code: undefined, share: 1 }];
  const shape = (windows: Window[]) =>
    patternShape(call.pattern, ctx.epochSeconds, [...extra, ...traffic, ...windows]);
  const base = {
    from: ctx.workload(call.from),
    to: ctx.workload(call.to),
    protocol: call.protocol,
    flags: '-',
    l4Denied: false,
    httpDenied: false,
  };
  const streams: Stream[] = codes.map(({ code, share }) => ({
    ...base,
    id: `${id}:${code}`,
    layer,
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
        layer,
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
      layer,
      tls: call.tls,
      code: b.code,
      rate: call.rate,
      shape: shape([...fallbackCut, window(b, b.share, 0)]),
    });
  });
  if (layer === 'request') {
    // The connections under the requests: as many as the requests times connections_per_request,
    // whatever their response codes, and split between the TLS variants like the requests.
    const connections = { ...base, layer: 'connection' as const, code: undefined };
    const rate = call.rate * call.connectionsPerRequest;
    streams.push({ ...connections, id: `${id}:conn`, tls: call.tls, rate, shape: shape(fallbackCut) });
    fallbacks.forEach((f, i) => {
      streams.push({
        ...connections,
        id: `${id}:fallback${i}:conn`,
        tls: 'plaintext',
        rate,
        shape: shape([window(f, f.share, 0)]),
      });
    });
  }
  return streams;
}

const DENIAL: Record<Exclude<DenialKind, 'l4'>, { code: number; flags: string }> = {
  rbac: { code: 403, flags: '-' },
  jwt: { code: 401, flags: '-' },
  ext_authz: { code: 403, flags: 'UAEX' },
};

/** Streams of a denial spike or ramp: the denied requests (or connections) and what carries them. */
export function denialStreams(incident: Incident, index: number, ctx: StreamContext): Stream[] {
  if (incident.kind !== 'denial_spike' && incident.kind !== 'denial_ramp') return [];
  const start = seconds(incident.atMs);
  const end = seconds(incident.atMs + incident.durationMs);
  // Attackers do not follow office hours: denial rates are flat (or a straight ramp), without jitter.
  const shape =
    incident.kind === 'denial_spike'
      ? patternShape({ dailyAmplitude: 0, peakHour: 0, weekendFactor: 1, noise: 0 }, ctx.epochSeconds, [
          { start, end, inside: 1, outside: 0 },
        ])
      : rampShape(start, end, incident.startRate, incident.endRate);
  const rate = incident.kind === 'denial_spike' ? incident.rate : 1;
  const base = {
    from: ctx.workload(incident.from),
    to: ctx.workload(incident.to),
    protocol: incident.protocol,
    tls: incident.tls,
    shape,
  };
  const id = `incidents[${index}]`;
  if (incident.denial === 'l4') {
    return [
      {
        ...base,
        id,
        layer: 'connection',
        code: undefined,
        flags: '-',
        l4Denied: true,
        httpDenied: false,
        rate,
      },
    ];
  }
  const denial = DENIAL[incident.denial];
  return [
    { ...base, id, layer: 'request', ...denial, l4Denied: false, httpDenied: true, rate },
    {
      ...base,
      id: `${id}:conn`,
      layer: 'connection',
      code: undefined,
      flags: '-',
      l4Denied: false,
      httpDenied: true,
      rate: rate * incident.connectionsPerRequest,
    },
  ];
}
