import { AlertmanagerPushError } from '../../errors';
import type { Finding } from '../../core/types';
import { DEFAULT_ALERT_RULE_OPTIONS } from '../../rules/alerts';
import { planPush, type PostableAlert, type PushState } from './plan';

/** Where and how often to push findings to Alertmanager. */
export interface AlertmanagerPushOptions {
  /** Base URL of Alertmanager, e.g. http://alertmanager:9093; alerts go to `<url>/api/v2/alerts`. */
  url: string;
  /** Timeout of each POST. */
  timeoutMs: number;
  /** Re-send firing alerts this often; default 1m, as Prometheus does (`--rules.alert.resend-delay`). */
  resendEveryMs?: number;
  /** endsAt of firing alerts is now + this; default 4 x resendEveryMs, as Prometheus does. */
  alertTimeoutMs?: number;
  runbookBaseUrl?: string;
  /** HTTP client; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/**
 * Posts meshwatch's findings to Alertmanager itself (optional; the rules are the primary path).
 * Call `push` after every poll with the open findings: it posts what is new, re-sends what is
 * still firing before it would time out, and resolves what closed. A failed post throws
 * AlertmanagerPushError and changes nothing, so the next call sends it all again.
 */
export class AlertmanagerPush {
  private state: PushState = new Map();
  private readonly endpoint: string;
  private readonly fetch: typeof fetch;
  private readonly plan: { resendEveryMs: number; alertTimeoutMs: number; runbookBaseUrl: string };

  constructor(private readonly options: AlertmanagerPushOptions) {
    this.endpoint = `${options.url.replace(/\/+$/, '')}/api/v2/alerts`;
    this.fetch = options.fetch ?? fetch;
    const resendEveryMs = options.resendEveryMs ?? 60_000;
    this.plan = {
      resendEveryMs,
      alertTimeoutMs: options.alertTimeoutMs ?? 4 * resendEveryMs,
      runbookBaseUrl: options.runbookBaseUrl ?? DEFAULT_ALERT_RULE_OPTIONS.runbookBaseUrl,
    };
  }

  /** Pushes the changes since the last successful push; resolves with the alerts posted. */
  async push(findings: readonly Finding[], nowMs: number): Promise<PostableAlert[]> {
    const { alerts, state } = planPush(this.state, findings, nowMs, this.plan);
    if (alerts.length > 0) await this.post(alerts);
    this.state = state;
    return alerts;
  }

  private async post(alerts: PostableAlert[]): Promise<void> {
    let response: Response;
    try {
      response = await this.fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw new AlertmanagerPushError(
        `could not post ${alerts.length} alerts to ${this.endpoint}: ${(err as Error).message}`,
        { url: this.endpoint },
        { cause: err },
      );
    }
    if (!response.ok) {
      const body = (await response.text()).slice(0, 500);
      throw new AlertmanagerPushError(
        `Alertmanager answered ${response.status} to ${alerts.length} alerts posted to ${this.endpoint}: ${body}`,
        { url: this.endpoint, status: response.status },
      );
    }
  }
}
