import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { parseAllDocuments } from 'yaml';
import type { AuditReport, DryRunEdge, ReportDestination } from '../../src/audit/types';
import { loadScenario } from '../../src/sim/load';
import type { Scenario, Workload } from '../../src/sim/scenario';
import { chromiumBinary, screenshot } from '../helpers/chromium';
import { DAY, HOUR, MINUTE, prometheusOnHistory } from '../helpers/history';
import { MESHWATCH_CLI, requireBuild } from '../helpers/meshwatch';
import { removeDir, type RunningPrometheus } from '../helpers/prometheus';

const run = promisify(execFile);

/**
 * `meshwatch audit` (the built CLI) over the shipped zero-trust scenarios, backfilled into a real
 * Prometheus: three days at 5-minute steps (the audit reads hourly `rate()` windows, which need
 * several samples each; three days hold both incidents, at 1d2h and 1d6h). The expected callers
 * come from the scenario file itself, so the test says "the policies allow exactly the callers the
 * scenario declares", not a list copied from a run. Counts are estimates from hourly rates
 * (Prometheus extrapolates `rate()`), so volumes are compared with the report's own numbers, and
 * with the scenario's rates only within bounds.
 */
const LOOKBACK = '3d';
const LOOKBACK_MS = 3 * DAY;
const STEP = 5 * MINUTE;
// Above every real caller (the smallest, admin-ui -> catalog at 0.2 req/s, sends thousands a
// day), far above the stray (debug-shell: 10 minutes at 0.02 connections/s, about a dozen).
const MIN_REQUESTS = 100;
const TRUST_DOMAIN = 'cluster.local';
const TOO_STRICT = resolve(__dirname, '../fixtures/audit/too-strict');
const SCHEMA = JSON.parse(
  readFileSync(resolve(__dirname, '../../schemas/audit.schema.json'), 'utf8'),
) as object;
const validate = new Ajv({ allErrors: true, strict: true }).compile(SCHEMA);
// For the lead's closing note: the shipped scenario's summary and a screenshot of its report.

const principal = (w: Workload): string => `${TRUST_DOMAIN}/ns/${w.namespace}/sa/${w.serviceAccount}`;
const spiffe = (w: Workload): string => `spiffe://${principal(w)}`;

/** What a scenario says the audit must find: the callers with an identity per destination, and the plaintext ones. */
interface Expected {
  scenario: Scenario;
  workload(id: string): Workload;
  /** Per destination id (`ns/name`), the principals of its calls over mTLS (without `spiffe://`). */
  callers: Map<string, Set<string>>;
  /** Per destination id, its plaintext callers (workloads outside the mesh, or `tls: plaintext`). */
  plaintext: Map<string, Workload[]>;
  /** The namespaces with a destination, and those where no destination has a plaintext caller. */
  namespaces: Set<string>;
  strictNamespaces: Set<string>;
}

function expectedOf(file: string): Expected {
  const scenario = loadScenario(resolve(__dirname, '../../scenarios', file));
  const byId = new Map(scenario.workloads.map((w) => [w.id, w]));
  const workload = (id: string): Workload => {
    const w = byId.get(id);
    if (!w) throw new Error(`no workload ${id} in ${file}`);
    return w;
  };
  const callers = new Map<string, Set<string>>();
  const plaintext = new Map<string, Workload[]>();
  for (const call of scenario.calls) {
    const from = workload(call.from);
    if (from.dataplane === 'none' || call.tls === 'plaintext')
      plaintext.set(call.to, [...(plaintext.get(call.to) ?? []), from]);
    else callers.set(call.to, new Set([...(callers.get(call.to) ?? []), principal(from)]));
  }
  const namespaces = new Set(scenario.calls.map((c) => workload(c.to).namespace));
  const blocked = new Set([...plaintext.keys()].map((id) => workload(id).namespace));
  return {
    scenario,
    workload,
    callers,
    plaintext,
    namespaces,
    strictNamespaces: new Set([...namespaces].filter((ns) => !blocked.has(ns))),
  };
}

