import { destinationKey } from '../../core/keys';
import type { AnomalyPart, Destination, DetectorName, Finding } from '../../core/types';
import { escapeLabelValue } from '../../signals/promql';
import { detectorAlert, runbookUrl } from '../../rules/alerts';

/** An alert in the shape Alertmanager's `POST /api/v2/alerts` takes. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  /** The finding's score in the Prometheus meshwatch reads: a link for humans, and the mark of meshwatch's own alerts. */
  generatorURL?: string;
}

/** What meshwatch last told, or still has to tell, Alertmanager about one finding. */
export interface PushEntry {
  alert: PostableAlert;
  /** When Alertmanager took it; undefined while it still has to be delivered. */
  sentMs: number | undefined;
  /** The finding closed: `alert` is its resolution (endsAt the close time). */
  resolved: boolean;
  /** Adopted after a restart: not resolved before this time, so the detector can open the finding again. */
  holdUntilMs?: number;
}

/** The push entries by finding id. */
export type PushState = ReadonlyMap<string, PushEntry>;

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
  /** Base URL of the Prometheus meshwatch reads, for generatorURL; none: alerts carry no generatorURL. */
  prometheusUrl?: string;
}

/** A plan: what to post, the state once Alertmanager took it, and the state if the post failed. */
export interface PushPlan {
  alerts: PostableAlert[];
  state: PushState;
  /** As `state`, with everything posted marked undelivered: a failed post loses no transition. */
  undelivered: PushState;
}

/**
 * What to post to Alertmanager after a poll: new findings at once, open findings again every
 * `resendEveryMs` (Alertmanager expects clients to re-send active alerts before their endsAt
 * passes), and each finding that closed once more with endsAt its close time, which resolves it.
 * What Alertmanager has not taken yet is posted again each time, a resolution with its own close
 * time: a finding that opened and closed while Alertmanager was down still arrives, resolved, as
 * Prometheus keeps sending resolved alerts. Alerts carry the labels and names of the rule-based
 * alerts, so the same routing, grouping and inhibition apply.
 */
export function planPush(
  state: PushState,
  findings: readonly Finding[],
  nowMs: number,
  options: PushPlanOptions,
): PushPlan {
  const next = new Map<string, PushEntry>();
  const posted = new Set<string>();
  const alerts: PostableAlert[] = [];
  const post = (id: string, entry: PushEntry): void => {
    alerts.push(entry.alert);
    posted.add(id);
    next.set(id, entry);
  };
  for (const finding of findings) {
    const previous = state.get(finding.id);
    const firing = previous?.resolved === false ? previous : undefined;
    if (firing?.sentMs !== undefined && nowMs - firing.sentMs < options.resendEveryMs) {
      next.set(finding.id, firing);
      continue;
    }
    const alert = firingAlert(finding, nowMs, options);
    // An alert adopted after a restart keeps the start Alertmanager knows.
    if (firing && Date.parse(firing.alert.startsAt) < finding.firstSeenMs)
      alert.startsAt = firing.alert.startsAt;
    post(finding.id, { alert, sentMs: nowMs, resolved: false });
  }
  for (const [id, entry] of state) {
    if (next.has(id)) continue;
    if (!entry.resolved && entry.holdUntilMs !== undefined && nowMs < entry.holdUntilMs) {
      next.set(id, entry);
    } else if (!entry.resolved) {
      post(id, {
        alert: { ...entry.alert, endsAt: new Date(nowMs).toISOString() },
        sentMs: nowMs,
        resolved: true,
      });
    } else if (entry.sentMs === undefined) {
      post(id, { ...entry, sentMs: nowMs });
    }
    // A resolution Alertmanager took is forgotten.
  }
  const undelivered = new Map(next);
  for (const id of posted) {
    const entry = next.get(id) as PushEntry;
    undelivered.set(id, {
      ...entry,
      sentMs: state.get(id)?.resolved === entry.resolved ? state.get(id)?.sentMs : undefined,
    });
  }
  return { alerts, state: next, undelivered };
}

