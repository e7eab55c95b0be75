/** One sample of an instant vector, as decoded from the Prometheus HTTP API. */
export interface InstantSample {
  labels: Record<string, string>;
  value: number;
  timeMs: number;
}

/** One series of a range query's matrix. */
export interface RangeSeries {
  labels: Record<string, string>;
  samples: Array<[timeMs: number, value: number]>;
}