/** An Istio object from the generated files. */
interface PolicyObject {
  file: string;
  kind: string;
  metadata: { name: string; namespace: string };
  spec: {
    action?: string;
    selector?: { matchLabels: Record<string, string> };
    targetRefs?: Array<{ kind: string; group: string; name: string }>;
    rules?: Array<{ from?: Array<{ source: { principals?: string[] } }> }>;
    mtls?: { mode: string };
  };
}

function readPolicies(dir: string): PolicyObject[] {
  const files = (readdirSync(dir, { recursive: true }) as string[])
    .map((f) => join(dir, f))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  return files.flatMap((f) =>
    parseAllDocuments(readFileSync(f, 'utf8')).map(
      (d) => ({ ...(d.toJS() as Omit<PolicyObject, 'file'>), file: relative(dir, f) }) as PolicyObject,
    ),
  );
}

const principalsOf = (p: PolicyObject): string[] =>
  (p.spec.rules ?? []).flatMap((r) => (r.from ?? []).flatMap((f) => f.source.principals ?? []));

/** The scenario workload a generated ALLOW protects: by its selector's app, or its targetRefs' service. */
function targetOf(p: PolicyObject, e: Expected): Workload {
  const inNamespace = e.scenario.workloads.filter((w) => w.namespace === p.metadata.namespace);
  const app = p.spec.selector?.matchLabels.app;
  const service = p.spec.targetRefs?.map((r) => r.name);
  const found = inNamespace.filter((w) =>
    app !== undefined ? w.app === app : (service ?? []).includes(w.service),
  );
  expect(found).toHaveLength(1);
  return found[0] as Workload;
}

const destination = (report: AuditReport, id: string): ReportDestination => {
  const [ns, name] = id.split('/');
  const d = report.destinations.find(
    (x) => x.destination_namespace === ns && x.destination_workload === name,
  );
  if (!d) throw new Error(`no destination ${id} in the report`);
  return d;
};

const edgeOf = (e: DryRunEdge): string =>
  `${e.source_workload_namespace}/${e.source_workload} -> ${e.destination_namespace}/${e.destination_workload}`;

/** A run of the built CLI: its JSON report and its stderr. */
async function audit(
  prometheus: RunningPrometheus,
  args: string[],
): Promise<{ report: AuditReport; stderr: string }> {
  const out = await run(
    process.execPath,
    [MESHWATCH_CLI, 'audit', '--lookback', LOOKBACK, '--prometheus-url', prometheus.url, '--json', ...args],
    { maxBuffer: 64 << 20 },
  );
  const report = JSON.parse(out.stdout) as AuditReport;
  // Through JSON, as a tool reading `--json` sees it.
  validate(report);
  expect(validate.errors ?? []).toEqual([]);
  return { report, stderr: out.stderr };
}

/** The history of `scenario` in a real Prometheus, and the audit run three ways over it. */
function auditOfScenario(scenario: string): {
  expected: () => Expected;
  generated: () => { report: AuditReport; stderr: string; dir: string; html: string };
  dryRunGenerated: () => AuditReport;
  dryRunTooStrict: () => AuditReport;
  /** stderr of the dry-runs: the generated policies', then the too-strict one's. */
  dryRunStderr: () => string[];
  prometheus: () => RunningPrometheus;
} {
  let history: Awaited<ReturnType<typeof prometheusOnHistory>>;
  let dir: string;
  let expected: Expected;
  let generated: { report: AuditReport; stderr: string; dir: string; html: string };
  let dryRunGenerated: AuditReport;
  let dryRunTooStrict: AuditReport;
  const dryRunStderr: string[] = [];

  beforeAll(async () => {
    requireBuild();
    expected = expectedOf(scenario);
    // The CLI audits the lookback ending now: the history ends now too, starting on a whole hour.
    const nowMs = Date.now();
    const epochMs = Math.floor((nowMs - LOOKBACK_MS) / HOUR) * HOUR;
    history = await prometheusOnHistory('meshwatch-audit-', [
      { scenario, epochMs, ranges: [[epochMs, nowMs]], stepMs: STEP },
    ]);
    dir = mkdtempSync(join(tmpdir(), 'meshwatch-audit-'));
    const policies = join(dir, 'policies');
    const html = join(dir, 'audit.html');
    const first = await audit(history.prometheus, [
      '--html',
      html,
      '--policies-out',
      policies,
      '--min-requests',
      String(MIN_REQUESTS),
    ]);
    generated = { ...first, dir: policies, html };
    const generatedRun = await audit(history.prometheus, ['--policies', policies]);
    const tooStrictRun = await audit(history.prometheus, ['--policies', TOO_STRICT]);
    dryRunGenerated = generatedRun.report;
    dryRunTooStrict = tooStrictRun.report;
    dryRunStderr.push(generatedRun.stderr, tooStrictRun.stderr);
  }, 120_000);

  afterAll(async () => {
    await history?.stop();
    if (dir) removeDir(dir);
  });

  return {
    expected: () => expected,
    generated: () => generated,
    dryRunGenerated: () => dryRunGenerated,
    dryRunTooStrict: () => dryRunTooStrict,
    dryRunStderr: () => dryRunStderr,
    prometheus: () => history.prometheus,
  };
}

