import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { buildReport } from '../../../src/audit/report';
import type { AuditReport, DryRun, DryRunEdge } from '../../../src/audit/types';
import { caller, dest, edge, history, T0 } from './history-factories';

const SCHEMA = JSON.parse(
  readFileSync(join(__dirname, '../../../schemas/audit.schema.json'), 'utf8'),
) as object;
const validate = new Ajv({ allErrors: true, strict: true }).compile(SCHEMA);

/** ajv's errors in one line each (path and message), empty when `value` is valid. */
function errorsOf(value: unknown): string[] {
  // Through JSON, as a tool reading `--json` sees the report (no undefined, no Map).
  const ok = validate(JSON.parse(JSON.stringify(value)));
  return ok ? [] : (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath} ${e.message ?? ''}`);
}

const backend = dest('shop', 'backend');
const frontend = caller('web', 'frontend');
const legacy = caller('legacy', 'cron', false);

function report(): AuditReport {
  return buildReport(
    history(
      [
        edge(backend, frontend, [[1, { requests: 100, mtls: 100, denied: 3 }]]),
        edge(backend, legacy, [[2, { requests: 4, plaintext: 4 }]]),
        edge(dest('data', 'db', ''), frontend, [[3, { connections: 2, mtls: 2 }]], true),
      ],
      [[backend, { app: 'backend', services: ['shop/backend'], waypoint: false, ambient: false }]],
    ),
    { nowMs: T0 + 25 * 3_600_000 },
  );
}

const dryRunEdge = (requests: number): DryRunEdge => ({
  ...backend,
  ...legacy,
  requests,
  connections: 0,
  decided_by: 'shop/backend (AuthorizationPolicy)',
  reason: 'no ALLOW rule matches the caller',
});

const dryRun: DryRun = {
  would_deny: [dryRunEdge(4)],
  would_allow: [],
  unjudged: [{ ...dryRunEdge(100), ...frontend, reason: 'the rule names paths, which metrics do not carry' }],
  policies: [{ kind: 'AuthorizationPolicy', namespace: 'shop', name: 'backend', file: 'shop/backend.yaml' }],
  ignored: [{ kind: 'ConfigMap', name: 'x', file: 'shop/x.yaml' }],
};

describe('schemas/audit.schema.json', () => {
  it('accepts a report that buildReport builds', () => {
    const r = report();
    expect(r.destinations.map((d) => d.strict_ready)).toEqual([true, false]);
    expect(errorsOf(r)).toEqual([]);
  });

  it('accepts a report with a dry-run', () => {
    expect(errorsOf({ ...report(), dry_run: dryRun })).toEqual([]);
  });

  it('accepts a report of an empty mesh', () => {
    expect(errorsOf(buildReport(history([]), { nowMs: T0 }))).toEqual([]);
  });

  const withoutField = (path: Array<string | number>): unknown => {
    const copy = JSON.parse(JSON.stringify({ ...report(), dry_run: dryRun })) as Record<string, unknown>;
    let at: Record<string | number, unknown> = copy;
    for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
    delete at[path.at(-1) as string | number];
    return copy;
  };

  // The names the issue fixes for tools outside the project.
  it.each([
    [['destinations']],
    [['destinations', 0, 'destination_namespace']],
    [['destinations', 0, 'destination_workload']],
    [['destinations', 0, 'mtls_share']],
    [['destinations', 0, 'strict_ready']],
    [['destinations', 0, 'blocked_by']],
    [['destinations', 0, 'callers']],
    [['destinations', 1, 'blocked_by', 0, 'source_principal']],
    [['destinations', 1, 'blocked_by', 0, 'source_workload_namespace']],
    [['destinations', 1, 'blocked_by', 0, 'source_workload']],
    [['destinations', 1, 'callers', 0, 'source_principal']],
    [['destinations', 1, 'callers', 0, 'source_workload_namespace']],
    [['destinations', 1, 'callers', 0, 'source_workload']],
    [['destinations', 1, 'callers', 0, 'requests']],
    [['destinations', 1, 'callers', 0, 'denied']],
    [['dry_run', 'would_deny']],
    [['dry_run', 'would_allow']],
    [['dry_run', 'unjudged']],
    [['dry_run', 'would_deny', 0, 'destination_namespace']],
    [['dry_run', 'would_deny', 0, 'destination_workload']],
    [['dry_run', 'would_deny', 0, 'source_principal']],
    [['dry_run', 'would_deny', 0, 'source_workload_namespace']],
    [['dry_run', 'would_deny', 0, 'source_workload']],
    [['dry_run', 'unjudged', 0, 'requests']],
  ])('rejects a report without %j', (path) => {
    const parent = `/${path.slice(0, -1).join('/')}`.replace(/\/$/, '');
    expect(errorsOf(withoutField(path))).toEqual([
      `${parent} must have required property '${String(path.at(-1))}'`,
    ]);
  });

  it('rejects an mTLS share outside 0..1 and a verdict that is not a boolean', () => {
    const r = JSON.parse(JSON.stringify(report())) as { destinations: Array<Record<string, unknown>> };
    (r.destinations[0] as Record<string, unknown>).mtls_share = 1.5;
    (r.destinations[1] as Record<string, unknown>).strict_ready = 'no';
    expect(errorsOf(r)).toEqual([
      '/destinations/0/mtls_share must be <= 1',
      '/destinations/1/strict_ready must be boolean',
    ]);
  });

  it('names every field of the report types that buildReport fills', () => {
    // A field the types (and so buildReport) have and the schema does not describe would be
    // invisible to the schema's readers: every key of a built report is a property in the schema.
    const defs = (SCHEMA as { definitions: Record<string, { properties: Record<string, unknown> }> })
      .definitions;
    const props = (name: string): string[] => Object.keys(defs[name]?.properties ?? {}).sort();
    const r = report();
    const d = r.destinations[1] as AuditReport['destinations'][number];
    expect(Object.keys(d).sort()).toEqual(props('destination'));
    expect(Object.keys(d.callers[0] ?? {}).sort()).toEqual(props('caller'));
    expect(Object.keys(d.blocked_by[0] ?? {}).sort()).toEqual(props('blocker'));
    expect(Object.keys(r.namespaces[0] ?? {}).sort()).toEqual(props('namespace'));
    expect(Object.keys(dryRun).sort()).toEqual(props('dryRun'));
    expect(Object.keys(dryRunEdge(1)).sort()).toEqual(props('dryRunEdge'));
    expect(Object.keys(r).sort()).toEqual(
      Object.keys((SCHEMA as { properties: object }).properties)
        .filter((k) => k !== 'dry_run')
        .sort(),
    );
  });
});
