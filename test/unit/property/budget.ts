import fc from 'fast-check';

/**
 * What every property of a parser of outside input checks: each input gives a value or one of
 * the typed errors, never another exception (a TypeError, a RangeError of a blown stack), and it
 * comes back in time. JavaScript cannot interrupt a synchronous loop, so a hang shows as one run
 * that takes far longer than its budget, not as a timeout.
 */

// Generous: the inputs take milliseconds, and the machine is shared; a real hang takes forever.
const RUN_BUDGET_MS = 2000;

/** An error class a parser may throw on purpose. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** What one run gave: `value`, or the name of the typed error's class. */
export type Outcome<T> = { kind: 'value'; value: T } | { kind: 'error'; error: Error };

/**
 * Runs `parse` on one input; returns its value or its typed error, and throws (failing the
 * property, with the input shrunk by fast-check) on any other exception or on a run over budget.
 */
export function typedOutcome<T>(parse: () => T, typed: readonly ErrorClass[]): Outcome<T> {
  const start = performance.now();
  let outcome: Outcome<T>;
  try {
    outcome = { kind: 'value', value: parse() };
  } catch (err) {
    if (!typed.some((type) => err instanceof type)) throw err;
    outcome = { kind: 'error', error: err as Error };
  }
  const elapsed = performance.now() - start;
  if (elapsed > RUN_BUDGET_MS) throw new Error(`one run took ${Math.round(elapsed)} ms`);
  return outcome;
}

/** Every number inside `value` (a parsed document or a config), with its path, that is not finite. */
export function nonFiniteNumbers(value: unknown, path = '', seen = new Set<unknown>()): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${path}: ${value}`];
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  return Object.entries(value).flatMap(([key, child]) => nonFiniteNumbers(child, `${path}.${key}`, seen));
}

// One seed unless told otherwise, so that CI is repeatable and a failure reproduces: a fresh
// search by hand is `PROPERTY_SEED=random` (fast-check prints the seed of a failing run).
if (process.env.PROPERTY_SEED !== 'random') {
  fc.configureGlobal({ seed: Number(process.env.PROPERTY_SEED ?? 20261202) });
}

/**
 * `n` runs, times `PROPERTY_RUNS_FACTOR` when set: CI runs the default, a deeper search by hand is
 * `PROPERTY_RUNS_FACTOR=20 npx jest test/unit/property`.
 */
export function runs(n: number): number {
  const factor = Number(process.env.PROPERTY_RUNS_FACTOR ?? '1');
  return Math.max(1, Math.round(n * (Number.isFinite(factor) && factor > 0 ? factor : 1)));
}
