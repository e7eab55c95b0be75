/**
 * The audit's HTML report (`meshwatch audit --html FILE`): one self-contained page in the backtest
 * report's look (inline CSS, no fonts, images or network at view time, enforced by its
 * Content-Security-Policy) with the summary, the dry-run's would-break edges first, a table per
 * namespace, the caller-to-destination matrix and the callers of each destination. Pure: a report
 * in, a string out. Every value from telemetry goes through `escapeHtml`: principals and workload
 * names come from the mesh and are not trusted.
 */
import { createHash } from 'node:crypto';
import { formatDuration } from '../config/duration';
import { escapeHtml } from '../report/escape';
import { formatValue } from '../report/format';
import {
  destinationKey,
  type AuditReport,
  type Blocker,
  type CallerLabels,
  type DestinationLabels,
  type DryRun,
  type DryRunEdge,
  type ReportCaller,
  type ReportDestination,
  type ReportNamespace,
} from './types';

/** How much of a large mesh the page lists; what is left out is summed or counted, and the page says so. */
export interface AuditHtmlLimits {
  /** Rows of the matrix for callers with an identity, and for callers without one. */
  matrixCallers: number;
  matrixCallersWithoutIdentity: number;
  /** Columns (destinations) of the matrix. */
  matrixDestinations: number;
  /** Rows of each of a destination's two caller tables. */
  callersPerDestination: number;
  /** Caller rows on the whole page, over all destinations. */
  callerRows: number;
  /** Rows of each dry-run list. */
  dryRunEdges: number;
  /** Blockers named in a namespace table's verdict cell. */
  blockersPerCell: number;
}

