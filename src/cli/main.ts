#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { MeshwatchError } from '../errors';
import { packageVersion } from '../version';
import { registerAuditCommand } from './audit';
import { registerBacktestCommand } from './backtest';
import { registerBenchCommand } from './bench';
import { registerCheckConfigCommand } from './check-config';
import { processIo, type CliIo } from './io';
import { registerRunCommand } from './run';
import { registerSimulateCommand } from './simulate';

/** The `meshwatch` command line. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('meshwatch')
    .description('watches an Istio mesh through Prometheus and reports security anomalies')
    .version(packageVersion())
    .showHelpAfterError()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  registerRunCommand(program, io);
  registerCheckConfigCommand(program, io);
  registerSimulateCommand(program, io);
  registerBenchCommand(program, io);
  registerBacktestCommand(program, io);
  registerAuditCommand(program, io);
  return program;
}

async function main(): Promise<void> {
  const io = processIo();
  try {
    await buildProgram(io).parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof MeshwatchError) {
      io.stderr.write(`meshwatch: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

if (require.main === module) void main();
