/**
 * Compiles a scenario and an epoch into the simulated mesh: every pod, every series it exports (with
 * its rendered labels) and the counting processes that feed it. Pure; the server and the backfill
 * only evaluate it at a time.
 *
 * Who reports a stream depends on the data planes at its two ends (docs/scenarios.md, "Calls between
 * data planes"): a sidecar reports its own pod's requests (or, for tcp, connections); ztunnel
 * reports the connections of the ambient pods on its node; a waypoint reports the requests and the
 * tunnel connections of the ambient callers that reach its workloads through it.
 */
import { hashInts, hashString } from './random';
import { countBefore, type CountingProcess } from './process';
import { istioLabels, renderLabels, type EnvoyReporter } from './labels';
import { Pods, type PlacedPod, type Pod } from './pods';
import { callStreams, denialStreams, window, type Stream, type StreamContext } from './streams';
import { renderZtunnelLabels, ztunnelLabels, type ZtunnelReporter } from './ztunnel-labels';
import type { Peer, Scenario, Waypoint, Workload } from './scenario';

/** Metric families the simulator exports. */
export type MetricName =
  'istio_requests_total' | 'istio_tcp_connections_opened_total' | 'istio_tcp_connections_closed_total';

/**
 * A counting process with the last count it gave: a process is summed into several series (each
 * side's, opened and closed), which are read at the same second, so it is walked once per read.
 */
interface SharedProcess extends CountingProcess {
  memoSecond: number;
  memoValue: number;
}

/** One exported series: its rendered labels, its pod and the processes summed into it. */
export interface Series {
  metric: MetricName;
  labels: string;
  pod: Pod;
  processes: SharedProcess[];
}

/** The compiled mesh. */
export interface Mesh {
  epochMs: number;
  series: Series[];
}

/** The series of a mesh being compiled, merged by metric and labels. */
class SeriesSet {
  private readonly byKey = new Map<string, Series>();

  add(metric: MetricName, labels: string, pod: Pod, process: SharedProcess): void {
    const key = metric + labels;
    let series = this.byKey.get(key);
    if (!series) {
      series = { metric, labels, pod, processes: [] };
      this.byKey.set(key, series);
    }
    series.processes.push(process);
  }

  all(): Series[] {
    return [...this.byKey.values()];
  }
}

const TCP_OMIT = ['response_code', 'grpc_response_status'] as const;

/** Emits the series of every stream, by the proxies that see it. */
class Reporters {
  constructor(
    private readonly scenario: Scenario,
    private readonly pods: Pods,
    private readonly waypoints: Map<string, Waypoint>,
    private readonly out: SeriesSet,
  ) {}

  /** The waypoint a stream goes through: an ambient caller's mTLS into a workload that has one. */
  private waypointOf(s: Stream): Waypoint | undefined {
    // Sidecars do not send to waypoints (istio/istio#51445), and plaintext never reaches one.
    if (s.from.dataplane !== 'ambient' || s.tls !== 'mutual' || s.to.waypoint === undefined) return undefined;
    return this.waypoints.get(s.to.waypoint);
  }

  emit(s: Stream): void {
    const waypoint = this.waypointOf(s);
    // A sidecar reports requests of http/grpc calls and connections of tcp calls.
    const sidecarSees = s.layer === (s.protocol === 'tcp' ? 'connection' : 'request');
    const clientSidecar = s.from.dataplane === 'sidecar' && sidecarSees;
    // An ambient caller's plaintext into an in-mesh workload is traffic its ztunnel did not capture
    // (the pod left the mesh); its ztunnel only passes plaintext through to pods outside the mesh.
    const clientZtunnel =
      s.from.dataplane === 'ambient' &&
      s.layer === 'connection' &&
      (s.tls === 'mutual' || s.to.dataplane === 'none');
    const reachesBackend = !(waypoint && s.httpDenied);
    const serverSidecar = s.to.dataplane === 'sidecar' && sidecarSees;
    const serverZtunnel = s.to.dataplane === 'ambient' && s.layer === 'connection' && reachesBackend;
    if (!clientSidecar && !clientZtunnel && !waypoint && !serverSidecar && !serverZtunnel) return;

    // A caller outside the mesh is one anonymous source: no proxy tells its pods apart.
    const sources: (PlacedPod | undefined)[] =
      s.from.dataplane === 'none' ? [undefined] : this.pods.of(s.from);
    const hops: (Pod | undefined)[] = waypoint ? this.pods.ofWaypoint(waypoint) : [undefined];
    const targets = this.pods.of(s.to);
    const rate = s.rate / (sources.length * hops.length * targets.length);
    const streamKey = hashString(s.id, this.scenario.seed);
    sources.forEach((source, i) => {
      hops.forEach((hop, k) => {
        targets.forEach((target, j) => {
          // One process per pod path: every proxy on the path counts the same requests.
          const key = hop ? hashInts(streamKey, i, j, k + 1) : hashInts(streamKey, i, j);
          const process: SharedProcess = { key, rate, shape: s.shape, memoSecond: -1, memoValue: 0 };
          if (clientSidecar && source) this.envoy('source', s, source, process);
          if (clientZtunnel && source) {
            this.ztunnel('source', s, s.from, waypoint ?? s.to, this.ztunnelOf(s.from, source), process);
          }
          if (hop) this.envoy('waypoint', s, hop, process);
          if (serverSidecar) this.envoy('destination', s, target, process);
          if (serverZtunnel) {
            this.ztunnel('destination', s, waypoint ?? s.from, s.to, this.ztunnelOf(s.to, target), process);
          }
        });
      });
    });
  }

