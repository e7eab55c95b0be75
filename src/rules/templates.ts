/**
 * Go-template fragments for alert annotations. Prometheus renders them when the alert fires,
 * with `$labels` of the alert and `query` against its own data, so a description can say how
 * much, against what baseline and who, from the gauges meshwatch exports next to the score.
 */

/*
 * Every per-destination gauge is selected on cluster, namespace and workload. A mesh without
 * cluster labels gives `$labels.destination_cluster` = "" (a missing key of the label map), and
 * `destination_cluster=""` matches exactly the series without the label in PromQL, so one
 * selector serves both kinds of mesh.
 */
const DEST_MATCHERS = 'destination_cluster="%s",destination_namespace="%s",destination_workload="%s"';
const DEST_ARGS = '$labels.destination_cluster $labels.destination_namespace $labels.destination_workload';

/** How a number is written: rates with two decimals (humanize would write 0.5 as "500m"), ratios as percentages. */
export type ValueFormat = 'rate' | 'ratio';

const FORMAT: Record<ValueFormat, string> = {
  rate: 'printf "%.2f"',
  ratio: 'humanizePercentage',
};

/** The alert's destination, `namespace/workload`, and ` in cluster <cluster>` when it has one. */
export const DESTINATION =
  '{{ $labels.destination_namespace }}/{{ $labels.destination_workload }}' +
  '{{ with $labels.destination_cluster }} in cluster {{ . }}{{ end }}';

/** The alert's value (the score, for detector alerts), one decimal. */
export const SCORE = '{{ $value | printf "%.1f" }}';

/** A signal named in the rule itself (`"denied_requests_per_second"`) or held in a template variable (`$signal`). */
export type SignalRef = string | { variable: string };

/**
 * The current value of a `meshwatch_signal_*` gauge for the alert's destination, or `unknown`
 * when meshwatch no longer exports it (the destination went away between firing and rendering).
 */
export function signalGauge(
  gauge: 'observed' | 'expected' | 'lower' | 'upper',
  signal: SignalRef,
  format: ValueFormat,
): string {
  const [matcher, args] =
    typeof signal === 'string' ? [signal, DEST_ARGS] : ['%s', `${signal.variable} ${DEST_ARGS}`];
  const selector = `meshwatch_signal_${gauge}{signal="${matcher}",${DEST_MATCHERS}}`;
  return `{{ with printf \`${selector}\` ${args} | query }}{{ . | first | value | ${FORMAT[format]} }}{{ else }}unknown{{ end }}`;
}

/**
 * Sets the template variable `variable` to the first of `signals` that meshwatch exports for the
 * alert's destination (the first one when it exports none), for a detector whose signal depends
 * on the destination: traffic scores requests/s for one that serves HTTP and connections/s for
 * one seen only at L4, and the score the alert fires on does not carry the signal's name. In
 * order of preference rather than the first series found, because a destination whose traffic
 * moves from one to the other exports both for a while, and Prometheus returns them unordered.
 */
export function pickSignal(variable: string, signals: readonly [string, ...string[]]): string {
  const present = (signal: string) =>
    `printf \`meshwatch_signal_observed{signal="${signal}",${DEST_MATCHERS}}\` ${DEST_ARGS} | query`;
  return (
    `{{ ${variable} := "" }}` +
    signals
      .map((signal) => `{{ if not ${variable} }}{{ if ${present(signal)} }}{{ ${variable} = "${signal}" }}{{ end }}{{ end }}`)
      .join('') +
    `{{ if not ${variable} }}{{ ${variable} = "${signals[0]}" }}{{ end }}`
  );
}

/**
 * Which part of the detector's score fired, in words, from `meshwatch_anomaly_part`: outside the
 * seasonal band (level), an unusual shape of the series, or beyond every value it has had.
 */
export function firedPart(detector: string): string {
  const selector = `meshwatch_anomaly_part{detector="${detector}",${DEST_MATCHERS}}`;
  return (
    `{{ with printf \`${selector}\` ${DEST_ARGS} | query }}{{ $part := . | first | label "part" }}` +
    '{{ if eq $part "shape" }}an unusual shape of its traffic' +
    '{{ else if eq $part "new_range" }}beyond every value it has had' +
    '{{ else }}outside its usual band{{ end }}{{ else }}outside its usual band{{ end }}'
  );
}

/** The detector's threshold as meshwatch exports it (the daemon's config is the one place it is set). */
export function threshold(detector: string): string {
  return `{{ with query \`meshwatch_detector_threshold{detector="${detector}"}\` }}{{ . | first | value }}{{ else }}unknown{{ end }}`;
}

/**
 * The top three callers of the alert's destination in a per-caller gauge, highest rate first, as
 * `caller (detail, rate/s)` joined by commas; `callerName` and `detail` are templates about one
 * caller `$c` (its labels are `$c.Labels`), `detail` left out when empty.
 */
export function topCallers(gauge: string, callerName: string, detail = ''): string {
  // sort_desc: an instant topk() comes back in no particular order.
  const query = `sort_desc(topk(3, ${gauge}{${DEST_MATCHERS}}))`;
  return (
    `{{ range $i, $c := printf \`${query}\` ${DEST_ARGS} | query }}` +
    `{{ if $i }}, {{ end }}${callerName} (${detail ? `${detail}, ` : ''}{{ $c.Value | printf "%.2f" }}/s)` +
    '{{ else }}none named{{ end }}'
  );
}
