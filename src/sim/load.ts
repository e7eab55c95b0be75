/** Reads a scenario file (the filesystem adapter of the scenario parser), applying `--set` overrides. */
import { readFileSync } from 'node:fs';
import { ScenarioError } from '../errors';
import { applySetting } from './overrides';
import { parseScenarioYaml, scenarioFromObject } from './parse-scenario';
import type { Scenario } from './scenario';

/** Loads and validates `file`; each `settings` entry is a `path=value` override applied first. */
export function loadScenario(file: string, settings: readonly string[] = []): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError('', `${file}: cannot read the scenario: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const document = parseScenarioYaml(text, file);
  for (const setting of settings) applySetting(document, setting);
  return scenarioFromObject(document, file);
}
