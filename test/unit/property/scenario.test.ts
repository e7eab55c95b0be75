import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ScenarioError } from '../../../src/errors';
import { parseScenario, parseScenarioYaml, scenarioFromObject } from '../../../src/sim/parse-scenario';
import { nonFiniteNumbers, runs, typedOutcome } from './budget';
import { keysOf, yamlDocument, yamlSoup } from './yaml-input';

const DIR = join(__dirname, '../../../scenarios');
const SHIPPED = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => parseScenarioYaml(readFileSync(join(DIR, f), 'utf8'), f));
const KEYS = [...new Set(SHIPPED.flatMap(keysOf))].filter((k) => !/^\d+$/.test(k));
// Values a scenario's leaves take, with every JSON value besides.
const LEAF = fc.oneof(
  fc.constantFrom(
    '1h',
    '0',
    '7d5m',
    'shop/cart',
    'cart',
    'ambient',
    'sidecar',
    'none',
    'rbac',
    'grpc',
    'tcp',
    2,
    0.5,
    -1,
  ),
  fc.constantFrom(`${'9'.repeat(400)}w`, 1e308, Number.MAX_SAFE_INTEGER),
  fc.jsonValue({ maxDepth: 1 }),
);

/** Validates and checks what every input must give: a Scenario of finite numbers, or a ScenarioError. */
function check(parse: () => unknown): void {
  const outcome = typedOutcome(parse, [ScenarioError]);
  if (outcome.kind === 'value') expect(nonFiniteNumbers(outcome.value)).toEqual([]);
}

/** A deep copy of `document` with the node at path index `at` (depth first) replaced or removed. */
function spoil(document: unknown, at: number, replacement: unknown, remove: boolean): unknown {
  let n = 0;
  const walk = (node: unknown): unknown => {
    if (n++ === at) return replacement;
    if (Array.isArray(node)) {
      const items = node.map(walk);
      return remove && items.length > 0 ? items.slice(0, -1) : items;
    }
    if (typeof node !== 'object' || node === null) return node;
    const entries = Object.entries(node).map(([k, v]) => [k, walk(v)] as const);
    return Object.fromEntries(remove && at % 2 === 0 ? entries.slice(1) : entries);
  };
  return walk(document);
}

describe('the scenario parser, on any input', () => {
  it('gives a Scenario or a ScenarioError for any YAML-looking text', () => {
    fc.assert(
      fc.property(fc.oneof(yamlSoup(KEYS), fc.string({ unit: 'binary' })), (text) =>
        check(() => parseScenario(text, 'scenario.yml')),
      ),
      { numRuns: runs(1500) },
    );
  });

  it('gives a Scenario or a ScenarioError for any document of its keys and any values', () => {
    fc.assert(
      fc.property(yamlDocument(KEYS, LEAF), (text) => check(() => parseScenario(text, 'scenario.yml'))),
      { numRuns: runs(1000) },
    );
  });

  it('gives a Scenario or a ScenarioError for a shipped scenario with any node replaced or removed', () => {
    fc.assert(
      fc.property(
        fc.nat(SHIPPED.length - 1),
        fc.nat(200),
        fc.oneof(LEAF, fc.jsonValue()),
        fc.boolean(),
        (which, at, replacement, remove) =>
          check(() => scenarioFromObject(spoil(SHIPPED[which], at, replacement, remove), 'scenario.yml')),
      ),
      { numRuns: runs(1500) },
    );
  });
});

describe('the scenario parser, on inputs found while writing its properties', () => {
  it.each([
    // A value that holds itself was shown in a message with JSON.stringify: a TypeError.
    [
      'a value that holds itself',
      'name: &x [*x]\nworkloads: []\n',
      'an alias refers to a node that contains it',
    ],
    // The YAML library threw its own ReferenceError for an alias to no anchor and past its budget.
    ['an alias to no anchor', '*b', 'Unresolved alias (the anchor must be set before the alias): b'],
    [
      'aliases past the budget',
      `a: &a [1]\n${['b', 'c', 'd'].map((k, i) => `${k}: &${k} [${`*${'abc'[i]},`.repeat(9)}]`).join('\n')}\ne: [${'*d,'.repeat(9)}]\n`,
      'Excessive alias count indicates a resource exhaustion attack',
    ],
  ])('rejects %s with a ScenarioError', (_name, text, message) => {
    const outcome = typedOutcome(() => parseScenario(text, 'scenario.yml'), [ScenarioError]);
    expect(outcome.kind === 'error' && [outcome.error.constructor, outcome.error.message]).toEqual([
      ScenarioError,
      `scenario.yml: ${message}`,
    ]);
  });

  it('rejects a duration too long for a number (Infinity) as not a duration', () => {
    const text = `name: t\nworkloads: [{ name: a, namespace: s }]\nrestarts: [{ workload: s/a, at: ${'9'.repeat(400)}w }]\n`;
    const outcome = typedOutcome(() => parseScenario(text, 'scenario.yml'), [ScenarioError]);
    expect(outcome.kind === 'error' && outcome.error.message).toBe(
      `scenario.yml: restarts[0].at: expected a duration like 30m or 6d23h, got "${'9'.repeat(400)}w"`,
    );
  });
});
