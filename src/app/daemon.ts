import type { Config } from '../config/types';
import type { Logger } from '../adapters/logger';
import { MeshwatchMetrics } from '../adapters/metrics/metrics';
import { startHttpServer } from '../adapters/http/server';
import { createScheduler } from '../adapters/scheduler';
import { Poller, type InstantQueryApi } from './poller';

/** What the daemon is built from; the Prometheus client is passed in so tests can wrap it. */
export interface DaemonDeps {
  config: Config;
  logger: Logger;
  prometheus: InstantQueryApi;
  version: string;
}

/** A running daemon. */
export interface Daemon {
  port: number;
  poller: Poller;
  metrics: MeshwatchMetrics;
  /** Graceful stop: unready, no new poll, bounded wait for the poll in flight, server closed. */
  stop(reason: string): Promise<void>;
}

/** Starts the HTTP server and the poll schedule. */
export async function startDaemon(deps: DaemonDeps): Promise<Daemon> {
  const { config, logger } = deps;
  const metrics = new MeshwatchMetrics(deps.version);
  const poller = new Poller({ config, prometheus: deps.prometheus, metrics, logger });
  let stopping = false;
  let abort = new AbortController();

  // No history to warm up from yet: baselines come with the detection engine.
  metrics.warmupComplete.set(1);

  const server = await startHttpServer(
    {
      registry: metrics.registry,
      notReadyReason: () => (stopping ? 'shutting down' : undefined),
      findings: () => poller.findingsDocument(),
    },
    config.server.host,
    config.server.port,
  );

  const scheduler = createScheduler({
    intervalMs: config.poll.intervalMs,
    poll: async (atMs) => {
      abort = new AbortController();
      await poller.poll(atMs, abort.signal);
    },
    onSkip: (slotMs) => {
      metrics.pollsSkippedTotal.inc();
      logger.warn(
        { slot: new Date(slotMs).toISOString(), intervalSeconds: config.poll.intervalMs / 1000 },
        'skipped a poll: the previous one is still running (Prometheus slow? raise poll.interval)',
      );
    },
  });
  scheduler.start();
  logger.info(
    {
      port: server.port,
      prometheus: config.prometheus.url,
      intervalSeconds: config.poll.intervalMs / 1000,
      version: deps.version,
    },
    'meshwatch started',
  );

  return {
    port: server.port,
    poller,
    metrics,
    async stop(reason) {
      if (stopping) return;
      stopping = true;
      logger.info({ reason }, 'shutting down: unready, no new polls');
      scheduler.stop();
      const inFlight = scheduler.inFlight();
      if (inFlight) {
        const finished = await Promise.race([
          inFlight.then(() => true),
          new Promise<boolean>((resolve) =>
            setTimeout(() => resolve(false), config.shutdown.timeoutMs).unref(),
          ),
        ]);
        if (!finished) {
          logger.warn(
            { timeoutSeconds: config.shutdown.timeoutMs / 1000 },
            'the poll in flight did not finish in time; aborting it',
          );
          abort.abort();
          await inFlight;
        }
      }
      await server.close();
      logger.info('stopped');
    },
  };
}
