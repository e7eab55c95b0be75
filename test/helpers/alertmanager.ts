/** A real Alertmanager and a webhook receiver on loopback for tests; shared with the demo in scripts/lib. */
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
