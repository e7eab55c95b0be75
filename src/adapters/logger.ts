import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/types';

export type { Logger } from 'pino';

/**
 * JSON logs on stdout (or `destination`, for tests). Written synchronously so that a line is
 * never lost when the process exits right after it. Anything shaped like a credential is
 * censored as a second line of defence: meshwatch never puts one in a log call to begin with.
 */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'meshwatch' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          '*.Authorization',
          'headers.*',
          '*.headers.*',
          'password',
          '*.password',
          'token',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
