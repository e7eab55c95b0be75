import { MeshwatchMetrics } from '../adapters/metrics/metrics';
import type { MetricDefinition } from './readme';

/**
 * The metric definitions, read from a fresh registry of the daemon's own MeshwatchMetrics: the
 * single source, so the reference lists exactly what /metrics serves. No I/O.
 */
export function meshwatchMetricDefinitions(): MetricDefinition[] {
  return new MeshwatchMetrics('x').registry.getMetricsAsArray().map((m) => ({
    name: m.name,
    type: String(m.type),
    help: m.help,
    // prom-client keeps the label names on the metric object but leaves them out of its types.
    labelNames: [...((m as unknown as { labelNames?: readonly string[] }).labelNames ?? [])],
  }));
}
