import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1/PeerAuthentication';
import Ajv from 'ajv';
import { parse } from 'yaml';
import {
  dnsLabel,
  generatePolicies,
  type GeneratedFile,
  type PolicyOptions,
} from '../../../src/audit/policies';
import type {
  AuditReport,
  ReportCaller,
  ReportDestination,
  ReportNamespace,
  WorkloadFacts,
} from '../../../src/audit/types';

const FROM = '2025-03-01T00:00:00.000Z';
const TO = '2025-03-08T00:00:00.000Z';
const GOLDEN = join(__dirname, '../../fixtures/audit/generated');
const OPTIONS: PolicyOptions = { minRequests: 10, lookbackText: '7d' };

/** A caller with a SPIFFE identity whose `n` requests all succeeded over mTLS. */
function caller(ns: string, sa: string, overrides: Partial<ReportCaller> = {}): ReportCaller {
  const requests = overrides.requests ?? 100;
  return {
    source_principal: `spiffe://cluster.local/ns/${ns}/sa/${sa}`,
    source_workload_namespace: ns,
    source_workload: sa,
    source_cluster: '',
    requests,
    connections: 0,
    denied: 0,
    plaintext: 0,
    mtls: requests,
    identity: true,
    first_seen: '2025-03-01T02:00:00.000Z',
    last_seen: '2025-03-07T23:00:00.000Z',
    ...overrides,
  };
}

/** A plaintext caller: no principal. */
function plaintextCaller(ns: string, workload: string, requests = 40): ReportCaller {
  return {
    ...caller(ns, workload, { requests, plaintext: requests, mtls: 0, identity: false }),
    source_principal: 'unknown',
  };
}

/** A destination with its callers; the volume, mTLS share and STRICT verdict follow from them. */
function destination(
  ns: string,
  workload: string,
  callers: ReportCaller[],
  facts: Partial<WorkloadFacts> = {},
  cluster = '',
): ReportDestination {
  const all = callers;
  const sum = (k: 'requests' | 'connections' | 'denied' | 'plaintext' | 'mtls'): number =>
    all.reduce((s, c) => s + c[k], 0);
  const plaintext = all.filter((c) => c.plaintext > 0);
  const judged = sum('plaintext') + sum('mtls');
  return {
    destination_cluster: cluster,
    destination_namespace: ns,
    destination_workload: workload,
    requests: sum('requests'),
    connections: sum('connections'),
    denied: sum('denied'),
    plaintext: sum('plaintext'),
    mtls: sum('mtls'),
    mtls_share: judged === 0 ? 1 : sum('mtls') / judged,
    mtls_share_requests: null,
    mtls_share_connections: null,
    worst_hour: null,
    strict_ready: plaintext.length === 0,
    blocked_by: plaintext.map((c) => ({
      source_principal: c.source_principal,
      source_workload_namespace: c.source_workload_namespace,
      source_workload: c.source_workload,
      source_cluster: c.source_cluster,
      plaintext: c.plaintext,
      first_seen: c.first_seen,
      last_seen: c.last_seen,
    })),
    callers: all.filter((c) => c.identity),
    callers_without_identity: all.filter((c) => !c.identity),
    workload: { app: workload, services: [`${ns}/${workload}`], waypoint: false, ambient: false, ...facts },
  };
}

/** The report of these destinations, namespaces rolled up as report.ts does. */
function report(destinations: ReportDestination[]): AuditReport {
  const namespaces = new Map<string, ReportNamespace>();
  for (const d of destinations) {
    const key = `${d.destination_cluster}/${d.destination_namespace}`;
    const ns = namespaces.get(key) ?? {
      destination_cluster: d.destination_cluster,
      destination_namespace: d.destination_namespace,
      destinations: 0,
      strict_ready_destinations: 0,
      strict_ready: true,
      mtls_share: 1,
      blocked_by: [],
      caller_namespaces: [],
      requests: 0,
      connections: 0,
      denied: 0,
      plaintext: 0,
      mtls: 0,
    };
    ns.destinations += 1;
    ns.strict_ready_destinations += d.strict_ready ? 1 : 0;
    ns.strict_ready = ns.strict_ready && d.strict_ready;
    ns.blocked_by.push(...d.blocked_by);
    namespaces.set(key, ns);
  }
  return {
    generated_at: TO,
    lookback: { from: FROM, to: TO, seconds: 7 * 86400 },
    summary: { destinations: destinations.length, strict_ready: 0, blocked: 0, callers_without_identity: 0 },
    destinations,
    namespaces: [...namespaces.values()],
  };
}

