/**
 * Least-privilege Istio policies from the audit report (pure: report in, files out; the CLI
 * writes them). Per destination workload an ALLOW AuthorizationPolicy naming exactly the
 * principals whose requests and connections succeeded over the lookback, per namespace a
 * `deny-all` (Istio's allow-nothing) and, where no plaintext caller was seen, a STRICT
 * PeerAuthentication. What could not be generated safely is said in `NOTES.txt`, never guessed.
 * The choices and their Istio sources are in docs/audit.md ("Generated policies").
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { AuditReport, ReportCaller, ReportDestination } from './types';

/** Options of `generatePolicies`. */
export interface PolicyOptions {
  /** Succeeded requests plus connections a caller needs over the lookback to be allowed. */
  minRequests: number;
  /** Istio's root namespace (`istio-system` by default): policies there apply mesh-wide. */
  rootNamespace?: string;
  /** The lookback as the user wrote it (`7d`), for the files' comments. */
  lookbackText?: string;
}

/** One generated file: its path relative to the output folder, its text, and the object it holds (null for notes). */
export interface GeneratedFile {
  file: string;
  yaml: string;
  object: unknown;
}

const API_VERSION = 'security.istio.io/v1';
const DEFAULT_ROOT_NAMESPACE = 'istio-system';
const NOTES_FILE = 'NOTES.txt';
// lineWidth 0: never fold a long principal list across lines.
const YAML_OPTIONS = { lineWidth: 0 } as const;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A principal allowed at a destination, with the traffic it was learned from (callers sharing it summed). */
interface Allowed {
  principal: string;
  requests: number;
  connections: number;
  denied: number;
  firstSeen: string;
  lastSeen: string;
  callers: string[];
}

/** A destination's callers, grouped by principal, sorted by what the policy does with them. */
interface Classified {
  allowed: Allowed[];
  belowFloor: Allowed[];
  onlyDenied: Allowed[];
  withoutIdentity: ReportCaller[];
}

/** How a destination's pods are selected at the sidecar or ztunnel. */
type SelectorPlan =
  | { kind: 'own'; matchLabels: Record<string, string>; assumption: string }
  | { kind: 'merged'; app: string; members: ReportDestination[] }
  | { kind: 'none'; reason: string };

/** One (cluster, namespace) of the report and what was generated for it. */
interface Scope {
  cluster: string;
  namespace: string;
  dir: string;
  destinations: ReportDestination[];
}

