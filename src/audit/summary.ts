/**
 * The audit's short text summary, what `meshwatch audit` prints on stderr whatever else it writes:
 * with a dry-run, what the policies would break first; then the destinations blocked from STRICT
 * mTLS with their blockers, those ready, and the callers without an identity.
 */
import type { AuditReport, CallerLabels, DryRunEdge } from './types';

// A terminal summary, not the report: past this many entries per list the rest is counted.
const MAX_LISTED = 20;

/** The text summary of `report`, lines ending with a newline. */
export function formatSummary(report: AuditReport): string {
  const lines: string[] = [];
  const { summary } = report;
  lines.push(
    `audit of ${report.lookback.from} to ${report.lookback.to}: ${summary.destinations} destination${plural(summary.destinations)}, ` +
      `${summary.strict_ready} ready for STRICT mTLS, ${summary.blocked} blocked, ` +
      `${summary.callers_without_identity} caller${plural(summary.callers_without_identity)} without identity`,
  );
  if (report.dry_run) {
    const { would_deny, would_allow, unjudged } = report.dry_run;
    lines.push(
      `dry-run: ${would_deny.length} edge${plural(would_deny.length)} that succeeded would be denied, ` +
        `${would_allow.length} denied edge${plural(would_allow.length)} would be allowed, ` +
        `${unjudged.length} cannot be judged from metrics`,
    );
    listed(lines, 'would deny', would_deny, dryRunLine);
    listed(lines, 'would allow', would_allow, dryRunLine);
    listed(lines, 'cannot judge', unjudged, dryRunLine);
  }
  const blocked = report.destinations.filter((d) => !d.strict_ready);
  listed(lines, 'blocked from STRICT', blocked, (d) => {
    const blockers = d.blocked_by
      .map((b) => `${callerName(b)} (${count(b.plaintext)} plaintext, ${b.first_seen} to ${b.last_seen})`)
      .join(', ');
    return `${d.destination_namespace}/${d.destination_workload} by ${blockers}`;
  });
  listed(
    lines,
    'ready for STRICT',
    report.destinations.filter((d) => d.strict_ready),
    (d) => `${d.destination_namespace}/${d.destination_workload}`,
  );
  const without = report.destinations.flatMap((d) =>
    d.callers_without_identity.map((c) => ({ caller: c, destination: d })),
  );
  listed(
    lines,
    'callers without identity',
    without,
    ({ caller, destination }) =>
      `${callerName(caller)} -> ${destination.destination_namespace}/${destination.destination_workload} ` +
      `(${count(caller.requests)} requests, ${count(caller.connections)} connections)`,
  );
  return lines.map((l) => `${l}\n`).join('');
}

function listed<T>(lines: string[], title: string, items: readonly T[], line: (item: T) => string): void {
  if (items.length === 0) return;
  lines.push(`${title} (${items.length}):`);
  for (const item of items.slice(0, MAX_LISTED)) lines.push(`  ${line(item)}`);
  if (items.length > MAX_LISTED)
    lines.push(`  ... and ${items.length - MAX_LISTED} more (see --json or --html)`);
}

function dryRunLine(e: DryRunEdge): string {
  return (
    `${callerName(e)} -> ${e.destination_namespace}/${e.destination_workload}: ` +
    `${count(e.requests)} requests, ${count(e.connections)} connections; ` +
    // No policy decides an edge that no policy applies to (`decided_by` empty): the reason says so.
    `${e.decided_by === '' ? '' : `${e.decided_by}: `}${e.reason}`
  );
}

/** A caller by its principal where it has one, else by its workload. */
function callerName(c: CallerLabels): string {
  const workload = `${c.source_workload_namespace}/${c.source_workload}`;
  return c.source_principal !== '' && c.source_principal !== 'unknown'
    ? `${c.source_principal} (${workload})`
    : `${workload} (no identity)`;
}

function count(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}
