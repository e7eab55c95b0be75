/**
 * Safe building blocks for PromQL text. Label values come from config and from the mesh itself
 * (a workload name, a SPIFFE principal), so anything that lands inside a query goes through here:
 * a value with a `"` or a `"}` in it must stay one string literal and never become PromQL.
 */

/** Label matcher operators PromQL knows. */
export type MatchOp = '=' | '!=' | '=~' | '!~';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MATCH_OPS: ReadonlySet<string> = new Set<MatchOp>(['=', '!=', '=~', '!~']);

// RE2's metacharacters, as Go's regexp.QuoteMeta escapes them.
const RE2_META = /[\\.+*?()|[\]{}^$]/g;

// A character class with nothing in it: RE2 accepts it and it matches no string, not even the
// empty one. `=~""` would instead match every series that lacks the label.
const MATCH_NOTHING = '[^\\s\\S]';

/** True when `name` is a valid Prometheus label name. */
export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

/**
 * Escapes `value` for the inside of a double-quoted PromQL string literal: backslash, double quote
 * and the control characters a literal cannot hold raw (newline would end the query's line).
 */
export function escapeLabelValue(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case '"':
        out += '\\"';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/** Escapes RE2 metacharacters so that `value` matches itself literally (Go's `regexp.QuoteMeta`). */
export function quoteRegex(value: string): string {
  return value.replace(RE2_META, '\\$&');
}

/**
 * An RE2 alternation matching exactly the given values, already escaped for a PromQL string
 * literal: write it inside `=~"..."` as is (do not pass it to `matcher`, which would escape it
 * twice). Prometheus anchors regex matchers, so `a|b` matches `a` and `b` and nothing longer.
 * An empty list matches nothing.
 */
export function regexAlternation(values: readonly string[]): string {
  if (values.length === 0) return escapeLabelValue(MATCH_NOTHING);
  return escapeLabelValue(values.map(quoteRegex).join('|'));
}

/**
 * One label matcher, `name<op>"value"`, with the value escaped. For `=~` and `!~` the value is a
 * raw RE2 pattern (use `quoteRegex` on literal parts). Throws a TypeError on a label name or an
 * operator that is not PromQL: those come from code, so this is a bug, not bad input.
 */
export function matcher(name: string, op: MatchOp, value: string): string {
  if (!isValidLabelName(name)) {
    throw new TypeError(`invalid label name ${JSON.stringify(name)}: must match [a-zA-Z_][a-zA-Z0-9_]*`);
  }
  if (!MATCH_OPS.has(op)) {
    throw new TypeError(`invalid matcher operator ${JSON.stringify(op)}: must be one of = != =~ !~`);
  }
  return `${name}${op}"${escapeLabelValue(value)}"`;
}

/** A matcher for "label is one of `values`": `=` for one value, an escaped alternation otherwise. */
export function matchAny(name: string, values: readonly string[]): string {
  if (values.length === 1) return matcher(name, '=', values[0] as string);
  return matcher(name, '=~', values.length === 0 ? MATCH_NOTHING : values.map(quoteRegex).join('|'));
}

/** A series selector, `metric{m1,m2}`, from a metric name and matchers built by `matcher`. */
export function selector(metric: string, matchers: readonly string[]): string {
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metric)) {
    throw new TypeError(`invalid metric name ${JSON.stringify(metric)}: must match [a-zA-Z_:][a-zA-Z0-9_:]*`);
  }
  return `${metric}{${matchers.join(',')}}`;
}