/** Least-privilege AuthorizationPolicies, deny-all and STRICT PeerAuthentication for the report's destinations, sorted by file. */
export function generatePolicies(report: AuditReport, options: PolicyOptions): GeneratedFile[] {
  const rootNamespace = options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const clusters = [...new Set(report.destinations.map((d) => d.destination_cluster))].sort();
  const multiCluster = clusters.length > 1;
  const header = headerLines(report, options);
  const files: GeneratedFile[] = [];
  const notes: string[] = [];

  for (const scope of scopes(report, multiCluster)) {
    const where = scopeText(scope);
    if (scope.namespace === rootNamespace) {
      notes.push(
        `${where}: nothing generated: it is Istio's root namespace, where a policy without selector applies to the whole mesh and a selector selects workloads in every namespace.`,
      );
      continue;
    }
    if (!DNS_LABEL.test(scope.namespace) || scope.namespace.length > 63) {
      notes.push(
        `${where}: nothing generated: "${oneLine(scope.namespace)}" is not a Kubernetes namespace name.`,
      );
      continue;
    }
    const context: ScopeContext = { scope, header, multiCluster, floor: options.minRequests, files, notes };
    const uncovered = generateScope(context);
    const ns = report.namespaces.find(
      (n) => n.destination_cluster === scope.cluster && n.destination_namespace === scope.namespace,
    );
    if (uncovered.length === 0) files.push(denyAll(context));
    else {
      notes.push(
        `${where}: no deny-all generated: it would cut off traffic that no generated ALLOW lets through, at ${uncovered.join('; ')}.`,
      );
    }
    if (ns?.strict_ready === true && scope.destinations.every((d) => d.strict_ready)) {
      files.push(peerAuthentication(context));
    } else {
      const blockers = (ns?.blocked_by ?? scope.destinations.flatMap((d) => d.blocked_by)).map(
        (b) => `${b.source_workload_namespace}/${b.source_workload}`,
      );
      notes.push(
        `${where}: no STRICT PeerAuthentication: plaintext callers were seen (${[...new Set(blockers)].sort().join(', ') || 'see the report'}).`,
      );
    }
  }

  dedupePaths(files);
  if (notes.length > 0) {
    const text = [
      '# What `meshwatch audit` did not generate, and why.',
      ...header,
      '#',
      ...notes.map((n) => `# - ${oneLine(n)}`),
      '',
    ].join('\n');
    files.push({ file: NOTES_FILE, yaml: text, object: null });
  }
  return files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** What every per-scope builder needs. */
interface ScopeContext {
  scope: Scope;
  header: string[];
  multiCluster: boolean;
  floor: number;
  files: GeneratedFile[];
  notes: string[];
}

/** The per-workload policies of one namespace; returns the destinations a deny-all would break (empty: it is safe). */
function generateScope(context: ScopeContext): string[] {
  const { scope, floor } = context;
  const plans = selectorPlans(scope.destinations);
  const uncovered: string[] = [];
  const merged = new Map<string, ReportDestination[]>();

  for (const d of scope.destinations) {
    const classified = classify(d, floor);
    const plan = plans.get(d.destination_workload) as SelectorPlan;
    const name = d.destination_workload;
    if (d.workload.waypoint) {
      if (classified.allowed.length > 0) {
        const services = d.workload.services
          .filter((s) => s.startsWith(`${scope.namespace}/`))
          .map((s) => s.slice(scope.namespace.length + 1))
          .filter((s) => DNS_LABEL.test(s));
        if (services.length === 0) {
          uncovered.push(
            `${name} (behind a waypoint, but the telemetry names no service in its namespace to attach to)`,
          );
          context.notes.push(
            `${scopeText(scope)}/${name}: no policy: behind a waypoint, and no service to target.`,
          );
        } else context.files.push(waypointPolicy(context, d, classified, [...new Set(services)].sort()));
      }
      // Without an allowed caller the deny-all at ztunnel denies everything, waypoint included: least privilege.
      if (classified.allowed.length === 0) continue;
      const principals = (d.workload.waypoint_principals ?? []).map(stripSpiffe).sort();
      if (plan.kind === 'own' && principals.length > 0) {
        context.files.push(waypointTunnelPolicy(context, d, plan, [...new Set(principals)]));
      } else {
        const why =
          principals.length === 0
            ? 'the waypoint identity is unknown'
            : `its pods cannot be selected (${planReason(plan)})`;
        uncovered.push(`${name} (ztunnel sees the waypoint's identity, and ${why})`);
      }
      continue;
    }
    if (classified.allowed.length === 0) continue; // the deny-all covers it; the deny-all says so
    if (plan.kind === 'own')
      context.files.push(workloadPolicy(context, [d], plan.matchLabels, plan.assumption));
    else if (plan.kind === 'merged') merged.set(plan.app, plan.members);
    else {
      uncovered.push(`${name} (${plan.reason})`);
      context.notes.push(`${scopeText(scope)}/${name}: no policy: ${plan.reason}.`);
    }
  }
  for (const [app, members] of [...merged].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const assumption = `the workloads ${members.map((m) => m.destination_workload).join(', ')} share app=${app} without distinct version labels, so one policy selects them all and allows the union of their callers.`;
    context.files.push(workloadPolicy(context, members, { app }, assumption));
  }
  return uncovered;
}

/** Which labels select each destination's pods: `app`, `app`+`version` where several share an app, or a merge. */
function selectorPlans(destinations: ReportDestination[]): Map<string, SelectorPlan> {
  const plans = new Map<string, SelectorPlan>();
  const byApp = new Map<string, ReportDestination[]>();
  for (const d of destinations) {
    const app = d.workload.app;
    if (app === undefined || app === '') {
      plans.set(d.destination_workload, {
        kind: 'none',
        reason: 'the telemetry names no app label for its pods, so no selector can be derived',
      });
    } else byApp.set(app, [...(byApp.get(app) ?? []), d]);
  }
  for (const [app, group] of byApp) {
    const [only] = group;
    if (group.length === 1 && only !== undefined) {
      plans.set(only.destination_workload, {
        kind: 'own',
        matchLabels: { app },
        assumption: `the pods of ${only.destination_workload} carry app=${app} (from the telemetry's destination_app), and so do only pods of this workload.`,
      });
      continue;
    }
    const versions = group.map((d) => d.workload.version ?? '');
    if (versions.every((v) => v !== '') && new Set(versions).size === versions.length) {
      for (const d of group) {
        plans.set(d.destination_workload, {
          kind: 'own',
          matchLabels: { app, version: d.workload.version as string },
          assumption: `the pods of ${d.destination_workload} carry app=${app} and version=${d.workload.version as string} (from destination_app and destination_version); the version label tells it from the other workloads with app=${app}.`,
        });
      }
    } else if (group.some((d) => d.workload.waypoint)) {
      for (const d of group) {
        plans.set(d.destination_workload, {
          kind: 'none',
          reason: `app=${app} is shared with workloads behind a waypoint and without distinct version labels, so a selector cannot tell them apart`,
        });
      }
    } else for (const d of group) plans.set(d.destination_workload, { kind: 'merged', app, members: group });
  }
  return plans;
}

function planReason(plan: SelectorPlan): string {
  if (plan.kind === 'none') return plan.reason;
  return plan.kind === 'merged' ? `app=${plan.app} is shared with other workloads` : 'selected';
}

/**
 * A principal is allowed when its succeeded volume (summed over the callers that share it: the
 * same service account in two clusters, or two workloads) reaches the floor; never when it only
 * was denied, and callers without identity cannot be named at all.
 */
function classify(d: ReportDestination, floor: number): Classified {
  const hasIdentity = (c: ReportCaller): boolean =>
    c.identity && c.source_principal !== 'unknown' && c.source_principal !== '';
  const byPrincipal = new Map<string, Allowed>();
  for (const c of d.callers.filter(hasIdentity)) {
    const principal = stripSpiffe(c.source_principal);
    const seen = byPrincipal.get(principal);
    if (seen === undefined) {
      byPrincipal.set(principal, {
        principal,
        requests: c.requests,
        connections: c.connections,
        denied: c.denied,
        firstSeen: c.first_seen,
        lastSeen: c.last_seen,
        callers: [callerLabel(c)],
      });
      continue;
    }
    seen.requests += c.requests;
    seen.connections += c.connections;
    seen.denied += c.denied;
    seen.firstSeen = c.first_seen < seen.firstSeen ? c.first_seen : seen.firstSeen;
    seen.lastSeen = c.last_seen > seen.lastSeen ? c.last_seen : seen.lastSeen;
    seen.callers = [...new Set([...seen.callers, callerLabel(c)])].sort();
  }
  const result: Classified = {
    allowed: [],
    belowFloor: [],
    onlyDenied: [],
    withoutIdentity: [...d.callers_without_identity, ...d.callers.filter((c) => !hasIdentity(c))],
  };
  for (const a of [...byPrincipal.values()].sort((x, y) => (x.principal < y.principal ? -1 : 1))) {
    const succeeded = succeededVolume(a);
    if (succeeded === 0 && a.denied > 0) result.onlyDenied.push(a);
    else if (succeeded === 0 || succeeded < floor) result.belowFloor.push(a);
    else result.allowed.push(a);
  }
  return result;
}

function succeededVolume(c: { requests: number; connections: number; denied: number }): number {
  return Math.max(0, c.requests + c.connections - c.denied);
}

/** Istio writes principals in policies without the `spiffe://` scheme (AuthorizationPolicy `Source.principals`). */
function stripSpiffe(principal: string): string {
  return principal.startsWith('spiffe://') ? principal.slice('spiffe://'.length) : principal;
}

/** ALLOW at the sidecar (or ztunnel, ambient without waypoint) of the selected pods. */
function workloadPolicy(
  context: ScopeContext,
  members: ReportDestination[],
  matchLabels: Record<string, string>,
  assumption: string,
): GeneratedFile {
  const { scope } = context;
  const merged = members.length > 1;
  const base = merged ? (matchLabels.app as string) : (members[0] as ReportDestination).destination_workload;
  const classes = members.map((m) => ({ d: m, c: classify(m, context.floor) }));
  const principals = [...new Set(classes.flatMap(({ c }) => c.allowed.map((a) => a.principal)))].sort();
  const object = {
    apiVersion: API_VERSION,
    kind: 'AuthorizationPolicy',
    metadata: { name: dnsLabel(`meshwatch-allow-${base}`), namespace: scope.namespace },
    spec: { selector: { matchLabels }, action: 'ALLOW', rules: [{ from: [{ source: { principals } }] }] },
  };
  const mode = members.some((m) => m.workload.ambient)
    ? 'ambient without waypoint: ztunnel enforces it, L4'
    : 'sidecar';
  const lines = [
    ...context.header,
    ...clusterLines(context),
    `# Destination: ${members.map((m) => `${scope.namespace}/${m.destination_workload}`).join(', ')} (${mode}).`,
    `# Target: selector ${labelsText(matchLabels)}. Assumption: ${assumption}`,
    '#   Check it with `kubectl get pods -n ' +
      scope.namespace +
      ' -l ' +
      labelsText(matchLabels, ',') +
      '` before applying.',
    ...classes.flatMap(({ d, c }) => trafficLines(d, c, context.floor, merged)),
  ];
  return file(context, `${base}.yaml`, lines, object);
}

/** ALLOW attached to the services a waypoint enforces for (ambient with waypoint). */
function waypointPolicy(
  context: ScopeContext,
  d: ReportDestination,
  c: Classified,
  services: string[],
): GeneratedFile {
  const { scope } = context;
  const object = {
    apiVersion: API_VERSION,
    kind: 'AuthorizationPolicy',
    metadata: { name: dnsLabel(`meshwatch-allow-${d.destination_workload}`), namespace: scope.namespace },
    spec: {
      targetRefs: services.map((name) => ({ kind: 'Service', group: '', name })),
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: c.allowed.map((a) => a.principal) } }] }],
    },
  };
  const shared = scope.destinations
    .filter(
      (o) =>
        o !== d &&
        o.workload.waypoint &&
        o.workload.services.some((s) => services.includes(serviceName(s, scope))),
    )
    .map((o) => o.destination_workload);
  const lines = [
    ...context.header,
    ...clusterLines(context),
    `# Destination: ${scope.namespace}/${d.destination_workload} (ambient, behind a waypoint).`,
    `# Target: targetRefs to the services it was reached through (${services.join(', ')}), which the waypoint enforces.`,
    "#   A selector would be enforced by the workload's ztunnel, which sees the waypoint's identity, not the caller's",
    '#   (https://istio.io/latest/docs/ambient/usage/policy/, https://istio.io/latest/docs/ambient/usage/l7-features/).',
    '#   Assumption: these services send their traffic through the waypoint (istio.io/use-waypoint).',
    ...(shared.length > 0
      ? [
          `#   The same services also reach ${shared.sort().join(', ')}: Istio allows a request when any ALLOW policy`,
          '#   attached to the service matches, so their callers can reach this workload through them too.',
        ]
      : []),
    ...trafficLines(d, c, context.floor, false),
    '# Callers that reach the pods without the waypoint (sidecars, outside the mesh) are not checked by this policy:',
    `# the ztunnel side is ${d.destination_workload}-waypoint.yaml, which lets only the waypoint in.`,
  ];
  return file(context, `${d.destination_workload}.yaml`, lines, object);
}

