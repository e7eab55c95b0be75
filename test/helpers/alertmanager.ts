/** A real Alertmanager and a webhook receiver on loopback for tests; shared with the demo in scripts/lib. */
import {
  loopbackAlertmanagerConfig,
  startAlertmanager,
  startWebhookReceiver,
  type RunningAlertmanager,
  type WebhookReceiver,
} from '../../scripts/lib/alertmanager';
import { removeDir } from '../../scripts/lib/prometheus';

export {
  ALERTMANAGER_CONFIG_PATH,
  alertmanagerBinary,
  amtoolBinary,
  loopbackAlertmanagerConfig,
  startAlertmanager,
  startWebhookReceiver,
  type AlertmanagerAlert,
  type RouteTimings,
  type RunningAlertmanager,
  type WebhookNotification,
  type WebhookReceiver,
} from '../../scripts/lib/alertmanager';

/** The shipped routing on a real Alertmanager, grouping within a second, delivering to a local webhook. */
export interface RoutedAlertmanager {
  am: RunningAlertmanager;
  webhook: WebhookReceiver;
  /** Stops both and removes the Alertmanager's data folder. */
  stop(): Promise<void>;
}

/** Starts a webhook receiver and a real Alertmanager routing to it (group_wait and group_interval 1s). */
export async function startRoutedAlertmanager(): Promise<RoutedAlertmanager> {
  const webhook = await startWebhookReceiver();
  const am = await startAlertmanager(
    loopbackAlertmanagerConfig(webhook.url, { group_wait: '1s', group_interval: '1s' }),
  );
  return {
    am,
    webhook,
    stop: async () => {
      await am.stop();
      await webhook.stop();
      removeDir(am.dir);
    },
  };
}