/** The assertions both data planes share: the report's verdicts and callers, and the generated ALLOWs. */
function itJudgesTheMeshAsTheScenarioSays(run: ReturnType<typeof auditOfScenario>): void {
  it('is STRICT-ready exactly where no plaintext caller was, and blocked where one was', () => {
    const e = run.expected();
    const { report } = run.generated();
    const ids = [...new Set(e.scenario.calls.map((c) => c.to))].sort();
    expect(
      report.destinations.map((d) => `${d.destination_namespace}/${d.destination_workload}`).sort(),
    ).toEqual(ids);
    for (const id of ids) {
      const d = destination(report, id);
      expect([id, d.strict_ready]).toEqual([id, !e.plaintext.has(id)]);
      if (d.strict_ready) expect([id, d.blocked_by, d.mtls_share]).toEqual([id, [], 1]);
    }
    expect(report.summary).toEqual({
      destinations: ids.length,
      strict_ready: ids.length - e.plaintext.size,
      blocked: e.plaintext.size,
      callers_without_identity: [...e.plaintext.values()].flat().length,
    });
  });

  it('lists the callers with an identity the scenario declares, and the denied and the stray apart', () => {
    const e = run.expected();
    const { report } = run.generated();
    const [stray, denial] = e.scenario.incidents;
    if (stray?.kind !== 'new_caller' || denial?.kind !== 'denial_spike') throw new Error('incidents moved');
    for (const d of report.destinations) {
      const id = `${d.destination_namespace}/${d.destination_workload}`;
      const extra = [
        ...(stray.call.to === id ? [principal(e.workload(stray.call.from))] : []),
        ...(denial.to === id ? [principal(e.workload(denial.from))] : []),
      ];
      expect([id, d.callers.map((c) => c.source_principal.replace('spiffe://', '')).sort()]).toEqual([
        id,
        [...(e.callers.get(id) ?? []), ...extra].sort(),
      ]);
    }
    // The caller only ever denied: every request it sent was denied.
    const denied = destination(report, denial.to).callers.find(
      (c) => c.source_principal === spiffe(e.workload(denial.from)),
    );
    expect(denied?.denied).toBeGreaterThan(MIN_REQUESTS);
    expect(denied?.denied).toBe((denied?.requests ?? 0) + (denied?.connections ?? 0));
    // The stray: a dozen connections, give or take the extrapolation of hourly rates.
    const strayCaller = destination(report, stray.call.to).callers.find(
      (c) => c.source_principal === spiffe(e.workload(stray.call.from)),
    );
    expect(strayCaller?.requests).toBe(0);
    expect(strayCaller?.connections).toBeGreaterThan(0);
    expect(strayCaller?.connections).toBeLessThan(MIN_REQUESTS / 4);
  });

  it('sees the namespace-to-namespace pattern: backend-ns is called from frontend-ns only', () => {
    const backend = run.generated().report.namespaces.find((n) => n.destination_namespace === 'backend-ns');
    expect(backend?.caller_namespaces.map((c) => c.source_workload_namespace)).toEqual(['frontend-ns']);
    expect(backend?.strict_ready).toBe(true);
    const orders = readFileSync(join(run.generated().dir, 'backend-ns/orders.yaml'), 'utf8');
    expect(orders).toContain(
      '# Every allowed caller comes from namespace frontend-ns: `namespaces: [frontend-ns]` would allow the whole namespace (broader).',
    );
  });

  it('generates ALLOW policies with exactly the real callers, a deny-all per namespace and STRICT only where ready', () => {
    const e = run.expected();
    const policies = readPolicies(run.generated().dir);
    const allows = policies.filter(
      (p) =>
        p.kind === 'AuthorizationPolicy' &&
        p.spec.action === 'ALLOW' &&
        !p.metadata.name.startsWith('meshwatch-allow-waypoint-'),
    );
    const allowed = new Map(allows.map((p) => [targetOf(p, e).id, principalsOf(p).sort()]));
    expect(new Map([...allowed].sort())).toEqual(
      new Map([...e.callers].map(([id, set]) => [id, [...set].sort()] as const).sort()),
    );
    const denyAll = policies.filter((p) => p.metadata.name === 'deny-all');
    expect(denyAll.map((p) => [p.kind, p.metadata.namespace, p.spec, p.file])).toEqual(
      [...e.namespaces].sort().map((ns) => ['AuthorizationPolicy', ns, {}, `${ns}/deny-all.yaml`]),
    );
    const strict = policies.filter((p) => p.kind === 'PeerAuthentication');
    expect(strict.map((p) => [p.metadata.namespace, p.metadata.name, p.spec])).toEqual(
      [...e.strictNamespaces].sort().map((ns) => [ns, 'default', { mtls: { mode: 'STRICT' } }]),
    );
  });

  it('dry-runs the generated policies: they deny only the plaintext caller (no identity) and the stray below the floor', () => {
    const e = run.expected();
    // Volumes from the dry-run's own report: each run reads the lookback ending at its own minute.
    const report = run.dryRunGenerated();
    const dry = report.dry_run;
    const [stray] = e.scenario.incidents;
    if (stray?.kind !== 'new_caller') throw new Error('incidents moved');
    // What each left-out caller succeeded with over the lookback, as the report counted it.
    const succeeded = (id: string, match: (c: ReportDestination['callers'][number]) => boolean) => {
      const d = destination(report, id);
      const c = [...d.callers, ...d.callers_without_identity].find(match);
      return { requests: c?.requests ?? NaN, connections: c?.connections ?? NaN, denied: c?.denied };
    };
    const plaintextRows = [...e.plaintext].flatMap(([id, froms]) =>
      froms.map(() => {
        const s = succeeded(id, (c) => !c.identity);
        return [`${id} (no identity)`, s.requests, s.connections, s.denied];
      }),
    );
    const strayVolume = succeeded(
      stray.call.to,
      (c) => c.source_principal === spiffe(e.workload(stray.call.from)),
    );
    expect(
      dry?.would_deny.map((d) => [
        d.source_principal === 'unknown'
          ? `${d.destination_namespace}/${d.destination_workload} (no identity)`
          : `${d.source_principal} -> ${d.destination_namespace}/${d.destination_workload}`,
        d.requests,
        d.connections,
        0,
      ]),
    ).toEqual([
      ...plaintextRows,
      [`${spiffe(e.workload(stray.call.from))} -> ${stray.call.to}`, 0, strayVolume.connections, 0],
    ]);
    // The only-denied caller stays denied (no ALLOW names it), and nothing is left to guess.
    expect(dry?.would_allow).toEqual([]);
    expect(dry?.unjudged).toEqual([]);
    expect(dry?.policies).toHaveLength(readPolicies(run.generated().dir).length);
  });
}