/** ALLOW at the ztunnel of a waypoint's workload for the waypoint's identity, so that the deny-all does not cut the waypoint off. */
function waypointTunnelPolicy(
  context: ScopeContext,
  d: ReportDestination,
  plan: Extract<SelectorPlan, { kind: 'own' }>,
  principals: string[],
): GeneratedFile {
  const { scope } = context;
  const object = {
    apiVersion: API_VERSION,
    kind: 'AuthorizationPolicy',
    metadata: {
      name: dnsLabel(`meshwatch-allow-waypoint-${d.destination_workload}`),
      namespace: scope.namespace,
    },
    spec: {
      selector: { matchLabels: plan.matchLabels },
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals } }] }],
    },
  };
  const lines = [
    ...context.header,
    ...clusterLines(context),
    `# Destination: ${scope.namespace}/${d.destination_workload} (ambient, behind a waypoint): the ztunnel side.`,
    "# The workload's ztunnel sees every connection through the waypoint with the waypoint's identity",
    '# (https://istio.io/latest/docs/ambient/usage/policy/), so it allows only the waypoint: with the deny-all of this',
    '# namespace, traffic that bypasses the waypoint is denied, and the real callers are checked at the waypoint.',
    `# Target: selector ${labelsText(plan.matchLabels)}. Assumption: ${plan.assumption}`,
    `# Learned from: the waypoint connections ztunnel reported into this workload: ${principals.join(', ')}.`,
  ];
  return file(context, `${d.destination_workload}-waypoint.yaml`, lines, object);
}

