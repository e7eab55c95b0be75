/**
 * A pure evaluator of Istio authorization for one request or connection as the server side's
 * metrics describe it: who the caller is (its SPIFFE principal, or none over plaintext), whether it
 * came over mTLS, and what the telemetry says about the destination workload. Anything the metrics
 * cannot tell (paths, methods, ports, headers, JWTs, IPs, labels other than `app`/`version`, an
 * external authorizer's answer) is unknown; the logic is three-valued (Kleene), so an unknown only
 * makes the verdict `unjudged` when it could change the outcome.
 *
 * Semantics, from Istio's documentation:
 * - https://istio.io/latest/docs/reference/config/security/authorization-policy/ (CUSTOM, then DENY,
 *   then ALLOW; no ALLOW policy means allow; rules absent match nothing, `{}` matches everything;
 *   exact, prefix `x*`, suffix `*x` and presence `*` matching; the `istio.io/dry-run` annotation)
 * - https://istio.io/latest/docs/concepts/security/#authorization-policies (policy target, root
 *   namespace, and "Dependency on mutual TLS": principals and namespaces come from the peer certificate)
 * - https://istio.io/latest/docs/concepts/security/#peer-authentication (STRICT/PERMISSIVE/DISABLE,
 *   UNSET inherits, narrowest policy wins: workload, then namespace, then mesh)
 * - https://istio.io/latest/docs/ambient/usage/l7-features/ (targetRefs attach a policy to a waypoint
 *   or to a Service through its waypoint; selector policies are enforced by ztunnel)
 */
import type { WorkloadFacts } from './types';
import type {
  LoadedAuthorizationPolicy,
  LoadedPeerAuthentication,
  MtlsMode,
  PolicyCondition,
  PolicyOperation,
  PolicyRule,
  PolicySet,
  PolicySource,
} from './policy-files';

/** The outcome for one request: allowed, denied, or not decidable from metrics. */
export type Verdict = 'allow' | 'deny' | 'unjudged';

/** One request or connection as the server side's telemetry describes it. */
export interface EvaluationRequest {
  destination: { cluster: string; namespace: string; workload: string; facts: WorkloadFacts };
  /** `source_principal` as telemetry writes it (`spiffe://td/ns/NS/sa/SA`), or `unknown`. */
  source: { principal: string };
  /** True over mTLS, false in plaintext. */
  mtls: boolean;
}

/** The verdict, the policy that decides it (`Kind namespace/name`, empty for Istio's default) and why. */
export interface Evaluation {
  verdict: Verdict;
  decided_by: string;
  reason: string;
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Istio's root namespace (meshConfig.rootNamespace); default `istio-system`. */
  rootNamespace?: string;
}

/** Three-valued truth (null: unknown) with the reasons behind it. */
interface Tri {
  v: boolean | null;
  why: string[];
}

/** The caller as one enforcement point sees it. */
type Peer =
  | { kind: 'none' }
  | { kind: 'unknown'; why: string }
  | { kind: 'known'; principal: string; namespace: string; serviceAccount: string };

/** Where a policy is enforced for this traffic: the workload's sidecar or ztunnel, or a waypoint. */
type Layer = 'sidecar' | 'ztunnel' | 'waypoint';

/** One check on the way in: passes (true), refuses (false) or cannot be told (null). */
interface Step {
  pass: boolean | null;
  by: string[];
  reason: string[];
}

const T: Tri = { v: true, why: [] };
const F: Tri = { v: false, why: [] };

function tri(v: boolean | null, why: string): Tri {
  return { v, why: [why] };
}

function and(xs: Tri[]): Tri {
  const no = xs.find((x) => x.v === false);
  if (no) return no;
  const unknown = xs.filter((x) => x.v === null);
  if (unknown.length > 0) return { v: null, why: unknown.flatMap((x) => x.why) };
  return { v: true, why: xs.flatMap((x) => x.why) };
}

function or(xs: Tri[]): Tri {
  const yes = xs.find((x) => x.v === true);
  if (yes) return yes;
  const unknown = xs.filter((x) => x.v === null);
  if (unknown.length > 0) return { v: null, why: unknown.flatMap((x) => x.why) };
  return { v: false, why: xs.flatMap((x) => x.why) };
}

function not(x: Tri): Tri {
  return { v: x.v === null ? null : !x.v, why: x.why };
}

