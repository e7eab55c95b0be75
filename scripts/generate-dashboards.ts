/**
 * Writes grafana/*.json and deploy/base/generated/dashboards/*.yaml from src/dashboards/. Run from the repository
 * root after a build: `node dist/scripts/generate-dashboards.js` (`npm run generate:dashboards`).
 * The committed files use the defaults; the flags render copies for another setup, e.g.
 * `--namespace observability --folder Security --label grafana_dashboard=1 --out-dir /tmp/dash`.
 */
import { Command } from 'commander';
import { parseLabel, writeGeneratedFiles } from './lib/generated';
import { DEFAULT_CONFIGMAP_OPTIONS, generatedDashboardFiles } from '../src/dashboards/files';

/** Writes every generated dashboard file under `--out-dir`; returns the paths written. */
export function writeDashboardFiles(argv: string[], log: (line: string) => void = console.log): string[] {
  const program = new Command('generate-dashboards')
    .option('--out-dir <dir>', 'folder the paths are relative to', '.')
    .option('--namespace <ns>', 'namespace of the ConfigMaps', DEFAULT_CONFIGMAP_OPTIONS.namespace)
    .option('--folder <name>', 'Grafana folder (grafana_folder annotation)', DEFAULT_CONFIGMAP_OPTIONS.folder)
    .option(
      '--label <key=value>',
      'ConfigMap label, repeatable; replaces the default labels (keep the one your sidecar selects on)',
      (value: string, labels: string[]) => [...labels, value],
      [] as string[],
    )
    .parse(argv, { from: 'user' });
  const opts = program.opts<{ outDir: string; namespace: string; folder: string; label: string[] }>();
  const labels =
    opts.label.length === 0
      ? DEFAULT_CONFIGMAP_OPTIONS.labels
      : Object.fromEntries(opts.label.map((l) => parseLabel(l, 'grafana_dashboard=1')));
  const files = generatedDashboardFiles({ namespace: opts.namespace, folder: opts.folder, labels });
  return writeGeneratedFiles(opts.outDir, files, log);
}

if (require.main === module) {
  try {
    writeDashboardFiles(process.argv.slice(2));
  } catch (err) {
    console.error(`generate-dashboards: ${(err as Error).message}`);
    process.exitCode = 2;
  }
}