/** Istio's allow-nothing (`spec: {}`) for the whole namespace. */
function denyAll(context: ScopeContext): GeneratedFile {
  const { scope } = context;
  const object = {
    apiVersion: API_VERSION,
    kind: 'AuthorizationPolicy',
    metadata: { name: 'deny-all', namespace: scope.namespace },
    spec: {},
  };
  const unallowed = scope.destinations
    .map((d) => ({ d, c: classify(d, context.floor) }))
    .filter(({ c }) => c.allowed.length === 0);
  const lines = [
    ...context.header,
    ...clusterLines(context),
    `# Namespace: ${scope.namespace}. An ALLOW policy with an empty spec matches no request: Istio's "allow-nothing",`,
    '# which denies every request to every workload of the namespace that no other ALLOW policy lets through',
    '# (https://istio.io/latest/docs/reference/config/security/authorization-policy/). For the workloads with a',
    '# meshwatch-allow-* policy it changes nothing (any matching ALLOW allows); it denies the rest, and any workload',
    '# added later, until it gets its own ALLOW.',
    ...(unallowed.length > 0
      ? [
          `# WARNING: no caller was allowed for ${unallowed.map(({ d }) => d.destination_workload).join(', ')} over the lookback:`,
          '#   this policy denies all traffic to them. Least privilege, but check that they are really unused.',
          ...unallowed.flatMap(({ d, c }) => leftOutLines(d, c, true)),
        ]
      : []),
    '# Callers without an identity (plaintext, outside the mesh) cannot match a principal: they are denied everywhere here.',
  ];
  return file(context, 'deny-all.yaml', lines, object);
}

