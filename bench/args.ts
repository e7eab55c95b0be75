/** Command-line options of the benchmarks: `--name value`. */

/** The value after `name`, or `fallback` when it is not given. */
export function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : (process.argv[at + 1] ?? '');
}

/** An integer option of at least `min`; throws naming the option otherwise. */
export function count(name: string, fallback: number, min = 1): number {
  const value = Number(option(name, String(fallback)));
  if (!(Number.isInteger(value) && value >= min))
    throw new Error(`${name} must be an integer of at least ${min}`);
  return value;
}
