import type { Config } from '../../../src/config/types';

/** The whole Config an empty file gives; spelled out by hand so a changed default fails a test. */
export const DEFAULT_CONFIG: Config = {
  prometheus: {
    url: 'http://localhost:9090',
    timeoutMs: 10_000,
    maxResponseBytes: 134_217_728,
    headers: {},
    tls: { insecureSkipVerify: false },
  },
  poll: { intervalMs: 30_000, rateWindowMs: 120_000, queryOffsetMs: 0 },
  warmup: {
    lookbackMs: 7 * 24 * 3_600_000,
    stepMs: 60_000,
    maxSamplesPerQuery: 1_000_000,
    coarseStepMs: 3_600_000,
    recentMs: 2 * 3_600_000,
  },
  limits: {
    maxDestinations: 5000,
    maxEdges: 100_000,
    evictAfterMs: 24 * 3_600_000,
    topCallers: 10,
    exportBands: 'all',
  },
  alertmanager: { timeoutMs: 10_000, resendEveryMs: 60_000 },
  server: { host: '0.0.0.0', port: 9464 },
  shutdown: { timeoutMs: 10_000 },
  log: { level: 'info' },
  telemetry: { serverReporters: ['destination', 'waypoint'] },
  detectors: {
    unauthorized: {
      enabled: true,
      threshold: 5,
      openAfterPolls: 2,
      closeAfterPolls: 4,
      denialCodes: [401, 403],
      denialFlags: ['DENY'],
    },
    new_caller: {
      enabled: true,
      threshold: 1,
      openAfterPolls: 1,
      closeAfterPolls: 2,
      newForMs: 3_600_000,
      forgetAfterMs: 14 * 24 * 3_600_000,
      learningMs: 3_600_000,
    },
    plaintext: { enabled: true, threshold: 1, openAfterPolls: 1, closeAfterPolls: 2 },
    traffic: { enabled: true, threshold: 5, openAfterPolls: 3, closeAfterPolls: 3, shapeModel: false },
    errors: { enabled: true, threshold: 4, openAfterPolls: 3, closeAfterPolls: 3 },
  },
  audit: { lookbackMs: 7 * 24 * 3_600_000 },
};

/** The code, key and message of what `run` throws, so a test can assert all three at once. */
export function thrownBy(run: () => unknown): { code: unknown; key: unknown; message: string } {
  try {
    run();
  } catch (err) {
    const { code, key, message } = err as { code: unknown; key: unknown; message: string };
    return { code, key, message };
  }
  throw new Error('expected an error, but none was thrown');
}
