import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  README_PATH,
  renderAlertsSection,
  renderMetricsSection,
  replaceGeneratedSections,
} from '../../../src/docs/readme';
import { readmeSections } from '../../../src/docs/sections';
import type { AlertRule } from '../../../src/rules/types';

const rule = (alert: string, severity: string, forDuration: string, summary: string): AlertRule => ({
  alert,
  expr: 'vector(1)',
  for: forDuration,
  labels: { severity },
  annotations: { summary, description: '', runbook_url: '', dashboard_url: '' },
});

describe('the README', () => {
  it('has every generated section as its sources render it (else run `npm run generate:readme`)', () => {
    // Reading the committed file is this test's purpose, as for docs/configuration.md.
    const committed = readFileSync(join(__dirname, '../../..', README_PATH), 'utf8');
    const regenerated = replaceGeneratedSections(committed, readmeSections());
    if (regenerated !== committed) {
      throw new Error(
        `${README_PATH} is out of date with its sources: run \`npm run generate:readme\` and commit the diff`,
      );
    }
  });

  it('keeps its two commands as its first lines', () => {
    const committed = readFileSync(join(__dirname, '../../..', README_PATH), 'utf8');
    expect(committed.split('\n').slice(0, 6)).toEqual([
      '# meshwatch',
      '',
      '```sh',
      expect.stringMatching(/^npm install && npm run demo +# /),
      expect.stringMatching(/^npm test +# /),
      '```',
    ]);
  });
});

describe('replaceGeneratedSections', () => {
  const sections = { config: 'C', metrics: 'M', alerts: 'A' };

  it('replaces what lies between each start marker and the next end marker, leaving the rest', () => {
    const readme = [
      'intro',
      '<!-- generated: alerts (npm run generate:readme) -->',
      'old alerts',
      '<!-- end -->',
      'middle',
      '<!-- generated: config (npm run generate:readme) -->',
      '<!-- end -->',
      '<!-- generated: metrics (npm run generate:readme) -->',
      'old',
      'metrics',
      '<!-- end -->',
      'outro',
    ].join('\n');
    expect(replaceGeneratedSections(readme, sections)).toBe(
      [
        'intro',
        '<!-- generated: alerts (npm run generate:readme) -->',
        '',
        'A',
        '',
        '<!-- end -->',
        'middle',
        '<!-- generated: config (npm run generate:readme) -->',
        '',
        'C',
        '',
        '<!-- end -->',
        '<!-- generated: metrics (npm run generate:readme) -->',
        '',
        'M',
        '',
        '<!-- end -->',
        'outro',
      ].join('\n'),
    );
  });

  it('refuses a README that lacks a section, naming its marker', () => {
    expect(() => replaceGeneratedSections('no markers', sections)).toThrow(
      'README.md: no "<!-- generated: config (npm run generate:readme) -->" ... "<!-- end -->" section',
    );
  });
});

describe('renderMetricsSection', () => {
  it('lists each metric with its type, labels and help, escaping pipes', () => {
    expect(
      renderMetricsSection([
        { name: 'm_up', type: 'gauge', help: '1 if up | 0 if not', labelNames: [] },
        { name: 'm_total', type: 'counter', help: 'Things.', labelNames: ['reason', 'detector'] },
      ]),
    ).toBe(
      [
        '| metric | type | labels | meaning |',
        '|---|---|---|---|',
        '| `m_up` | gauge |  | 1 if up \\| 0 if not |',
        '| `m_total` | counter | `reason`, `detector` | Things. |',
      ].join('\n'),
    );
  });
});

describe('renderAlertsSection', () => {
  it('lists every alert of every group with its severity, for:, summary and runbook link', () => {
    expect(
      renderAlertsSection([
        { name: 'a', rules: [rule('Spike', 'critical', '1m', 'A spike.')] },
        { name: 'b', rules: [rule('Down', 'warning', '5m', 'It is down.')] },
      ]),
    ).toBe(
      [
        '| alert | severity | for | fires when | runbook |',
        '|---|---|---|---|---|',
        '| `Spike` | critical | 1m | A spike. | [docs/runbooks/Spike.md](docs/runbooks/Spike.md) |',
        '| `Down` | warning | 5m | It is down. | [docs/runbooks/Down.md](docs/runbooks/Down.md) |',
      ].join('\n'),
    );
  });
});
