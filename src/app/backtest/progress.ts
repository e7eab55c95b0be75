/** How a backtest shows its progress on stderr: pure text, the CLI decides where it goes. */

/** A bar for a terminal, redrawn in place: `[#########...........]  45% replaying`. */
export function progressBar(fraction: number, phase: string, width = 30): string {
  const clamped = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(clamped * width);
  const percent = String(Math.floor(clamped * 100)).padStart(3);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent}% ${phase}`;
}

/**
 * The percentage a plain progress line reports, in steps of `every` (a redrawn bar would fill a log
 * file with carriage returns): print `backtest: N%` each time it rises.
 */
export function progressStep(fraction: number, every = 10): number {
  return Math.floor((Math.min(1, Math.max(0, fraction)) * 100) / every) * every;
}
