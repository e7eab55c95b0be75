/**
 * The pods of a compiled scenario: each workload's and waypoint's replicas with deterministic,
 * Kubernetes-looking names, the node each ambient pod runs on, and each node's ztunnel.
 */
import { hashInts, hashString } from './random';
import type { Restart, Scenario, Waypoint, Workload } from './scenario';

/** A pod that reports: its counters all reset together when its proxy restarts. */
export interface Pod {
  name: string;
  namespace: string;
  /** Restart times, seconds since the epoch, ascending. */
  restarts: number[];
}

/** A workload pod and the node it runs on (in its workload's cluster). */
export interface PlacedPod extends Pod {
  node: number;
}

// Kubernetes' pod-template-hash alphabet: no vowels, no look-alike characters.
const POD_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function podSuffix(hash: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += POD_ALPHABET[hashInts(hash, i) % POD_ALPHABET.length];
  return text;
}

/** Deterministic, Kubernetes-looking pod names of a Deployment: `cart-7d9f8b6c5d-x2k9p`. */
export function podNames(workload: Pick<Workload, 'id' | 'name' | 'replicas'>, seed: number): string[] {
  const template = podSuffix(hashString(workload.id, seed), 10);
  return Array.from(
    { length: workload.replicas },
    (_, i) => `${workload.name}-${template}-${podSuffix(hashString(`${workload.id}#${i}`, seed), 5)}`,
  );
}

/** A DaemonSet's pod names, one per node and distinct: `ztunnel-x2k9p`. */
export function ztunnelNames(cluster: string, nodes: number, seed: number): string[] {
  const names: string[] = [];
  for (let node = 0; node < nodes; node++) {
    let name: string;
    let attempt = 0;
    do name = `ztunnel-${podSuffix(hashString(`${cluster}#ztunnel#${node}#${attempt++}`, seed), 5)}`;
    while (names.includes(name));
    names.push(name);
  }
  return names;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** Every pod of the scenario, by owner. */
export class Pods {
  private readonly workloads = new Map<string, PlacedPod[]>();
  private readonly waypoints = new Map<string, Pod[]>();
  private readonly ztunnels = new Map<string, Pod[]>();

  constructor(scenario: Scenario, extraWorkloads: Workload[]) {
    const restartsOf = (match: (r: Restart) => boolean) =>
      scenario.restarts
        .filter(match)
        .map((r) => seconds(r.atMs))
        .sort((a, b) => a - b);
    for (const w of [...scenario.workloads, ...extraWorkloads]) {
      // Replicas go to consecutive nodes from a hashed start, as a spreading scheduler would.
      const first = hashString(`${w.key}#node`, scenario.seed) % scenario.nodes;
      this.workloads.set(
        w.key,
        podNames(w, scenario.seed).map((name, replica) => ({
          name,
          namespace: w.namespace,
          node: (first + replica) % scenario.nodes,
          restarts: restartsOf((r) => r.proxy === 'sidecar' && r.workload === w.id && r.replica === replica),
        })),
      );
    }
    for (const w of scenario.waypoints) {
      // Hashed by key, which no workload shares, so a waypoint never gets a workload's pod names.
      this.waypoints.set(
        w.key,
        podNames({ ...w, id: w.key }, scenario.seed).map((name, replica) => ({
          name,
          namespace: w.namespace,
          restarts: restartsOf(
            (r) => r.proxy === 'waypoint' && r.waypoint === w.key && r.replica === replica,
          ),
        })),
      );
    }
    for (const cluster of scenario.clusters) {
      this.ztunnels.set(
        cluster,
        ztunnelNames(cluster, scenario.nodes, scenario.seed).map((name, node) => ({
          name,
          namespace: 'istio-system',
          restarts: restartsOf((r) => r.proxy === 'ztunnel' && r.cluster === cluster && r.node === node),
        })),
      );
    }
  }

  /** The pods of a workload. */
  of(w: Workload): PlacedPod[] {
    return this.workloads.get(w.key) ?? [];
  }

  /** The pods of a waypoint. */
  ofWaypoint(w: Waypoint): Pod[] {
    return this.waypoints.get(w.key) ?? [];
  }

  /** The ztunnel of a node. */
  ztunnel(cluster: string, node: number): Pod {
    const pod = this.ztunnels.get(cluster)?.[node];
    if (!pod) throw new Error(`no ztunnel on node ${node} of ${cluster}; the scenario was not validated`);
    return pod;
  }
}
