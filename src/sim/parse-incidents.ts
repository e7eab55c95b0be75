/**
 * Incidents of a scenario. Each is checked against the data planes it touches: a combination that
 * cannot happen in Istio (an HTTP 403 from a workload that only ztunnel serves) is an error that
 * says what would.
 */
import { CALL_KEYS, call, connectionsPerRequest, tls } from './parse-calls';
import { DATAPLANES, type Topology } from './parse-topology';
import { At, clusterId, duration, integer, num, object, oneOf, required, type Raw } from './parse-values';
import type { Call, Dataplane, DenialKind, Incident, Pattern, Protocol, Tls, Workload } from './scenario';

const DENIAL_KEYS = ['from', 'to', 'denial', 'protocol', 'tls', 'connections_per_request'] as const;

const INCIDENT_KEYS: Record<Incident['kind'], readonly string[]> = {
  denial_spike: [...DENIAL_KEYS, 'rate'],
  denial_ramp: [...DENIAL_KEYS, 'start_rate', 'end_rate'],
  new_caller: CALL_KEYS,
  plaintext_fallback: ['from', 'to', 'share'],
  traffic_change: ['to', 'factor'],
  error_burst: ['to', 'share', 'code'],
  twin_workload: ['workload', 'cluster', 'dataplane', 'replicas', ...CALL_KEYS.filter((k) => k !== 'from')],
};

const DENIALS: readonly DenialKind[] = ['rbac', 'jwt', 'ext_authz', 'l4'];

/** Whether a proxy reports `to`'s HTTP responses: its sidecar, or its waypoint. */
const hasL7 = (to: Workload) => to.dataplane === 'sidecar' || to.waypoint !== undefined;

/** Where and how a denial happens, or an error for one that cannot. */
function denial(
  raw: Raw,
  at: At,
  from: Workload,
  to: Workload,
): { denial: DenialKind; protocol: Protocol; tls: Tls; connectionsPerRequest: number } {
  if (to.dataplane === 'none') {
    at.key('to').fail(`${to.id} is not in the mesh (dataplane: none), so no policy can deny its traffic`);
  }
  // Into an ambient workload that only ztunnel serves, the one policy that can deny is an L4 one.
  const fallback: DenialKind = hasL7(to) ? 'rbac' : 'l4';
  const kind = oneOf<DenialKind>(raw.denial, at.key('denial'), DENIALS, fallback);
  const chosenTls = tls(raw.tls, at.key('tls'), from, to);
  if (kind === 'l4') {
    if (raw.protocol !== undefined && raw.protocol !== 'tcp') {
      at.key('protocol').fail('denial: l4 refuses connections: protocol must be tcp (or left out)');
    }
    const viaWaypoint = to.waypoint !== undefined && from.dataplane === 'ambient' && chosenTls === 'mutual';
    if (viaWaypoint) {
      at.key('denial').fail(
        `${from.id} reaches ${to.id} through its waypoint, so ${to.id}'s ztunnel would see the ` +
          `waypoint, not ${from.id}; L4 denials behind a waypoint are not simulated: use denial: rbac`,
      );
    }
    return {
      denial: kind,
      protocol: 'tcp',
      tls: chosenTls,
      connectionsPerRequest: connectionsPerRequest(
        raw.connections_per_request,
        at.key('connections_per_request'),
        'tcp',
      ),
    };
  }
  const protocol = oneOf<'http' | 'grpc'>(raw.protocol, at.key('protocol'), ['http', 'grpc'], 'http');
  if (to.dataplane === 'ambient') {
    if (to.waypoint === undefined) {
      at.key('denial').fail(
        `${to.id} is ambient without a waypoint: only L4 policy applies there and ztunnel has no ` +
          `status codes; use denial: l4, or give it a waypoint`,
      );
    }
    if (from.dataplane === 'sidecar') {
      at.key('denial').fail(
        `${from.id} has a sidecar, and sidecars bypass waypoints, so no HTTP policy of ${to.id} ` +
          `applies to it; use denial: l4`,
      );
    }
    if (chosenTls === 'plaintext') {
      at.key('denial').fail(
        `plaintext from ${from.id} bypasses ${to.id}'s waypoint, so no HTTP policy applies to it; ` +
          `use denial: l4`,
      );
    }
  }
  return {
    denial: kind,
    protocol,
    tls: chosenTls,
    connectionsPerRequest: connectionsPerRequest(
      raw.connections_per_request,
      at.key('connections_per_request'),
      protocol,
    ),
  };
}

