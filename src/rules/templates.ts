/**
 * Go-template fragments for alert annotations. Prometheus renders them when the alert fires,
 * with `$labels` of the alert and `query` against its own data, so a description can say how
 * much, against what baseline and who, from the gauges meshwatch exports next to the score.
 */

const DEST_MATCHERS = 'destination_namespace="%s",destination_workload="%s"';
const DEST_ARGS = '$labels.destination_namespace $labels.destination_workload';

/** How a number is written: rates with two decimals (humanize would write 0.5 as "500m"), ratios as percentages. */
export type ValueFormat = 'rate' | 'ratio';

const FORMAT: Record<ValueFormat, string> = {
  rate: 'printf "%.2f"',
  ratio: 'humanizePercentage',
};

/** The alert's destination, `namespace/workload`. */
export const DESTINATION = '{{ $labels.destination_namespace }}/{{ $labels.destination_workload }}';

/** The alert's value (the score, for detector alerts), one decimal. */
export const SCORE = '{{ $value | printf "%.1f" }}';

/**
 * The current value of a `meshwatch_signal_*` gauge for the alert's destination, or `unknown`
 * when meshwatch no longer exports it (the destination went away between firing and rendering).
 */
export function signalGauge(
  gauge: 'observed' | 'expected' | 'lower' | 'upper',
  signal: string,
  format: ValueFormat,
): string {
  const selector = `meshwatch_signal_${gauge}{signal="${signal}",${DEST_MATCHERS}}`;
  return `{{ with printf \`${selector}\` ${DEST_ARGS} | query }}{{ . | first | value | ${FORMAT[format]} }}{{ else }}unknown{{ end }}`;
}

/** The detector's threshold as meshwatch exports it (the daemon's config is the one place it is set). */
export function threshold(detector: string): string {
  return `{{ with query \`meshwatch_detector_threshold{detector="${detector}"}\` }}{{ . | first | value }}{{ else }}unknown{{ end }}`;
}

/**
 * The top three callers of the alert's destination in a per-caller gauge, highest rate first, as
 * `caller (rate/s)` joined by commas; `callerName` is a template naming one caller `$c`.
 */
export function topCallers(gauge: string, callerName: string): string {
  // sort_desc: an instant topk() comes back in no particular order.
  const query = `sort_desc(topk(3, ${gauge}{${DEST_MATCHERS}}))`;
  return (
    `{{ range $i, $c := printf \`${query}\` ${DEST_ARGS} | query }}` +
    `{{ if $i }}, {{ end }}${callerName} ({{ $c.Value | printf "%.2f" }}/s)` +
    '{{ else }}none named{{ end }}'
  );
}
