import { createHash } from 'node:crypto';
import { formatCompact, formatCount, formatShare, renderAuditReport } from '../../../src/audit/html';
import type {
  AuditReport,
  Blocker,
  DryRun,
  DryRunEdge,
  ReportCaller,
  ReportDestination,
  ReportNamespace,
} from '../../../src/audit/types';

const FROM = '2026-01-01T00:00:00Z';
const TO = '2026-01-08T00:00:00Z';
const FACTS = { services: [], waypoint: false, ambient: false };
const ZERO = { requests: 0, connections: 0, denied: 0, plaintext: 0, mtls: 0 };

const caller = (sa: string, overrides: Partial<ReportCaller> = {}): ReportCaller => ({
  source_principal: `spiffe://cluster.local/ns/shop/sa/${sa}`,
  source_workload_namespace: 'shop',
  source_workload: sa,
  source_cluster: '',
  ...ZERO,
  requests: 100,
  mtls: 100,
  identity: true,
  first_seen: FROM,
  last_seen: TO,
  ...overrides,
});

const plaintextCaller = (workload: string, namespace: string, plaintext: number): ReportCaller =>
  caller(workload, {
    source_principal: 'unknown',
    source_workload_namespace: namespace,
    requests: plaintext,
    plaintext,
    mtls: 0,
    identity: false,
    first_seen: '2026-01-03T04:00:00Z',
    last_seen: '2026-01-03T05:00:00Z',
  });

const blocker = (c: ReportCaller): Blocker => ({
  source_principal: c.source_principal,
  source_workload_namespace: c.source_workload_namespace,
  source_workload: c.source_workload,
  source_cluster: c.source_cluster,
  plaintext: c.plaintext,
  first_seen: c.first_seen,
  last_seen: c.last_seen,
});

function destination(
  namespace: string,
  workload: string,
  callers: ReportCaller[],
  overrides: Partial<ReportDestination> = {},
): ReportDestination {
  const all = callers;
  const sum = (f: (c: ReportCaller) => number): number => all.reduce((s, c) => s + f(c), 0);
  const plain = all.filter((c) => c.plaintext > 0);
  const judged = sum((c) => c.mtls + c.plaintext);
  return {
    destination_cluster: '',
    destination_namespace: namespace,
    destination_workload: workload,
    requests: sum((c) => c.requests),
    connections: sum((c) => c.connections),
    denied: sum((c) => c.denied),
    plaintext: sum((c) => c.plaintext),
    mtls: sum((c) => c.mtls),
    mtls_share: judged === 0 ? 1 : sum((c) => c.mtls) / judged,
    mtls_share_requests: judged === 0 ? null : sum((c) => c.mtls) / judged,
    mtls_share_connections: null,
    worst_hour:
      judged === 0 ? null : { start: '2026-01-03T04:00:00Z', mtls_share: plain.length > 0 ? 0.25 : 1 },
    strict_ready: plain.length === 0,
    blocked_by: plain.map(blocker),
    callers: all.filter((c) => c.identity),
    callers_without_identity: all.filter((c) => !c.identity),
    workload: FACTS,
    ...overrides,
  };
}

function namespaceOf(
  destinations: ReportDestination[],
  overrides: Partial<ReportNamespace> = {},
): ReportNamespace {
  const first = destinations[0];
  const sum = (f: (d: ReportDestination) => number): number => destinations.reduce((s, d) => s + f(d), 0);
  const ready = destinations.filter((d) => d.strict_ready).length;
  return {
    destination_cluster: first?.destination_cluster ?? '',
    destination_namespace: first?.destination_namespace ?? '',
    requests: sum((d) => d.requests),
    connections: sum((d) => d.connections),
    denied: sum((d) => d.denied),
    plaintext: sum((d) => d.plaintext),
    mtls: sum((d) => d.mtls),
    destinations: destinations.length,
    strict_ready_destinations: ready,
    strict_ready: ready === destinations.length,
    mtls_share: 0.5,
    blocked_by: destinations.flatMap((d) => d.blocked_by),
    caller_namespaces: [
      { source_workload_namespace: 'shop', requests: sum((d) => d.requests), connections: 0 },
    ],
    ...overrides,
  };
}

