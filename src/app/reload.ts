/**
 * Config reload, as Prometheus and Alertmanager do it (SIGHUP, `POST /-/reload`): the file is read
 * and validated again with the environment and flags of the start. A bad file changes nothing and
 * says why; a good one applies the keys that can change in a running daemon at the next poll,
 * keeping every baseline and known edge, and names the changed keys that need a restart, which keep
 * their running values. `meshwatch_config_last_reload_successful` and
 * `meshwatch_config_last_reload_success_timestamp_seconds` report it, as in blackbox_exporter.
 */
import type { Logger } from '../adapters/logger';
import type { MeshwatchMetrics } from '../adapters/metrics/metrics';
import { schemaFields } from '../config/schema';
import type { Config } from '../config/types';
import { ConfigError } from '../errors';
import { describeError } from './errors';

const DETECTOR_NAMES = ['unauthorized', 'new_caller', 'plaintext', 'traffic', 'errors'] as const;

/**
 * Keys (as in the file) that a reload applies to the running daemon: they change how the detectors
 * judge and what is exported, not what was learned or how it is queried. Every other key needs a
 * restart: the Prometheus client, the listening socket and the Alertmanager client are built at
 * start; the mesh query (`poll.rate_window`, `telemetry.server_reporters`, the denial codes and
 * flags) is what the baselines learned from; `detectors.traffic.shape_model` sizes each baseline;
 * `poll.interval` sets the scheduler's slots; `warmup.*` is only read by the warm-up at start.
 */
export const LIVE_RELOAD_KEYS: readonly string[] = [
  ...DETECTOR_NAMES.flatMap((d) =>
    ['enabled', 'threshold', 'open_after_polls', 'close_after_polls'].map((k) => `detectors.${d}.${k}`),
  ),
  'detectors.new_caller.new_for',
  'detectors.new_caller.forget_after',
  'detectors.new_caller.learning_period',
  'limits.max_destinations',
  'limits.max_edges',
  'limits.evict_after',
  'limits.top_callers',
  'limits.export_bands',
  'audit.lookback',
  'poll.query_offset',
  'log.level',
  'shutdown.timeout',
];

const LIVE = new Set(LIVE_RELOAD_KEYS);
const SCHEMA_KEYS = new Set(schemaFields().map((f) => f.path));
// `Config` names that the camelCase-to-key rule below does not turn back into the file's key.
const KEY_OF_CONFIG_PATH: Readonly<Record<string, string>> = {
  'detectors.new_caller.learningMs': 'detectors.new_caller.learning_period',
};

/**
 * The file's key of a `Config` path: `poll.rateWindowMs` is `poll.rate_window`; a path inside a map
 * (`prometheus.headers.X-Scope-OrgID`) is the map's key. Unknown paths are returned as they are.
 */
export function keyOfConfigPath(path: string): string {
  const named = KEY_OF_CONFIG_PATH[path];
  if (named !== undefined) return named;
  const segments = path.split('.');
  const snake = segments.map((s) =>
    s.replace(/Ms$/, '').replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`),
  );
  for (let n = snake.length; n > 0; n -= 1) {
    const key = snake.slice(0, n).join('.');
    if (SCHEMA_KEYS.has(key)) return key;
  }
  return path;
}

/** What a reload does with a new config. */
export interface ReloadPlan {
  /** The config to run: the new one, but for the keys that need a restart, kept at their running values. */
  config: Config;
  /** Changed keys that apply now, sorted. */
  applied: string[];
  /** Changed keys that need a restart to apply, sorted. */
  needsRestart: string[];
}

/** Compares the running config with a newly loaded one and decides what applies. Pure. */
export function planReload(running: Config, next: Config): ReloadPlan {
  const config = structuredClone(running);
  const applied = new Set<string>();
  const needsRestart = new Set<string>();
  for (const path of changedPaths(running, next)) {
    const key = keyOfConfigPath(path);
    if (LIVE.has(key)) {
      applied.add(key);
      setPath(config, path, getPath(next, path));
    } else {
      needsRestart.add(key);
    }
  }
  return { config, applied: [...applied].sort(), needsRestart: [...needsRestart].sort() };
}

/** The `Config` paths whose values differ; arrays compare whole, absent and undefined are equal. */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => changedPaths(a[k], b[k], prefix === '' ? k : `${prefix}.${k}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function getPath(root: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, k) => (isRecord(node) ? node[k] : undefined), root);
}

// Live keys are scalar leaves present in every config (they all have defaults), so their parents exist.
function setPath(root: object, path: string, value: unknown): void {
  const segments = path.split('.');
  const last = segments.pop() as string;
  const parent = segments.reduce<Record<string, unknown>>(
    (node, k) => node[k] as Record<string, unknown>,
    root as Record<string, unknown>,
  );
  parent[last] = value;
}

/** The outcome of one reload; what `POST /-/reload` answers with. */
export type ReloadOutcome =
  { ok: true; applied: string[]; needsRestart: string[] } | { ok: false; error: string };

/** What a reloader is built from. */
export interface ConfigReloaderDeps {
  /** The config running now (loaded at start). */
  config: Config;
  /** Reads and validates the config file again, with the environment and flags of the start; throws ConfigError. */
  load(): Config;
  /** Puts a planned config into effect; only live keys differ from the running one. */
  apply(config: Config): void;
  metrics: MeshwatchMetrics;
  logger: Logger;
  /** The config file, named in log lines; undefined when meshwatch runs without one. */
  file: string | undefined;
  now?: () => number;
}

/**
 * Holds the running config and reloads it. Synchronous from read to apply, so two reloads (a
 * SIGHUP and a POST at once) never interleave, and a poll sees the old config or the new, whole.
 */
export class ConfigReloader {
  private running: Config;
  private readonly now: () => number;

  constructor(private readonly deps: ConfigReloaderDeps) {
    this.running = deps.config;
    this.now = deps.now ?? Date.now;
    deps.metrics.configLastReloadSuccessful.set(1);
    deps.metrics.configLastReloadSuccess.set(this.now() / 1000);
  }

  /** The config in effect. */
  get config(): Config {
    return this.running;
  }

  /** Re-reads the file and applies what it can; `trigger` (`SIGHUP`, `POST /-/reload`) goes in the log. */
  reload(trigger: string): ReloadOutcome {
    const { logger, metrics, file } = this.deps;
    let plan: ReloadPlan;
    try {
      plan = planReload(this.running, this.deps.load());
      this.deps.apply(plan.config);
    } catch (err) {
      metrics.configLastReloadSuccessful.set(0);
      const described = describeError(err);
      logger.error(
        { trigger, file, key: err instanceof ConfigError ? err.key : undefined, error: described },
        'reloading the configuration failed; the running configuration is kept',
      );
      return { ok: false, error: described.message };
    }
    this.running = plan.config;
    metrics.configLastReloadSuccessful.set(1);
    metrics.configLastReloadSuccess.set(this.now() / 1000);
    if (plan.needsRestart.length > 0) {
      logger.warn(
        { trigger, file, keys: plan.needsRestart },
        `changed keys that need a restart to apply, kept at their running values: ${plan.needsRestart.join(', ')}`,
      );
    }
    logger.info(
      { trigger, file, applied: plan.applied, needsRestart: plan.needsRestart },
      plan.applied.length > 0
        ? `configuration reloaded; applies from the next poll: ${plan.applied.join(', ')}`
        : 'configuration reloaded; nothing that applies live changed',
    );
    return { ok: true, applied: plan.applied, needsRestart: plan.needsRestart };
  }
}
