import type { Config } from '../config/types';
import type { Logger } from '../adapters/logger';
import { MeshwatchMetrics } from '../adapters/metrics/metrics';
import { startHttpServer } from '../adapters/http/server';
import { loadWebConfig } from '../adapters/http/web-config';
import { createScheduler } from '../adapters/scheduler';
import { AlertmanagerPush } from '../adapters/alertmanager/push';
import { describeError } from './errors';
import { ConfigReloader, type ReloadOutcome } from './reload';
import { Poller, type InstantQueryApi } from './poller';
import { coarseMeshQueryOf, warmUp, type RangeQueryApi, type WarmupProgress } from './warmup';

/** What the daemon is built from; the Prometheus client is passed in so tests can wrap it. */
export interface DaemonDeps {
  config: Config;
  logger: Logger;
  prometheus: InstantQueryApi & RangeQueryApi;
  version: string;
  now?: () => number;
  /**
   * Reads the config file again with the environment and flags of the start (SIGHUP, POST
   * /-/reload); throws ConfigError. Without it the daemon has no /-/reload and cannot reload.
   */
  reloadConfig?: () => Config;
  /** The config file, named in the reload log lines. */
  configFile?: string;
}

/** A running daemon. */
export interface Daemon {
  port: number;
  poller: Poller;
  metrics: MeshwatchMetrics;
  /** Resolves when the warm-up is done (or was cut short by `stop`). */
  warmedUp: Promise<void>;
  /** Re-reads the config and applies what can change live (src/app/reload.ts); never throws. */
  reload(trigger: string): ReloadOutcome;
  /** Graceful stop: unready, no new poll, bounded wait for the poll in flight, server closed. */
  stop(reason: string): Promise<void>;
}

/**
 * Starts the HTTP server at once (live, not ready), rebuilds baselines from history, then polls
 * on schedule. /readyz answers 503 until the warm-up is done and again once shutdown begins.
 */
