/**
 * One signal as an inline SVG chart: the observed value against the expected value and its band,
 * with the findings' spans shaded. Pure: data in, markup out; no script or font needed to view it.
 */
import type { ChartPoint } from '../app/backtest/types';
import { escapeHtml } from './escape';
import { formatAxisTime, formatValue } from './format';

/** A shaded span of the chart: a finding from its start to its end (or the chart's end when open). */
export interface ChartSpan {
  startMs: number;
  endMs: number | null;
}

/** Size of the chart in SVG units; it scales with the page. */
export interface ChartSize {
  width: number;
  height: number;
}

const MARGIN = { top: 12, right: 16, bottom: 28, left: 64 };
const Y_TICKS = 4;
const X_TICKS = 6;

/** The SVG of one chart; `title` is read by screen readers and shown as a tooltip. */
export function renderChart(
  points: readonly ChartPoint[],
  spans: readonly ChartSpan[],
  title: string,
  size: ChartSize = { width: 960, height: 240 },
): string {
  const first = points[0];
  const last = points.at(-1);
  const plotW = size.width - MARGIN.left - MARGIN.right;
  const plotH = size.height - MARGIN.top - MARGIN.bottom;
  const open = `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size.width} ${size.height}" role="img">`;
  if (!first || !last) {
    return `${open}<title>${escapeHtml(title)}</title><text x="${size.width / 2}" y="${size.height / 2}" text-anchor="middle">no data</text></svg>`;
  }
  // A single point still needs a width: pad by a minute either side.
  const t0 = first.timeMs === last.timeMs ? first.timeMs - 60_000 : first.timeMs;
  const t1 = first.timeMs === last.timeMs ? last.timeMs + 60_000 : last.timeMs;
  const yMax = niceCeiling(Math.max(...points.flatMap((p) => [p.observed, p.upper, p.expected])) * 1.05);
  const x = (ms: number): number => round(MARGIN.left + ((ms - t0) / (t1 - t0)) * plotW);
  const y = (v: number): number =>
    round(MARGIN.top + plotH - (Math.min(Math.max(v, 0), yMax) / yMax) * plotH);
  const line = (value: (p: ChartPoint) => number): string =>
    points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.timeMs)},${y(value(p))}`).join('');
  const band =
    points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.timeMs)},${y(p.upper)}`).join('') +
    [...points]
      .reverse()
      .map((p) => `L${x(p.timeMs)},${y(p.lower)}`)
      .join('') +
    'Z';
  const shaded = spans
    .map((s) => {
      const from = x(Math.max(s.startMs, t0));
      const to = x(Math.min(s.endMs ?? t1, t1));
      return `<rect class="span" x="${from}" y="${MARGIN.top}" width="${Math.max(to - from, 1)}" height="${plotH}"/>`;
    })
    .join('');
  const yAxis = Array.from({ length: Y_TICKS + 1 }, (_, i) => {
    const v = (yMax * i) / Y_TICKS;
    return (
      `<line class="grid" x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(v)}" y2="${y(v)}"/>` +
      `<text class="tick" x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end">${formatValue(v)}</text>`
    );
  }).join('');
  const xAxis = Array.from({ length: X_TICKS }, (_, i) => {
    const ms = t0 + ((t1 - t0) * i) / (X_TICKS - 1);
    const anchor = i === 0 ? 'start' : i === X_TICKS - 1 ? 'end' : 'middle';
    return `<text class="tick" x="${x(ms)}" y="${size.height - 8}" text-anchor="${anchor}">${formatAxisTime(ms)}</text>`;
  }).join('');
  return [
    open,
    `<title>${escapeHtml(title)}</title>`,
    shaded,
    yAxis,
    `<path class="band" d="${band}"/>`,
    `<path class="expected" d="${line((p) => p.expected)}"/>`,
    `<path class="observed" d="${line((p) => p.observed)}"/>`,
    xAxis,
    '</svg>',
  ].join('');
}

/** The smallest 1, 2 or 5 times a power of ten at or above `value`, so axis ticks read well. */
export function niceCeiling(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((m) => m * power >= value * (1 - 1e-9)) ?? 10;
  return step * power;
}

const round = (v: number): number => Math.round(v * 10) / 10;
