import type { BacktestResult, ChartPoint } from '../../../src/app/backtest/types';
import { niceCeiling, renderChart } from '../../../src/report/chart';
import { renderBacktestReport } from '../../../src/report/html';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 6, 1, 0);
const PAYMENTS = { cluster: '', namespace: 'shop', workload: 'payments' };

const point = (minute: number, observed: number): ChartPoint => ({
  timeMs: T0 + minute * MINUTE,
  observed,
  expected: 1,
  lower: 0,
  upper: 2,
  score: observed,
});

function result(overrides: Partial<BacktestResult> = {}): BacktestResult {
  return {
    fromMs: T0,
    toMs: T0 + 4 * MINUTE,
    stepMs: MINUTE,
    steps: 5,
    warmupSteps: 1440,
    findings: [
      {
        detector: 'unauthorized',
        destination: PAYMENTS,
        signal: 'unauthorized_requests_per_second',
        sourcePrincipal: 'spiffe://cluster.local/ns/shop/sa/<cart>',
        startMs: T0 + 2 * MINUTE,
        endMs: null,
        peakScore: 12.345,
        threshold: 5,
      },
    ],
    alerts: [
      {
        alertname: 'MeshUnauthorizedAccessSpike',
        severity: 'critical',
        detector: 'unauthorized',
        destination: PAYMENTS,
        startMs: T0 + 3 * MINUTE,
        endMs: null,
      },
    ],
    charts: [
      {
        detector: 'unauthorized',
        destination: PAYMENTS,
        signal: 'unauthorized_requests_per_second',
        threshold: 5,
        points: [point(0, 1), point(1, 1), point(2, 8), point(3, 9), point(4, 7)],
      },
    ],
    chartsOmitted: 0,
    ...overrides,
  };
}

const rows = (html: string, heading: string): string[] => {
  const table = new RegExp(`<h2>${heading}[^<]*</h2><table>.*?<tbody>(.*?)</tbody>`).exec(html)?.[1] ?? '';
  return [...table.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) =>
    [...(m[1] ?? '').matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1]).join(' | '),
  );
};

describe('the backtest HTML report', () => {
  it('lists the findings and alerts in tables, escaping label values from the mesh', () => {
    const html = renderBacktestReport(result());
    expect(rows(html, 'Findings')).toEqual([
      'unauthorized | shop/payments | spiffe://cluster.local/ns/shop/sa/&lt;cart&gt; | 2026-01-06T01:02:00Z | ' +
        'open at end | open | 12.35 / 5 | <a href="#chart-1">chart</a>',
    ]);
    expect(rows(html, 'Alerts')).toEqual([
      'MeshUnauthorizedAccessSpike | <span class="sev-critical">critical</span> | shop/payments | ' +
        '2026-01-06T01:03:00Z | firing at end | open',
    ]);
  });

  it('draws one chart per charted signal with its band, expected and observed lines and the finding shaded', () => {
    const html = renderBacktestReport(result());
    const svgs = html.match(/<svg class="chart"[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(1);
    const kinds = [...(svgs[0] ?? '').matchAll(/<(path|rect) class="(\w+)"/g)].map((m) => m[2]);
    expect(kinds).toEqual(['span', 'band', 'expected', 'observed']);
    expect(html).toContain('<figure id="chart-1" data-chart="unauthorized/shop/payments">');
  });

  it('is self-contained: nothing is fetched at view time', () => {
    const html = renderBacktestReport(result());
    expect(html.match(/\b(?:src|href)="(?!#)[^"]*"/g)).toBeNull();
    expect(html.match(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/g)).toBeNull();
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`,
    );
  });

  it('says so when the range had no finding and no alert', () => {
    const html = renderBacktestReport(result({ findings: [], alerts: [], charts: [] }));
    expect(html).toContain('<h2>Findings</h2><p>No finding in this range.</p>');
    expect(html).toContain('<h2>Alerts</h2><p>No alert would have fired.</p>');
    expect(html).not.toContain('<svg');
  });
});

describe('a signal chart', () => {
  it('maps time to x and value to y over a rounded-up axis, shading the span to the end when open', () => {
    const svg = renderChart(
      [point(0, 0), point(1, 4), point(2, 2)],
      [{ startMs: T0 + MINUTE, endMs: null }],
      't',
      {
        width: 180,
        height: 140,
      },
    );
    // Plot: x 64..164, y 12..112; the axis goes to 5 (4 * 1.05 rounded up to 1, 2 or 5 x 10^n).
    expect(svg).toContain('<rect class="span" x="114" y="12" width="50" height="100"/>');
    expect(svg).toContain('<path class="observed" d="M64,112L114,32L164,72"/>');
    expect(svg).toContain('<path class="expected" d="M64,92L114,92L164,92"/>');
    expect(svg).toContain('<path class="band" d="M64,72L114,72L164,72L164,112L114,112L64,112Z"/>');
  });

  it('rounds axis tops up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 0.42, 1, 1.5, 3, 7, 42, 101].map(niceCeiling)).toEqual([1, 0.5, 1, 2, 5, 10, 50, 200]);
  });
});