/** The scenarios whose whole output is kept as golden files. */
const SCENARIOS: Record<string, () => AuditReport> = {
  // frontend calls backend through sidecars.
  sidecar: () => report([destination('shop', 'backend', [caller('shop', 'frontend', { requests: 1200 })])]),
  // ledger is ambient behind a waypoint: the waypoint enforces the callers, ztunnel only lets the waypoint in.
  'ambient-waypoint': () =>
    report([
      destination('bank', 'ledger', [caller('bank', 'teller', { requests: 500 })], {
        ambient: true,
        waypoint: true,
        services: ['bank/ledger', 'bank/ledger-admin'],
        waypoint_principals: ['spiffe://cluster.local/ns/bank/sa/waypoint'],
      }),
    ]),
  // Every caller of backend-ns comes from frontend-ns: principals per workload, the namespace alternative noted.
  'namespace-to-namespace': () =>
    report([
      destination('backend-ns', 'api', [
        caller('frontend-ns', 'web'),
        caller('frontend-ns', 'mobile', { requests: 60 }),
      ]),
      destination('backend-ns', 'search', [caller('frontend-ns', 'web', { requests: 0, connections: 30 })], {
        ambient: true,
      }),
    ]),
  // A stray below the floor, a caller only denied and a plaintext caller: none of them allowed.
  'left-out-callers': () =>
    report([
      destination('pay', 'charge', [
        caller('shop', 'checkout', { requests: 900 }),
        caller('ops', 'debug-shell', {
          requests: 3,
          first_seen: '2025-03-04T10:00:00.000Z',
          last_seen: '2025-03-04T11:00:00.000Z',
        }),
        caller('shop', 'scraper', { requests: 50, denied: 50 }),
        plaintextCaller('legacy', 'batch'),
      ]),
      // refund saw only a stray: no policy of its own, and the deny-all says it denies it everything.
      destination('pay', 'refund', [caller('ops', 'debug-shell', { requests: 1 })]),
    ]),
  // The same namespace and workload in two clusters: one object per cluster.
  'two-clusters': () =>
    report([
      destination('shop', 'backend', [caller('shop', 'frontend')], {}, 'east'),
      destination('shop', 'backend', [caller('shop', 'frontend', { source_cluster: 'west' })], {}, 'west'),
    ]),
  // reviews-v1 and -v2 share app=reviews with distinct versions; ratings-a and -b share app=ratings without.
  'shared-app': () =>
    report([
      destination('books', 'reviews-v1', [caller('books', 'productpage')], { app: 'reviews', version: 'v1' }),
      destination('books', 'reviews-v2', [caller('books', 'productpage')], { app: 'reviews', version: 'v2' }),
      destination('books', 'ratings-a', [caller('books', 'reviews-v1')], { app: 'ratings' }),
      destination('books', 'ratings-b', [caller('books', 'reviews-v2')], { app: 'ratings' }),
    ]),
  // What cannot be generated safely is said in NOTES.txt: no app label, waypoint identity unknown, root namespace.
  'not-generated': () =>
    report([
      destination('misc', 'unlabelled', [caller('misc', 'client')], { app: undefined }),
      destination('misc', 'idle', [caller('misc', 'client', { requests: 2 })]),
      destination('vault', 'kms', [caller('bank', 'ledger')], {
        ambient: true,
        waypoint: true,
        services: ['vault/kms'],
      }),
      destination('istio-system', 'istio-ingressgateway', [caller('shop', 'frontend')]),
    ]),
};

/** The files under a golden folder, relative to it, sorted as generatePolicies sorts them. */
function collect(dir: string): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)],
    );
  if (!existsSync(dir)) return [];
  return walk(dir)
    .map((p) => relative(dir, p))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

