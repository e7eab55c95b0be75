/**
 * The scenario's workloads and waypoints, and how references to them resolve: `name` when only one
 * workload has it, `namespace/name` when that is in one cluster only, `cluster/namespace/name` always.
 */
import { At, clusterId, dnsName, integer, object, oneOf, required, text, type Raw } from './parse-values';
import type { Dataplane, MtlsMode, Waypoint, Workload } from './scenario';

const WORKLOAD_KEYS = [
  'name',
  'namespace',
  'cluster',
  'service_account',
  'replicas',
  'dataplane',
  'waypoint',
  'mtls',
  'app',
  'version',
  'service',
] as const;

/** Keys that were renamed, and what their error says instead. */
const RENAMED_WORKLOAD_KEYS = {
  mesh: 'mesh was replaced by dataplane (sidecar, ambient or none): write dataplane: none for mesh: false',
};

/** The data planes, in the order messages list them. */
export const DATAPLANES: readonly Dataplane[] = ['sidecar', 'ambient', 'none'];

/** A workload as written, before ids (which depend on the others) and its waypoint are resolved. */
interface Declared {
  workload: Omit<Workload, 'id' | 'waypoint'>;
  waypointRef: string | undefined;
  at: At;
}

/** What a workload takes from the top level of the scenario when it does not say. */
export interface WorkloadDefaults {
  cluster: string;
  dataplane: Dataplane;
}

function declaredWorkload(value: unknown, at: At, defaults: WorkloadDefaults): Declared {
  const raw = object(value, at, WORKLOAD_KEYS, RENAMED_WORKLOAD_KEYS);
  const name = dnsName(required(raw, 'name', at), at.key('name'));
  const namespace = dnsName(required(raw, 'namespace', at), at.key('namespace'));
  const cluster = clusterId(raw.cluster, at.key('cluster'), defaults.cluster);
  const dataplane = oneOf<Dataplane>(raw.dataplane, at.key('dataplane'), DATAPLANES, defaults.dataplane);
  const waypointRef = raw.waypoint === undefined ? undefined : text(raw.waypoint, at.key('waypoint'));
  if (waypointRef !== undefined && dataplane !== 'ambient') {
    at.key('waypoint').fail(
      `only ambient workloads use a waypoint, and ${namespace}/${name} has dataplane: ${dataplane}` +
        (dataplane === 'sidecar' ? ' (its sidecar is its L7 proxy)' : ''),
    );
  }
  return {
    workload: {
      key: `${cluster}/${namespace}/${name}`,
      name,
      namespace,
      cluster,
      serviceAccount: dnsName(raw.service_account, at.key('service_account'), name),
      replicas: integer(raw.replicas, at.key('replicas'), 1, 1),
      dataplane,
      mtls: oneOf<MtlsMode>(raw.mtls, at.key('mtls'), ['permissive', 'strict'], 'permissive'),
      app: dnsName(raw.app, at.key('app'), name),
      // YAML reads `version: 1` as a number; anything else that is not text is refused by dnsName.
      version:
        raw.version === undefined
          ? undefined
          : dnsName(typeof raw.version === 'number' ? String(raw.version) : raw.version, at.key('version')),
      service: dnsName(raw.service, at.key('service'), name),
    },
    waypointRef,
    at,
  };
}

const WAYPOINT_KEYS = ['name', 'namespace', 'cluster', 'replicas', 'service_account'] as const;

function declaredWaypoint(value: unknown, at: At, defaultCluster: string): Omit<Waypoint, 'id'> {
  const raw = object(value, at, WAYPOINT_KEYS);
  const name = dnsName(required(raw, 'name', at), at.key('name'));
  const namespace = dnsName(required(raw, 'namespace', at), at.key('namespace'));
  const cluster = clusterId(raw.cluster, at.key('cluster'), defaultCluster);
  return {
    key: `${cluster}/${namespace}/${name}`,
    name,
    namespace,
    cluster,
    serviceAccount: dnsName(raw.service_account, at.key('service_account'), name),
    replicas: integer(raw.replicas, at.key('replicas'), 1, 1),
    // Istio labels waypoint pods with their gateway's name as canonical service and no version.
    app: name,
    version: undefined,
  };
}