export async function startDaemon(deps: DaemonDeps): Promise<Daemon> {
  const { config, logger } = deps;
  // Read and checked before anything starts: a bad web config stops the daemon with a ConfigError.
  const web =
    config.server.webConfigFile === undefined ? undefined : loadWebConfig(config.server.webConfigFile);
  const now = deps.now ?? Date.now;
  const metrics = new MeshwatchMetrics(deps.version);
  const poller = new Poller({ config, prometheus: deps.prometheus, metrics, logger, now });
  const reloadConfig = deps.reloadConfig;
  const reloader = new ConfigReloader({
    config,
    file: deps.configFile,
    metrics,
    logger,
    now,
    load: reloadConfig ?? (() => config),
    apply: (next) => {
      poller.reconfigure(next);
      logger.level = next.log.level;
    },
  });
  let stopping = false;
  let warm = false;
  let pollAbort = new AbortController();
  const warmupAbort = new AbortController();
  const push = config.alertmanager.url
    ? new AlertmanagerPush({
        url: config.alertmanager.url,
        timeoutMs: config.alertmanager.timeoutMs,
        resendEveryMs: config.alertmanager.resendEveryMs,
        prometheusUrl: config.prometheus.url,
        adoptionHoldMs:
          Math.max(
            0,
            ...Object.values(config.detectors)
              .filter((d) => d.enabled)
              .map((d) => d.openAfterPolls),
          ) * config.poll.intervalMs,
      })
    : undefined;
  let pushing: Promise<void> | undefined;
  const pushAbort = new AbortController();
  // The push runs beside the polls, one at a time, as Prometheus's notifier does: a slow or
  // hung Alertmanager delays no poll, and the next push carries whatever this one could not.
  const pushFindings = (): void => {
    // Before the first successful poll there are no findings yet, not an all-clear to resolve.
    if (!push || pushing || pushAbort.signal.aborted) return;
    if (poller.findingsDocument().last_success === null) return;
    pushing = push
      .push(poller.findings(), now(), pushAbort.signal)
      .then(
        () => {
          if (push.adoptedCount > 0 && !adoptionLogged) {
            adoptionLogged = true;
            logger.info(
              { alerts: push.adoptedCount, alertmanager: config.alertmanager.url },
              'found alerts an earlier meshwatch left firing in Alertmanager; re-sending or resolving them',
            );
          }
        },
        (err: unknown) => {
          if (pushAbort.signal.aborted) return;
          metrics.alertmanagerPushFailures.inc();
          logger.warn(
            { error: describeError(err), alertmanager: config.alertmanager.url },
            'pushing findings to Alertmanager failed; retrying after the next poll',
          );
        },
      )
      .finally(() => {
        pushing = undefined;
      });
  };
  let adoptionLogged = false;

  const server = await startHttpServer(
    {
      registry: metrics.registry,
      notReadyReason: () =>
        stopping
          ? 'shutting down'
          : warm
            ? undefined
            : 'warming up: rebuilding baselines from Prometheus history',
      findings: () => poller.findingsDocument(),
      logger,
      ...(reloadConfig ? { reload: () => Promise.resolve(reloader.reload('POST /-/reload')) } : {}),
    },
    config.server.host,
    config.server.port,
    web,
  );

  const scheduler = createScheduler({
    intervalMs: config.poll.intervalMs,
    poll: async (atMs) => {
      pollAbort = new AbortController();
      await poller.poll(atMs, pollAbort.signal);
      pushFindings();
    },
    onSkip: (slotMs) => {
      metrics.pollsSkippedTotal.inc();
      logger.warn(
        { slot: new Date(slotMs).toISOString(), intervalSeconds: config.poll.intervalMs / 1000 },
        'skipped a poll: the previous one is still running (Prometheus slow? raise poll.interval)',
      );
    },
  });
  logger.info(
    {
      port: server.port,
      scheme: web?.tlsOptions ? 'https' : 'http',
      basicAuth: Object.keys(web?.config.users ?? {}).length > 0,
      prometheus: config.prometheus.url,
      intervalSeconds: config.poll.intervalMs / 1000,
      version: deps.version,
    },
    'meshwatch started',
  );

  const warmedUp = (async () => {
    // History ends where the first poll will look (poll.query_offset), so no step reads half-arrived data.
    const endMs = now() - config.poll.queryOffsetMs;
    const blind =
      config.warmup.lookbackMs === 0
        ? new Set<never>()
        : await poller.checkTelemetry(endMs, warmupAbort.signal).catch((err: unknown) => {
            logger.warn(
              { error: describeError(err) },
              'could not check the telemetry labels before the warm-up; the first poll will',
            );
            return new Set<never>();
          });
    const report = await warmUp(
      deps.prometheus,
      {
        meshQuery: poller.meshQuery,
        coarseMeshQuery: coarseMeshQueryOf(config),
        learn: (s, b) => poller.learn(s, b),
      },
      {
        lookbackMs: config.warmup.lookbackMs,
        stepMs: config.warmup.stepMs,
        coarseStepMs: config.warmup.coarseStepMs,
        recentMs: config.warmup.recentMs,
        maxSamplesPerQuery: config.warmup.maxSamplesPerQuery,
        endMs,
        blind,
        retryDelayMs: Math.min(config.poll.intervalMs, 30_000),
        signal: warmupAbort.signal,
        onProgress: (progress) => publishWarmupProgress(metrics, progress),
      },
      logger,
      now,
    );
    warm = true;
    metrics.warmupComplete.set(1);
    logger.info(
      {
        chunks: report.chunks,
        stepsWithData: report.steps,
        historyFrom: report.firstDataMs === undefined ? null : new Date(report.firstDataMs).toISOString(),
        durationSeconds: report.durationMs / 1000,
        tracked: poller.engine.tracked(),
      },
      'warm-up complete; polling',
    );
    if (!stopping) scheduler.start();
  })().catch((err: unknown) => {
    if (!warmupAbort.signal.aborted) logger.fatal({ error: describeError(err) }, 'warm-up failed');
  });

  return {
    port: server.port,
    poller,
    metrics,
    warmedUp,
    reload: (trigger) => reloader.reload(trigger),
    async stop(reason) {
      if (stopping) return;
      stopping = true;
      logger.info({ reason }, 'shutting down: unready, no new polls');
      warmupAbort.abort(new Error('shutting down'));
      scheduler.stop();
      await warmedUp;
      const inFlight = scheduler.inFlight();
      if (inFlight) {
        const finished = await Promise.race([
          inFlight.then(() => true),
          new Promise<boolean>((resolve) =>
            setTimeout(() => resolve(false), reloader.config.shutdown.timeoutMs).unref(),
          ),
        ]);
        if (!finished) {
          logger.warn(
            { timeoutSeconds: reloader.config.shutdown.timeoutMs / 1000 },
            'the poll in flight did not finish in time; aborting it',
          );
          pollAbort.abort();
          await inFlight;
        }
      }
      // Alerts in Alertmanager stay firing until their endsAt; the next process adopts them.
      pushAbort.abort();
      await pushing;
      await server.close();
      logger.info('stopped');
    },
  };
}

/** `meshwatch_warmup_steps{state}` and `meshwatch_warmup_remaining_seconds` (NaN: no pace yet). */
function publishWarmupProgress(metrics: MeshwatchMetrics, progress: WarmupProgress): void {
  metrics.warmupSteps.labels('planned').set(progress.plannedSteps);
  metrics.warmupSteps.labels('done').set(progress.doneSteps);
  metrics.warmupRemaining.set(progress.remainingMs / 1000);
}