describe('generatePolicies', () => {
  describe.each(Object.keys(SCENARIOS))('scenario %s', (name) => {
    const files = generatePolicies((SCENARIOS[name] as () => AuditReport)(), OPTIONS);
    const dir = join(GOLDEN, name);

    if (process.env.UPDATE_GOLDEN === '1') {
      rmSync(dir, { recursive: true, force: true });
      for (const f of files) {
        mkdirSync(dirname(join(dir, f.file)), { recursive: true });
        writeFileSync(join(dir, f.file), f.yaml);
      }
    }

    it('writes exactly the golden files', () => {
      expect(files.map((f) => f.file)).toEqual(collect(dir));
      for (const f of files) expect(f.yaml).toBe(readFileSync(join(dir, f.file), 'utf8'));
    });

    it('writes YAML that parses back to the object it returns', () => {
      for (const f of files) expect(parse(f.yaml)).toEqual(f.object);
    });

    it("writes objects that validate against Istio's CRD schemas", () => {
      for (const f of files.filter((x) => x.object !== null)) validateIstio(f);
    });
  });

  it('allows exactly the principals that succeeded at least the floor, without spiffe://, sorted', () => {
    const files = generatePolicies(SCENARIOS['left-out-callers']!(), OPTIONS);
    expect(objectAt(files, 'pay/charge.yaml')).toEqual({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'meshwatch-allow-charge', namespace: 'pay' },
      spec: {
        selector: { matchLabels: { app: 'charge' } },
        action: 'ALLOW',
        rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/checkout'] } }] }],
      },
    });
  });

  it('never allows a caller that was only denied, whatever the floor', () => {
    const r = report([
      destination('pay', 'charge', [caller('shop', 'checkout'), caller('shop', 'scraper', { denied: 100 })]),
    ]);
    const files = generatePolicies(r, { minRequests: 0 });
    expect(principalsAt(files, 'pay/charge.yaml')).toEqual(['cluster.local/ns/shop/sa/checkout']);
  });

  it('sums the callers that share a principal before applying the floor', () => {
    const r = report([
      destination('shop', 'backend', [
        caller('shop', 'frontend', { requests: 6 }),
        caller('shop', 'frontend', { requests: 6, source_cluster: 'west' }),
      ]),
    ]);
    expect(principalsAt(generatePolicies(r, OPTIONS), 'shop/backend.yaml')).toEqual([
      'cluster.local/ns/shop/sa/frontend',
    ]);
  });

  it('keeps the trust domain the telemetry names', () => {
    const r = report([
      destination('shop', 'backend', [
        caller('shop', 'frontend', { source_principal: 'spiffe://corp.example/ns/shop/sa/frontend' }),
      ]),
    ]);
    expect(principalsAt(generatePolicies(r, OPTIONS), 'shop/backend.yaml')).toEqual([
      'corp.example/ns/shop/sa/frontend',
    ]);
  });

  it('targets the services for a workload behind a waypoint, and lets only the waypoint in at ztunnel', () => {
    const files = generatePolicies(SCENARIOS['ambient-waypoint']!(), OPTIONS);
    expect((objectAt(files, 'bank/ledger.yaml') as { spec: unknown }).spec).toEqual({
      targetRefs: [
        { kind: 'Service', group: '', name: 'ledger' },
        { kind: 'Service', group: '', name: 'ledger-admin' },
      ],
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/bank/sa/teller'] } }] }],
    });
    expect(principalsAt(files, 'bank/ledger-waypoint.yaml')).toEqual(['cluster.local/ns/bank/sa/waypoint']);
  });

  it('generates no deny-all where it would cut off traffic no generated ALLOW lets through', () => {
    const files = generatePolicies(SCENARIOS['not-generated']!(), OPTIONS);
    expect(files.map((f) => f.file)).toEqual([
      'NOTES.txt',
      'misc/peer-authentication.yaml',
      'vault/kms.yaml',
      'vault/peer-authentication.yaml',
    ]);
  });

  it('writes one object per cluster when the report has more than one', () => {
    const files = generatePolicies(SCENARIOS['two-clusters']!(), OPTIONS);
    expect(files.map((f) => f.file)).toEqual([
      'east/shop/backend.yaml',
      'east/shop/deny-all.yaml',
      'east/shop/peer-authentication.yaml',
      'west/shop/backend.yaml',
      'west/shop/deny-all.yaml',
      'west/shop/peer-authentication.yaml',
    ]);
  });

  it('names objects and files with valid DNS-1123 labels, hashing long or altered names', () => {
    const long = 'a-very-long-workload-name-that-goes-on-and-on-well-past-the-limit';
    const r = report([
      destination('shop', long, [caller('shop', 'frontend')]),
      destination('shop', 'Odd.Name', [caller('shop', 'frontend')]),
    ]);
    const files = generatePolicies(r, OPTIONS);
    const names = files.map((f) => (f.object as { metadata: { name: string } }).metadata.name);
    for (const n of names) expect(n).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(dnsLabel(`meshwatch-allow-${long}`)).toBe(
      'meshwatch-allow-a-very-long-workload-name-that-goes-on-6077156f',
    );
    expect(dnsLabel('Odd.Name')).not.toBe(dnsLabel('odd-name'));
  });

  it('keeps a label value with a newline inside the comment, never in the YAML', () => {
    const r = report([destination('shop', 'backend', [caller('shop', 'evil\nspec: {}\n#')])]);
    const [policy] = generatePolicies(r, OPTIONS);
    expect(parse(policy!.yaml)).toEqual(policy!.object);
    expect(policy!.yaml.split('\n').filter((l) => !l.startsWith('#'))[0]).toBe(
      'apiVersion: security.istio.io/v1',
    );
  });

  it('returns the same files in the same order for the same report', () => {
    const a = generatePolicies(SCENARIOS['shared-app']!(), OPTIONS);
    const r = SCENARIOS['shared-app']!();
    r.destinations.reverse();
    expect(generatePolicies(r, OPTIONS)).toEqual(a);
  });
});

