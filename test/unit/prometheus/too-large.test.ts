import { tooLargeFailure } from '../../../src/adapters/prometheus/failures';
import { PrometheusResponseError } from '../../../src/errors';

const tooLarge = (how: 'declared' | 'counted' | 'at_least', bytes: number): PrometheusResponseError =>
  tooLargeFailure({ query: 'up', maxResponseBytes: 1000, size: { bytes, how } });

describe('tooLargeFailure', () => {
  it('names the Content-Length, the cap and the key to raise', () => {
    const error = tooLarge('declared', 5000);
    expect(error).toBeInstanceOf(PrometheusResponseError);
    expect({ code: error.code, query: error.query, message: error.message }).toEqual({
      code: 'MW_ERR_PROMETHEUS_RESPONSE',
      query: 'up',
      message:
        'Prometheus response for query "up" is 5000 bytes (its Content-Length), over the limit of 1000 bytes: raise prometheus.max_response_bytes or narrow the query (aggregate with sum by)',
    });
  });

  it('names the size counted to the end of a body without a Content-Length', () => {
    expect(tooLarge('counted', 4321).message).toBe(
      'Prometheus response for query "up" is 4321 bytes, over the limit of 1000 bytes: raise prometheus.max_response_bytes or narrow the query (aggregate with sum by)',
    );
  });

  it('gives a lower bound when the count stopped before the end', () => {
    expect(tooLarge('at_least', 4000).message).toBe(
      'Prometheus response for query "up" is at least 4000 bytes, over the limit of 1000 bytes: raise prometheus.max_response_bytes or narrow the query (aggregate with sum by)',
    );
  });
});