/** Namespace-wide STRICT mTLS, for a namespace where no plaintext caller was seen. */
function peerAuthentication(context: ScopeContext): GeneratedFile {
  const { scope } = context;
  const object = {
    apiVersion: API_VERSION,
    kind: 'PeerAuthentication',
    metadata: { name: 'default', namespace: scope.namespace },
    spec: { mtls: { mode: 'STRICT' } },
  };
  const lines = [
    ...context.header,
    ...clusterLines(context),
    `# Namespace: ${scope.namespace}: every destination in it (${scope.destinations.map((d) => d.destination_workload).join(', ')})`,
    '# is STRICT-ready: no plaintext caller over the lookback. Namespace-wide (no selector), named `default` as in',
    "# Istio's example (https://istio.io/latest/docs/reference/config/security/peer_authentication/).",
  ];
  return file(context, 'peer-authentication.yaml', lines, object);
}

/** The lines about the traffic a policy was learned from and the callers it leaves out. */
function trafficLines(d: ReportDestination, c: Classified, floor: number, named: boolean): string[] {
  const of = named ? ` of ${d.destination_workload}` : '';
  const lines = [
    `# Allowed${of}: callers whose succeeded requests+connections reached the floor of ${floor}:`,
  ];
  if (c.allowed.length === 0) lines.push('#   (none)');
  for (const a of c.allowed) {
    lines.push(
      `#   ${a.principal}: ${a.requests} requests, ${a.connections} connections, ${a.denied} denied, first seen ${a.firstSeen}, last seen ${a.lastSeen} (${a.callers.join(', ')})`,
    );
  }
  lines.push(...leftOutLines(d, c, named));
  const namespaces = [...new Set(c.allowed.map((a) => principalNamespace(a.principal)))];
  if (c.allowed.length > 1 && namespaces.length === 1 && namespaces[0] !== undefined) {
    lines.push(
      `# Every allowed caller comes from namespace ${namespaces[0]}: \`namespaces: [${namespaces[0]}]\` would allow the whole namespace (broader).`,
    );
  }
  return lines;
}

/** The callers a policy leaves out, and why. */
function leftOutLines(d: ReportDestination, c: Classified, named: boolean): string[] {
  const of = named ? ` of ${d.destination_workload}` : '';
  const principal = (a: Allowed): string => `${a.principal} (${a.callers.join(', ')})`;
  const leftOut = [
    ...c.belowFloor.map(
      (x) =>
        `${principal(x)}: below the floor (${succeededVolume(x)} succeeded, first seen ${x.firstSeen}, last seen ${x.lastSeen})`,
    ),
    ...c.onlyDenied.map((x) => `${principal(x)}: only denied (${x.denied} denied, none succeeded)`),
    ...c.withoutIdentity.map(
      (x) =>
        `${callerText(x)}: without identity, cannot be allowed by principal: this policy denies it (${x.requests} requests, ${x.connections} connections)`,
    ),
  ];
  return [`# Left out${of}:${leftOut.length === 0 ? ' (none)' : ''}`, ...leftOut.map((l) => `#   ${l}`)];
}