function report(destinations: ReportDestination[], overrides: Partial<AuditReport> = {}): AuditReport {
  const byNamespace = new Map<string, ReportDestination[]>();
  for (const d of destinations)
    byNamespace.set(d.destination_namespace, [...(byNamespace.get(d.destination_namespace) ?? []), d]);
  return {
    generated_at: '2026-01-08T00:05:00Z',
    lookback: { from: FROM, to: TO, seconds: 7 * 86400 },
    summary: {
      destinations: destinations.length,
      strict_ready: destinations.filter((d) => d.strict_ready).length,
      blocked: destinations.filter((d) => !d.strict_ready).length,
      callers_without_identity: destinations.reduce((s, d) => s + d.callers_without_identity.length, 0),
    },
    destinations,
    namespaces: [...byNamespace.values()].map((ds) => namespaceOf(ds)),
    ...overrides,
  };
}

const edge = (
  workload: string,
  sa: string,
  requests: number,
  overrides: Partial<DryRunEdge> = {},
): DryRunEdge => ({
  destination_cluster: '',
  destination_namespace: 'shop',
  destination_workload: workload,
  source_principal: `spiffe://cluster.local/ns/shop/sa/${sa}`,
  source_workload_namespace: 'shop',
  source_workload: sa,
  source_cluster: '',
  requests,
  connections: 0,
  decided_by: 'shop/payments-allow (AuthorizationPolicy)',
  reason: 'ALLOW policy matches nothing for this principal',
  ...overrides,
});

const dryRun = (overrides: Partial<DryRun> = {}): DryRun => ({
  would_deny: [edge('payments', 'cart', 40), edge('payments', 'checkout', 900)],
  would_allow: [edge('orders', 'cart', 5, { decided_by: '-', reason: 'no ALLOW policy applies' })],
  unjudged: [edge('orders', 'admin', 7, { reason: 'rule matches on paths: not in metrics' })],
  policies: [
    { kind: 'AuthorizationPolicy', namespace: 'shop', name: 'payments-allow', file: 'payments.yaml' },
  ],
  ignored: [{ kind: 'ConfigMap', name: 'x', file: 'other.yaml' }],
  ...overrides,
});

/** A small shop: payments called over mTLS by cart and by a legacy batch job in plaintext; orders by cart only. */
const shop = (): AuditReport =>
  report([
    destination('shop', 'payments', [
      caller('cart', { requests: 1200, mtls: 1200, denied: 3 }),
      plaintextCaller('batch', 'legacy', 50),
    ]),
    destination('shop', 'orders', [caller('cart', { requests: 10, mtls: 10 })]),
  ]);

/** The cells of every row of the first table after the element with `id`, `|`-separated, markup kept. */
function rows(html: string, id: string): string[] {
  const start = html.indexOf(`id="${id}"`);
  const body = /<tbody>(.*?)<\/tbody>/s.exec(html.slice(start))?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)].map((m) =>
    [...(m[1] ?? '').matchAll(/<t[dh][^>]*>(.*?)<\/t[dh]>/g)].map((c) => c[1]).join(' | '),
  );
}

const sectionsInOrder = (html: string): string[] =>
  [...html.matchAll(/<section id="([\w-]+)" data-section="\1">/g)].map((m) => m[1] ?? '');

const text = (html: string): string =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

