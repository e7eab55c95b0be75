import { readdirSync, readFileSync } from 'node:fs';
import { expectCommittedAsGenerated } from '../../helpers/generated';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  alertNames,
  DEFAULT_ALERT_RULE_OPTIONS,
  detectorAlertRules,
  healthAlertRules,
  meshwatchRuleGroups,
  scoreOverThreshold,
} from '../../../src/rules/alerts';
import { GENERATED_HEADER, renderPrometheusRule, renderRuleFile } from '../../../src/rules/render';
import { generatedRuleFiles } from '../../../src/rules/targets';
import { DESTINATION, pickSignal, signalGauge, topCallers } from '../../../src/rules/templates';

const ROOT = join(__dirname, '..', '..', '..');
const options = { runbookBaseUrl: 'https://example.com/runbooks/', job: 'mw', grafanaUrl: 'https://grafana.example.com/' };

describe('the generated rule files', () => {
  it.each(generatedRuleFiles().map((f) => [f.path, f.content]))(
    'commits %s exactly as src/rules renders it',
    (path, content) => expectCommittedAsGenerated(path, content, 'src/rules', 'npm run generate:rules'),
  );

  it('starts every file with the generated-by line', () => {
    expect(generatedRuleFiles().map((f) => f.content.split('\n')[0])).toEqual([GENERATED_HEADER, GENERATED_HEADER]);
  });

  it('has promtool tests under rules/tests for every alert', () => {
    const dir = join(ROOT, 'rules', 'tests');
    const tested = new Set(
      readdirSync(dir)
        .filter((f) => f.endsWith('.test.yml'))
        .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1])),
    );
    expect(alertNames().filter((a) => !tested.has(a))).toEqual([]);
  });

  it('has a runbook in docs/runbooks for every alert', () => {
    const runbooks = readdirSync(join(ROOT, 'docs', 'runbooks'));
    expect(alertNames().filter((a) => !runbooks.includes(`${a}.md`))).toEqual([]);
  });
});

describe('the detector alerts', () => {
  it('compare the score with the threshold meshwatch exports, matching on everything but the destination and its cluster', () => {
    expect(scoreOverThreshold('unauthorized')).toBe(
      'meshwatch_anomaly_score{detector="unauthorized"}\n' +
        '  >= ignoring(destination_cluster, destination_namespace, destination_workload) group_left()\n' +
        'meshwatch_detector_threshold{detector="unauthorized"}',
    );
  });

  it('page only on an unauthorized-access spike, each with its for: and a runbook under the base URL', () => {
    expect(
      detectorAlertRules(options).map((r) => ({
        alert: r.alert,
        expr: r.expr,
        for: r.for,
        labels: r.labels,
        runbook: r.annotations.runbook_url,
      })),
    ).toEqual([
      ['MeshUnauthorizedAccessSpike', 'unauthorized', '1m', 'critical'],
      ['MeshNewCaller', 'new_caller', '1m', 'warning'],
      ['MeshPlaintextTraffic', 'plaintext', '5m', 'warning'],
      ['MeshTrafficAnomaly', 'traffic', '10m', 'warning'],
      ['MeshErrorRateAnomaly', 'errors', '5m', 'warning'],
    ].map(([alert, detector, forDuration, severity]) => ({
      alert,
      expr: scoreOverThreshold(detector as 'unauthorized'),
      for: forDuration,
      labels: { severity },
      runbook: `https://example.com/runbooks/${alert}.md`,
    })));
  });

  it('describe the page with the destination, the observed and expected rates, the threshold and the callers with their layer', () => {
    const description = detectorAlertRules(options)[0]?.annotations.description ?? '';
    expect(description).toContain(`${DESTINATION} is denying `);
    expect(description).toContain('meshwatch_signal_observed{signal="denied_requests_per_second",');
    expect(description).toContain('meshwatch_signal_expected{signal="denied_requests_per_second",');
    expect(description).toContain('meshwatch_detector_threshold{detector="unauthorized"}');
    expect(description).toContain(
      'sort_desc(topk(3, meshwatch_unauthorized_requests_per_second{destination_cluster="%s",destination_namespace="%s",destination_workload="%s"}))',
    );
    expect(description).toContain('{{ if eq $c.Labels.layer "tcp" }}tcp: L4 deny{{ else }}http: 401/403{{ end }}');
  });

  it('say requests/s or connections/s for the traffic alert, by the signal meshwatch exports for the destination', () => {
    const description = detectorAlertRules(options)[3]?.annotations.description ?? '';
    expect(description.startsWith(pickSignal('$signal', ['requests_per_second', 'connections_per_second']))).toBe(
      true,
    );
    expect(description).toContain(
      `${DESTINATION} receives ${signalGauge('observed', { variable: '$signal' }, 'rate')} ` +
        '{{ if eq $signal "connections_per_second" }}connections{{ else }}requests{{ end }}/s',
    );
  });
});