function headerLines(report: AuditReport, options: PolicyOptions): string[] {
  const lookback = options.lookbackText === undefined ? '' : ` (${oneLine(options.lookbackText)})`;
  return [
    '# Generated by `meshwatch audit` from the traffic Prometheus recorded; review before applying.',
    `# Lookback: ${report.lookback.from} .. ${report.lookback.to}${lookback}.`,
  ];
}

function clusterLines(context: ScopeContext): string[] {
  if (!context.multiCluster) return [];
  return [
    `# Cluster: ${context.scope.cluster || '(unnamed)'}. The same namespace and workload in another cluster is another`,
    '# workload with its own file: apply each file to its own cluster.',
  ];
}

/** The file: comment block, then the YAML of the object; every line of the comment is escaped to stay a comment. */
function file(context: ScopeContext, name: string, lines: string[], object: unknown): GeneratedFile {
  const comment = lines
    .map((l) => (l.startsWith('#') ? `#${oneLine(l.slice(1))}` : `# ${oneLine(l)}`))
    .join('\n');
  const path = `${context.scope.dir}/${pathPart(name.replace(/\.yaml$/, ''))}.yaml`;
  return { file: path, yaml: `${comment}\n${stringify(object, YAML_OPTIONS)}`, object };
}

/** The report's (cluster, namespace) pairs with their destinations, sorted. */
function scopes(report: AuditReport, multiCluster: boolean): Scope[] {
  const byKey = new Map<string, Scope>();
  for (const d of report.destinations) {
    const key = `${d.destination_cluster}\u0000${d.destination_namespace}`;
    let scope = byKey.get(key);
    if (scope === undefined) {
      const cluster = d.destination_cluster;
      const nsDir = pathPart(d.destination_namespace);
      const dir = multiCluster ? `${pathPart(cluster === '' ? 'unnamed-cluster' : cluster)}/${nsDir}` : nsDir;
      scope = { cluster, namespace: d.destination_namespace, dir, destinations: [] };
      byKey.set(key, scope);
    }
    scope.destinations.push(d);
  }
  const sorted = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s);
  for (const s of sorted)
    s.destinations.sort((a, b) => (a.destination_workload < b.destination_workload ? -1 : 1));
  return sorted;
}

/** A DNS-1123 label from any text: lowercase, `[a-z0-9-]`, at most 63; a hash of the original keeps altered names apart. */
export function dnsLabel(text: string, max = 63): string {
  const clean = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (clean === text && clean.length <= max && clean !== '') return clean;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 8);
  const head = clean.slice(0, max - hash.length - 1).replace(/-+$/g, '');
  return head === '' ? hash : `${head}-${hash}`;
}

/** A path segment from telemetry text: never `..`, a slash or a control character. */
function pathPart(text: string): string {
  return dnsLabel(text, 100);
}

/** Two objects whose names sanitize alike would share a file: keep both, told apart by a hash. */
function dedupePaths(files: GeneratedFile[]): void {
  const seen = new Map<string, number>();
  for (const f of files) seen.set(f.file, (seen.get(f.file) ?? 0) + 1);
  for (const f of files) {
    if ((seen.get(f.file) ?? 0) > 1) {
      const name = (f.object as { metadata: { name: string } }).metadata.name;
      f.file = f.file.replace(
        /\.yaml$/,
        `-${createHash('sha256').update(name).digest('hex').slice(0, 8)}.yaml`,
      );
    }
  }
}

function serviceName(service: string, scope: Scope): string {
  return service.startsWith(`${scope.namespace}/`) ? service.slice(scope.namespace.length + 1) : service;
}

function principalNamespace(principal: string): string | undefined {
  return /\/ns\/([^/]+)\/sa\//.exec(principal)?.[1];
}

function labelsText(labels: Record<string, string>, separator = ' '): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(separator);
}

function callerLabel(c: ReportCaller): string {
  const cluster = c.source_cluster === '' ? '' : ` in ${c.source_cluster}`;
  return `${c.source_workload_namespace}/${c.source_workload}${cluster}`;
}

function callerText(c: ReportCaller): string {
  return `${c.source_principal === 'unknown' ? '(no principal)' : stripSpiffe(c.source_principal)} (${callerLabel(c)})`;
}

function scopeText(scope: Scope): string {
  return scope.cluster === '' ? scope.namespace : `${scope.cluster}/${scope.namespace}`;
}

/** Label values come from telemetry: a newline in one must not end the comment and inject YAML. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
}
