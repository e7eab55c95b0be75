import {
  decodeErrorBody,
  decodeInstantResponse,
  decodeRangeResponse,
  parseSampleValue,
} from '../../../src/adapters/prometheus/decode';
import { PrometheusResponseError } from '../../../src/errors';

const success = (data: unknown, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ status: 'success', data, ...extra });
const vector = (result: unknown[]): string => success({ resultType: 'vector', result });
const matrix = (result: unknown[]): string => success({ resultType: 'matrix', result });

/** The error a decode throws, for whole-object assertions. */
function thrown(fn: () => unknown): { name: string; code: string; message: string; query: string } {
  try {
    fn();
  } catch (err) {
    const e = err as PrometheusResponseError;
    expect(e).toBeInstanceOf(PrometheusResponseError);
    return { name: e.name, code: e.code, message: e.message, query: e.query };
  }
  throw new Error('expected an error');
}

const responseError = (query: string, message: string) => ({
  name: 'PrometheusResponseError',
  code: 'MW_ERR_PROMETHEUS_RESPONSE',
  message,
  query,
});

describe('parseSampleValue', () => {
  it('parses numbers and the special values Go writes', () => {
    expect(['1', '-2.5', '1e+06', '0', 'NaN', '+Inf', '-Inf', 'Inf'].map(parseSampleValue)).toEqual([
      1,
      -2.5,
      1e6,
      0,
      NaN,
      Infinity,
      -Infinity,
      Infinity,
    ]);
  });

  it('refuses text that is not a number, the empty string and non-strings', () => {
    expect(['abc', '', '1x', 1, null].map(parseSampleValue)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('decodeInstantResponse', () => {
  it('decodes a vector into samples with labels, values and millisecond times', () => {
    const body = vector([
      { metric: { __name__: 'up', job: 'a' }, value: [1700000000.123, '1'] },
      { metric: { job: 'b' }, value: [1700000000.123, 'NaN'] },
      { metric: {}, value: [1700000000, '+Inf'] },
    ]);
    expect(decodeInstantResponse(body, 'up')).toEqual({
      data: [
        { labels: { __name__: 'up', job: 'a' }, value: 1, timeMs: 1700000000123 },
        { labels: { job: 'b' }, value: NaN, timeMs: 1700000000123 },
        { labels: {}, value: Infinity, timeMs: 1700000000000 },
      ],
      warnings: [],
    });
  });

  it('decodes a scalar as one sample with no labels', () => {
    const body = success({ resultType: 'scalar', result: [1700000000.5, '42'] });
    expect(decodeInstantResponse(body, 'scalar(up)')).toEqual({
      data: [{ labels: {}, value: 42, timeMs: 1700000000500 }],
      warnings: [],
    });
  });

  it('surfaces warnings and infos of a partial response', () => {
    const body = success(
      { resultType: 'vector', result: [] },
      { warnings: ['store gateway unreachable'], infos: ['PromQL info: metric might not be a counter'] },
    );
    expect(decodeInstantResponse(body, 'up')).toEqual({
      data: [],
      warnings: ['store gateway unreachable', 'PromQL info: metric might not be a counter'],
    });
  });

  it('treats a sample without metric as having no labels', () => {
    expect(decodeInstantResponse(vector([{ value: [1, '2'] }]), 'q').data).toEqual([
      { labels: {}, value: 2, timeMs: 1000 },
    ]);
  });

  it('refuses a string result', () => {
    const body = success({ resultType: 'string', result: [1, 'hello'] });
    expect(thrown(() => decodeInstantResponse(body, '"hello"'))).toEqual(
      responseError(
        '"hello"',
        'Prometheus returned an unexpected response for query "\\"hello\\"": expected resultType vector or scalar, got "string"',
      ),
    );
  });

  it('refuses a matrix where a vector was asked for', () => {
    expect(thrown(() => decodeInstantResponse(matrix([]), 'up[5m]'))).toEqual(
      responseError(
        'up[5m]',
        'Prometheus returned an unexpected response for query "up[5m]": expected resultType vector or scalar, got "matrix"',
      ),
    );
  });

  it('refuses a body that is not JSON and quotes its start', () => {
    expect(thrown(() => decodeInstantResponse('<html>oops</html>', 'up'))).toEqual(
      responseError(
        'up',
        `Prometheus returned a body that is not JSON for query "up" (body starts "<html>oops</html>")`,
      ),
    );
  });

  it('refuses a status other than success', () => {
    const body = JSON.stringify({ status: 'error', errorType: 'execution', error: 'boom' });
    expect(thrown(() => decodeInstantResponse(body, 'up'))).toEqual(
      responseError(
        'up',
        'Prometheus returned an unexpected response for query "up": status is "error", not "success": boom',
      ),
    );
  });

  it('names the element with a value that is not a number', () => {
    const body = vector([
      { metric: {}, value: [1, '1'] },
      { metric: {}, value: [1, 'many'] },
    ]);
    expect(thrown(() => decodeInstantResponse(body, 'up'))).toEqual(
      responseError(
        'up',
        'Prometheus returned an unexpected response for query "up": data.result[1].value[1] is not a sample value ("many")',
      ),
    );
  });

  it('names the wrong shapes it meets', () => {
    const messages = [
      JSON.stringify([]),
      JSON.stringify({ status: 'success' }),
      success({ resultType: 'vector', result: {} }),
      vector([5]),
      vector([{ metric: { a: 1 }, value: [1, '1'] }]),
      vector([{ metric: {}, value: ['1', '1'] }]),
      vector([{ metric: {}, value: [1] }]),
      vector([{ metric: [], value: [1, '1'] }]),
      success({ resultType: 'vector', result: [] }, { warnings: 'one' }),
    ].map((body) => thrown(() => decodeInstantResponse(body, 'q')).message.replace(/^.*"q": /, ''));
    expect(messages).toEqual([
      'the body is not a JSON object',
      'data is not an object',
      'data.result is not an array',
      'data.result[0] is not an object',
      'data.result[0].metric.a is not a string',
      'data.result[0].value[0] is not a timestamp',
      'data.result[0].value is not a [time, value] pair',
      'data.result[0].metric is not an object',
      'warnings is not a list of strings',
    ]);
  });

  it('refuses native histogram samples and says how to query them', () => {
    const body = vector([{ metric: {}, histogram: [1, { count: '1', sum: '1', buckets: [] }] }]);
    expect(thrown(() => decodeInstantResponse(body, 'h'))).toEqual(
      responseError(
        'h',
        'Prometheus returned an unexpected response for query "h": data.result[0] holds native histogram samples, which meshwatch does not read; wrap the query in histogram_count(), histogram_sum() or histogram_quantile()',
      ),
    );
  });

  it('cuts a long query short in the message but keeps it whole on the error', () => {
    const query = `sum(${'x'.repeat(300)})`;
    const error = thrown(() => decodeInstantResponse(matrix([]), query));
    expect(error.query).toBe(query);
    expect(error.message).toBe(
      `Prometheus returned an unexpected response for query "${query.slice(0, 200)}...": expected resultType vector or scalar, got "matrix"`,
    );
  });
});

describe('decodeRangeResponse', () => {
  it('decodes a matrix into series of [time ms, value] samples', () => {
    const body = matrix([
      {
        metric: { job: 'a' },
        values: [
          [1700000000, '1'],
          [1700000015, '2.5'],
          [1700000030, '-Inf'],
        ],
      },
      { metric: { job: 'b' }, values: [] },
    ]);
    expect(decodeRangeResponse(body, 'up')).toEqual({
      data: [
        {
          labels: { job: 'a' },
          samples: [
            [1700000000000, 1],
            [1700000015000, 2.5],
            [1700000030000, -Infinity],
          ],
        },
        { labels: { job: 'b' }, samples: [] },
      ],
      warnings: [],
    });
  });

  it('refuses a vector where a matrix was asked for', () => {
    expect(thrown(() => decodeRangeResponse(vector([]), 'up'))).toEqual(
      responseError(
        'up',
        'Prometheus returned an unexpected response for query "up": expected resultType matrix, got "vector"',
      ),
    );
  });

  it('names the sample that is not a pair', () => {
    const body = matrix([{ metric: {}, values: [[1, '1'], 7] }]);
    expect(thrown(() => decodeRangeResponse(body, 'up'))).toEqual(
      responseError(
        'up',
        'Prometheus returned an unexpected response for query "up": data.result[0].values[1] is not a [time, value] pair',
      ),
    );
  });

  it('refuses series with native histograms', () => {
    const body = matrix([{ metric: {}, histograms: [] }]);
    expect(thrown(() => decodeRangeResponse(body, 'h')).message).toMatch(
      /data.result\[0\] holds native histogram/,
    );
  });
});

describe('decodeErrorBody', () => {
  it("reads Prometheus's errorType and error", () => {
    const body = JSON.stringify({
      status: 'error',
      errorType: 'bad_data',
      error: '1:5: parse error: unclosed left parenthesis',
    });
    expect(decodeErrorBody(body)).toEqual({
      errorType: 'bad_data',
      error: '1:5: parse error: unclosed left parenthesis',
    });
  });

  it('reports a text body as the error, whitespace collapsed', () => {
    expect(decodeErrorBody('Unauthorized\n')).toEqual({ errorType: undefined, error: 'Unauthorized' });
  });

  it('cuts a long HTML page short', () => {
    const page = `<html>${'x'.repeat(1000)}</html>`;
    expect(decodeErrorBody(page)).toEqual({ errorType: undefined, error: `${page.slice(0, 300)}...` });
  });
});
