/** Calls (edges) of a scenario, also the shape of a new caller's or a twin's call. */
import { At, num, object, oneOf, pattern, required, show, type Raw } from './parse-values';
import type { Topology } from './parse-topology';
import type { Call, CodeShare, Pattern, Protocol, Tls, Workload } from './scenario';

/** Keys of a call. */
export const CALL_KEYS = [
  'from',
  'to',
  'rate',
  'protocol',
  'codes',
  'tls',
  'connections_per_request',
  'pattern',
] as const;

/** L4 connections per http/grpc request when a call does not say: keep-alive reuses most of them. */
export const DEFAULT_CONNECTIONS_PER_REQUEST = 0.1;

const inMesh = (w: Workload) => w.dataplane !== 'none';

/** The transport security of traffic `from` -> `to`: mutual only when both are in the mesh. */
export function tls(value: unknown, at: At, from: Workload, to: Workload): Tls {
  const fallback: Tls = inMesh(from) && inMesh(to) ? 'mutual' : 'plaintext';
  const chosen = oneOf<Tls>(value, at, ['mutual', 'plaintext'], fallback);
  if (chosen === 'mutual' && fallback === 'plaintext') {
    const outside = inMesh(from) ? to : from;
    at.fail(`mutual TLS needs both sides in the mesh, and ${outside.id} has dataplane: none`);
  }
  if (chosen === 'plaintext' && to.mtls === 'strict') {
    at.fail(`${to.id} has mtls: strict and would refuse plaintext traffic`);
  }
  return chosen;
}

function codes(value: unknown, at: At, protocol: Protocol): CodeShare[] {
  if (protocol === 'tcp') {
    if (value !== undefined) at.fail('tcp calls have no response codes');
    return [];
  }
  if (value === undefined) return [{ code: 200, share: 1 }];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    at.fail('expected a mapping of response code to share, e.g. {200: 0.99, 503: 0.01}');
  }
  const shares = Object.entries(value).map(([key, share]) => {
    const code = Number(key);
    if (!Number.isInteger(code) || code < 100 || code > 599)
      at.fail(`${show(key)} is not an HTTP status code`);
    return { code, share: num(share, at.key(key), { above: 0, max: 1 }) };
  });
  const total = shares.reduce((sum, s) => sum + s.share, 0);
  if (Math.abs(total - 1) > 1e-6)
    at.fail(`shares must add up to 1, they add up to ${Number(total.toFixed(6))}`);
  return shares;
}

/** Connections per request: 1 for tcp (which counts connections), else the key or the default. */
export function connectionsPerRequest(value: unknown, at: At, protocol: Protocol): number {
  if (protocol === 'tcp') {
    if (value !== undefined) at.fail('tcp calls count connections already; this key is for http and grpc');
    return 1;
  }
  return num(value, at, { above: 0, max: 1 }, DEFAULT_CONNECTIONS_PER_REQUEST);
}

/** A call from `from` (default: the workload `raw.from` names) with the keys of `raw`. */
export function call(
  raw: Raw,
  at: At,
  topology: Topology,
  basePattern: Pattern,
  from: Workload = topology.workloadAt(raw, 'from', at),
): Call {
  const to = topology.workloadAt(raw, 'to', at);
  if (from.key === to.key) at.key('to').fail(`${to.id} cannot call itself`);
  if (!inMesh(from) && !inMesh(to)) {
    at.fail(`neither ${from.id} nor ${to.id} is in the mesh (dataplane: none), so nothing would report`);
  }
  const protocol = oneOf<Protocol>(raw.protocol, at.key('protocol'), ['http', 'grpc', 'tcp'], 'http');
  return {
    from: from.id,
    to: to.id,
    rate: num(required(raw, 'rate', at), at.key('rate'), { above: 0 }),
    protocol,
    codes: codes(raw.codes, at.key('codes'), protocol),
    tls: tls(raw.tls, at.key('tls'), from, to),
    pattern: pattern(raw.pattern, at.key('pattern'), basePattern),
    connectionsPerRequest: connectionsPerRequest(
      raw.connections_per_request,
      at.key('connections_per_request'),
      protocol,
    ),
  };
}

/** Validates one entry of `calls`. */
export function declaredCall(value: unknown, at: At, topology: Topology, basePattern: Pattern): Call {
  return call(object(value, at, CALL_KEYS), at, topology, basePattern);
}