describe('the audit HTML report', () => {
  it('has the summary, the namespaces, the matrix and the callers, in that order, without a dry-run', () => {
    const html = renderAuditReport(shop());
    expect(sectionsInOrder(html)).toEqual(['summary', 'namespaces', 'matrix', 'callers']);
    expect(html).toContain('<title>meshwatch audit 2026-01-01T00:00:00Z to 2026-01-08T00:00:00Z</title>');
    expect(html).toContain(
      '<nav><a href="#summary">Summary</a><a href="#namespaces">Namespaces</a><a href="#matrix">Caller matrix</a>' +
        '<a href="#callers">Callers per destination</a></nav>',
    );
  });

  it('puts the dry-run right after the summary, would-break first and busiest first, as the first table of the page', () => {
    const html = renderAuditReport({ ...shop(), dry_run: dryRun() });
    expect(sectionsInOrder(html)).toEqual(['summary', 'dry-run', 'namespaces', 'matrix', 'callers']);
    const dry = /<section id="dry-run".*?<\/section>/s.exec(html)?.[0] ?? '';
    expect([...dry.matchAll(/<h3 id="([\w-]+)">([^<]*)<\/h3>/g)].map((m) => `${m[1]}: ${m[2]}`)).toEqual([
      'would-deny: Would break (succeeded, would be denied): 2 edges, 940 requests, 0 connections',
      'would-allow: Would allow (denied, would be allowed): 1 edge, 5 requests, 0 connections',
      'unjudged: Cannot be judged from metrics (paths, methods, headers, ...): 1 edge, 7 requests, 0 connections',
    ]);
    expect(html.indexOf('<table')).toBeGreaterThan(html.indexOf('id="would-deny"'));
    expect(html.indexOf('<table')).toBeLessThan(html.indexOf('id="would-allow"'));
    const decided = 'shop/payments-allow (AuthorizationPolicy)';
    const reason = 'ALLOW policy matches nothing for this principal';
    expect(rows(html, 'would-deny')).toEqual([
      `shop/payments | spiffe://cluster.local/ns/shop/sa/checkout | shop/checkout | 900 | 0 | ${decided} | ${reason}`,
      `shop/payments | spiffe://cluster.local/ns/shop/sa/cart | shop/cart | 40 | 0 | ${decided} | ${reason}`,
    ]);
    expect(rows(html, 'unjudged')).toEqual([
      `shop/orders | spiffe://cluster.local/ns/shop/sa/admin | shop/admin | 7 | 0 | ${decided} | rule matches on paths: not in metrics`,
    ]);
    expect(text(/<section id="summary".*?<\/section>/s.exec(html)?.[0] ?? '')).toContain(
      'Dry-run of 1 policy: 2 edges would break (940 requests, 0 connections), 1 denied edge would be allowed, ' +
        '1 cannot be judged from metrics.',
    );
    expect(text(dry)).toContain(
      'Policies read: 1 kind namespace name file AuthorizationPolicy shop payments-allow payments.yaml',
    );
    expect(text(dry)).toContain(
      'Ignored (neither AuthorizationPolicy nor PeerAuthentication): kind name file ConfigMap x other.yaml',
    );
  });

  it('says plainly when a dry-run breaks nothing', () => {
    const html = renderAuditReport({
      ...shop(),
      dry_run: dryRun({ would_deny: [], would_allow: [], unjudged: [] }),
    });
    expect(html).toContain(
      '<h3 id="would-deny">Would break (succeeded, would be denied): 0 edges</h3>' +
        '<p>Nothing would break: every edge that succeeded would still be allowed.</p>',
    );
  });

  it('summarises readiness: destinations ready, blocked, callers without identity and the lookback', () => {
    const html = renderAuditReport(shop());
    const summary = /<section id="summary".*?<\/section>/s.exec(html)?.[0] ?? '';
    expect(text(summary)).toBe(
      'Summary Destinations 2 Ready for STRICT mTLS 1 Blocked by plaintext callers 1 Callers without identity 1 ' +
        'Lookback 1w 50% of destinations and 0 of 1 namespace are ready for STRICT (no plaintext caller from ' +
        '2026-01-01T00:00:00Z to 2026-01-08T00:00:00Z).',
    );
    expect(summary).toContain('<span style="width:50.0%"></span>');
  });

  it('tables each namespace: mTLS share, worst hour, the STRICT verdict or its named blockers, callers', () => {
    const html = renderAuditReport(shop());
    expect(html).toContain('<h3 id="ns-1">shop <span class="blocked">blocked</span></h3>');
    expect(text(/<h3 id="ns-1">.*?<\/p>/s.exec(html)?.[0] ?? '')).toBe(
      'shop blocked 2 destinations, 1 ready for STRICT; mTLS share 50%; 1,260 requests, 0 connections, 3 denied; ' +
        'blocked by 1 plaintext caller; callers from shop (1,260 requests, 0 connections).',
    );
    expect(rows(html, 'ns-1')).toEqual([
      '<a href="#dest-1">payments</a> | sidecar | 96%<span class="sub">requests 96%, connections –</span> | ' +
        '1,250 | 0 | 3 | 25%<span class="sub">2026-01-03 04:00</span> | 1 | 1 | ' +
        '<span class="blocked">blocked by</span> legacy/batch (50 plaintext)',
      '<a href="#dest-2">orders</a> | sidecar | 100%<span class="sub">requests 100%, connections –</span> | ' +
        '10 | 0 | 0 | 100%<span class="sub">2026-01-03 04:00</span> | 1 | 0 | <span class="ready">STRICT-ready</span>',
    ]);
  });

  it('draws the caller matrix with volumes, plaintext and denied marked, and callers without identity apart', () => {
    const html = renderAuditReport(shop());
    const matrix = /<table class="matrix">.*?<\/table>/s.exec(html)?.[0] ?? '';
    // Blocked destinations first, then the busiest.
    expect([...matrix.matchAll(/<th class="col"><a href="(#[\w-]+)"/g)].map((m) => m[1])).toEqual([
      '#dest-1',
      '#dest-2',
    ]);
    expect(rows(html, 'matrix').map((r) => r.replace(/ title="[^"]*"/g, ''))).toEqual([
      'Callers with an identity (1)',
      'spiffe://cluster.local/ns/shop/sa/cart | shop | cart | 1,200<b class="flag d">D</b> | 10',
      'Callers without an identity (cannot be allowed by principal) (1)',
      'unknown | legacy | batch | 50<b class="flag p">P</b> | ',
    ]);
    expect(matrix).toContain(
      '<td class="m denied" title="spiffe://cluster.local/ns/shop/sa/cart shop/cart → shop/payments: 1,200 requests, ' +
        '0 connections, 3 denied, 0 plaintext">',
    );
    expect(matrix).toContain('<td class="m plain" title="unknown legacy/batch → shop/payments:');
    expect(html).not.toContain('class="note"');
  });

  it('lists the callers of each destination with volume, denied and first/last seen, those without identity apart', () => {
    const html = renderAuditReport(shop());
    const callers = /<section id="callers".*?<\/section>/s.exec(html)?.[0] ?? '';
    expect(
      [...callers.matchAll(/<h3 id="(dest-\d)">(.*?)<\/h3>|<p><b>(.*?)<\/b><\/p>/g)].map((m) =>
        m[1] ? `${m[1]} ${m[2]}` : m[3],
      ),
    ).toEqual([
      'dest-1 shop/payments',
      'With an identity (1)',
      'Without an identity (cannot be allowed by principal) (1)',
      'dest-2 shop/orders',
      'With an identity (1)',
    ]);
    const tables = [...callers.matchAll(/<tbody>(.*?)<\/tbody>/g)].map((m) => text(m[1] ?? ''));
    expect(tables).toEqual([
      'spiffe://cluster.local/ns/shop/sa/cart shop cart 1,200 0 3 0 2026-01-01 00:00 2026-01-08 00:00',
      'unknown legacy batch 50 0 0 50 2026-01-03 04:00 2026-01-03 05:00',
      'spiffe://cluster.local/ns/shop/sa/cart shop cart 10 0 0 0 2026-01-01 00:00 2026-01-08 00:00',
    ]);
  });

  it('escapes every value from telemetry: a hostile principal, workload and namespace stay text', () => {
    const evil = caller('x', {
      source_principal: 'spiffe://cluster.local/ns/x/sa/"><script>alert(1)</script>',
      source_workload: '<img src=x onerror=alert(2)>',
      source_workload_namespace: "ns'><svg onload=alert(3)>",
      source_cluster: '<b>c</b>',
      first_seen: '<i>t</i>',
      plaintext: 1,
    });
    const plain = { ...evil, source_principal: 'unknown', identity: false };
    const dest = destination('<shop>', 'pay"ments', [evil, plain], { destination_cluster: '"&' });
    const html = renderAuditReport(
      report([dest], {
        generated_at: '<x>',
        dry_run: dryRun({
          would_deny: [
            edge('"><script>alert(4)</script>', 'y', 1, {
              reason: '<script>alert(5)</script>',
              decided_by: '<u>',
            }),
          ],
          policies: [{ kind: '<k>', namespace: '<n>', name: '<m>', file: '<f>' }],
        }),
      }),
    );
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<(img|svg|b>c|i>t|u>|k>|n>|m>|f>|shop>|x>)/);
    expect(html).not.toMatch(/"><script|'><svg/);
    expect(html).toContain('spiffe://cluster.local/ns/x/sa/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('ns&#39;&gt;&lt;svg onload=alert(3)&gt;');
    expect(html).toContain('&lt;shop&gt;/pay&quot;ments<span class="cluster">&quot;&amp;</span>');
    expect(html).toContain('&lt;script&gt;alert(5)&lt;/script&gt;');
    // Escaped once, never twice: the page reads as the telemetry wrote it.
    expect(html).not.toMatch(/&amp;(lt|gt|quot|#39);/);
    expect(html).toContain(
      '<th class="col"><a href="#dest-1" title="&lt;shop&gt;/pay&quot;ments (&quot;&amp;)">&lt;shop&gt;/pay&quot;ments (&quot;&amp;)</a></th>',
    );
    // Inside attributes too: the matrix cells' tooltips carry the names.
    expect(html).toContain(
      'title="spiffe://cluster.local/ns/x/sa/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; ns&#39;',
    );
  });

  it('says so in every section when the lookback saw no traffic', () => {
    const html = renderAuditReport(report([]));
    expect(sectionsInOrder(html)).toEqual(['summary', 'namespaces', 'matrix', 'callers']);
    expect(text(/<section id="summary".*?<\/section>/s.exec(html)?.[0] ?? '')).toBe(
      'Summary Destinations 0 Ready for STRICT mTLS 0 Blocked by plaintext callers 0 Callers without identity 0 ' +
        'Lookback 1w 0% of destinations and 0 of 0 namespaces are ready for STRICT (no plaintext caller from ' +
        '2026-01-01T00:00:00Z to 2026-01-08T00:00:00Z).',
    );
    expect(html).toContain('<h2>Namespaces</h2><p>No destination had traffic in the lookback.</p>');
    expect(html).toContain('<h2>Caller-to-destination matrix</h2><p>No edge in the lookback.</p>');
    expect(html).toContain('<h2>Callers per destination</h2><p>No caller in the lookback.</p>');
    expect(html).not.toContain('<table');
  });

  it('caps the matrix of a 200 x 200 mesh, summing the rest in "other" and saying so', () => {
    const destinations = Array.from({ length: 200 }, (_, d) =>
      destination(
        `ns${d % 10}`,
        `svc${d}`,
        Array.from({ length: 200 }, (_, c) => caller(`caller${c}`, { requests: 1 + c, mtls: 1 + c })),
      ),
    );
    const html = renderAuditReport(report(destinations));
    const matrix = /<table class="matrix">.*?<\/table>/s.exec(html)?.[0] ?? '';
    expect(matrix.match(/<th class="col">/g)).toHaveLength(31);
    expect(matrix).toContain('<th class="col"><a href="#callers">170 other destinations</a></th>');
    const matrixRows = rows(html, 'matrix');
    expect(matrixRows).toHaveLength(1 + 40 + 1);
    // The busiest caller first; the 160 quietest summed: (1 + ... + 160) per destination, 30 shown + 170 other.
    expect(
      matrixRows[1]?.startsWith('spiffe://cluster.local/ns/shop/sa/caller199 | shop | caller199 | 200'),
    ).toBe(true);
    expect(matrixRows[41]?.replace(/ title="[^"]*"/g, '')).toBe(
      `<i>160 other callers</i> | ${Array(30).fill('12.9k').join(' | ')} | 2.19M`,
    );
    expect(html).toContain(
      '<p class="note">The mesh has 200 callers and 200 destinations: the matrix shows at most 40 callers with an ' +
        'identity, 15 without and 30 destinations',
    );
    // 50 callers per destination until the page's 5,000 caller rows are spent.
    expect(html).toContain(
      '<p class="note">35,000 callers are not listed: at most 50 per list and 5,000 on the page.',
    );
    expect(html.length).toBeLessThan(4_000_000);
  });

  it('is self-contained, and runs only its own script, allowed by hash', () => {
    const html = renderAuditReport({ ...shop(), dry_run: dryRun() });
    expect(html.match(/\b(?:src|href)="(?!#)[^"]*"/g)).toBeNull();
    expect(html.match(/https?:\/\//g)).toBeNull();
    const script = /<script>(.*?)<\/script>/s.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(script).digest('base64');
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'"`,
    );
  });
});

describe('numbers in the audit report', () => {
  it('writes counts whole with separators, keeping extrapolated fractions visible', () => {
    expect([0, 0.4, 1, 999, 1234, 1234567.6].map(formatCount)).toEqual([
      '0',
      '0.4',
      '1',
      '999',
      '1,234',
      '1,234,568',
    ]);
    expect([9999, 10_000, 123_456, 999_499, 999_500, 4_560_000, 2e9].map(formatCompact)).toEqual([
      '9,999',
      '10k',
      '123k',
      '999k',
      '1M',
      '4.56M',
      '2G',
    ]);
  });

  it('rounds shares down so that only a full 100% reads as 100%', () => {
    expect([null, 0, 0.0004, 0.5, 0.995, 0.9996, 1].map(formatShare)).toEqual([
      '–',
      '0%',
      '<0.1%',
      '50%',
      '99.5%',
      '99.9%',
      '100%',
    ]);
  });
});
