/** The options the `traffic` detector uses for request rates per destination; the NAB benchmark runs these too. */
import type { BaselineOptions } from './options';

/**
 * Request rate per destination, both directions, rates from `rate(...[2m])`. A shift in traffic (a deploy,
 * a scale-out, a client's new batch) is reported for five minutes and then re-learned: the finding has
 * opened by then, and a traffic baseline that alarms for hours on a new normal trains people to ignore it.
 */
export const trafficBaselineOptions: Readonly<BaselineOptions> = Object.freeze({
  direction: 'both',
  threshold: 5,
  countWindowSeconds: 120,
  acceptShiftAfterSeconds: 300,
  novelty: true,
});
