import type { Destination } from './types';

/** The one string key of a destination, `<namespace>/<workload>`. */
export const destinationKey = (d: Destination): string => `${d.namespace}/${d.workload}`;
