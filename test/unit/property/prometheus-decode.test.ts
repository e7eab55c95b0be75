import fc from 'fast-check';
import {
  decodeErrorBody,
  decodeInstantResponse,
  decodeRangeResponse,
  parseSampleValue,
} from '../../../src/adapters/prometheus/decode';
import { PrometheusResponseError } from '../../../src/errors';
import { nonFiniteNumbers, runs, typedOutcome } from './budget';

// Bodies near the API's shape, so that decoding gets past the envelope and into the elements.
const SAMPLE_VALUE = fc.oneof(
  fc.constantFrom('1', 'NaN', '+Inf', '-Inf', 'Inf', '', 'x', '0x10'),
  fc.jsonValue(),
);
const PAIR = fc.oneof(fc.tuple(fc.oneof(fc.double(), fc.jsonValue()), SAMPLE_VALUE), fc.jsonValue());
const METRIC = fc.oneof(
  fc.dictionary(fc.string(), fc.string()),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'job', 'toString'), fc.jsonValue()),
  fc.jsonValue(),
);
const ELEMENT = fc.oneof(
  fc.record({ metric: METRIC, value: PAIR }, { requiredKeys: [] }),
  fc.record(
    { metric: METRIC, values: fc.oneof(fc.array(PAIR, { maxLength: 4 }), fc.jsonValue()) },
    { requiredKeys: [] },
  ),
  fc.record({ metric: METRIC, histogram: fc.jsonValue(), histograms: fc.jsonValue() }, { requiredKeys: [] }),
  fc.jsonValue(),
);
const ENVELOPE = fc
  .record(
    {
      status: fc.oneof(fc.constant('success'), fc.jsonValue()),
      data: fc.oneof(
        fc.record(
          {
            resultType: fc.oneof(fc.constantFrom('vector', 'matrix', 'scalar', 'string'), fc.jsonValue()),
            result: fc.oneof(fc.array(ELEMENT, { maxLength: 5 }), PAIR, fc.jsonValue()),
          },
          { requiredKeys: [] },
        ),
        fc.jsonValue(),
      ),
      warnings: fc.oneof(fc.array(fc.string(), { maxLength: 2 }), fc.jsonValue()),
      infos: fc.jsonValue(),
      error: fc.jsonValue(),
    },
    { requiredKeys: [] },
  )
  .map((body) => JSON.stringify(body));

const BODY = fc.oneof(ENVELOPE, fc.json(), fc.string(), fc.string({ unit: 'binary' }));

describe('the Prometheus response decoders, on any input', () => {
  it('decode an instant or range answer to samples or a PrometheusResponseError', () => {
    fc.assert(
      fc.property(BODY, (body) => {
        for (const decode of [decodeInstantResponse, decodeRangeResponse]) {
          const outcome = typedOutcome(() => decode(body, 'q'), [PrometheusResponseError]);
          if (outcome.kind === 'value') {
            // Only a sample value may be NaN or infinite; timestamps never are.
            const times = JSON.stringify(outcome.value.data, (key, v: unknown) => (key === 'value' ? 0 : v));
            expect(nonFiniteNumbers(JSON.parse(times) as unknown)).toEqual([]);
            expect(outcome.value.warnings.every((w) => typeof w === 'string')).toBe(true);
          }
        }
      }),
      { numRuns: runs(1000) },
    );
  });

  it('read any error body without throwing', () => {
    fc.assert(
      fc.property(BODY, (body) => {
        const outcome = typedOutcome(() => decodeErrorBody(body), []);
        expect(outcome.kind).toBe('value');
      }),
      { numRuns: runs(500) },
    );
  });

  it('parse any sample value to a number or undefined, as Prometheus formats them', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.double().map(String)), (value) => {
        const parsed = typedOutcome(() => parseSampleValue(value), []);
        expect(parsed.kind).toBe('value');
        const number = parsed.kind === 'value' ? parsed.value : undefined;
        expect(number === undefined || typeof number === 'number').toBe(true);
      }),
      { numRuns: runs(500) },
    );
  });

  it('give back the labels and values of a valid vector exactly', () => {
    const series = fc.array(
      fc.record({
        metric: fc.dictionary(fc.string({ minLength: 1 }), fc.string({ unit: 'binary' })),
        value: fc.tuple(
          fc.integer({ min: 0, max: 4_000_000_000_000 }).map((ms) => ms / 1000),
          fc.double({ noNaN: true }).map((v) => (v === Infinity ? '+Inf' : String(v))),
        ),
      }),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(series, (result) => {
        const body = JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
        const decoded = decodeInstantResponse(body, 'q').data;
        expect(decoded).toEqual(
          result.map(({ metric, value: [t, v] }) => ({
            labels: metric,
            value: v === '+Inf' ? Infinity : Number(v),
            timeMs: Math.round(t * 1000),
          })),
        );
      }),
      { numRuns: runs(300) },
    );
  });
});
