/**
 * Scenario YAML to a validated `Scenario`. Strict like blackbox_exporter's config: an unknown key, a
 * wrong type or a dangling reference is a ScenarioError naming the file and the path inside it.
 */
import { parseDocument } from 'yaml';
import { ScenarioError } from '../errors';
import { declaredCall } from './parse-calls';
import { incident } from './parse-incidents';
import { DATAPLANES, Topology } from './parse-topology';
import {
  At,
  FLAT_PATTERN,
  clusterId,
  duration,
  integer,
  list,
  object,
  oneOf,
  pattern,
  required,
  text,
} from './parse-values';
import type { Call, Dataplane, Incident, Restart, Scenario } from './scenario';

const RESTART_KEYS = ['workload', 'waypoint', 'ztunnel', 'cluster', 'replica', 'at'] as const;

interface RestartContext {
  topology: Topology;
  clusters: string[];
  defaultCluster: string;
  nodes: number;
}

function restart(value: unknown, at: At, ctx: RestartContext): Restart {
  const raw = object(value, at, RESTART_KEYS);
  const atMs = duration(required(raw, 'at', at), at.key('at'), false);
  const targets = (['workload', 'waypoint', 'ztunnel'] as const).filter((k) => raw[k] !== undefined);
  if (targets.length !== 1) at.fail('name one proxy to restart: workload, waypoint or ztunnel');
  if (raw.cluster !== undefined && targets[0] !== 'ztunnel') {
    at.key('cluster').fail('cluster is for ztunnel restarts; a workload or waypoint id names its cluster');
  }
  if (targets[0] === 'ztunnel') {
    if (raw.replica !== undefined) at.key('replica').fail('a ztunnel is named by its node: ztunnel: N');
    const cluster = clusterId(raw.cluster, at.key('cluster'), ctx.defaultCluster);
    if (!ctx.clusters.includes(cluster)) {
      at.key('cluster').fail(`no cluster ${cluster} in the scenario (clusters: ${ctx.clusters.join(', ')})`);
    }
    const node = integer(raw.ztunnel, at.key('ztunnel'), 0);
    if (node >= ctx.nodes) at.key('ztunnel').fail(`there are ${ctx.nodes} node(s): 0..${ctx.nodes - 1}`);
    return { proxy: 'ztunnel', cluster, node, atMs };
  }
  const replica = integer(raw.replica, at.key('replica'), 0, 0);
  if (targets[0] === 'waypoint') {
    const target = ctx.topology.waypoint(raw.waypoint, at.key('waypoint'));
    if (replica >= target.replicas)
      at.key('replica').fail(`${target.id} has ${target.replicas} replica(s): 0..${target.replicas - 1}`);
    return { proxy: 'waypoint', waypoint: target.key, replica, atMs };
  }
  const target = ctx.topology.workload(raw.workload, at.key('workload'));
  if (target.dataplane === 'none') {
    at.key('workload').fail(
      `${target.id} is not in the mesh (dataplane: none), so it has no counters to reset`,
    );
  }
  if (target.dataplane === 'ambient') {
    at.key('workload').fail(
      `${target.id} is ambient and has no sidecar: restart its node's ztunnel ({ztunnel: N, at: ...})`,
    );
  }
  if (replica >= target.replicas)
    at.key('replica').fail(`${target.id} has ${target.replicas} replica(s): 0..${target.replicas - 1}`);
  return { proxy: 'sidecar', workload: target.id, replica, atMs };
}

const TOP_KEYS = [
  'name',
  'description',
  'seed',
  'trust_domain',
  'cluster',
  'dataplane',
  'nodes',
  'pattern',
  'workloads',
  'waypoints',
  'calls',
  'restarts',
  'incidents',
] as const;

/** Every cluster named by the default, the workloads, the waypoints and the twins, in that order. */
function clustersOf(defaultCluster: string, topology: Topology, incidents: Incident[]): string[] {
  return [
    ...new Set([
      defaultCluster,
      ...topology.workloads.map((w) => w.cluster),
      ...topology.waypoints.map((w) => w.cluster),
      ...incidents.flatMap((x) => (x.kind === 'twin_workload' ? [x.twin.cluster] : [])),
    ]),
  ];
}

/** Validates an already-parsed scenario document (`source` names the file in messages). */
export function scenarioFromObject(value: unknown, source: string): Scenario {
  const at = new At(source, '');
  const raw = object(value, at, TOP_KEYS);
  const basePattern = pattern(raw.pattern, at.key('pattern'), FLAT_PATTERN);
  const cluster = clusterId(raw.cluster, at.key('cluster'), 'Kubernetes');
  const nodes = integer(raw.nodes, at.key('nodes'), 1, 2);
  const dataplane = oneOf<Dataplane>(raw.dataplane, at.key('dataplane'), DATAPLANES, 'sidecar');
  const topology = new Topology(
    list(required(raw, 'workloads', at), at.key('workloads')),
    list(raw.waypoints, at.key('waypoints')),
    at,
    { cluster, dataplane },
  );
  const calls: Call[] = [];
  list(raw.calls, at.key('calls')).forEach((c, i) => {
    const callAt = at.key('calls').index(i);
    const made = declaredCall(c, callAt, topology, basePattern);
    const twin = calls.findIndex((other) => other.from === made.from && other.to === made.to);
    if (twin >= 0) callAt.fail(`duplicate call ${made.from} -> ${made.to} (calls[${twin}])`);
    calls.push(made);
  });
  const incidents = list(raw.incidents, at.key('incidents')).map((x, i) =>
    incident(x, at.key('incidents').index(i), topology, calls, basePattern),
  );
  const clusters = clustersOf(cluster, topology, incidents);
  const restartContext = { topology, clusters, defaultCluster: cluster, nodes };
  return {
    name: text(raw.name, at.key('name'), source),
    description: raw.description === undefined ? '' : text(raw.description, at.key('description')),
    seed: integer(raw.seed, at.key('seed'), 0, 1),
    trustDomain: text(raw.trust_domain, at.key('trust_domain'), 'cluster.local'),
    cluster,
    clusters,
    nodes,
    workloads: topology.workloads,
    waypoints: topology.waypoints,
    calls,
    restarts: list(raw.restarts, at.key('restarts')).map((r, i) =>
      restart(r, at.key('restarts').index(i), restartContext),
    ),
    incidents,
  };
}

/** Parses YAML text into a plain object, or a ScenarioError with the line and column. */
export function parseScenarioYaml(yamlText: string, source: string): unknown {
  const doc = parseDocument(yamlText, { uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const where = first.linePos?.[0];
    const place = where ? `line ${where.line}, column ${where.col}` : '(top level)';
    throw new ScenarioError(
      '',
      `${source}: ${place}: ${(first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      { cause: first },
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Only aliases fail here: one to no anchor, or so many that the document would expand past
    // the alias budget (a "billion laughs").
    throw new ScenarioError('', `${source}: ${(err as Error).message}`, { cause: err });
  }
  // An alias inside the node it names makes a cycle, which every later step would walk forever.
  if (holdsItself(value))
    throw new ScenarioError('', `${source}: an alias refers to a node that contains it`);
  return value;
}

function holdsItself(value: unknown, inside = new Set<unknown>()): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (inside.has(value)) return true;
  inside.add(value);
  const cycle = Object.values(value).some((child) => holdsItself(child, inside));
  inside.delete(value);
  return cycle;
}

/** Parses and validates scenario YAML text; `source` (the file name) prefixes every error message. */
export function parseScenario(yamlText: string, source: string): Scenario {
  return scenarioFromObject(parseScenarioYaml(yamlText, source), source);
}
