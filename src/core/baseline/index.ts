/** The baseline every detector scores against; see docs/baselines.md. */
export {
  createBaseline,
  setBaselineThreshold,
  strongestPart,
  type Baseline,
  type Estimate,
} from './baseline';
export {
  baselineDefaults,
  resolveBaselineOptions,
  type BaselineDirection,
  type BaselineOptions,
  type ResolvedBaselineOptions,
} from './options';
export { trafficBaselineOptions } from './traffic';