describe('meshwatch audit over scenarios/zero-trust.yaml (sidecars)', () => {
  const scenario = auditOfScenario('zero-trust.yaml');
  itJudgesTheMeshAsTheScenarioSays(scenario);

  it('names the blocker of billing/invoices: the legacy caller outside the mesh, which a sidecar sees as unknown', () => {
    const { report, stderr } = scenario.generated();
    const invoices = destination(report, 'billing/invoices');
    // A caller without a sidecar sends no peer metadata: the server sidecar reports
    // source_workload="unknown" (docs/scenarios.md, "none -> sidecar"; DESIGN.md).
    expect(invoices.blocked_by).toEqual([
      {
        source_principal: 'unknown',
        source_workload_namespace: 'unknown',
        source_workload: 'unknown',
        source_cluster: 'unknown',
        plaintext: expect.any(Number),
        first_seen: report.lookback.from,
        last_seen: report.lookback.to,
      },
    ]);
    // 0.1 req/s on a daily cycle (and 0.6 at weekends) over three days.
    const plaintext = invoices.blocked_by[0]?.plaintext ?? 0;
    expect(plaintext).toBeGreaterThan(0.1 * 0.55 * (LOOKBACK_MS / 1000));
    expect(plaintext).toBeLessThan(0.1 * 1.1 * (LOOKBACK_MS / 1000));
    expect(
      invoices.callers_without_identity.map((c) => [c.source_workload, c.requests, c.plaintext]),
    ).toEqual([['unknown', plaintext, plaintext]]);
    expect(invoices.mtls_share).toBeLessThan(1);
    expect(stderr).toContain(
      `blocked from STRICT (1):\n  billing/invoices by unknown/unknown (no identity) (${Number.isInteger(plaintext) ? plaintext : plaintext.toFixed(1)} plaintext, ${report.lookback.from} to ${report.lookback.to})\n`,
    );
    expect(stderr).toContain('ready for STRICT (7):\n  backend-ns/accounts\n');
  });

  it('dry-runs a too-strict hand-written policy: exactly the forgotten caller breaks, with its volume', () => {
    const report = scenario.dryRunTooStrict();
    const dry = report.dry_run;
    const mobile = destination(report, 'backend-ns/orders').callers.find(
      (c) => c.source_workload === 'mobile-bff',
    );
    expect(dry?.would_deny).toEqual([
      {
        destination_cluster: 'Kubernetes',
        destination_namespace: 'backend-ns',
        destination_workload: 'orders',
        source_principal: 'spiffe://cluster.local/ns/frontend-ns/sa/mobile-bff',
        source_workload_namespace: 'frontend-ns',
        source_workload: 'mobile-bff',
        source_cluster: 'Kubernetes',
        requests: mobile?.requests,
        connections: 0,
        decided_by: 'AuthorizationPolicy backend-ns/orders-from-web-only',
        reason:
          'ALLOW policies apply to the workload (AuthorizationPolicy backend-ns/orders-from-web-only) and none matches principal cluster.local/ns/frontend-ns/sa/mobile-bff',
      },
    ]);
    expect(mobile?.requests).toBeGreaterThan(3 * 0.55 * (LOOKBACK_MS / 1000));
    // The fixture has no policy for frontend-ns/web: with no ALLOW there, Istio allows all, so the
    // scanner's denied requests would be allowed (reference page: "no ALLOW policy means allow").
    expect(dry?.would_allow.map(edgeOf)).toEqual(['ops/scanner -> frontend-ns/web']);
    expect(dry?.unjudged).toEqual([]);
  });

  it("reads the config's audit.lookback without --lookback", async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'meshwatch-audit-config-')), 'meshwatch.yml');
    writeFileSync(config, 'audit: { lookback: 36h }\n');
    try {
      const out = await run(process.execPath, [
        MESHWATCH_CLI,
        'audit',
        '--config',
        config,
        '--prometheus-url',
        scenario.prometheus().url,
        '--json',
      ]);
      const report = JSON.parse(out.stdout) as AuditReport;
      expect(report.lookback.seconds).toBe(36 * 3600);
      expect(out.stderr).toContain('(36/36 hours)');
    } finally {
      removeDir(resolve(config, '..'));
    }
  });

  it('writes an HTML report and the summary and screenshot of the shipped scenario for the closing note', async () => {
    chromiumBinary();
    const { html, stderr } = scenario.generated();
    const page = readFileSync(html, 'utf8');
    expect(statSync(html).size).toBeGreaterThan(10_000);
    expect(page).toContain('billing');
    expect(page).toContain('invoices');
    expect(page).toContain('cluster.local/ns/frontend-ns/sa/mobile-bff');
    // The summaries without the progress lines, as a reader of the note wants them.
    const [generatedDryRun = '', tooStrictDryRun = ''] = scenario.dryRunStderr();
    const quiet = (text: string): string =>
      text
        .split('\n')
        .filter((l) => !/^audit: (\d+% |wrote )/.test(l))
        .join('\n');
    // What a reader of the run wants to see, kept beside the screenshot in the run's temp folder.
    const out = mkdtempSync(join(tmpdir(), 'meshwatch-audit-screenshot-'));
    const summary = join(out, 'audit-summary.txt');
    writeFileSync(
      summary,
      [
        `$ meshwatch audit --lookback ${LOOKBACK} --min-requests ${MIN_REQUESTS} --policies-out DIR --html F --json  # scenarios/zero-trust.yaml`,
        quiet(stderr),
        `$ meshwatch audit --lookback ${LOOKBACK} --policies DIR --json  # the generated policies`,
        quiet(generatedDryRun),
        `$ meshwatch audit --lookback ${LOOKBACK} --policies test/fixtures/audit/too-strict --json`,
        quiet(tooStrictDryRun),
      ].join('\n'),
    );
    const png = join(out, 'audit-scenario.png');
    await screenshot(html, png, { width: 1200, height: 2400 });
    expect(statSync(png).size).toBeGreaterThan(10_000);
    process.stdout.write(`zero-trust audit summary: ${summary}; report screenshot: ${png}\n`);
  }, 90_000);
});

