import type { Command } from 'commander';
import { loadWebConfig } from '../adapters/http/web-config';
import { createLogger } from '../adapters/logger';
import { createPrometheusClient } from '../adapters/prometheus/client';
import { startDaemon } from '../app/daemon';
import { loadConfig } from '../config/load';
import { ConfigError } from '../errors';
import { packageVersion } from '../version';
import type { CliIo } from './io';

/** `meshwatch run --config FILE`: the daemon. */
export function registerRunCommand(program: Command, io: CliIo): void {
  program
    .command('run')
    .description('run the daemon: poll Prometheus, detect, serve /metrics and /api/v1/findings')
    .option('-c, --config <file>', 'YAML configuration file (env: MESHWATCH_CONFIG)')
    .option('--prometheus-url <url>', 'Prometheus base URL (env: MESHWATCH_PROMETHEUS_URL)')
    .action(async (opts: { config?: string; prometheusUrl?: string }) => {
      process.exitCode = await runDaemon(io, opts);
    });
}

/** Runs until SIGTERM or SIGINT; resolves with the exit code. */
export async function runDaemon(
  io: CliIo,
  opts: { config?: string; prometheusUrl?: string },
): Promise<number> {
  let config;
  let prometheus;
  const file = opts.config ?? io.env.MESHWATCH_CONFIG;
  // A reload reads the same file with the same environment and flags on top, as the start did.
  const load = () => loadConfig({ file, env: io.env, flags: { prometheusUrl: opts.prometheusUrl } });
  try {
    config = load();
    // The web config file is checked here too, so that its errors read as every config error.
    if (config.server.webConfigFile !== undefined) loadWebConfig(config.server.webConfigFile);
    prometheus = createPrometheusClient(config.prometheus);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`meshwatch: invalid configuration: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const logger = createLogger(config.log.level, io.stdout === process.stdout ? undefined : io.stdout);
  const daemon = await startDaemon({
    config,
    logger,
    prometheus,
    version: packageVersion(),
    reloadConfig: load,
    ...(file === undefined ? {} : { configFile: file }),
  });
  // As Prometheus: SIGHUP re-reads the config file (the outcome is logged and in the metrics).
  process.on('SIGHUP', () => daemon.reload('SIGHUP'));
  // Listeners stay installed: a second signal during shutdown must not kill the process with
  // the default action before the poll in flight and the logs are done.
  let received: NodeJS.Signals | undefined;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (name: NodeJS.Signals): void => {
      if (received) logger.warn({ signal: name }, 'already shutting down');
      received ??= name;
      resolve(name);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await daemon.stop(signal);
  prometheus.close();
  logger.flush();
  return 0;
}