/** An alert as Alertmanager's `GET /api/v2/alerts` lists it (the fields meshwatch reads). */
export interface ListedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/**
 * The firing alerts a previous meshwatch process posted (same label set and generatorURL as this
 * one would post), as push state to be re-sent or resolved: after a restart, an alert whose
 * finding is still open stays the same alert, and one whose finding closed meanwhile is resolved
 * instead of lingering until it times out. Rule-based alerts carry job and instance, so they never
 * match. Until `holdUntilMs` an adopted alert is neither re-sent nor resolved: a detector that opens
 * a finding only after several polls gets them, and the page does not flap.
 */
export function adoptAlerts(
  listed: readonly ListedAlert[],
  options: PushPlanOptions,
  holdUntilMs: number,
): PushState {
  const adopted = new Map<string, PushEntry>();
  if (options.prometheusUrl === undefined) return adopted;
  for (const a of listed) {
    const detector = DETECTOR_OF_ALERT.get(a.labels.alertname ?? '');
    if (detector === undefined || a.labels.detector !== detector) continue;
    const destination = {
      cluster: a.labels.destination_cluster ?? '',
      namespace: a.labels.destination_namespace ?? '',
      workload: a.labels.destination_workload ?? '',
    };
    const labels = alertLabels(detector, destination);
    const same =
      Object.keys(a.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => a.labels[k] === v);
    if (!same || a.generatorURL !== generatorUrl(options.prometheusUrl, labels)) continue;
    adopted.set(`${detector}/${destinationKey(destination)}`, {
      alert: {
        labels,
        annotations: a.annotations ?? {},
        startsAt: a.startsAt,
        endsAt: a.endsAt,
        generatorURL: a.generatorURL,
      },
      sentMs: undefined,
      resolved: false,
      holdUntilMs,
    });
  }
  return adopted;
}

const DETECTOR_OF_ALERT = new Map<string, DetectorName>(
  (['unauthorized', 'new_caller', 'plaintext', 'traffic', 'errors'] as const).map((d) => [
    detectorAlert(d).alert,
    d,
  ]),
);

function alertLabels(detector: DetectorName, destination: Destination): Record<string, string> {
  const { alert, severity } = detectorAlert(detector);
  return {
    alertname: alert,
    severity,
    detector,
    // As in the rule-based alerts: the label is there only where the telemetry has a cluster.
    ...(destination.cluster === '' ? {} : { destination_cluster: destination.cluster }),
    destination_namespace: destination.namespace,
    destination_workload: destination.workload,
  };
}

/** A graph of the finding's score in Prometheus's UI, as a rule-based alert links to its expression. */
function generatorUrl(prometheusUrl: string, labels: Record<string, string>): string {
  const url = new URL(prometheusUrl);
  // Credentials in the URL never leave meshwatch.
  url.username = '';
  url.password = '';
  const matchers = ['detector', 'destination_cluster', 'destination_namespace', 'destination_workload']
    .filter((k) => labels[k] !== undefined)
    .map((k) => `${k}="${escapeLabelValue(labels[k] as string)}"`)
    .join(',');
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  return `${base}/graph?g0.expr=${encodeURIComponent(`meshwatch_anomaly_score{${matchers}}`)}&g0.tab=0`;
}

/** How each part of a baseline-backed score reads in a description. */
const PART_WORDS: Record<AnomalyPart, string> = {
  level: 'outside its seasonal band',
  shape: 'an unusual shape',
  new_range: 'beyond its range',
};

function firingAlert(f: Finding, nowMs: number, options: PushPlanOptions): PostableAlert {
  const { alert, summary } = detectorAlert(f.detector);
  const labels = alertLabels(f.detector, f.destination);
  const callers = f.topCallers
    .slice(0, 3)
    .map((c) => {
      const who =
        c.caller.principal !== 'unknown' ? c.caller.principal : `${c.caller.namespace}/${c.caller.workload}`;
      return `${who} (${c.layer === 'tcp' ? 'tcp' : 'http'} ${c.rate.toFixed(2)}/s)`;
    })
    .join(', ');
  return {
    labels,
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
    ...(options.prometheusUrl === undefined
      ? {}
      : { generatorURL: generatorUrl(options.prometheusUrl, labels) }),
  };
}