function objectAt(files: GeneratedFile[], file: string): unknown {
  const found = files.find((f) => f.file === file);
  if (found === undefined) throw new Error(`no ${file} in ${files.map((f) => f.file).join(', ')}`);
  return found.object;
}

function principalsAt(files: GeneratedFile[], file: string): string[] {
  const o = objectAt(files, file) as {
    spec: { rules: Array<{ from: Array<{ source: { principals: string[] } }> }> };
  };
  return o.spec.rules[0]!.from[0]!.source.principals;
}

/**
 * The targetRefs items as Istio's CRD declares a PolicyTargetReference (the same type as
 * WasmPlugin.spec.targetRefs in istio/istio manifests/charts/base/files/crd-all.gen.yaml, commit
 * 0983e6b3f96877fe1e8ecb2e16d1be77360cd2da): @kubernetes-models/istio 2.3.0 predates targetRefs and
 * accepts unknown fields, so they are checked here.
 */
const targetRefs = new Ajv({ strict: true }).compile({
  type: 'array',
  maxItems: 16,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['kind', 'name'],
    properties: {
      group: {
        type: 'string',
        maxLength: 253,
        pattern: '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
      },
      kind: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$' },
      name: { type: 'string', minLength: 1, maxLength: 253 },
    },
  },
});

/** The spec fields meshwatch writes: anything else would be pruned by the API server (`preserveUnknownFields: false`). */
const KNOWN_SPEC_KEYS: Record<string, string[]> = {
  AuthorizationPolicy: ['selector', 'targetRefs', 'action', 'rules'],
  PeerAuthentication: ['selector', 'mtls'],
};

function validateIstio(f: GeneratedFile): void {
  const o = f.object as {
    apiVersion: string;
    kind: string;
    metadata: { name: string };
    spec: Record<string, unknown>;
  };
  expect(o.apiVersion).toBe('security.istio.io/v1');
  expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  expect(Object.keys(o.spec).filter((k) => !(KNOWN_SPEC_KEYS[o.kind] ?? []).includes(k))).toEqual([]);
  if (o.kind === 'AuthorizationPolicy') {
    new AuthorizationPolicy(o as never).validate();
    if (o.spec.targetRefs !== undefined) {
      expect(targetRefs(o.spec.targetRefs) ? [] : targetRefs.errors).toEqual([]);
      // Istio's CEL rule on the spec: "only one of targetRefs or selector can be set".
      expect(o.spec.selector).toBeUndefined();
    }
  } else if (o.kind === 'PeerAuthentication') {
    // The package has PeerAuthentication only in v1beta1; Istio promoted it to v1 with the same spec.
    new PeerAuthentication({ ...o, apiVersion: 'security.istio.io/v1beta1' } as never).validate();
  } else throw new Error(`unexpected kind ${o.kind} in ${f.file}`);
}
