/** A real Prometheus on loopback for tests; shared with the demo in scripts/lib. */
export {
  prometheusBinary,
  promtoolBinary,
  removeDir,
  startPrometheus,
  type PrometheusOptions,
  type RunningPrometheus,
} from '../../scripts/lib/prometheus';
