/**
 * Real Istio telemetry (test/fixtures/istio, with its provenance) served to a real Prometheus as
 * a scrape target: the label sets untouched, the counters made to grow at steady rates, and
 * incidents played as copies of real series with only the labels the incident changes rewritten.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';

const FIXTURES = join(__dirname, '../fixtures/istio');

/** One series of a fixture: its metric, its labels in the order the proxy wrote them, its value. */
export interface FixtureSeries {
  metric: string;
  labels: ReadonlyArray<readonly [string, string]>;
  value: number;
}

/** The value of `name` in a series; throws when it has no such label (a fixture changed under the test). */
export function label(series: FixtureSeries, name: string): string {
  const found = series.labels.find(([n]) => n === name);
  if (!found) throw new Error(`fixture series ${series.metric} has no label ${name}`);
  return found[1];
}

/** A copy of `series` with some label values replaced; every name must exist already. */
export function withLabels(series: FixtureSeries, changes: Readonly<Record<string, string>>): FixtureSeries {
  for (const name of Object.keys(changes)) label(series, name);
  return { ...series, labels: series.labels.map(([n, v]) => [n, changes[n] ?? v] as const) };
}

/** The one series of `all` with these label values; throws unless exactly one matches. */
export function pick(
  all: readonly FixtureSeries[],
  metric: string,
  where: Readonly<Record<string, string>>,
): FixtureSeries {
  const found = all.filter(
    (s) => s.metric === metric && Object.entries(where).every(([n, v]) => label(s, n) === v),
  );
  if (found.length !== 1) {
    throw new Error(`expected one ${metric} series with ${JSON.stringify(where)}, found ${found.length}`);
  }
  return found[0] as FixtureSeries;
}

const unescape = (v: string): string => v.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));

/** Parses the series lines of a Prometheus text exposition file (comments and blank lines skipped). */
export function parseExposition(text: string): FixtureSeries[] {
  const out: FixtureSeries[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition series line: ${line.slice(0, 80)}`);
    const labels: Array<readonly [string, string]> = [];
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels.push([l[1] ?? '', unescape(l[2] ?? '')]);
    }
    out.push({ metric: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * Renders one of istio/proxy's metric expectation templates as its Envoy end-to-end tests do
 * for an HTTP request (`RequestCount` 10, no `GrpcResponseStatus`), and reads the MetricFamily.
 */
export function renderExpectation(template: string): FixtureSeries[] {
  const text = template
    // {{- if .Vars.GrpcResponseStatus }} grpc {{- else }} http {{- end }}: the else branch, trimmed as Go trims.
    .replace(
      /\s*\{\{- if \.Vars\.GrpcResponseStatus \}\}[\s\S]*?\{\{- else \}\}([\s\S]*?)\s*\{\{- end \}\}/g,
      (_, otherwise: string) => otherwise.replace(/\s+$/, ''),
    )
    .replace(/\{\{ \.Vars\.RequestCount \}\}/g, '10')
    .replace(/\{\{ \.Vars\.GrpcResponseStatus \}\}/g, '');
  if (text.includes('{{'))
    throw new Error(`template construct not rendered: ${text.slice(text.indexOf('{{'), 80)}`);
  const family = parse(text) as {
    name: string;
    metric: Array<{ counter: { value: number }; label: Array<{ name: string; value: string }> }>;
  };
  return family.metric.map((m) => ({
    metric: family.name,
    labels: m.label.map((l) => [l.name, String(l.value)] as const),
    value: m.counter.value,
  }));
}

/** The ztunnel scrape of bookinfo in ambient mode (Istio 1.24): opened and closed connection counters. */
export const ztunnelBookinfo = (): FixtureSeries[] =>
  parseExposition(readFileSync(join(FIXTURES, 'ztunnel-bookinfo-1.24.prom'), 'utf8'));

/** A sidecar's server-side request counter from a real Istio 1.11.4 scrape (bookinfo reviews-v1). */
export const sidecarReviews = (): FixtureSeries[] =>
  parseExposition(readFileSync(join(FIXTURES, 'sidecar-reviews-istio-1.11.4.prom'), 'utf8'));

/** One istio/proxy expectation (test/fixtures/istio/istio-proxy/NAME.yaml.tmpl), rendered. */
export function istioProxy(name: string): FixtureSeries[] {
  return renderExpectation(readFileSync(join(FIXTURES, 'istio-proxy', `${name}.yaml.tmpl`), 'utf8'));
}

interface Growth {
  series: FixtureSeries;
  perSecond: number;
  fromMs: number;
}

const escapeValue = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/**
 * A scrape target serving fixture series as counters that grow at steady rates from when they
 * are added: a real proxy's counters, in fast forward. Adding a series that is already there
 * adds to its rate (ztunnel counts a denied connection as opened too).
 */
export class FixtureTarget {
  private readonly growth: Growth[] = [];
  private server: Server | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Serves `series` from now on, growing by `perSecond`. */
  add(series: FixtureSeries, perSecond: number): void {
    this.growth.push({ series, perSecond, fromMs: this.now() });
  }

  /** The exposition at `atMs`: every series once, its value the sum of its growths so far. */
  render(atMs: number = this.now()): string {
    const values = new Map<string, { metric: string; text: string; value: number }>();
    for (const g of this.growth) {
      const text = `{${g.series.labels.map(([n, v]) => `${n}="${escapeValue(v)}"`).join(',')}}`;
      const key = g.series.metric + text;
      const entry = values.get(key) ?? { metric: g.series.metric, text, value: 0 };
      entry.value += Math.floor((g.perSecond * Math.max(0, atMs - g.fromMs)) / 1000);
      values.set(key, entry);
    }
    const byMetric = new Map<string, string[]>();
    for (const { metric, text, value } of values.values()) {
      byMetric.set(metric, [...(byMetric.get(metric) ?? []), `${metric}${text} ${value}`]);
    }
    return [...byMetric].map(([metric, lines]) => `# TYPE ${metric} counter\n${lines.join('\n')}\n`).join('');
  }

  /** Starts serving `/metrics` on loopback; resolves with the `host:port` to scrape. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.render());
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
