import { destinationKey } from '../../core/keys';
import type { AnomalyPart, Finding } from '../../core/types';
import { detectorAlert, runbookUrl } from '../../rules/alerts';

/** An alert in the shape Alertmanager's `POST /api/v2/alerts` takes. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** What was last posted for each finding id. */
export type PushState = ReadonlyMap<string, { alert: PostableAlert; sentMs: number }>;

/** Timing of the direct push, and where runbooks live. */
export interface PushPlanOptions {
  /** A firing alert is posted again this long after it was last posted. */
  resendEveryMs: number;
  /**
   * endsAt of a firing alert is now + this: if meshwatch stops re-sending (it died), Alertmanager
   * resolves the alert on its own after that long instead of keeping it forever.
   */
  alertTimeoutMs: number;
  runbookBaseUrl: string;
}

/**
 * What to post to Alertmanager after a poll, and the state to keep if the post succeeds: new
 * findings at once, open findings again every `resendEveryMs` (Alertmanager expects clients to
 * re-send active alerts before their endsAt passes), and each finding that closed once more with
 * endsAt now, which resolves it. Alerts carry the labels and names of the rule-based alerts, so
 * the same routing, grouping and inhibition apply.
 */
export function planPush(
  state: PushState,
  findings: readonly Finding[],
  nowMs: number,
  options: PushPlanOptions,
): { alerts: PostableAlert[]; state: PushState } {
  const next = new Map<string, { alert: PostableAlert; sentMs: number }>();
  const alerts: PostableAlert[] = [];
  for (const finding of findings) {
    const previous = state.get(finding.id);
    if (previous && nowMs - previous.sentMs < options.resendEveryMs) {
      next.set(finding.id, previous);
      continue;
    }
    const alert = firingAlert(finding, nowMs, options);
    alerts.push(alert);
    next.set(finding.id, { alert, sentMs: nowMs });
  }
  for (const [id, { alert }] of state) {
    if (!next.has(id)) alerts.push({ ...alert, endsAt: new Date(nowMs).toISOString() });
  }
  return { alerts, state: next };
}

/** How each part of a baseline-backed score reads in a description. */
const PART_WORDS: Record<AnomalyPart, string> = {
  level: 'outside its seasonal band',
  shape: 'an unusual shape',
  new_range: 'beyond its range',
};

function firingAlert(f: Finding, nowMs: number, options: PushPlanOptions): PostableAlert {
  const { alert, severity, summary } = detectorAlert(f.detector);
  const callers = f.topCallers
    .slice(0, 3)
    .map((c) => {
      const who =
        c.caller.principal !== 'unknown' ? c.caller.principal : `${c.caller.namespace}/${c.caller.workload}`;
      return `${who} (${c.layer === 'tcp' ? 'tcp' : 'http'} ${c.rate.toFixed(2)}/s)`;
    })
    .join(', ');
  return {
    labels: {
      alertname: alert,
      severity,
      detector: f.detector,
      // As in the rule-based alerts: the label is there only where the telemetry has a cluster.
      ...(f.destination.cluster === '' ? {} : { destination_cluster: f.destination.cluster }),
      destination_namespace: f.destination.namespace,
      destination_workload: f.destination.workload,
    },
    annotations: {
      summary,
      description:
        `${destinationKey(f.destination)}: ${f.signal} ${f.observed.toFixed(2)} (${f.layers.join('+') || 'no traffic'}${f.part === undefined ? '' : `; ${PART_WORDS[f.part]}`}) against a ` +
        `baseline of ${f.expected.toFixed(2)} (band ${f.lower.toFixed(2)} to ${f.upper.toFixed(2)}); ` +
        `score ${f.score.toFixed(1)}, threshold ${f.threshold}. Top callers: ${callers || 'none named'}.`,
      runbook_url: runbookUrl(options.runbookBaseUrl, alert),
    },
    startsAt: new Date(f.firstSeenMs).toISOString(),
    endsAt: new Date(nowMs + options.alertTimeoutMs).toISOString(),
  };
}
