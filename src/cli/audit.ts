/** `meshwatch audit`: zero-trust readiness, least-privilege policies and policy dry-runs from history. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { createPrometheusClient } from '../adapters/prometheus/client';
import { progressBar, progressStep } from '../app/backtest/progress';
import { AUDIT_STEP_MS, collectHistory } from '../audit/collect';
import { dryRun } from '../audit/dry-run';
import { renderAuditReport } from '../audit/html';
import { loadPolicyFiles } from '../audit/policy-files';
import { generatePolicies } from '../audit/policies';
import { buildReport } from '../audit/report';
import { formatSummary } from '../audit/summary';
import { formatDuration, parseDuration } from '../config/duration';
import { loadConfig } from '../config/load';
import { UsageError } from '../errors';
import type { CliIo } from './io';

/** The options of `meshwatch audit`, as commander gives them. */
export interface AuditOptions {
  lookback?: string;
  namespace?: string[];
  config?: string;
  prometheusUrl?: string;
  minRequests?: string;
  rootNamespace?: string;
  policiesOut?: string;
  policies?: string;
  json?: boolean;
  html?: string;
}

/** The `--min-requests` floor without the option: every caller seen at least once is allowed. */
export const DEFAULT_MIN_REQUESTS = 1;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Registers `meshwatch audit --lookback D [--namespace NS...] ... --json | --html FILE | --policies-out DIR`. */
export function registerAuditCommand(program: Command, io: CliIo): void {
  program
    .command('audit')
    .description(
      'judge the mesh for zero trust from Prometheus history: STRICT mTLS readiness, least-privilege AuthorizationPolicies, policy dry-runs',
    )
    .option(
      '--lookback <duration>',
      "history to read, at least 1h (default: the config's audit.lookback, env MESHWATCH_AUDIT_LOOKBACK, 7d)",
    )
    .option('--namespace <ns>', 'only destinations in this namespace (repeatable)', collect, [])
    .option('-c, --config <file>', "YAML configuration file, the daemon's (env: MESHWATCH_CONFIG)")
    .option('--prometheus-url <url>', 'Prometheus base URL (env: MESHWATCH_PROMETHEUS_URL)')
    .option(
      '--min-requests <n>',
      `allow a caller only with at least N requests and connections over the lookback (default: ${DEFAULT_MIN_REQUESTS})`,
    )
    .option('--root-namespace <ns>', "Istio's root namespace, for mesh-wide policies (default: istio-system)")
    .option(
      '--policies-out <dir>',
      'write least-privilege AuthorizationPolicies and PeerAuthentications to DIR',
    )
    .option(
      '--policies <dir>',
      'dry-run the AuthorizationPolicy and PeerAuthentication YAML in DIR over the history',
    )
    .option('--json', 'print the report as JSON on stdout (schemas/audit.schema.json)')
    .option('--html <file>', 'write a self-contained HTML report to FILE')
    .action(async (opts: AuditOptions) => {
      await auditCommand(io, opts, Date.now());
    });
}