describe('the annotation templates', () => {
  it('name the destination with its cluster only when it has one', () => {
    expect(DESTINATION).toBe(
      '{{ $labels.destination_namespace }}/{{ $labels.destination_workload }}' +
        '{{ with $labels.destination_cluster }} in cluster {{ . }}{{ end }}',
    );
  });

  it('select a gauge on the destination with its cluster, an empty one matching series without the label', () => {
    expect(signalGauge('observed', 'denied_requests_per_second', 'rate')).toBe(
      '{{ with printf `meshwatch_signal_observed{signal="denied_requests_per_second",destination_cluster="%s",destination_namespace="%s",destination_workload="%s"}` ' +
        '$labels.destination_cluster $labels.destination_namespace $labels.destination_workload | query }}' +
        '{{ . | first | value | printf "%.2f" }}{{ else }}unknown{{ end }}',
    );
    expect(signalGauge('upper', { variable: '$signal' }, 'ratio')).toBe(
      '{{ with printf `meshwatch_signal_upper{signal="%s",destination_cluster="%s",destination_namespace="%s",destination_workload="%s"}` ' +
        '$signal $labels.destination_cluster $labels.destination_namespace $labels.destination_workload | query }}' +
        '{{ . | first | value | humanizePercentage }}{{ else }}unknown{{ end }}',
    );
  });

  it('pick the first signal the destination has, in order of preference, the first one when it has none', () => {
    const has = (signal: string) =>
      `printf \`meshwatch_signal_observed{signal="${signal}",destination_cluster="%s",destination_namespace="%s",destination_workload="%s"}\` ` +
      '$labels.destination_cluster $labels.destination_namespace $labels.destination_workload | query';
    expect(pickSignal('$s', ['a', 'b'])).toBe(
      '{{ $s := "" }}' +
        `{{ if not $s }}{{ if ${has('a')} }}{{ $s = "a" }}{{ end }}{{ end }}` +
        `{{ if not $s }}{{ if ${has('b')} }}{{ $s = "b" }}{{ end }}{{ end }}` +
        '{{ if not $s }}{{ $s = "a" }}{{ end }}',
    );
  });

  it('list the top three callers with a detail before the rate, and without one', () => {
    const range =
      '{{ range $i, $c := printf `sort_desc(topk(3, g{destination_cluster="%s",destination_namespace="%s",destination_workload="%s"}))` ' +
      '$labels.destination_cluster $labels.destination_namespace $labels.destination_workload | query }}{{ if $i }}, {{ end }}';
    expect(topCallers('g', '{{ $c.Labels.who }}', '{{ $c.Labels.layer }}')).toBe(
      `${range}{{ $c.Labels.who }} ({{ $c.Labels.layer }}, {{ $c.Value | printf "%.2f" }}/s){{ else }}none named{{ end }}`,
    );
    expect(topCallers('g', '{{ $c.Labels.who }}')).toBe(
      `${range}{{ $c.Labels.who }} ({{ $c.Value | printf "%.2f" }}/s){{ else }}none named{{ end }}`,
    );
  });
});

describe("the alerts on meshwatch's own health", () => {
  it('are warnings on the whole expressions below', () => {
    expect(healthAlertRules(options).map((r) => [r.alert, r.expr, r.for, r.labels])).toEqual([
      ['MeshwatchDown', 'absent(up{job="mw"} == 1)', '5m', { severity: 'warning' }],
      [
        'MeshwatchPrometheusUnreachable',
        'meshwatch_prometheus_up == 0\n  and on(job, instance)\nmeshwatch_warmup_complete == 1',
        '5m',
        { severity: 'warning' },
      ],
      [
        'MeshwatchStale',
        'time() - (\n' +
          '    meshwatch_last_poll_success_timestamp_seconds > 0\n' +
          '  or\n' +
          '    process_start_time_seconds and on(job, instance) meshwatch_last_poll_success_timestamp_seconds == 0\n' +
          ') > 600',
        '5m',
        { severity: 'warning' },
      ],
      ['MeshwatchTelemetryLabelsMissing', 'meshwatch_required_labels_present == 0', '10m', { severity: 'warning' }],
      [
        'MeshwatchCapacityExceeded',
        'increase(meshwatch_series_dropped_total{reason="capacity"}[10m]) > 0\n' +
          '  and on(job, instance)\n' +
          'min_over_time(meshwatch_warmup_complete[10m]) == 1',
        '0s',
        { severity: 'warning' },
      ],
      [
        'MeshwatchConfigReloadFailed',
        'meshwatch_config_last_reload_successful == 0',
        '10m',
        { severity: 'warning' },
      ],
    ]);
  });
});

describe('the renderers', () => {
  it('write a rule file whose groups are the built groups', () => {
    const groups = meshwatchRuleGroups(options);
    expect(parse(renderRuleFile(groups))).toEqual({ groups });
  });

  it('wrap the same groups in a PrometheusRule with the given metadata', () => {
    const groups = meshwatchRuleGroups(options);
    const metadata = { name: 'mesh', namespace: 'observability', labels: { release: 'my-prometheus' } };
    expect(parse(renderPrometheusRule(groups, metadata))).toEqual({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata,
      spec: { groups },
    });
  });

  it('default to the job meshwatch, the repository runbooks and kube-prometheus-stack\'s Grafana', () => {
    expect(DEFAULT_ALERT_RULE_OPTIONS).toEqual({
      runbookBaseUrl: 'https://github.com/meshwatch/meshwatch/blob/main/docs/runbooks',
      job: 'meshwatch',
      grafanaUrl: 'http://kube-prometheus-stack-grafana.monitoring.svc',
    });
  });

  it('link each destination alert to its workload dashboard, and the health alerts to the health dashboard', () => {
    expect(detectorAlertRules(options).map((r) => r.annotations.dashboard_url)).toEqual(
      Array(5).fill(
        'https://grafana.example.com/d/meshwatch-workload/meshwatch-workload' +
          '?var-cluster={{ $labels.destination_cluster }}&var-namespace={{ $labels.destination_namespace }}&var-workload={{ $labels.destination_workload }}',
      ),
    );
    expect(new Set(healthAlertRules(options).map((r) => r.annotations.dashboard_url))).toEqual(
      new Set(['https://grafana.example.com/d/meshwatch-health/meshwatch-health']),
    );
  });
});
