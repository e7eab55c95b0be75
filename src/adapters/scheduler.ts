import cron, { type ScheduledTask } from 'node-cron';

/** Runs one poll per interval, never two at once. */
export interface Scheduler {
  /** Starts ticking; the first poll runs at once, later ones on interval boundaries. */
  start(): void;
  /** Stops starting polls; a poll in flight keeps running (see `inFlight`). */
  stop(): void;
  /** The poll in flight, if any. */
  inFlight(): Promise<void> | undefined;
}

/** What the scheduler calls and reports. */
export interface SchedulerOptions {
  intervalMs: number;
  /** One poll; `atMs` is its evaluation time: the interval boundary it belongs to. */
  poll(atMs: number): Promise<void>;
  /** A boundary passed while the previous poll was still running. */
  onSkip(slotMs: number): void;
  now?: () => number;
}

/**
 * A node-cron task that ticks every second and starts a poll when the clock crosses an
 * interval boundary (aligned to multiples of the interval since the Unix epoch, like
 * Prometheus's rule evaluation, so restarts and replicas query the same instants). Cron
 * expressions cannot say "every 45 s"; a one-second tick with boundary arithmetic can say any
 * whole number of seconds.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const now = options.now ?? Date.now;
  const gate = createPollGate(options);
  let task: ScheduledTask | undefined;
  return {
    start() {
      if (task) return;
      gate.tick(now(), true);
      task = cron.schedule('* * * * * *', () => gate.tick(now(), false), { name: 'meshwatch-poll' });
    },
    stop() {
      void task?.stop();
      void task?.destroy();
      task = undefined;
    },
    inFlight: () => gate.inFlight(),
  };
}

/** The clock-free heart of the scheduler: decides on each tick whether a poll starts. */
export function createPollGate(options: Pick<SchedulerOptions, 'intervalMs' | 'poll' | 'onSkip'>): {
  tick(nowMs: number, force: boolean): void;
  inFlight(): Promise<void> | undefined;
} {
  let lastSlot = -Infinity;
  let running: Promise<void> | undefined;
  return {
    tick(nowMs, force) {
      const slot = Math.floor(nowMs / options.intervalMs) * options.intervalMs;
      if (slot <= lastSlot && !force) return;
      lastSlot = slot;
      if (running) {
        options.onSkip(slot);
        return;
      }
      // The poll owns its error handling; the catch only keeps a bug from becoming an unhandled rejection.
      // A forced tick (the first poll at start) evaluates now rather than at the boundary passed.
      running = options
        .poll(force ? nowMs : slot)
        .catch(() => undefined)
        .finally(() => {
          running = undefined;
        });
    },
    inFlight: () => running,
  };
}