/** Parses the options, runs the audit and writes its outputs; throws UsageError for bad input. */
export async function auditCommand(io: CliIo, opts: AuditOptions, nowMs: number): Promise<void> {
  if (!opts.json && opts.html === undefined && opts.policiesOut === undefined)
    throw new UsageError(
      'audit needs an output: --json (the report on stdout), --html FILE, --policies-out DIR, or several',
    );
  // A bad --lookback fails before the config is read; without one, the config's audit.lookback
  // (the window the daemon's meshwatch_strict_mtls_ready judges) is the default.
  const lookbackFlagMs = opts.lookback === undefined ? undefined : lookbackOf(opts.lookback);
  const namespaces = namespacesOf(opts.namespace);
  const minRequests = minRequestsOf(opts.minRequests);
  const rootNamespace = nonEmpty('--root-namespace', opts.rootNamespace);
  const policiesOut = nonEmpty('--policies-out', opts.policiesOut);
  const policiesDir = nonEmpty('--policies', opts.policies);
  const html = nonEmpty('--html', opts.html);
  const config = loadConfig({
    file: opts.config ?? io.env.MESHWATCH_CONFIG,
    env: io.env,
    flags: { prometheusUrl: opts.prometheusUrl },
  });
  const lookbackMs = lookbackFlagMs ?? config.audit.lookbackMs;
  // Read the policies before the history: a bad file fails in a second, not after the queries.
  const policies = policiesDir === undefined ? undefined : loadPolicyFiles(policiesDir);
  const rootOption = rootNamespace === undefined ? {} : { rootNamespace };
  const prometheus = createPrometheusClient(config.prometheus);
  const progress = progressWriter(io.stderr);
  try {
    // Whole minutes: the hours of the report start on a minute, as a reader expects.
    const toMs = Math.floor(nowMs / 60_000) * 60_000;
    const history = await collectHistory(prometheus, {
      fromMs: toMs - lookbackMs,
      toMs,
      config,
      ...(namespaces === undefined ? {} : { namespaces }),
      onProgress: progress.update,
    });
    progress.done();
    const report = buildReport(history, { nowMs, ...(namespaces === undefined ? {} : { namespaces }) });
    if (policies !== undefined) report.dry_run = dryRun(history, policies, rootOption);
    io.stderr.write(formatSummary(report));
    if (html !== undefined) writeFileSync(html, renderAuditReport(report));
    if (policiesOut !== undefined) {
      const files = generatePolicies(report, {
        minRequests,
        lookbackText: opts.lookback ?? `${formatDuration(lookbackMs)}, audit.lookback`,
        ...rootOption,
      });
      for (const { file, yaml } of files) writeInside(policiesOut, file, yaml);
      io.stderr.write(
        `audit: wrote ${files.length} policy file${files.length === 1 ? '' : 's'} to ${policiesOut}\n`,
      );
    }
    if (opts.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    prometheus.close();
  }
}

function lookbackOf(value: string): number {
  const ms = parseDuration(value);
  // The history is read in hourly steps: less than an hour holds none.
  if (ms === undefined || ms < AUDIT_STEP_MS)
    throw new UsageError(
      `invalid --lookback ${JSON.stringify(value)}: use a duration of at least 1h, e.g. 7d or 24h`,
    );
  return ms;
}

function namespacesOf(values: string[] | undefined): string[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  for (const ns of values) {
    if (ns === '') throw new UsageError('invalid --namespace "": name a namespace');
  }
  return [...new Set(values)];
}

function minRequestsOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_MIN_REQUESTS;
  if (!/^\d+$/.test(text))
    throw new UsageError(`invalid --min-requests ${JSON.stringify(text)}: use a whole number, 0 or more`);
  return Number(text);
}

function nonEmpty(option: string, value: string | undefined): string | undefined {
  if (value === '') throw new UsageError(`invalid ${option} "": it needs a value`);
  return value;
}

/** Writes `file` (a relative name from the generator) under `dir`, creating folders; never outside it. */
function writeInside(dir: string, file: string, text: string): void {
  const path = resolve(dir, file);
  const rel = relative(resolve(dir), path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel))
    throw new UsageError(`refusing to write policy file ${JSON.stringify(file)} outside ${dir}`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(join(dir, rel), text);
}

/** A bar redrawn in place on a terminal; plain percentage lines when stderr is a pipe or a file. */
function progressWriter(stream: NodeJS.WritableStream): {
  update: (done: number, total: number) => void;
  done: () => void;
} {
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  let lastPercent = -1;
  let drawn = false;
  return {
    update: (done, total) => {
      if (total === 0) return;
      const fraction = done / total;
      const phase = `reading history (${done}/${total} hours)`;
      if (tty) {
        stream.write(`\r${progressBar(fraction, phase)}`);
        drawn = true;
        return;
      }
      const percent = progressStep(fraction);
      if (percent <= lastPercent) return;
      lastPercent = percent;
      stream.write(`audit: ${percent}% ${phase}\n`);
    },
    done: () => {
      if (tty && drawn) stream.write('\n');
    },
  };
}
