/**
 * The demo's timeline, as text: which findings opened or closed between two looks at the
 * findings document, and what an Alertmanager notification says. Pure, so the demo's loop only
 * fetches and prints.
 */
import type { FindingJson } from '../../src/app/findings-document';
import type { WebhookNotification } from './alertmanager';

/** How each signal reads in a sentence, for values from requests (http) and from connections (tcp). */
const SIGNAL_UNITS: Record<string, { http: string; tcp: string; both: string }> = {
  plaintext_requests_per_second: {
    http: 'plaintext requests/s',
    tcp: 'plaintext connections/s',
    both: 'plaintext requests and connections/s',
  },
  new_caller_requests_per_second: {
    http: 'requests/s from new callers',
    tcp: 'connections/s from new callers',
    both: 'requests and connections/s from new callers',
  },
  denied_requests_per_second: {
    http: 'denied requests/s (401/403)',
    tcp: 'denied connections/s (L4 DENY)',
    both: 'denied requests (401/403) and connections (L4 DENY)/s',
  },
  requests_per_second: { http: 'requests/s', tcp: 'requests/s', both: 'requests/s' },
  connections_per_second: { http: 'connections/s', tcp: 'connections/s', both: 'connections/s' },
  server_error_ratio: {
    http: 'of requests ending in 5xx',
    tcp: 'of requests ending in 5xx',
    both: 'of requests ending in 5xx',
  },
};

function unitOf(f: FindingJson): string {
  const units = SIGNAL_UNITS[f.signal];
  if (!units) return f.signal;
  if (f.layers.length === 2) return units.both;
  return f.layers[0] === 'tcp' ? units.tcp : units.http;
}

/** Findings that opened and closed since `before`, keyed by finding id. */
export function findingChanges(
  before: ReadonlyMap<string, FindingJson>,
  now: readonly FindingJson[],
): { opened: FindingJson[]; closed: FindingJson[] } {
  const ids = new Set(now.map((f) => f.id));
  return {
    opened: now.filter((f) => !before.has(f.id)),
    closed: [...before.values()].filter((f) => !ids.has(f.id)),
  };
}

const value = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/** One finding explained: what was observed against what was expected, and who is behind it. */
export function explainFinding(f: FindingJson): string {
  const unit = unitOf(f);
  const callers = f.top_callers
    .map(
      (c) =>
        `${c.source_workload_namespace}/${c.source_workload} (${c.source_principal || 'no mTLS identity'}) ${value(c.rate)}/s${c.layer === 'tcp' ? ' over TCP' : ''}${c.new ? ', new' : ''}`,
    )
    .join('; ');
  return `${value(f.observed)} ${unit}, expected ${value(f.expected)} (band ${value(f.lower)}..${value(f.upper)}), score ${f.score.toFixed(1)} >= ${f.threshold}; callers: ${callers || 'none named'}`;
}

/** The timeline line of a finding that opened. */
export const openedLine = (f: FindingJson): string =>
  `FINDING opened ${f.detector} at ${f.destination_namespace}/${f.destination_workload}: ${explainFinding(f)}`;

/** The timeline line of a finding that closed. */
export const closedLine = (f: FindingJson): string =>
  `FINDING closed ${f.detector} at ${f.destination_namespace}/${f.destination_workload}`;

/**
 * The timeline lines of one webhook notification: a PAGE when it went to the pager receiver (the
 * shipped routing sends only severity=critical there), NOTIFY for the chat receiver.
 */
export function notificationLines(n: WebhookNotification): string[] {
  const kind = n.receiver === 'pager' ? 'PAGE' : 'NOTIFY';
  return n.alerts.map(
    (a) =>
      `${kind} ${a.status} to ${n.receiver}: ${a.labels.alertname ?? '?'} severity=${a.labels.severity ?? '?'} destination=${a.labels.destination_namespace ?? '?'}/${a.labels.destination_workload ?? '?'}${a.status === 'firing' && a.annotations.runbook_url ? ` runbook ${a.annotations.runbook_url}` : ''}`,
  );
}
