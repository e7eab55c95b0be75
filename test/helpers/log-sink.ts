import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/adapters/logger';

/** A logger at `info` whose JSON lines are kept, parsed, in `lines`. */
export function logSink(): { lines: Array<Record<string, unknown>>; logger: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('info', sink) };
}