  private ztunnelOf(w: Workload, pod: PlacedPod): Pod {
    return this.pods.ztunnel(w.cluster, pod.node);
  }

  private envoy(reporter: EnvoyReporter, s: Stream, pod: Pod, process: SharedProcess): void {
    const tcp = s.layer === 'connection';
    const labels = renderLabels(
      istioLabels({
        reporter,
        from: s.from,
        to: s.to,
        // A waypoint counts the HBONE tunnels of http calls as tcp connections.
        protocol: tcp ? 'tcp' : s.protocol,
        tls: s.tls,
        code: s.code,
        responseFlags: s.flags,
        noEndpoint: reporter === 'waypoint' && s.httpDenied,
        trustDomain: this.scenario.trustDomain,
        pod: pod.name,
        podNamespace: pod.namespace,
      }),
      tcp ? TCP_OMIT : [],
    );
    if (!tcp) return this.out.add('istio_requests_total', labels, pod, process);
    // Envoy records a connection's open and close together for short connections; a TCP RBAC
    // denial is one of them, with flags "-": nothing marks it as denied.
    this.out.add('istio_tcp_connections_opened_total', labels, pod, process);
    this.out.add('istio_tcp_connections_closed_total', labels, pod, process);
  }

  private ztunnel(
    reporter: ZtunnelReporter,
    s: Stream,
    source: Peer,
    destination: Peer,
    pod: Pod,
    process: SharedProcess,
  ): void {
    const labels = (responseFlags: string) =>
      renderZtunnelLabels(
        ztunnelLabels({
          reporter,
          source,
          destination,
          service: { name: s.to.service, namespace: s.to.namespace },
          mutual: s.tls === 'mutual',
          responseFlags,
          trustDomain: this.scenario.trustDomain,
          pod: pod.name,
        }),
      );
    const opened = labels('-');
    this.out.add('istio_tcp_connections_opened_total', opened, pod, process);
    // ztunnel counts a connection as opened before it checks policy, and closes a refused one with
    // DENY; the client's ztunnel only sees the tunnel fail, so its close has no flag.
    const denied = s.l4Denied && reporter === 'destination';
    this.out.add('istio_tcp_connections_closed_total', denied ? labels('DENY') : opened, pod, process);
  }
}

/** Compiles `scenario` with its epoch (Unix ms) into pods and series. */
export function compileMesh(scenario: Scenario, epochMs: number): Mesh {
  const twins = scenario.incidents.flatMap((x) => (x.kind === 'twin_workload' ? [x.twin] : []));
  const workloads = new Map([...scenario.workloads, ...twins].map((w) => [w.id, w]));
  const ctx: StreamContext = {
    epochSeconds: epochMs / 1000,
    workload: (id) => {
      const found = workloads.get(id);
      if (!found) throw new Error(`scenario refers to unknown workload ${id}; it was not validated`);
      return found;
    },
  };
  const streams: Stream[] = [
    ...scenario.calls.flatMap((c, i) => callStreams(c, `calls[${i}]`, [], scenario.incidents, ctx)),
    ...scenario.incidents.flatMap((x, i) =>
      x.kind === 'new_caller' || x.kind === 'twin_workload'
        ? callStreams(x.call, `incidents[${i}]`, [window(x, 1, 0)], scenario.incidents, ctx)
        : denialStreams(x, i, ctx),
    ),
  ];
  const out = new SeriesSet();
  const reporters = new Reporters(
    scenario,
    new Pods(scenario, twins),
    new Map(scenario.waypoints.map((w) => [w.key, w])),
    out,
  );
  for (const stream of streams) reporters.emit(stream);
  return { epochMs, series: out.all() };
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
    if (process.memoSecond !== second) {
      process.memoValue = countBefore(process, second);
      process.memoSecond = second;
    }
    value += process.memoValue - (since > 0 ? countBefore(process, since) : 0);
  }
  return value;
}
