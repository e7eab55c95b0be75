/**
 * The signal names the alert rules and the dashboards read, as meshwatch exports them in the
 * `signal` label of `meshwatch_signal_*`: re-exported from the core that names them, so that a
 * rename there changes the rules and dashboards with it (and their drift tests say so).
 */
import { CONNECTION_RATE_SIGNAL, REQUEST_RATE_SIGNAL } from '../core/engine';

export { DENIED_SIGNAL } from '../core/detectors/unauthorized';
export { ERROR_RATIO_SIGNAL } from '../core/detectors/errors';
export { NEW_CALLER_SIGNAL } from '../core/detectors/new-caller';
export { PLAINTEXT_SIGNAL } from '../core/detectors/plaintext';
export { CONNECTION_RATE_SIGNAL, REQUEST_RATE_SIGNAL };

/** The traffic detector's signals: requests/s for a destination that serves HTTP, connections/s for one seen only at L4. */
export const TRAFFIC_SIGNALS = [REQUEST_RATE_SIGNAL, CONNECTION_RATE_SIGNAL] as const;
