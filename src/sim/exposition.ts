/**
 * Renders the mesh's counters: Prometheus text format 0.0.4 for scrapes, OpenMetrics with timestamps
 * for backfills. Both read the same `seriesValue`, so a backfill and a live scrape agree exactly.
 */
import { seriesValue, type Mesh, type MetricName, type Series } from './mesh';

/** The metric families, in the order they are written. */
export const METRICS: { name: MetricName; family: string; help: string }[] = [
  { name: 'istio_requests_total', family: 'istio_requests', help: 'Total requests.' },
  {
    name: 'istio_tcp_connections_opened_total',
    family: 'istio_tcp_connections_opened',
    help: 'Total TCP connections opened.',
  },
  {
    name: 'istio_tcp_connections_closed_total',
    family: 'istio_tcp_connections_closed',
    help: 'Total TCP connections closed.',
  },
];

/** One exported sample. */
export interface Sample {
  series: Series;
  value: number;
}

/** The samples a scrape at `timeMs` returns: every series that has counted at least one request. */
export function samplesAt(mesh: Mesh, timeMs: number): Sample[] {
  const samples: Sample[] = [];
  for (const series of mesh.series) {
    const value = seriesValue(series, timeMs, mesh.epochMs);
    if (value > 0) samples.push({ series, value });
  }
  return samples;
}

const CHUNK_CHARS = 1 << 16;

/** Text-format (0.0.4) exposition at `timeMs`, in chunks of about 64 KiB, for streaming to a socket. */
export function* renderExposition(mesh: Mesh, timeMs: number): Generator<string> {
  const samples = samplesAt(mesh, timeMs);
  for (const metric of METRICS) {
    let chunk = `# HELP ${metric.name} ${metric.help}\n# TYPE ${metric.name} counter\n`;
    for (const { series, value } of samples) {
      if (series.metric !== metric.name) continue;
      chunk += `${metric.name}${series.labels} ${value}\n`;
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = '';
      }
    }
    yield chunk;
  }
}

/** OpenMetrics sample lines of one family at `timeMs`, each stamped with that time in Unix seconds. */
export function renderOpenMetricsStep(mesh: Mesh, metric: MetricName, timeMs: number): string {
  const stamp = (timeMs / 1000).toFixed(3).replace(/\.?0+$/, '');
  let text = '';
  for (const series of mesh.series) {
    if (series.metric !== metric) continue;
    const value = seriesValue(series, timeMs, mesh.epochMs);
    if (value > 0) text += `${metric}${series.labels} ${value} ${stamp}\n`;
  }
  return text;
}
