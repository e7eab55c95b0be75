import type { Destination } from './types';

/**
 * The one string key of a destination: `<cluster>/<namespace>/<workload>`, or
 * `<namespace>/<workload>` where the telemetry has no cluster label. Kubernetes names hold no `/`,
 * so the two forms cannot collide.
 */
export const destinationKey = (d: Destination): string =>
  d.cluster === '' ? `${d.namespace}/${d.workload}` : `${d.cluster}/${d.namespace}/${d.workload}`;
