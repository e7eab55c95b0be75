/** Loopback ports and polling for tests; shared with the demo in scripts/lib. */
export { freePort, waitFor } from '../../scripts/lib/net';
