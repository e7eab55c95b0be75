/** Small factories for simulator tests: a scenario's exported lines at a time, and their labels. */
import { samplesAt } from '../../../src/sim/exposition';
import { compileMesh } from '../../../src/sim/mesh';
import { parseScenario } from '../../../src/sim/parse-scenario';
import { ScenarioError } from '../../../src/errors';

/** A Monday, 00:00 UTC. */
export const EPOCH = Date.UTC(2026, 0, 5);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/** Every exported line (`metric{labels} value`) of the scenario at `timeMs`. */
export function exported(yaml: string, timeMs: number): string[] {
  return samplesAt(compileMesh(parseScenario(yaml, 'scenario.yml'), EPOCH), timeMs).map(
    (s) => `${s.series.metric}${s.series.labels} ${s.value}`,
  );
}

/** The lines that contain every one of `parts`. */
export const pick = (all: string[], ...parts: string[]) =>
  all.filter((l) => parts.every((p) => l.includes(p)));

/** A line's labels, in their order. */
export function labelsOf(line: string): [string, string][] {
  return [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']);
}

/** A line's value. */
export const valueOf = (line: string | undefined) => Number(line?.split(' ').pop() ?? NaN);

/** A line without its value, and with the reporting pod's name replaced by its kind. */
export const shape = (line: string | undefined) =>
  line
    ?.replace(/ \d+$/, '')
    .replace(/pod="ztunnel-[a-z0-9]{5}"/, 'pod=ZTUNNEL')
    .replace(/pod="[^"]+"/, 'pod=POD');

/** Picked labels of each line, joined: a compact view of who reports what. */
export function summary(lines: string[], names: string[]): string[] {
  return lines.map((l) => {
    const labels = new Map(labelsOf(l));
    const metric = l
      .slice(0, l.indexOf('{'))
      .replace(/^istio_/, '')
      .replace(/_total$/, '');
    return [metric, ...names.map((n) => labels.get(n) ?? '-')].join(' ');
  });
}

/** The ScenarioError message of parsing `yaml`, or `no error`. */
export function parseError(yaml: string): string {
  try {
    parseScenario(yaml, 'scenario.yml');
  } catch (err) {
    return err instanceof ScenarioError ? err.message : String(err);
  }
  return 'no error';
}