/** `namespace/name` when no other one in `all` has it (in another cluster), else the full key. */
function withIds<T extends { key: string; namespace: string; name: string }>(
  all: T[],
): (T & { id: string })[] {
  const short = (x: T) => `${x.namespace}/${x.name}`;
  const count = new Map<string, number>();
  for (const x of all) count.set(short(x), (count.get(short(x)) ?? 0) + 1);
  return all.map((x) => ({ ...x, id: count.get(short(x)) === 1 ? short(x) : x.key }));
}

/** Finds one of `all` by `name`, `namespace/name` or `cluster/namespace/name`. */
function find<T extends { key: string; namespace: string; name: string; cluster: string }>(
  all: T[],
  ref: string,
  what: string,
  at: At,
): T {
  const parts = ref.split('/');
  const matches =
    parts.length === 3
      ? all.filter((x) => x.key === ref)
      : parts.length === 2
        ? all.filter((x) => `${x.namespace}/${x.name}` === ref)
        : parts.length === 1
          ? all.filter((x) => x.name === ref)
          : [];
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length > 1) {
    const oneNamespace = new Set(matches.map((x) => x.namespace)).size === 1;
    if (parts.length === 2 || oneNamespace) {
      const clusters = matches.map((x) => x.cluster).join(' and ');
      at.fail(`ambiguous ${what} ${ref} (in ${clusters}): write cluster/namespace/name`);
    }
    at.fail(`ambiguous ${what} ${ref}: write namespace/name`);
  }
  return at.fail(`unknown ${what} ${ref}`);
}

/** The validated workloads and waypoints, and resolution of references to them. */
export class Topology {
  readonly workloads: Workload[];
  readonly waypoints: Waypoint[];

  constructor(rawWorkloads: unknown[], rawWaypoints: unknown[], at: At, defaults: WorkloadDefaults) {
    const waypointsAt = at.key('waypoints');
    const workloadsAt = at.key('workloads');
    const declared = rawWorkloads.map((w, i) => declaredWorkload(w, workloadsAt.index(i), defaults));
    const seen = new Set<string>();
    declared.forEach(({ workload: w }, i) => {
      if (seen.has(w.key)) {
        workloadsAt.index(i).fail(`duplicate workload ${w.namespace}/${w.name} in cluster ${w.cluster}`);
      }
      seen.add(w.key);
    });
    const waypoints = rawWaypoints.map((w, i) => declaredWaypoint(w, waypointsAt.index(i), defaults.cluster));
    const seenWaypoints = new Set<string>();
    waypoints.forEach((w, i) => {
      const where = `${w.namespace}/${w.name} in cluster ${w.cluster}`;
      if (seenWaypoints.has(w.key)) waypointsAt.index(i).fail(`duplicate waypoint ${where}`);
      if (seen.has(w.key)) waypointsAt.index(i).fail(`${where} is already a workload's name`);
      seenWaypoints.add(w.key);
    });
    this.waypoints = withIds(waypoints);
    this.workloads = withIds(declared.map((d) => d.workload)).map((w, i) => {
      const { waypointRef, at: wAt } = declared[i] as Declared;
      return { ...w, waypoint: waypointRef && this.waypointFor(w, waypointRef, wAt.key('waypoint')).key };
    });
  }

  /** A workload's waypoint: `name` in its namespace, or `namespace/name`, in its own cluster. */
  private waypointFor(w: Omit<Workload, 'id' | 'waypoint'>, ref: string, at: At): Waypoint {
    const parts = ref.split('/');
    if (parts.length > 2) at.fail(`write the waypoint as name or namespace/name (it is in ${w.cluster})`);
    const key = `${w.cluster}/${parts.length === 2 ? ref : `${w.namespace}/${ref}`}`;
    const found = this.waypoints.find((x) => x.key === key);
    if (!found) at.fail(`no waypoint ${key.slice(w.cluster.length + 1)} in cluster ${w.cluster}`);
    return found;
  }

  /** The workload `value` names. */
  workload(value: unknown, at: At): Workload {
    return find(this.workloads, text(value, at), 'workload', at);
  }

  /** The workload named by `raw[key]`, which must be there. */
  workloadAt(raw: Raw, key: string, at: At): Workload {
    return this.workload(required(raw, key, at), at.key(key));
  }

  /** The waypoint `value` names. */
  waypoint(value: unknown, at: At): Waypoint {
    return find(this.waypoints, text(value, at), 'waypoint', at);
  }
}
