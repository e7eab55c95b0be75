/**
 * Measures the memory one baseline costs: allocates N baselines, feeds each a day of 5-minute values (so
 * every lazily allocated field exists), and compares the heap after a full gc with the heap before.
 * Run after a build: node --expose-gc dist/bench/baseline-memory.js [N]
 */
import { createBaseline, trafficBaselineOptions, type Baseline } from '../src/core/baseline';
import { heapAfterGc } from './heap';

function main(): void {
  const count = Number(process.argv[2] ?? 20000);
  const before = heapAfterGc();
  const baselines: Baseline[] = [];
  for (let i = 0; i < count; i++) {
    const baseline = createBaseline(trafficBaselineOptions);
    for (let t = 0; t < 288; t++) baseline.observe(t * 300_000, 100 + (i % 7) + (t % 5));
    baselines.push(baseline);
  }
  const after = heapAfterGc();
  const perSeries = (after - before) / count;
  const stateBytes = baselines[0]?.stateBytes ?? 0;
  process.stdout.write(
    `${JSON.stringify({ series: count, bytesPerSeries: Math.round(perSeries), stateBytesPerSeries: stateBytes })}\n`,
  );
}

main();
