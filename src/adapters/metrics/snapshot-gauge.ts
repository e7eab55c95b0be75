import type { Registry } from 'prom-client';

/** One series of a snapshot gauge. */
export interface SnapshotValue {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/**
 * A gauge whose series are replaced as a whole, once per poll: the per-destination findings
 * (scores, bands, mTLS shares), tens of thousands of series on a large mesh. A prom-client
 * `Gauge` hashes every label set it is given and keeps its own copy; this keeps the poll's list
 * as it is and hands it to the registry at scrape time, which formats it as it formats any
 * gauge. The publisher gives one value per label set, as every detector reports each destination
 * once.
 */
export class SnapshotGauge {
  readonly type = 'gauge';
  readonly aggregator = 'sum';
  private values: readonly SnapshotValue[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    /** The label names every series has (for the metrics reference). */
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** Replaces every series with these. */
  replace(values: readonly SnapshotValue[]): void {
    this.values = values;
  }

  /** What the registry renders (prom-client's metric interface). */
  get(): { name: string; help: string; type: string; aggregator: string; values: readonly SnapshotValue[] } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.values,
    };
  }

  /** Drops every series (prom-client's metric interface). */
  reset(): void {
    this.values = [];
  }
}
