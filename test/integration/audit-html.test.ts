import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderAuditReport } from '../../src/audit/html';
import type { AuditReport, DryRunEdge, ReportCaller, ReportDestination } from '../../src/audit/types';
import { chromiumBinary, loadPage, screenshot } from '../helpers/chromium';
import { removeDir } from '../helpers/prometheus';

/**
 * The audit's HTML report as a browser shows it: headless Chromium loads the file (its scripts run
 * under the page's Content-Security-Policy) and dumps the DOM, as the backtest report is tested.
 * The reports come from small factories, not from Prometheus: `renderAuditReport` is pure, and
 * the scenario tests cover the path from telemetry to report.
 */
const FROM = '2026-01-01T00:00:00Z';
const TO = '2026-01-08T00:00:00Z';

const caller = (namespace: string, sa: string, overrides: Partial<ReportCaller> = {}): ReportCaller => ({
  source_principal: `spiffe://cluster.local/ns/${namespace}/sa/${sa}`,
  source_workload_namespace: namespace,
  source_workload: sa,
  source_cluster: '',
  requests: 1000,
  connections: 0,
  denied: 0,
  plaintext: 0,
  mtls: 1000,
  identity: true,
  first_seen: FROM,
  last_seen: TO,
  ...overrides,
});

const plaintext = (namespace: string, workload: string, volume: number): ReportCaller =>
  caller(namespace, workload, {
    source_principal: 'unknown',
    requests: volume,
    plaintext: volume,
    mtls: 0,
    identity: false,
    first_seen: '2026-01-03T02:00:00Z',
    last_seen: '2026-01-07T02:00:00Z',
  });

function destination(
  namespace: string,
  workload: string,
  callers: ReportCaller[],
  mode: { ambient?: boolean; waypoint?: boolean } = {},
): ReportDestination {
  const sum = (f: (c: ReportCaller) => number): number => callers.reduce((s, c) => s + f(c), 0);
  const blockers = callers.filter((c) => c.plaintext > 0);
  const mtls = sum((c) => c.mtls);
  const judged = mtls + sum((c) => c.plaintext);
  return {
    destination_cluster: '',
    destination_namespace: namespace,
    destination_workload: workload,
    requests: sum((c) => c.requests),
    connections: sum((c) => c.connections),
    denied: sum((c) => c.denied),
    plaintext: sum((c) => c.plaintext),
    mtls,
    mtls_share: judged === 0 ? 1 : mtls / judged,
    mtls_share_requests: mode.ambient ? null : judged === 0 ? null : mtls / judged,
    mtls_share_connections: mode.ambient ? mtls / judged : null,
    worst_hour: { start: '2026-01-03T02:00:00Z', mtls_share: blockers.length > 0 ? 0.4 : 1 },
    strict_ready: blockers.length === 0,
    blocked_by: blockers.map((b) => ({ ...b, plaintext: b.plaintext })),
    callers: callers.filter((c) => c.identity),
    callers_without_identity: callers.filter((c) => !c.identity),
    workload: { services: [], waypoint: mode.waypoint ?? false, ambient: mode.ambient ?? false },
  };
}

function report(destinations: ReportDestination[], dryRun?: AuditReport['dry_run']): AuditReport {
  const namespaces = [...new Set(destinations.map((d) => d.destination_namespace))].map((ns) => {
    const ds = destinations.filter((d) => d.destination_namespace === ns);
    const sum = (f: (d: ReportDestination) => number): number => ds.reduce((s, d) => s + f(d), 0);
    const ready = ds.filter((d) => d.strict_ready).length;
    return {
      destination_cluster: '',
      destination_namespace: ns,
      requests: sum((d) => d.requests),
      connections: sum((d) => d.connections),
      denied: sum((d) => d.denied),
      plaintext: sum((d) => d.plaintext),
      mtls: sum((d) => d.mtls),
      destinations: ds.length,
      strict_ready_destinations: ready,
      strict_ready: ready === ds.length,
      mtls_share:
        sum((d) => d.mtls) /
        Math.max(
          1,
          sum((d) => d.mtls + d.plaintext),
        ),
      blocked_by: ds.flatMap((d) => d.blocked_by),
      caller_namespaces: [],
    };
  });
  return {
    generated_at: '2026-01-08T00:01:00Z',
    lookback: { from: FROM, to: TO, seconds: 7 * 86400 },
    summary: {
      destinations: destinations.length,
      strict_ready: destinations.filter((d) => d.strict_ready).length,
      blocked: destinations.filter((d) => !d.strict_ready).length,
      callers_without_identity: destinations.reduce((s, d) => s + d.callers_without_identity.length, 0),
    },
    destinations,
    namespaces,
    ...(dryRun ? { dry_run: dryRun } : {}),
  };
}

const edge = (to: string, from: ReportCaller, reason: string, decidedBy: string): DryRunEdge => ({
  destination_cluster: '',
  destination_namespace: 'shop',
  destination_workload: to,
  source_principal: from.source_principal,
  source_workload_namespace: from.source_workload_namespace,
  source_workload: from.source_workload,
  source_cluster: '',
  requests: from.requests,
  connections: from.connections,
  decided_by: decidedBy,
  reason,
});

