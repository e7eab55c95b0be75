/**
 * The generated sections of README.md, rendered from their sources so they cannot drift: the
 * configuration reference from the config schema, the metrics reference from the live metrics
 * registry's definitions, the alerts table from the rule builders. Pure: text in, text out.
 * scripts/generate-readme.ts writes them; a unit test fails when README.md differs.
 */
import { renderConfigReference } from '../config/reference';
import { UsageError } from '../errors';
import type { RuleGroup } from '../rules/types';

/** The command that rewrites the generated sections; named in the markers and the test. */
export const README_COMMAND = 'npm run generate:readme';

/** The README's path, relative to the repository root. */
export const README_PATH = 'README.md';

/** A generated section's name, as written in its start marker. */
export type ReadmeSectionName = 'config' | 'metrics' | 'alerts';

/** One metric as the registry defines it. */
export interface MetricDefinition {
  name: string;
  type: string;
  help: string;
  labelNames: readonly string[];
}

/** The start marker of a generated section. */
export const startMarker = (name: ReadmeSectionName): string =>
  `<!-- generated: ${name} (${README_COMMAND}) -->`;

/** The end marker of every generated section. */
export const END_MARKER = '<!-- end -->';

const code = (text: string): string => `\`${text}\``;
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * docs/configuration.md's body, one heading level down so it nests under the README's
 * "Configuration" heading; its title and do-not-edit line are the README markers' job here.
 */
export function renderConfigSection(): string {
  const lines = renderConfigReference().split('\n');
  const body = lines.slice(lines.findIndex((l) => l === '# Configuration') + 1);
  return body
    .map((l) => (/^#{1,5} /.test(l) ? `#${l}` : l))
    .join('\n')
    .trim();
}

/** The metrics reference: every metric the daemon exports, in registration order. */
export function renderMetricsSection(metrics: readonly MetricDefinition[]): string {
  return [
    '| metric | type | labels | meaning |',
    '|---|---|---|---|',
    ...metrics.map(
      (m) =>
        `| ${code(m.name)} | ${m.type} | ${m.labelNames.map(code).join(', ')} | ${cell(m.help)} |`,
    ),
  ].join('\n');
}

/** The alerts table: every shipped alert with its severity, `for:`, summary and runbook. */
export function renderAlertsSection(groups: readonly RuleGroup[]): string {
  return [
    '| alert | severity | for | fires when | runbook |',
    '|---|---|---|---|---|',
    ...groups.flatMap((g) =>
      g.rules.map((r) => {
        const runbook = `docs/runbooks/${r.alert}.md`;
        return `| ${code(r.alert)} | ${r.labels.severity ?? ''} | ${r.for} | ${cell(r.annotations.summary)} | [${runbook}](${runbook}) |`;
      }),
    ),
  ].join('\n');
}

/**
 * `readme` with the text between each section's start marker and the next end marker replaced
 * by `sections[name]`. A missing marker is a UsageError: a section silently not generated is the
 * drift this exists to prevent.
 */
export function replaceGeneratedSections(
  readme: string,
  sections: Readonly<Record<ReadmeSectionName, string>>,
): string {
  let text = readme;
  for (const [name, content] of Object.entries(sections) as Array<[ReadmeSectionName, string]>) {
    const start = text.indexOf(startMarker(name));
    const end = start < 0 ? -1 : text.indexOf(END_MARKER, start);
    if (start < 0 || end < 0) {
      throw new UsageError(`${README_PATH}: no "${startMarker(name)}" ... "${END_MARKER}" section`);
    }
    text = `${text.slice(0, start)}${startMarker(name)}\n\n${content}\n\n${text.slice(end)}`;
  }
  return text;
}
