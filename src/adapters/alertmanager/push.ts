import { AlertmanagerPushError } from '../../errors';
import type { Finding } from '../../core/types';
import { DEFAULT_ALERT_RULE_OPTIONS } from '../../rules/alerts';
import {
  adoptAlerts,
  planPush,
  type ListedAlert,
  type PostableAlert,
  type PushPlanOptions,
  type PushState,
} from './plan';

/** Where and how often to push findings to Alertmanager. */
export interface AlertmanagerPushOptions {
  /** Base URL of Alertmanager, e.g. http://alertmanager:9093; alerts go to `<url>/api/v2/alerts`. */
  url: string;
  /** Timeout of each request. */
  timeoutMs: number;
  /** Re-send firing alerts this often; default 1m, as Prometheus does (`--rules.alert.resend-delay`). */
  resendEveryMs?: number;
  /** endsAt of firing alerts is now + this; default 4 x resendEveryMs, as Prometheus does. */
  alertTimeoutMs?: number;
  runbookBaseUrl?: string;
  /**
   * The Prometheus meshwatch reads: alerts link to their score there (generatorURL), and a
   * restarted meshwatch recognises its own alerts by it. Unset: no link, and nothing adopted.
   */
  prometheusUrl?: string;
  /**
   * How long after the first push an adopted alert whose finding is not open is kept before it is
   * resolved: the polls its detector needs to open a finding (open_after_polls). Default 0.
   */
  adoptionHoldMs?: number;
  /** HTTP client; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/**
 * Posts meshwatch's findings to Alertmanager itself (optional; the rules are the primary path).
 * Call `push` after every successful poll with the open findings: it posts what is new, re-sends
 * what is still firing before it would time out, and resolves what closed. The first push reads
 * the alerts an earlier meshwatch left firing, so a restart neither pages twice nor leaves an
 * alert hanging. A failed request throws AlertmanagerPushError and loses nothing: every
 * transition not delivered is posted again, with its own times, by the next call.
 */
export class AlertmanagerPush {
  private state: PushState = new Map();
  private adopted = false;
  private readonly base: string;
  private readonly fetch: typeof fetch;
  private readonly plan: PushPlanOptions;

  constructor(private readonly options: AlertmanagerPushOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.fetch = options.fetch ?? fetch;
    const resendEveryMs = options.resendEveryMs ?? 60_000;
    this.plan = {
      resendEveryMs,
      alertTimeoutMs: options.alertTimeoutMs ?? 4 * resendEveryMs,
      runbookBaseUrl: options.runbookBaseUrl ?? DEFAULT_ALERT_RULE_OPTIONS.runbookBaseUrl,
      ...(options.prometheusUrl === undefined ? {} : { prometheusUrl: options.prometheusUrl }),
    };
  }

  /** Pushes the changes since the last successful push; resolves with the alerts posted. `signal` aborts it (shutdown). */
  async push(findings: readonly Finding[], nowMs: number, signal?: AbortSignal): Promise<PostableAlert[]> {
    if (!this.adopted && this.plan.prometheusUrl !== undefined) {
      let listed: ListedAlert[];
      try {
        listed = await this.listAlerts(signal);
      } catch (err) {
        // Nothing is posted before the earlier process's alerts are known, but nothing is lost either.
        this.state = planPush(this.state, findings, nowMs, this.plan).undelivered;
        throw err;
      }
      const state = new Map(this.state);
      for (const [id, entry] of adoptAlerts(listed, this.plan, nowMs + (this.options.adoptionHoldMs ?? 0))) {
        if (!state.has(id)) state.set(id, entry);
      }
      this.adoptedCount = state.size - this.state.size;
      this.state = state;
      this.adopted = true;
    }
    const plan = planPush(this.state, findings, nowMs, this.plan);
    if (plan.alerts.length > 0) {
      try {
        await this.request('POST', plan.alerts, signal);
      } catch (err) {
        this.state = plan.undelivered;
        throw err;
      }
    }
    this.state = plan.state;
    return plan.alerts;
  }

  /** Firing alerts of an earlier meshwatch process found in Alertmanager (known after the first push). */
  adoptedCount = 0;

  private async listAlerts(signal: AbortSignal | undefined): Promise<ListedAlert[]> {
    const body = await this.request('GET', undefined, signal);
    if (!Array.isArray(body)) {
      throw new AlertmanagerPushError(
        `Alertmanager's ${this.base}/api/v2/alerts answered something other than a list of alerts`,
        { url: `${this.base}/api/v2/alerts` },
      );
    }
    return body as ListedAlert[];
  }

  private async request(
    method: 'GET' | 'POST',
    alerts: PostableAlert[] | undefined,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    // Active alerts only (silenced and inhibited ones too): the ones a restart must re-send or resolve.
    const url = method === 'GET' ? `${this.base}/api/v2/alerts?active=true` : `${this.base}/api/v2/alerts`;
    const what = method === 'GET' ? 'list the alerts of' : `post ${alerts?.length ?? 0} alerts to`;
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(alerts === undefined ? {} : { body: JSON.stringify(alerts) }),
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
      });
    } catch (err) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message;
      throw new AlertmanagerPushError(
        `could not ${what} ${url}: ${(err as Error).message}${reason === undefined ? '' : ` (${reason})`}`,
        { url: `${this.base}/api/v2/alerts` },
        { cause: err },
      );
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      throw new AlertmanagerPushError(
        `Alertmanager answered ${response.status} when meshwatch tried to ${what} ${url}: ${text.slice(0, 500)}`,
        { url: `${this.base}/api/v2/alerts`, status: response.status },
      );
    }
    if (method === 'POST') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new AlertmanagerPushError(
        `Alertmanager's answer to ${url} is not JSON: ${text.slice(0, 200)}`,
        { url: `${this.base}/api/v2/alerts`, status: response.status },
        { cause: err },
      );
    }
  }
}