/** A shop with a legacy plaintext caller, an ambient namespace, a denied stray, and a too-strict policy dry-run. */
function shop(): AuditReport {
  const cart = caller('shop', 'cart', { requests: 48_210, mtls: 48_210 });
  const checkout = caller('shop', 'checkout', { requests: 9_870, mtls: 9_870 });
  const stray = caller('tools', 'debug', { requests: 12, mtls: 12, denied: 12 });
  const batch = plaintext('legacy', 'nightly-batch', 640);
  const frontend = caller('web', 'frontend', { requests: 120_400, mtls: 120_400 });
  const ledger = caller('finance', 'ledger', { requests: 0, connections: 3_200, mtls: 3_200 });
  return report(
    [
      destination('shop', 'payments', [cart, checkout, stray, batch]),
      destination('shop', 'orders', [frontend, cart]),
      destination('shop', 'cart', [frontend]),
      destination('finance', 'postgres', [ledger, plaintext('finance', 'reporting', 75)], { ambient: true }),
      destination('finance', 'ledger', [checkout], { ambient: true, waypoint: true }),
    ],
    {
      would_deny: [
        edge(
          'payments',
          checkout,
          'principal not in the ALLOW rule',
          'shop/payments-allow (AuthorizationPolicy)',
        ),
        edge(
          'payments',
          batch,
          'no principal: plaintext caller under an ALLOW by principal',
          'shop/payments-allow (AuthorizationPolicy)',
        ),
      ],
      would_allow: [
        edge('payments', stray, 'namespace tools allowed', 'shop/payments-allow (AuthorizationPolicy)'),
      ],
      unjudged: [
        edge(
          'orders',
          frontend,
          'rule matches on methods: GET, not in metrics',
          'shop/orders-allow (AuthorizationPolicy)',
        ),
      ],
      policies: [
        { kind: 'AuthorizationPolicy', namespace: 'shop', name: 'payments-allow', file: 'payments.yaml' },
        { kind: 'AuthorizationPolicy', namespace: 'shop', name: 'orders-allow', file: 'orders.yaml' },
      ],
      ignored: [],
    },
  );
}

describe('the audit HTML report in headless Chromium', () => {
  let dir: string;
  // Screenshots outlive the test (their path is printed for a human to open); the HTML files do not.
  let shots: string;
  const write = (name: string, r: AuditReport): string => {
    const file = join(dir, name);
    writeFileSync(file, renderAuditReport(r));
    return file;
  };

  beforeAll(() => {
    chromiumBinary();
    dir = mkdtempSync(join(tmpdir(), 'meshwatch-audit-html-'));
    shots = mkdtempSync(join(tmpdir(), 'meshwatch-audit-screenshots-'));
  });

  afterAll(() => {
    if (dir) removeDir(dir);
  });

  it('loads without console messages, every section rendered, the would-break table first', async () => {
    const file = write('shop.html', shop());
    const page = await loadPage(file);
    expect(page.consoleMessages).toEqual([]);
    // Set by the page's own script after layout: it ran (the CSP hash matched) and each section has a size.
    expect(page.dom).toContain('data-sections-rendered="summary dry-run namespaces matrix callers"');
    const firstTable = page.dom.indexOf('<table');
    expect(firstTable).toBeGreaterThan(page.dom.indexOf('id="would-deny"'));
    expect(firstTable).toBeLessThan(page.dom.indexOf('id="would-allow"'));
    expect(page.dom).toMatch(
      /<h3 id="would-deny">Would break \(succeeded, would be denied\): 2 edges, 10,510 requests/,
    );
    expect(page.dom).toContain(
      '<span class="blocked">blocked by</span> legacy/nightly-batch (640 plaintext)',
    );
    expect(page.dom.match(/<th class="col">/g)).toHaveLength(5);

    const png = join(shots, 'audit-report.png');
    await screenshot(file, png, { width: 1200, height: 2600 });
    expect(statSync(png).size).toBeGreaterThan(10_000);
    process.stdout.write(`audit report screenshot: ${png}\n`);
  }, 90_000);

  it('shows hostile principals and workload names as text: no injected element, no refused script', async () => {
    const hostile = caller('x', '<img src=x onerror=alert(2)>', {
      source_principal: 'spiffe://cluster.local/ns/x/sa/"><script>alert(1)</script>',
      source_workload_namespace: "x'><svg onload=alert(3)>",
    });
    const file = write('hostile.html', report([destination('shop', '<b>pay</b>', [hostile])]));
    const page = await loadPage(file);
    // An injected script would be refused by the CSP, and Chromium would log the refusal.
    expect(page.consoleMessages).toEqual([]);
    expect(page.dom.match(/<script/g)).toHaveLength(1);
    expect(page.dom).not.toMatch(/<(img|svg|b>pay)/);
    expect(page.dom).toContain('spiffe://cluster.local/ns/x/sa/"&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.dom).toContain('data-sections-rendered="summary namespaces matrix callers"');
  }, 60_000);

  it('keeps a 200 x 200 mesh readable: the matrix is capped and the page loads whole', async () => {
    const destinations = Array.from({ length: 200 }, (_, d) =>
      destination(
        `ns${d % 20}`,
        `svc${d}`,
        Array.from({ length: 200 }, (_, c) =>
          c % 50 === 0
            ? plaintext(`legacy${c}`, `job${c}`, 5)
            : caller(`ns${c % 20}`, `caller${c}`, { requests: 10 + c }),
        ),
      ),
    );
    const file = write('large.html', report(destinations));
    const page = await loadPage(file);
    expect(page.consoleMessages).toEqual([]);
    expect(page.dom).toContain('data-sections-rendered="summary namespaces matrix callers"');
    expect(page.dom.match(/<th class="col">/g)).toHaveLength(31);
    expect(page.dom).toContain(
      'the matrix shows at most 40 callers with an identity, 15 without and 30 destinations',
    );
    const png = join(shots, 'audit-report-large.png');
    await screenshot(file, png);
    process.stdout.write(`large audit report screenshot: ${png}\n`);
  }, 90_000);
});