describe('meshwatch audit over scenarios/zero-trust-ambient.yaml (ambient, a waypoint in backend-ns)', () => {
  const scenario = auditOfScenario('zero-trust-ambient.yaml');
  itJudgesTheMeshAsTheScenarioSays(scenario);

  it('names the blocker of billing/invoices: ztunnel knows the legacy pod, not its identity', () => {
    const { report } = scenario.generated();
    const invoices = destination(report, 'billing/invoices');
    expect(
      invoices.blocked_by.map((b) => [b.source_principal, b.source_workload_namespace, b.source_workload]),
    ).toEqual([['unknown', 'legacy', 'report-cron']]);
    // Ambient without a waypoint: L4 only, so the plaintext is in connections (0.1 x 0.1 per request).
    expect(invoices.mtls_share_requests).toBeNull();
  });

  it('attaches the backend-ns policies to the services through the waypoint, and lets only the waypoint through ztunnel', () => {
    const policies = readPolicies(scenario.generated().dir).filter(
      (p) => p.metadata.namespace === 'backend-ns',
    );
    const waypoint = 'cluster.local/ns/backend-ns/sa/waypoint';
    const e = scenario.expected();
    for (const name of ['orders', 'catalog', 'accounts']) {
      const allow = policies.find((p) => p.metadata.name === `meshwatch-allow-${name}`);
      expect(allow?.spec.targetRefs).toEqual([{ kind: 'Service', group: '', name }]);
      expect(allow?.spec.selector).toBeUndefined();
      const tunnel = policies.find((p) => p.metadata.name === `meshwatch-allow-waypoint-${name}`);
      expect(tunnel?.spec.selector).toEqual({ matchLabels: { app: e.workload(`backend-ns/${name}`).app } });
      expect(tunnel && principalsOf(tunnel)).toEqual([waypoint]);
    }
  });

  it('dry-runs a too-strict hand-written policy: the forgotten caller breaks at ztunnel, whose selector sees through no waypoint', () => {
    // The fixture selects orders' pods: behind a waypoint, ztunnel enforces it against the
    // waypoint's identity, so it breaks every caller of orders, not only mobile-bff: a real
    // consequence of writing a selector policy for a waypoint workload.
    const dry = scenario.dryRunTooStrict().dry_run;
    expect(dry?.would_deny.map(edgeOf).sort()).toEqual([
      'frontend-ns/mobile-bff -> backend-ns/orders',
      'frontend-ns/web -> backend-ns/orders',
    ]);
    expect(dry?.would_deny.every((d) => d.reason.includes('cluster.local/ns/backend-ns/sa/waypoint'))).toBe(
      true,
    );
    expect(dry?.unjudged).toEqual([]);
  });
});
