/**
 * The backtest's HTML report: one self-contained page (inline CSS and SVG, no fonts, images or
 * network at view time, enforced by its Content-Security-Policy) with the findings and alerts in
 * tables and one chart per charted signal. Pure: a backtest result in, a string out.
 */
import type { BacktestResult, SignalChart } from '../app/backtest/types';
import { formatDuration } from '../config/duration';
import { destinationKey } from '../core/keys';
import { renderChart } from './chart';
import { escapeHtml } from './escape';
import { formatSpan, formatTime, formatValue } from './format';

// Inline style and the one inline script only: anything fetched would be blocked (and logged).
const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1040px; color: #1f2328; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 15px; margin: 0 0 6px; }
.meta { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #d0d7de; white-space: nowrap; }
td.caller { white-space: normal; word-break: break-all; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sev-critical { color: #cf222e; font-weight: 600; }
figure { margin: 18px 0; padding: 12px; border: 1px solid #d0d7de; border-radius: 6px; }
svg.chart { width: 100%; height: auto; display: block; }
svg .band { fill: #d8dee4; stroke: none; } svg .span { fill: #ff8182; fill-opacity: 0.25; }
svg .expected { fill: none; stroke: #6e7781; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .observed { fill: none; stroke: #0969da; stroke-width: 2; }
svg .grid { stroke: #eaeef2; } svg .tick { font-size: 11px; fill: #57606a; }
.legend span { margin-right: 16px; } .legend i { display: inline-block; width: 18px; height: 10px; margin-right: 4px; vertical-align: middle; }
.unrendered { color: #cf222e; }
`;

// A chart whose observed line has no geometry says so on the page (and the headless browser test
// reads the count), rather than leaving an empty box that looks like a quiet signal.
const SCRIPT = `
(function () {
  var figures = document.querySelectorAll('figure[data-chart]');
  var rendered = 0;
  figures.forEach(function (figure) {
    var line = figure.querySelector('path.observed');
    var box = line ? line.getBBox() : null;
    var ok = box !== null && (box.width > 0 || box.height > 0);
    figure.setAttribute('data-rendered', ok ? 'true' : 'false');
    if (ok) rendered += 1;
    else figure.insertAdjacentHTML('beforeend', '<p class="unrendered">This chart did not render.</p>');
  });
  document.body.setAttribute('data-charts-rendered', String(rendered));
})();
`;

/** The report page for a backtest result. */
export function renderBacktestReport(result: BacktestResult): string {
  const chartIds = new Map(result.charts.map((c, i) => [chartKey(c), `chart-${i + 1}`]));
  const title = `meshwatch backtest ${formatTime(result.fromMs)} to ${formatTime(result.toMs)}`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">${result.steps} polls replayed every ${formatDuration(result.stepMs)} after warming up on ` +
      `${result.warmupSteps} steps of history; ${result.findings.length} findings, ${result.alerts.length} alerts.</p>`,
    findingsTable(result, chartIds),
    alertsTable(result),
    charts(result, chartIds),
    `<script>${SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

function findingsTable(result: BacktestResult, chartIds: Map<string, string>): string {
  if (result.findings.length === 0) return '<h2>Findings</h2><p>No finding in this range.</p>';
  const rows = result.findings.map((f) => {
    const id = chartIds.get(chartKey(f));
    return row([
      escapeHtml(f.detector),
      escapeHtml(destinationKey(f.destination)),
      `<td class="caller">${escapeHtml(f.sourcePrincipal ?? '-')}</td>`,
      formatTime(f.startMs),
      f.endMs === null ? 'open at end' : formatTime(f.endMs),
      formatSpan(f.startMs, f.endMs),
      num(`${formatValue(f.peakScore)} / ${formatValue(f.threshold)}`),
      id === undefined ? 'not charted' : `<a href="#${id}">chart</a>`,
    ]);
  });
  return table(
    `Findings (${result.findings.length})`,
    ['detector', 'destination', 'caller', 'start', 'end', 'duration', 'peak score / threshold', ''],
    rows,
  );
}

function alertsTable(result: BacktestResult): string {
  if (result.alerts.length === 0) return '<h2>Alerts</h2><p>No alert would have fired.</p>';
  const rows = result.alerts.map((a) =>
    row([
      escapeHtml(a.alertname),
      `<span class="sev-${escapeHtml(a.severity)}">${escapeHtml(a.severity)}</span>`,
      escapeHtml(destinationKey(a.destination)),
      formatTime(a.startMs),
      a.endMs === null ? 'firing at end' : formatTime(a.endMs),
      formatSpan(a.startMs, a.endMs),
    ]),
  );
  return table(
    `Alerts (${result.alerts.length})`,
    ['alert', 'severity', 'destination', 'start', 'end', 'duration'],
    rows,
  );
}

function charts(result: BacktestResult, chartIds: Map<string, string>): string {
  if (result.charts.length === 0) return '';
  const omitted =
    result.chartsOmitted > 0
      ? `<p>${result.chartsOmitted} more findings were not charted (chart budget spent).</p>`
      : '';
  const figures = result.charts.map((c) => {
    const spans = result.findings.filter((f) => chartKey(f) === chartKey(c));
    const name = `${c.detector}: ${c.signal} of ${destinationKey(c.destination)}`;
    return [
      `<figure id="${chartIds.get(chartKey(c)) ?? ''}" data-chart="${escapeHtml(chartKey(c))}">`,
      `<h3>${escapeHtml(name)}</h3>`,
      renderChart(c.points, spans, `${name}: observed against expected and band, findings shaded`),
      '<figcaption class="legend"><span><i style="background:#0969da"></i>observed</span>' +
        '<span><i style="border-top:2px dashed #6e7781;height:0"></i>expected</span>' +
        '<span><i style="background:#d8dee4"></i>band</span>' +
        '<span><i style="background:#ff8182;opacity:.4"></i>finding</span></figcaption>',
      '</figure>',
    ].join('');
  });
  return `<h2>Charts</h2>${omitted}${figures.join('\n')}`;
}

const chartKey = (c: Pick<SignalChart, 'detector' | 'destination'>): string =>
  `${c.detector}/${destinationKey(c.destination)}`;

const num = (html: string): string => `<td class="num">${html}</td>`;

function row(cells: string[]): string {
  return `<tr>${cells.map((c) => (c.startsWith('<td') ? c : `<td>${c}</td>`)).join('')}</tr>`;
}

function table(heading: string, headers: string[], rows: string[]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  return `<h2>${escapeHtml(heading)}</h2><table><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