function prefixed(x: Tri, prefix: string): Tri {
  return { v: x.v, why: x.why.map((w) => `${prefix}${w}`) };
}

/** Istio's string match: `*` is presence (non-empty), `x*` prefix, `*x` suffix, else exact. */
export function matchValue(pattern: string, value: string): boolean {
  if (pattern === '*') return value !== '';
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

/** The identity Istio's authorization sees: the principal without `spiffe://`, and its namespace. */
function peerOf(principal: string, mtls: boolean): Peer {
  if (!mtls) return { kind: 'none' };
  const id = principal.startsWith('spiffe://') ? principal.slice('spiffe://'.length) : principal;
  if (id === '' || id === 'unknown') {
    return { kind: 'unknown', why: 'the mTLS caller has no source_principal in the telemetry' };
  }
  const m = /^[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id);
  return { kind: 'known', principal: id, namespace: m?.[1] ?? '', serviceAccount: m?.[2] ?? '' };
}

function describePeer(peer: Peer): string {
  if (peer.kind === 'none') return 'a plaintext caller (no principal)';
  if (peer.kind === 'unknown') return 'a caller whose principal is unknown';
  return `principal ${peer.principal}`;
}

/**
 * A field taken from the peer certificate. Over plaintext there is none: the positive list cannot
 * match and the negative list always does (the concepts page, "Dependency on mutual TLS").
 */
function peerField(
  patterns: string[],
  peer: Peer,
  pick: (p: Extract<Peer, { kind: 'known' }>) => string,
  exact = false,
): Tri {
  if (peer.kind === 'none') return F;
  if (peer.kind === 'unknown') return tri(null, peer.why);
  const value = pick(peer);
  return { v: patterns.some((p) => (exact ? p === value : matchValue(p, value))), why: [] };
}

const UNKNOWN_SOURCE_FIELDS: Record<string, string> = {
  requestPrincipals: 'the request principal (JWT)',
  notRequestPrincipals: 'the request principal (JWT)',
  ipBlocks: 'the source IP',
  notIpBlocks: 'the source IP',
  remoteIpBlocks: 'the remote IP',
  notRemoteIpBlocks: 'the remote IP',
};

/** How ztunnel treats HTTP-only attributes, which it cannot see; undefined for Envoy (sidecar, waypoint). */
type HttpAttributes = 'drop-rule' | 'ignore-attribute' | undefined;

const HTTP_SOURCE_FIELDS = new Set([
  'requestPrincipals',
  'notRequestPrincipals',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
]);
const HTTP_OPERATION_FIELDS = new Set(['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths']);
// ztunnel's L4 condition keys (istio/istio pilot/pkg/serviceregistry/kube/controller/ambient/authorization.go).
const L4_CONDITION_KEYS = new Set([
  'source.ip',
  'source.namespace',
  'source.principal',
  'destination.ip',
  'destination.port',
]);

function matchSource(source: PolicySource, peer: Peer, http: HttpAttributes): Tri {
  const parts: Tri[] = [];
  const principal = (p: Extract<Peer, { kind: 'known' }>): string => p.principal;
  const namespace = (p: Extract<Peer, { kind: 'known' }>): string => p.namespace;
  const serviceAccount = (p: Extract<Peer, { kind: 'known' }>): string =>
    p.namespace === '' ? '' : `${p.namespace}/${p.serviceAccount}`;
  if (source.principals) parts.push(peerField(source.principals, peer, principal));
  if (source.notPrincipals) parts.push(not(peerField(source.notPrincipals, peer, principal)));
  if (source.namespaces) parts.push(peerField(source.namespaces, peer, namespace));
  if (source.notNamespaces) parts.push(not(peerField(source.notNamespaces, peer, namespace)));
  if (source.serviceAccounts) parts.push(peerField(source.serviceAccounts, peer, serviceAccount, true));
  if (source.notServiceAccounts)
    parts.push(not(peerField(source.notServiceAccounts, peer, serviceAccount, true)));
  for (const [field, what] of Object.entries(UNKNOWN_SOURCE_FIELDS)) {
    if (!source[field as keyof PolicySource]) continue;
    // ztunnel enforces a DENY rule without its HTTP attributes: they match anything there.
    if (http === 'ignore-attribute' && HTTP_SOURCE_FIELDS.has(field)) continue;
    parts.push(tri(null, `from.source.${field} depends on ${what}, which metrics do not carry`));
  }
  return and(parts);
}

function matchOperation(operation: PolicyOperation, http: HttpAttributes): Tri {
  const fields = Object.keys(operation).filter(
    (k) =>
      operation[k as keyof PolicyOperation] !== undefined &&
      !(http === 'ignore-attribute' && HTTP_OPERATION_FIELDS.has(k)),
  );
  if (fields.length === 0) return T;
  return tri(null, `to.operation.${fields.join('/')} is not in the metrics`);
}

function matchCondition(condition: PolicyCondition, peer: Peer, http: HttpAttributes): Tri {
  let field: ((patterns: string[]) => Tri) | undefined;
  if (condition.key === 'source.principal') field = (ps) => peerField(ps, peer, (p) => p.principal);
  else if (condition.key === 'source.namespace') field = (ps) => peerField(ps, peer, (p) => p.namespace);
  if (!field) {
    if (http === 'ignore-attribute' && !L4_CONDITION_KEYS.has(condition.key)) return T;
    return tri(null, `when ${condition.key} is not in the metrics`);
  }
  const parts: Tri[] = [];
  if (condition.values) parts.push(field(condition.values));
  if (condition.notValues) parts.push(not(field(condition.notValues)));
  return and(parts);
}

/** Whether a rule uses attributes only an HTTP proxy sees (the list ztunnel warns about). */
function usesHttp(rule: PolicyRule): boolean {
  return (
    (rule.from ?? []).some((s) => Object.keys(s).some((k) => HTTP_SOURCE_FIELDS.has(k))) ||
    (rule.to ?? []).some((o) => Object.keys(o).some((k) => HTTP_OPERATION_FIELDS.has(k))) ||
    (rule.when ?? []).some((c) => !L4_CONDITION_KEYS.has(c.key))
  );
}

function matchRule(rule: PolicyRule, peer: Peer, http: HttpAttributes): Tri {
  // ztunnel omits ALLOW rules with HTTP attributes: they never match (fail closed).
  if (http === 'drop-rule' && usesHttp(rule)) return F;
  const parts: Tri[] = [];
  if (rule.from) parts.push(or(rule.from.map((s) => matchSource(s, peer, http))));
  if (rule.to) parts.push(or(rule.to.map((o) => matchOperation(o, http))));
  if (rule.when) parts.push(and(rule.when.map((c) => matchCondition(c, peer, http))));
  return and(parts);
}

function matchPolicy(policy: LoadedAuthorizationPolicy, peer: Peer, layer: Layer): Tri {
  if (policy.rules === undefined) return F;
  const http: HttpAttributes =
    layer !== 'ztunnel' ? undefined : policy.action === 'DENY' ? 'ignore-attribute' : 'drop-rule';
  return or(
    policy.rules.map((rule, i) => {
      const m = prefixed(matchRule(rule, peer, http), `rule ${i + 1}: `);
      return m.v === true ? { v: true, why: [`rule ${i + 1}`] } : m;
    }),
  );
}

/** Whether a `matchLabels` selects the workload: only `app` and `version` are known from telemetry. */
function matchSelector(labels: Record<string, string>, facts: WorkloadFacts): Tri {
  return and(
    Object.entries(labels).map(([key, value]) => {
      const known = key === 'app' ? facts.app : key === 'version' ? facts.version : undefined;
      if (known === undefined) {
        return tri(
          null,
          `selector label ${key}=${value} is not known from telemetry (only app and version are)`,
        );
      }
      return { v: known === value, why: [] };
    }),
  );
}

function policyId(p: { kind: string; namespace: string; name: string }): string {
  return `${p.kind} ${p.namespace}/${p.name}`;
}

/** Whether an AuthorizationPolicy is enforced at `layer` for this destination. */
function applies(
  policy: LoadedAuthorizationPolicy,
  layer: Layer,
  request: EvaluationRequest,
  root: string,
): Tri {
  // Istio does not enforce a policy marked for dry-run (reference page, `istio.io/dry-run`).
  if (policy.dryRunAnnotation) return F;
  // ztunnel does not support CUSTOM (or AUDIT): it skips such policies (ambient/authorization.go).
  if (layer === 'ztunnel' && policy.action !== 'ALLOW' && policy.action !== 'DENY') return F;
  const { namespace, facts } = request.destination;
  if (layer === 'waypoint') {
    if (policy.targetRefs === undefined) return F;
    return or(
      policy.targetRefs.map((ref) => {
        if (ref.kind === 'Service' && (ref.group === '' || ref.group === 'core')) {
          return { v: facts.services.includes(`${ref.namespace ?? policy.namespace}/${ref.name}`), why: [] };
        }
        if (ref.kind === 'GatewayClass')
          return { v: ref.name === 'istio-waypoint' && policy.namespace === root, why: [] };
        return tri(
          null,
          `targetRefs ${ref.kind} ${ref.name}: the telemetry does not say which waypoint serves the workload`,
        );
      }),
    );
  }
  // Sidecars and ztunnel enforce only selector-scoped policies; targetRefs attach to gateways/waypoints.
  if (policy.targetRefs !== undefined) return F;
  if (policy.namespace !== root && policy.namespace !== namespace) return F;
  return policy.selector ? matchSelector(policy.selector, facts) : T;
}

/** The layers this traffic passes and the caller each sees. */
function layersOf(request: EvaluationRequest): Array<{ layer: Layer; peer: Peer }> {
  const { facts } = request.destination;
  const peer = peerOf(request.source.principal, request.mtls);
  if (!facts.ambient && !facts.waypoint) return [{ layer: 'sidecar', peer }];
  if (facts.waypoint && request.mtls) {
    // Through a waypoint the workload's ztunnel sees the waypoint's identity, not the caller's
    // (https://istio.io/latest/docs/ambient/usage/policy/): the one `collect.ts` read from the
    // waypoint's own connections, when it names one (`evaluate` splits several).
    const [waypointPrincipal, ...others] = facts.waypoint_principals ?? [];
    const known = waypointPrincipal !== undefined && others.length === 0;
    return [
      { layer: 'waypoint', peer },
      {
        layer: 'ztunnel',
        peer: known
          ? peerOf(waypointPrincipal, true)
          : {
              kind: 'unknown',
              why: "ztunnel sees the waypoint's identity, which the telemetry does not name",
            },
      },
    ];
  }
  return [{ layer: 'ztunnel', peer }];
}

/** One possible effective mTLS mode of the workload and the PeerAuthentication that sets it. */
interface ModeOutcome {
  mode: Exclude<MtlsMode, 'UNSET'>;
  by: string;
}

function peerAuthenticationOutcomes(
  pas: LoadedPeerAuthentication[],
  request: EvaluationRequest,
  root: string,
  why: string[],
): ModeOutcome[] {
  const { namespace, facts } = request.destination;
  const mesh = pas.filter((p) => p.namespace === root && isEmptySelector(p.selector));
  const nsWide =
    namespace === root ? [] : pas.filter((p) => p.namespace === namespace && isEmptySelector(p.selector));
  const specific = pas.filter(
    (p) => !isEmptySelector(p.selector) && (p.namespace === namespace || p.namespace === root),
  );
  const meshOutcomes = (): ModeOutcome[] => {
    const set = mesh.filter((p) => p.mode !== 'UNSET');
    // A mesh-wide policy with an unset mode is PERMISSIVE, as is a mesh with none.
    if (set.length === 0) return [{ mode: 'PERMISSIVE', by: mesh[0] ? policyId(mesh[0]) : '' }];
    return set.map((p) => ({ mode: p.mode as ModeOutcome['mode'], by: policyId(p) }));
  };
  const nsOutcomes = (): ModeOutcome[] => {
    const set = nsWide.filter((p) => p.mode !== 'UNSET');
    return set.length === 0
      ? meshOutcomes()
      : set.map((p) => ({ mode: p.mode as ModeOutcome['mode'], by: policyId(p) }));
  };
  const ofPolicy = (p: LoadedPeerAuthentication): ModeOutcome[] => {
    const own = p.mode === 'UNSET' ? nsOutcomes() : [{ mode: p.mode, by: policyId(p) }];
    const ports = Object.entries(p.portLevelMtls);
    if (ports.length > 0) why.push(`${policyId(p)} sets portLevelMtls and the metrics do not carry the port`);
    const portOutcomes = ports.flatMap(([, mode]) =>
      mode === 'UNSET' ? nsOutcomes() : [{ mode, by: policyId(p) } as ModeOutcome],
    );
    return [...own, ...portOutcomes];
  };
  const sure: LoadedPeerAuthentication[] = [];
  const maybe: LoadedPeerAuthentication[] = [];
  for (const p of specific) {
    const m = matchSelector(p.selector ?? {}, facts);
    if (m.v === true) sure.push(p);
    else if (m.v === null) {
      maybe.push(p);
      why.push(...m.why.map((w) => `${policyId(p)}: ${w}`));
    }
  }
  // Istio picks the oldest of several matching workload policies; files carry no age, so each is possible.
  const outcomes = [...sure, ...maybe].flatMap(ofPolicy);
  if (sure.length === 0) outcomes.push(...nsOutcomes());
  return outcomes;
}

function isEmptySelector(selector: Record<string, string> | undefined): boolean {
  return selector === undefined || Object.keys(selector).length === 0;
}

function peerAuthenticationStep(
  set: PolicySet,
  request: EvaluationRequest,
  layer: Layer,
  root: string,
): { step: Step; disabled: boolean | null } {
  const why: string[] = [];
  let outcomes = peerAuthenticationOutcomes(set.peerAuthentications, request, root, why);
  // ztunnel always speaks mTLS over HBONE; it ignores DISABLE (PeerAuthentication reference, ambient).
  if (layer === 'ztunnel')
    outcomes = outcomes.map((o) => (o.mode === 'DISABLE' ? { ...o, mode: 'PERMISSIVE' } : o));
  const strict = outcomes.filter((o) => o.mode === 'STRICT');
  const disabled = outcomes.filter((o) => o.mode === 'DISABLE');
  const disabledState = disabled.length === 0 ? false : disabled.length === outcomes.length ? true : null;
  if (request.mtls || strict.length === 0) {
    return { step: { pass: true, by: [], reason: [] }, disabled: disabledState };
  }
  const by = unique(strict.map((o) => o.by));
  if (strict.length === outcomes.length) {
    return {
      step: { pass: false, by, reason: [`${by.join(', ')} sets mTLS STRICT: plaintext is refused`] },
      disabled: disabledState,
    };
  }
  return {
    step: {
      pass: null,
      by,
      reason: [`whether STRICT mTLS applies depends on what metrics cannot tell: ${unique(why).join('; ')}`],
    },
    disabled: disabledState,
  };
}

function withAction(set: PolicySet, action: string): LoadedAuthorizationPolicy[] {
  return set.authorizationPolicies.filter((p) => p.action === action);
}

function authorizationSteps(
  set: PolicySet,
  request: EvaluationRequest,
  layer: Layer,
  peer: Peer,
  root: string,
): Step[] {
  const scored = (action: string) =>
    withAction(set, action)
      .map((p) => {
        const app = applies(p, layer, request, root);
        const raw = and([app, matchPolicy(p, peer, layer)]);
        return { p, app, raw, hit: prefixed(raw, `${policyId(p)} `) };
      })
      .filter((x) => x.app.v !== false);

  const custom = scored('CUSTOM').filter((x) => x.hit.v !== false);
  const customStep: Step =
    custom.length === 0
      ? { pass: true, by: [], reason: [] }
      : {
          pass: null,
          by: custom.map((x) => policyId(x.p)),
          reason: custom.map(
            (x) =>
              `${policyId(x.p)} (CUSTOM) delegates to ext_authz provider ${x.p.provider ?? ''}, whose decisions metrics do not show`,
          ),
        };

  const deny = scored('DENY');
  const denyHit = or(deny.map((x) => x.hit));
  let denyStep: Step = { pass: true, by: [], reason: [] };
  if (denyHit.v === true) {
    const first = deny.find((x) => x.hit.v === true);
    if (first) {
      denyStep = {
        pass: false,
        by: [policyId(first.p)],
        reason: [`${policyId(first.p)} (DENY) matches ${describePeer(peer)} (${first.raw.why.join(', ')})`],
      };
    }
  } else if (denyHit.v === null) {
    const open = deny.filter((x) => x.hit.v === null);
    denyStep = { pass: null, by: open.map((x) => policyId(x.p)), reason: denyHit.why };
  }

  const allow = scored('ALLOW');
  let allowStep: Step;
  if (allow.length === 0) {
    allowStep = { pass: true, by: [], reason: ['no ALLOW policy applies to the workload'] };
  } else {
    const matched = or(allow.map((x) => x.hit));
    const anyApplies = or(allow.map((x) => prefixed(x.app, `${policyId(x.p)} `)));
    const result = or([matched, not(anyApplies)]);
    if (result.v === true) {
      const first = allow.find((x) => x.hit.v === true);
      allowStep = first
        ? {
            pass: true,
            by: [policyId(first.p)],
            reason: [
              `${policyId(first.p)} (ALLOW) matches ${describePeer(peer)} (${first.raw.why.join(', ')})`,
            ],
          }
        : { pass: true, by: [], reason: ['no ALLOW policy applies to the workload'] };
    } else if (result.v === false) {
      const applying = allow.filter((x) => x.app.v === true).map((x) => policyId(x.p));
      const empty = allow.every((x) => x.p.rules === undefined);
      allowStep = {
        pass: false,
        by: applying,
        reason: [
          empty
            ? `${applying.join(', ')} has no rules: it allows nothing`
            : `ALLOW policies apply to the workload (${applying.join(', ')}) and none matches ${describePeer(peer)}`,
        ],
      };
    } else {
      const open = allow.filter((x) => x.hit.v === null || x.app.v === null).map((x) => policyId(x.p));
      allowStep = { pass: null, by: open, reason: result.why };
    }
  }
  return [customStep, denyStep, allowStep];
}

/** Evaluates the policies for one request or connection (pure). */
export function evaluate(
  request: EvaluationRequest,
  policies: PolicySet,
  options: EvaluateOptions = {},
): Evaluation {
  const root = options.rootNamespace ?? 'istio-system';
  const { facts } = request.destination;
  const waypoints = facts.waypoint_principals ?? [];
  if (facts.waypoint && request.mtls && waypoints.length > 1) {
    // Several waypoint identities: the traffic came through one of them, and metrics do not say
    // which. The verdict holds when it is the same through each.
    const each = waypoints.map((p) =>
      evaluate(
        {
          ...request,
          destination: { ...request.destination, facts: { ...facts, waypoint_principals: [p] } },
        },
        policies,
        options,
      ),
    );
    const first = each[0] as Evaluation;
    if (each.every((e) => e.verdict === first.verdict)) return first;
    return {
      verdict: 'unjudged',
      decided_by: unique(each.map((e) => e.decided_by)).join(', '),
      reason: `the verdict depends on which of the waypoints (${waypoints.join(', ')}) carried the traffic: ${each
        .map((e, i) => `through ${waypoints[i] ?? ''} ${e.verdict}`)
        .join(', ')}`,
    };
  }
  const steps: Array<Step & { layer: Layer }> = [];
  const layers = layersOf(request);
  for (const { layer, peer } of layers) {
    let effectivePeer = peer;
    if (layer !== 'waypoint') {
      const pa = peerAuthenticationStep(policies, request, layer, root);
      steps.push({ ...pa.step, layer });
      // A sidecar whose PeerAuthentication is DISABLE gets plaintext from its callers (auto mTLS
      // follows the server's mode), so authorization sees no principal.
      if (layer === 'sidecar' && request.mtls && pa.disabled === true) effectivePeer = { kind: 'none' };
      if (layer === 'sidecar' && request.mtls && pa.disabled === null) {
        effectivePeer = {
          kind: 'unknown',
          why: 'mTLS may be DISABLEd for the workload depending on its port or labels',
        };
      }
    }
    for (const step of authorizationSteps(policies, request, layer, effectivePeer, root))
      steps.push({ ...step, layer });
  }
  const where = (s: { layer: Layer }): string => (layers.length > 1 ? `at the ${s.layer}: ` : '');
  const refused = steps.find((s) => s.pass === false);
  if (refused) {
    return {
      verdict: 'deny',
      decided_by: refused.by.join(', '),
      reason: refused.reason.map((r) => where(refused) + r).join('; '),
    };
  }
  const open = steps.filter((s) => s.pass === null);
  if (open.length > 0) {
    return {
      verdict: 'unjudged',
      decided_by: unique(open.flatMap((s) => s.by)).join(', '),
      reason: unique(open.flatMap((s) => s.reason.map((r) => where(s) + r))).join('; '),
    };
  }
  const allowing = steps.filter((s) => s.reason.length > 0);
  return {
    verdict: 'allow',
    decided_by: unique(allowing.flatMap((s) => s.by)).join(', '),
    reason: unique(allowing.flatMap((s) => s.reason.map((r) => where(s) + r))).join('; '),
  };
}

function unique(xs: string[]): string[] {
  return [...new Set(xs.filter((x) => x !== ''))];
}