/** The defaults keep a 2,000-destination, 50,000-edge mesh to a few megabytes that a browser opens at once. */
export const AUDIT_HTML_LIMITS: AuditHtmlLimits = {
  matrixCallers: 40,
  matrixCallersWithoutIdentity: 15,
  matrixDestinations: 30,
  callersPerDestination: 50,
  callerRows: 5000,
  dryRunEdges: 500,
  blockersPerCell: 3,
};

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #1f2328; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: #57606a; margin-top: 0; } nav a { margin-right: 14px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
table { font-size: 13px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #d0d7de; white-space: nowrap; vertical-align: top; }
td.caller { white-space: normal; word-break: break-all; min-width: 240px; }
td.text { white-space: normal; overflow-wrap: anywhere; min-width: 220px; }
td.wrap { white-space: normal; overflow-wrap: break-word; min-width: 160px; }
.sub { display: block; color: #57606a; font-size: 12px; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.cluster { color: #57606a; font-size: 12px; margin-left: 4px; }
.ready { color: #1a7f37; font-weight: 600; } .blocked { color: #cf222e; font-weight: 600; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 12px; }
.cards div { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 14px; min-width: 140px; }
.cards dt { color: #57606a; font-size: 12px; } .cards dd { margin: 0; font-size: 22px; font-weight: 600; }
.cards .good dd { color: #1a7f37; } .cards .bad dd { color: #cf222e; }
.bar { height: 10px; background: #ffebe9; border-radius: 5px; overflow: hidden; max-width: 600px; }
.bar span { display: block; height: 100%; background: #2da44e; }
.note { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 6px 10px; }
.scroll { overflow-x: auto; }
table.matrix { width: auto; } table.matrix td.m { text-align: right; font-variant-numeric: tabular-nums; min-width: 38px; }
table.matrix th.col { vertical-align: bottom; padding: 4px 2px; }
table.matrix th.col a { writing-mode: vertical-rl; transform: rotate(180deg); display: inline-block; max-height: 180px; overflow: hidden; text-overflow: ellipsis; }
table.matrix tr.group th { background: #eaeef2; }
td.plain { background: #fff1e5; } td.denied { color: #cf222e; }
b.flag { font-size: 10px; margin-left: 2px; vertical-align: super; }
td.plain b.flag.p { color: #bc4c00; } td.denied b.flag.d { color: #cf222e; }
.legend span { margin-right: 16px; }
`;

// Marks which sections laid out with a size, in the order they appear on screen: the headless
// browser test reads it, as it reads the backtest report's rendered-chart count.
const SCRIPT = `
(function () {
  var shown = [];
  document.querySelectorAll('section[data-section]').forEach(function (section) {
    var box = section.getBoundingClientRect();
    if (box.width > 0 && box.height > 0) shown.push({ name: section.getAttribute('data-section'), top: box.top });
  });
  shown.sort(function (a, b) { return a.top - b.top; });
  document.body.setAttribute('data-sections-rendered', shown.map(function (s) { return s.name; }).join(' '));
})();
`;

// The one script is allowed by its hash, not by 'unsafe-inline': a principal that slipped past the
// escaping as a <script> would still not run (and Chromium would log the refusal).
const CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`;

/** The report page for an audit (and its dry-run, when there is one). */
export function renderAuditReport(report: AuditReport, limits: Partial<AuditHtmlLimits> = {}): string {
  const lim = { ...AUDIT_HTML_LIMITS, ...limits };
  const groups = namespaceGroups(report);
  const ids = new Map(
    groups.flatMap((g) => g.destinations).map((d, i) => [destinationKey(d), `dest-${i + 1}`]),
  );
  const title = `meshwatch audit ${report.lookback.from} to ${report.lookback.to}`;
  const sections = [
    summarySection(report),
    report.dry_run ? dryRunSection(report.dry_run, lim) : '',
    namespacesSection(groups, ids, lim),
    matrixSection(report, ids, lim),
    callersSection(groups, ids, lim),
  ];
  const nav = [
    ['summary', 'Summary'],
    ...(report.dry_run ? [['dry-run', 'Dry-run']] : []),
    ['namespaces', 'Namespaces'],
    ['matrix', 'Caller matrix'],
    ['callers', 'Callers per destination'],
  ]
    .map(([id, label]) => `<a href="#${id}">${label}</a>`)
    .join('');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">Zero-trust readiness from ${formatDuration(report.lookback.seconds * 1000)} of server-side ` +
      `Istio telemetry; generated ${escapeHtml(report.generated_at)}.</p>`,
    `<nav>${nav}</nav>`,
    ...sections.filter((s) => s !== ''),
    `<script>${SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

function summarySection(report: AuditReport): string {
  const s = report.summary;
  const readyShare = s.destinations === 0 ? 0 : s.strict_ready / s.destinations;
  const namespacesReady = report.namespaces.filter((n) => n.strict_ready).length;
  const card = (label: string, value: string, kind = ''): string =>
    `<div${kind ? ` class="${kind}"` : ''}><dt>${label}</dt><dd>${value}</dd></div>`;
  const dry = report.dry_run;
  const dryLine = dry
    ? `<p>Dry-run of ${dry.policies.length} ${plural(dry.policies.length, 'policy', 'policies')}: ` +
      `<a href="#would-deny">${dry.would_deny.length} ${plural(dry.would_deny.length, 'edge')} would break</a> ` +
      `(${volumeText(sumEdges(dry.would_deny))}), ${dry.would_allow.length} denied ` +
      `${plural(dry.would_allow.length, 'edge')} would be allowed, ${dry.unjudged.length} cannot be judged from metrics.</p>`
    : '';
  return section(
    'summary',
    'Summary',
    '<dl class="cards">' +
      card('Destinations', formatCount(s.destinations)) +
      card('Ready for STRICT mTLS', formatCount(s.strict_ready), 'good') +
      card('Blocked by plaintext callers', formatCount(s.blocked), s.blocked > 0 ? 'bad' : '') +
      card(
        'Callers without identity',
        formatCount(s.callers_without_identity),
        s.callers_without_identity > 0 ? 'bad' : '',
      ) +
      card('Lookback', formatDuration(report.lookback.seconds * 1000)) +
      '</dl>' +
      `<div class="bar" role="img" aria-label="${formatShare(readyShare)} of destinations ready for STRICT">` +
      `<span style="width:${(readyShare * 100).toFixed(1)}%"></span></div>` +
      `<p>${formatShare(readyShare)} of destinations and ${namespacesReady} of ${report.namespaces.length} ` +
      `${plural(report.namespaces.length, 'namespace')} are ready for STRICT (no plaintext caller from ` +
      `${escapeHtml(report.lookback.from)} to ${escapeHtml(report.lookback.to)}).</p>` +
      dryLine,
  );
}

function dryRunSection(dry: DryRun, lim: AuditHtmlLimits): string {
  const list = (id: string, heading: string, edges: DryRunEdge[], empty: string): string => {
    const sorted = [...edges].sort((a, b) => b.requests + b.connections - (a.requests + a.connections));
    const shown = sorted.slice(0, lim.dryRunEdges);
    const rest = sorted.slice(lim.dryRunEdges);
    const more =
      rest.length > 0
        ? `<p class="note">${rest.length} more ${plural(rest.length, 'edge')} (${volumeText(sumEdges(rest))}) ` +
          `are not listed here; the JSON report (--json) has them all.</p>`
        : '';
    const head =
      `<h3 id="${id}">${heading}: ${edges.length} ${plural(edges.length, 'edge')}` +
      (edges.length > 0 ? `, ${volumeText(sumEdges(edges))}` : '') +
      '</h3>';
    if (edges.length === 0) return `${head}<p>${empty}</p>`;
    const rows = shown.map((e) =>
      row([
        destinationCell(e),
        callerCell(e.source_principal),
        workloadText(`${e.source_workload_namespace}/${e.source_workload}`, e.source_cluster),
        num(formatCount(e.requests)),
        num(formatCount(e.connections)),
        `<td class="wrap">${escapeHtml(e.decided_by)}</td>`,
        `<td class="text">${escapeHtml(e.reason)}</td>`,
      ]),
    );
    return (
      head +
      table(
        [
          'destination',
          'caller principal',

          'caller workload',
          'requests',
          'connections',
          'decided by',
          'reason',
        ],
        rows,
      ) +
      more
    );
  };
  const policies =
    dry.policies.length === 0
      ? '<p>No AuthorizationPolicy or PeerAuthentication was read.</p>'
      : table(
          ['kind', 'namespace', 'name', 'file'],
          dry.policies.map((p) =>
            row([escapeHtml(p.kind), escapeHtml(p.namespace), escapeHtml(p.name), escapeHtml(p.file)]),
          ),
        );
  const ignored =
    dry.ignored.length === 0
      ? ''
      : `<p>Ignored (neither AuthorizationPolicy nor PeerAuthentication):</p>` +
        table(
          ['kind', 'name', 'file'],
          dry.ignored.map((p) => row([escapeHtml(p.kind), escapeHtml(p.name), escapeHtml(p.file)])),
        );
  return section(
    'dry-run',
    'Dry-run: what the policies would change',
    list(
      'would-deny',
      'Would break (succeeded, would be denied)',
      dry.would_deny,
      'Nothing would break: every edge that succeeded would still be allowed.',
    ) +
      list(
        'would-allow',
        'Would allow (denied, would be allowed)',
        dry.would_allow,
        'No denied edge would be allowed.',
      ) +
      list(
        'unjudged',
        'Cannot be judged from metrics (paths, methods, headers, ...)',
        dry.unjudged,
        'Every edge could be judged from its labels.',
      ) +
      `<h3>Policies read: ${dry.policies.length}</h3>` +
      policies +
      ignored,
  );
}

interface NamespaceGroup {
  rollup: ReportNamespace | undefined;
  cluster: string;
  namespace: string;
  destinations: ReportDestination[];
}

/** Destinations by namespace, in the report's namespace order; a namespace without a roll-up still shows. */
function namespaceGroups(report: AuditReport): NamespaceGroup[] {
  const key = (cluster: string, namespace: string): string => `${cluster}\u0000${namespace}`;
  const groups = new Map<string, NamespaceGroup>();
  for (const n of report.namespaces) {
    groups.set(key(n.destination_cluster, n.destination_namespace), {
      rollup: n,
      cluster: n.destination_cluster,
      namespace: n.destination_namespace,
      destinations: [],
    });
  }
  for (const d of report.destinations) {
    const k = key(d.destination_cluster, d.destination_namespace);
    let group = groups.get(k);
    if (!group) {
      group = {
        rollup: undefined,
        cluster: d.destination_cluster,
        namespace: d.destination_namespace,
        destinations: [],
      };
      groups.set(k, group);
    }
    group.destinations.push(d);
  }
  return [...groups.values()];
}

function namespacesSection(groups: NamespaceGroup[], ids: Map<string, string>, lim: AuditHtmlLimits): string {
  if (groups.length === 0)
    return section('namespaces', 'Namespaces', '<p>No destination had traffic in the lookback.</p>');
  const parts = groups.map((g, i) => {
    const n = g.rollup;
    const ready = n ? n.strict_ready : g.destinations.every((d) => d.strict_ready);
    const verdict = ready
      ? '<span class="ready">STRICT-ready</span>'
      : '<span class="blocked">blocked</span>';
    const facts = n
      ? `<p class="meta">${n.destinations} ${plural(n.destinations, 'destination')}, ${n.strict_ready_destinations} ready for STRICT; ` +
        `mTLS share ${formatShare(n.mtls_share)}; ${volumeText(n)}, ${formatCount(n.denied)} denied` +
        (n.blocked_by.length > 0
          ? `; blocked by ${n.blocked_by.length} plaintext ${plural(n.blocked_by.length, 'caller')}`
          : '') +
        (n.caller_namespaces.length > 0
          ? `; callers from ${limited(
              n.caller_namespaces.map(
                (c) =>
                  `${escapeHtml(c.source_workload_namespace)} (${volumeText({ requests: c.requests, connections: c.connections })})`,
              ),
              10,
            )}`
          : '') +
        '.</p>'
      : '';
    const rows = g.destinations.map((d) => {
      const id = ids.get(destinationKey(d)) ?? '';
      return row([
        `<a href="#${id}">${escapeHtml(d.destination_workload)}</a>`,
        mode(d),
        `${formatShare(d.mtls_share)}<span class="sub">requests ${formatShare(d.mtls_share_requests)}, ` +
          `connections ${formatShare(d.mtls_share_connections)}</span>`,
        num(formatCount(d.requests)),
        num(formatCount(d.connections)),
        num(formatCount(d.denied)),
        d.worst_hour
          ? `${formatShare(d.worst_hour.mtls_share)}<span class="sub">${escapeHtml(shortTime(d.worst_hour.start))}</span>`
          : 'no traffic',
        num(formatCount(d.callers.length)),
        num(formatCount(d.callers_without_identity.length)),
        `<td class="text">${verdictText(d, id, lim)}</td>`,
      ]);
    });
    return (
      `<h3 id="ns-${i + 1}">${escapeHtml(g.namespace)}${clusterTag(g.cluster)} ${verdict}</h3>` +
      facts +
      table(
        [
          'workload',
          'mode',
          'mTLS share',
          'requests',
          'connections',
          'denied',
          'worst hour (UTC)',
          'callers',
          'no identity',
          'STRICT verdict',
        ],
        rows,
      )
    );
  });
  return section('namespaces', 'Namespaces', parts.join('\n'));
}

function verdictText(d: ReportDestination, id: string, lim: AuditHtmlLimits): string {
  if (d.strict_ready) return '<span class="ready">STRICT-ready</span>';
  const named = d.blocked_by
    .slice(0, lim.blockersPerCell)
    .map((b) => `${blockerName(b)} (${formatCount(b.plaintext)} plaintext)`);
  const more = d.blocked_by.length - named.length;
  return (
    `<span class="blocked">blocked by</span> ${named.join(', ')}` +
    (more > 0 ? `, <a href="#${id}">${more} more</a>` : '')
  );
}

/** A plaintext caller by what the telemetry knows of it: its workload, or its principal, or nothing. */
function blockerName(b: Blocker): string {
  if (b.source_workload !== 'unknown')
    return workloadText(`${b.source_workload_namespace}/${b.source_workload}`, b.source_cluster);
  if (b.source_principal !== 'unknown') return escapeHtml(b.source_principal);
  return 'a caller outside the mesh (workload unknown)';
}

const mode = (d: ReportDestination): string =>
  d.workload.waypoint ? 'ambient, waypoint' : d.workload.ambient ? 'ambient' : 'sidecar';

interface Cell {
  requests: number;
  connections: number;
  denied: number;
  plaintext: number;
}

interface MatrixRow {
  caller: CallerLabels;
  cells: Map<string, Cell>;
  volume: number;
  flagged: boolean;
}

function matrixSection(report: AuditReport, ids: Map<string, string>, lim: AuditHtmlLimits): string {
  if (report.destinations.length === 0)
    return section('matrix', 'Caller-to-destination matrix', '<p>No edge in the lookback.</p>');
  // Plaintext and denied edges are what the audit is about: they go first, then the busiest, so a
  // one-off legacy caller is never capped away behind high-volume healthy ones.
  const flaggedDestination = (d: ReportDestination): number => Number(!d.strict_ready || d.denied > 0);
  const columns = [...report.destinations].sort(
    (a, b) =>
      flaggedDestination(b) - flaggedDestination(a) ||
      b.requests + b.connections - (a.requests + a.connections),
  );
  const shownColumns = columns.slice(0, lim.matrixDestinations);
  const otherColumns = columns.length - shownColumns.length;
  const shownKeys = new Set(shownColumns.map(destinationKey));
  const OTHER = '\u0000other';
  const withIdentity = new Map<string, MatrixRow>();
  const withoutIdentity = new Map<string, MatrixRow>();
  for (const d of report.destinations) {
    const column = shownKeys.has(destinationKey(d)) ? destinationKey(d) : OTHER;
    for (const c of [...d.callers, ...d.callers_without_identity]) {
      const rows = c.identity ? withIdentity : withoutIdentity;
      const k = JSON.stringify([
        c.source_cluster,
        c.source_principal,
        c.source_workload_namespace,
        c.source_workload,
      ]);
      let r = rows.get(k);
      if (!r) {
        r = { caller: c, cells: new Map(), volume: 0, flagged: false };
        rows.set(k, r);
      }
      addTo(r.cells, column, c);
      r.volume += c.requests + c.connections;
      r.flagged ||= c.plaintext > 0 || c.denied > 0;
    }
  }
  const rank = (rows: Map<string, MatrixRow>): MatrixRow[] =>
    [...rows.values()].sort((a, b) => Number(b.flagged) - Number(a.flagged) || b.volume - a.volume);
  const identified = rank(withIdentity);
  const anonymous = rank(withoutIdentity);
  const columnKeys = [...shownColumns.map(destinationKey), ...(otherColumns > 0 ? [OTHER] : [])];
  const span = 3 + columnKeys.length;
  // Plain text: escaped where it goes into the page (header text and tooltips alike).
  const names = new Map(
    report.destinations.map((d) => [
      destinationKey(d),
      `${d.destination_namespace}/${d.destination_workload}${d.destination_cluster === '' ? '' : ` (${d.destination_cluster})`}`,
    ]),
  );
  names.set(OTHER, `${otherColumns} other ${plural(otherColumns, 'destination')}`);
  const cellHtml = (callerName: string, column: string, v: Cell | undefined): string => {
    if (!v) return '<td class="m"></td>';
    const classes = ['m', v.plaintext > 0 ? 'plain' : '', v.denied > 0 ? 'denied' : ''].filter(
      (c) => c !== '',
    );
    const flags =
      (v.plaintext > 0 ? '<b class="flag p">P</b>' : '') + (v.denied > 0 ? '<b class="flag d">D</b>' : '');
    const title =
      `${callerName} → ${names.get(column) ?? ''}: ${formatCount(v.requests)} requests, ` +
      `${formatCount(v.connections)} connections, ${formatCount(v.denied)} denied, ${formatCount(v.plaintext)} plaintext`;
    return `<td class="${classes.join(' ')}" title="${escapeHtml(title)}">${formatCompact(v.requests + v.connections)}${flags}</td>`;
  };
  const group = (label: string, rows: MatrixRow[], cap: number): string => {
    if (rows.length === 0) return '';
    const shown = rows.slice(0, cap);
    const rest = rows.slice(cap);
    const lines = shown.map((r) => {
      const c = r.caller;
      const name = `${c.source_principal} ${c.source_workload_namespace}/${c.source_workload}`;
      return (
        `<tr><td class="caller">${escapeHtml(c.source_principal)}</td><td>${escapeHtml(c.source_workload_namespace)}</td>` +
        `<td>${workloadText(c.source_workload, c.source_cluster)}</td>` +
        columnKeys.map((k) => cellHtml(name, k, r.cells.get(k))).join('') +
        '</tr>'
      );
    });
    if (rest.length > 0) {
      const summed = new Map<string, Cell>();
      for (const r of rest) for (const [k, v] of r.cells) addTo(summed, k, v);
      const name = `${rest.length} other ${plural(rest.length, 'caller')}`;
      lines.push(
        `<tr class="other"><td colspan="3"><i>${escapeHtml(name)}</i></td>` +
          columnKeys.map((k) => cellHtml(name, k, summed.get(k))).join('') +
          '</tr>',
      );
    }
    return `<tr class="group"><th colspan="${span}">${label} (${rows.length})</th></tr>${lines.join('')}`;
  };
  const head =
    '<tr><th>caller principal</th><th>namespace</th><th>workload</th>' +
    columnKeys
      .map((k) =>
        k === OTHER
          ? `<th class="col"><a href="#callers">${escapeHtml(names.get(k) ?? '')}</a></th>`
          : `<th class="col"><a href="#${ids.get(k) ?? ''}" title="${escapeHtml(names.get(k) ?? '')}">${escapeHtml(names.get(k) ?? '')}</a></th>`,
      )
      .join('') +
    '</tr>';
  const capped =
    otherColumns > 0 ||
    identified.length > lim.matrixCallers ||
    anonymous.length > lim.matrixCallersWithoutIdentity;
  const note = capped
    ? `<p class="note">The mesh has ${identified.length + anonymous.length} callers and ${columns.length} destinations: ` +
      `the matrix shows at most ${lim.matrixCallers} callers with an identity, ${lim.matrixCallersWithoutIdentity} without ` +
      `and ${lim.matrixDestinations} destinations (those with plaintext or denied traffic first, then the busiest); ` +
      'the rest are summed in the "other" row and column. The JSON report (--json) has every edge.</p>'
    : '';
  const legend =
    '<p class="legend"><span>cell: requests + connections over the lookback</span>' +
    '<span><b class="flag">P</b> some arrived in plaintext (shaded)</span><span><b class="flag">D</b> some were denied (red)</span></p>';
  return section(
    'matrix',
    'Caller-to-destination matrix',
    note +
      legend +
      `<div class="scroll"><table class="matrix"><thead>${head}</thead><tbody>` +
      group('Callers with an identity', identified, lim.matrixCallers) +
      group(
        'Callers without an identity (cannot be allowed by principal)',
        anonymous,
        lim.matrixCallersWithoutIdentity,
      ) +
      '</tbody></table></div>',
  );
}

function addTo(cells: Map<string, Cell>, key: string, v: Cell): void {
  const cell = cells.get(key) ?? { requests: 0, connections: 0, denied: 0, plaintext: 0 };
  cell.requests += v.requests;
  cell.connections += v.connections;
  cell.denied += v.denied;
  cell.plaintext += v.plaintext;
  cells.set(key, cell);
}

function callersSection(groups: NamespaceGroup[], ids: Map<string, string>, lim: AuditHtmlLimits): string {
  const destinations = groups.flatMap((g) => g.destinations);
  if (destinations.length === 0)
    return section('callers', 'Callers per destination', '<p>No caller in the lookback.</p>');
  let budget = lim.callerRows;
  let unlisted = 0;
  const headers = [
    'principal',
    'namespace',
    'workload',
    'requests',
    'connections',
    'denied',
    'plaintext',
    'first seen (UTC)',
    'last seen (UTC)',
  ];
  const list = (label: string, callers: ReportCaller[]): string => {
    if (callers.length === 0) return '';
    const shown = callers.slice(0, Math.max(0, Math.min(lim.callersPerDestination, budget)));
    budget -= shown.length;
    const rest = callers.length - shown.length;
    const rows = shown.map((c) =>
      row([
        callerCell(c.source_principal),
        escapeHtml(c.source_workload_namespace),
        workloadText(c.source_workload, c.source_cluster),
        num(formatCount(c.requests)),
        num(formatCount(c.connections)),
        num(formatCount(c.denied)),
        num(formatCount(c.plaintext)),
        escapeHtml(shortTime(c.first_seen)),
        escapeHtml(shortTime(c.last_seen)),
      ]),
    );
    unlisted += rest;
    const more = rest > 0 ? `<p>${rest} more ${plural(rest, 'caller')} not listed (see --json).</p>` : '';
    return (
      `<p><b>${label} (${callers.length})</b></p>` + (rows.length > 0 ? table(headers, rows) : '') + more
    );
  };
  const parts = destinations.map((d) => {
    const body =
      list('With an identity', d.callers) +
      list('Without an identity (cannot be allowed by principal)', d.callers_without_identity);
    return (
      `<h3 id="${ids.get(destinationKey(d)) ?? ''}">${destinationText(d)}</h3>` +
      (body === '' ? '<p>No caller.</p>' : body)
    );
  });
  const note =
    unlisted > 0
      ? `<p class="note">${formatCount(unlisted)} callers are not listed: at most ${lim.callersPerDestination} per list and ` +
        `${formatCount(lim.callerRows)} on the page. The JSON report (--json) has them all.</p>`
      : '';
  return section('callers', 'Callers per destination', note + parts.join('\n'));
}

function section(id: string, heading: string, body: string): string {
  return `<section id="${id}" data-section="${id}"><h2>${heading}</h2>${body}</section>`;
}

const destinationText = (d: DestinationLabels): string =>
  `${escapeHtml(d.destination_namespace)}/${escapeHtml(d.destination_workload)}${clusterTag(d.destination_cluster)}`;

const destinationCell = (d: DestinationLabels): string => `<td class="caller">${destinationText(d)}</td>`;

const callerCell = (principal: string): string => `<td class="caller">${escapeHtml(principal)}</td>`;

const workloadText = (workload: string, cluster: string): string =>
  `${escapeHtml(workload)}${clusterTag(cluster)}`;

// Multi-cluster meshes: the same namespace and workload in two clusters are two workloads.
const clusterTag = (cluster: string): string =>
  cluster === '' ? '' : `<span class="cluster">${escapeHtml(cluster)}</span>`;

const sumEdges = (edges: DryRunEdge[]): { requests: number; connections: number } => ({
  requests: edges.reduce((s, e) => s + e.requests, 0),
  connections: edges.reduce((s, e) => s + e.connections, 0),
});

const volumeText = (v: { requests: number; connections: number }): string =>
  `${formatCount(v.requests)} ${plural(v.requests, 'request')}, ${formatCount(v.connections)} ${plural(v.connections, 'connection')}`;

const plural = (n: number, one: string, many = `${one}s`): string => (n === 1 ? one : many);

function limited(items: string[], max: number): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

// Hour-aligned RFC 3339 times read faster without their seconds and zone; headers say UTC.
const shortTime = (t: string): string =>
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/.test(t) ? `${t.slice(0, 10)} ${t.slice(11, 16)}` : t;

/** A count over the lookback: whole numbers with separators; `increase()` extrapolates, so a fraction is still traffic. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n > 0 && n < 1) return formatValue(n);
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A count short enough for a matrix cell: `9,999`, `12.3k`, `4.56M`. */
export function formatCompact(n: number): string {
  if (n < 10_000) return formatCount(n);
  if (n < 999_500) return `${Number((n / 1e3).toPrecision(3))}k`;
  if (n < 999_500_000) return `${Number((n / 1e6).toPrecision(3))}M`;
  return `${Number((n / 1e9).toPrecision(3))}G`;
}

/** A share 0..1 as a percentage, rounded down so that 99.96% never reads as a STRICT-ready 100%. */
export function formatShare(share: number | null): string {
  if (share === null || !Number.isFinite(share)) return '–';
  if (share >= 1) return '100%';
  if (share <= 0) return '0%';
  const tenths = Math.floor(share * 1000 + 1e-9) / 10;
  return tenths === 0 ? '<0.1%' : `${tenths}%`;
}

const num = (html: string): string => `<td class="num">${html}</td>`;

function row(cells: string[]): string {
  return `<tr>${cells.map((c) => (c.startsWith('<td') ? c : `<td>${c}</td>`)).join('')}</tr>`;
}

function table(headers: string[], rows: string[]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}
