/**
 * `meshwatch check-config FILE`: validates a config file, with the `MESHWATCH_*` environment the
 * daemon would see, exactly as `meshwatch run` does at start (with the web config file it names).
 * For CI and pre-deploy hooks.
 */
import type { Command } from 'commander';
import { loadWebConfig } from '../adapters/http/web-config';
import { loadConfig } from '../config/load';
import { MeshwatchError } from '../errors';
import type { CliIo } from './io';

/** Registers `check-config FILE`: prints `FILE: ok` and exits 0, or the one problem on stderr and exits 1. */
export function registerCheckConfigCommand(program: Command, io: CliIo): void {
  program
    .command('check-config')
    .description('validate a config file together with the MESHWATCH_* environment, then exit')
    .argument('<file>', 'YAML config file')
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .action((file: string) => {
      try {
        const config = loadConfig({ file, env: io.env, flags: {} });
        if (config.server.webConfigFile !== undefined) loadWebConfig(config.server.webConfigFile);
      } catch (err) {
        // Only our own errors are a verdict on the file; anything else is a bug and must surface.
        if (!(err instanceof MeshwatchError)) throw err;
        io.stderr.write(`${err.message}\n`);
        process.exitCode = 1;
        return;
      }
      io.stdout.write(`${file}: ok\n`);
    });
}
