/**
 * Writes a scenario's history as OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.
 * promtool wants each family's samples together under one `# TYPE` and each series' samples in time
 * order, then `# EOF`; so the file is written family by family, step by step, streamed with
 * back-pressure so memory stays bounded whatever the range.
 */
import type { Writable } from 'node:stream';
import { METRICS, renderOpenMetricsStep } from './exposition';
import { compileMesh } from './mesh';
import type { Scenario } from './scenario';

/** Options of `writeBackfill`. */
export interface BackfillOptions {
  scenario: Scenario;
  epochMs: number;
  /** First step time, Unix ms (inclusive). */
  fromMs: number;
  /** Last step time, Unix ms (inclusive when it falls on a step). */
  toMs: number;
  stepMs: number;
  out: Writable;
  /** Called now and then with the share done (0..1), for a progress line. */
  onProgress?: (done: number) => void;
}

/** What a backfill wrote. */
export interface BackfillSummary {
  samples: number;
  steps: number;
}

async function write(out: Writable, text: string): Promise<void> {
  if (text === '' || out.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      out.off('drain', onDrain);
      reject(err);
    };
    const onDrain = () => {
      out.off('error', onError);
      resolve();
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}

/** Streams the samples the live server would have served at every step of [fromMs, toMs]. */
export async function writeBackfill(options: BackfillOptions): Promise<BackfillSummary> {
  const { fromMs, toMs, stepMs, out } = options;
  const mesh = compileMesh(options.scenario, options.epochMs);
  const steps = Math.floor((toMs - fromMs) / stepMs) + 1;
  let samples = 0;
  for (const [index, metric] of METRICS.entries()) {
    await write(out, `# HELP ${metric.family} ${metric.help}\n# TYPE ${metric.family} counter\n`);
    let batch = '';
    for (let step = 0; step < steps; step++) {
      const lines = renderOpenMetricsStep(mesh, metric.name, fromMs + step * stepMs);
      for (let i = lines.indexOf('\n'); i >= 0; i = lines.indexOf('\n', i + 1)) samples += 1;
      batch += lines;
      if (batch.length >= 1 << 16) {
        await write(out, batch);
        batch = '';
      }
      if (options.onProgress && step % 500 === 0) options.onProgress((index + step / steps) / METRICS.length);
    }
    await write(out, batch);
  }
  await write(out, '# EOF\n');
  options.onProgress?.(1);
  return { samples, steps };
}
