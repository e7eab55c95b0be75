/**
 * Writes rules/meshwatch.rules.yml and deploy/base/generated/prometheus-rule.yaml from src/rules/. Run from the
 * repository root after a build: `node dist/scripts/generate-rules.js` (`npm run generate:rules`).
 * The committed files use the defaults; the flags render copies for another setup, e.g.
 * `--label release=my-prometheus --namespace observability --out-dir /tmp/rules`.
 */
import { Command } from 'commander';
import { parseLabel, writeGeneratedFiles } from './lib/generated';
import { DEFAULT_ALERT_RULE_OPTIONS } from '../src/rules/alerts';
import { DEFAULT_PROMETHEUS_RULE_METADATA, generatedRuleFiles } from '../src/rules/targets';

/** Writes every generated rule file under `outDir`; returns the paths written. */
export function writeRuleFiles(argv: string[], log: (line: string) => void = console.log): string[] {
  const program = new Command('generate-rules')
    .option('--out-dir <dir>', 'folder the paths are relative to', '.')
    .option(
      '--runbook-base-url <url>',
      'base URL of docs/runbooks',
      DEFAULT_ALERT_RULE_OPTIONS.runbookBaseUrl,
    )
    .option('--job <name>', "Prometheus job label of meshwatch's target", DEFAULT_ALERT_RULE_OPTIONS.job)
    .option(
      '--grafana-url <url>',
      'base URL of Grafana, for dashboard_url',
      DEFAULT_ALERT_RULE_OPTIONS.grafanaUrl,
    )
    .option('--name <name>', 'PrometheusRule name', DEFAULT_PROMETHEUS_RULE_METADATA.name)
    .option('--namespace <ns>', 'PrometheusRule namespace', DEFAULT_PROMETHEUS_RULE_METADATA.namespace)
    .option(
      '--label <key=value>',
      'PrometheusRule label, repeatable; replaces the default labels',
      (value: string, labels: string[]) => [...labels, value],
      [] as string[],
    )
    .parse(argv, { from: 'user' });
  const opts = program.opts<{
    outDir: string;
    runbookBaseUrl: string;
    job: string;
    grafanaUrl: string;
    name: string;
    namespace: string;
    label: string[];
  }>();
  const labels =
    opts.label.length === 0
      ? DEFAULT_PROMETHEUS_RULE_METADATA.labels
      : Object.fromEntries(opts.label.map((l) => parseLabel(l, 'release=kube-prometheus-stack')));
  const files = generatedRuleFiles(
    { runbookBaseUrl: opts.runbookBaseUrl, job: opts.job, grafanaUrl: opts.grafanaUrl },
    { name: opts.name, namespace: opts.namespace, labels },
  );
  return writeGeneratedFiles(opts.outDir, files, log);
}

if (require.main === module) {
  try {
    writeRuleFiles(process.argv.slice(2));
  } catch (err) {
    console.error(`generate-rules: ${(err as Error).message}`);
    process.exitCode = 2;
  }
}