/** The twin of `of` in `cluster`: same namespace, name, service account and labels. */
function twinOf(raw: Raw, at: At, of: Workload, topology: Topology): Workload {
  const cluster = clusterId(required(raw, 'cluster', at), at.key('cluster'));
  if (cluster === of.cluster) {
    at.key('cluster').fail(`a twin runs in another cluster than ${of.id}, which is in ${cluster}`);
  }
  const key = `${cluster}/${of.namespace}/${of.name}`;
  if (topology.workloads.some((w) => w.key === key)) {
    at.key('cluster').fail(`${key} is a declared workload; a twin is one the scenario does not declare`);
  }
  return {
    ...of,
    id: key,
    key,
    cluster,
    dataplane: oneOf<Dataplane>(raw.dataplane, at.key('dataplane'), DATAPLANES, of.dataplane),
    replicas: integer(raw.replicas, at.key('replicas'), 1, 1),
    waypoint: undefined,
  };
}

/** Validates one entry of `incidents` against the topology and the calls. */
export function incident(
  value: unknown,
  at: At,
  topology: Topology,
  calls: Call[],
  basePattern: Pattern,
): Incident {
  const kinds = Object.keys(INCIDENT_KEYS) as Incident['kind'][];
  const head = object(value, at, ['kind', 'at', 'duration', ...new Set(Object.values(INCIDENT_KEYS).flat())]);
  const kind = oneOf(required(head, 'kind', at), at.key('kind'), kinds);
  const raw = object(value, at, ['kind', 'at', 'duration', ...INCIDENT_KEYS[kind]]);
  const timed = {
    atMs: duration(required(raw, 'at', at), at.key('at'), false),
    durationMs: duration(required(raw, 'duration', at), at.key('duration'), true),
  };
  const known = (from: string, to: string) => calls.findIndex((c) => c.from === from && c.to === to);
  switch (kind) {
    case 'denial_spike':
    case 'denial_ramp': {
      const from = topology.workloadAt(raw, 'from', at);
      const to = topology.workloadAt(raw, 'to', at);
      const common = { ...timed, from: from.id, to: to.id, ...denial(raw, at, from, to) };
      if (kind === 'denial_spike') {
        return { kind, ...common, rate: num(required(raw, 'rate', at), at.key('rate'), { above: 0 }) };
      }
      return {
        kind,
        ...common,
        startRate: num(required(raw, 'start_rate', at), at.key('start_rate'), { min: 0 }),
        endRate: num(required(raw, 'end_rate', at), at.key('end_rate'), { above: 0 }),
      };
    }
    case 'new_caller': {
      const made = call(raw, at, topology, basePattern);
      const index = known(made.from, made.to);
      if (index >= 0) at.fail(`${made.from} already calls ${made.to} (calls[${index}])`);
      return { kind, ...timed, call: made };
    }
    case 'twin_workload': {
      const of = topology.workloadAt(raw, 'workload', at);
      const twin = twinOf(raw, at, of, topology);
      return { kind, ...timed, twin, of: of.id, call: call(raw, at, topology, basePattern, twin) };
    }
    case 'plaintext_fallback': {
      const from = topology.workloadAt(raw, 'from', at);
      const to = topology.workloadAt(raw, 'to', at);
      const index = known(from.id, to.id);
      if (index < 0) at.fail(`${from.id} does not call ${to.id}: a fallback needs an existing call`);
      if (calls[index]?.tls === 'plaintext') at.fail(`calls[${index}] is already plaintext`);
      if (to.mtls === 'strict')
        at.key('to').fail(`${to.id} has mtls: strict and would refuse plaintext traffic`);
      return {
        kind,
        ...timed,
        from: from.id,
        to: to.id,
        share: num(raw.share, at.key('share'), { above: 0, max: 1 }, 1),
      };
    }
    case 'traffic_change': {
      const to = topology.workloadAt(raw, 'to', at);
      return {
        kind,
        ...timed,
        to: to.id,
        factor: num(required(raw, 'factor', at), at.key('factor'), { min: 0 }),
      };
    }
    case 'error_burst': {
      const to = topology.workloadAt(raw, 'to', at);
      if (to.dataplane === 'none') {
        at.key('to').fail(`${to.id} is not in the mesh (dataplane: none): no proxy reports its responses`);
      }
      if (!hasL7(to)) {
        at.key('to').fail(
          `${to.id} is ambient without a waypoint: ztunnel counts connections, not response codes; ` +
            `give it a waypoint`,
        );
      }
      const code = integer(raw.code, at.key('code'), 500, 503);
      if (code > 599) at.key('code').fail(`must be a 5xx status code, got ${code}`);
      return {
        kind,
        ...timed,
        to: to.id,
        share: num(required(raw, 'share', at), at.key('share'), { above: 0, max: 1 }),
        code,
      };
    }
  }
}
