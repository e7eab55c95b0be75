import fc from 'fast-check';
import { decodeInstantResponse } from '../../../src/adapters/prometheus/decode';
import { PrometheusResponseError } from '../../../src/errors';
import { Interner } from '../../../src/signals/interner';
import { decodeMesh, MESH_LABELS } from '../../../src/signals/mesh';
import { MeshDecoder } from '../../../src/signals/mesh-decoder';
import { runs, typedOutcome } from './budget';

// Characters that break naive readers of the body: JSON's own structure, escapes, line breaks,
// multi-byte UTF-8 (2, 3 and 4 bytes), a lone surrogate (JSON.stringify escapes it).
const HOSTILE_CHAR = fc.constantFrom(
  '"',
  '\\',
  '}',
  '{',
  ']',
  ',',
  ':',
  '\n',
  '\r',
  '\t',
  '\u0000',
  '\u2028',
  'ü',
  'ß',
  '東',
  '😀',
  '\ud800',
  '\udfff',
);
const HOSTILE_VALUE = fc.oneof(
  fc.constantFrom(
    'cart',
    'unknown',
    '',
    '"},{"metric":{',
    '},"value":[1,"2"]}',
    '"]}]}',
    '"source_principal":"x"',
    'spiffe://cluster.local/ns/shop/sa/cart',
  ),
  fc.string({ unit: fc.oneof(HOSTILE_CHAR, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) }),
  fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 4 }),
);
const KIND = fc.constantFrom(
  'requests',
  'tcp_connections',
  'denied',
  'denied_connections',
  'server_errors',
  'service_workload',
  'other',
);
const VALUE = fc.oneof(
  fc.constantFrom('0', '1', '0.5', '1e-3', '12.345678901234567', 'NaN', '+Inf', '-Inf'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

// A series of the mesh query's answer: any of its labels, some other ones, hostile values.
const SERIES: fc.Arbitrary<Series> = fc
  .record({
    labels: fc.dictionary(
      fc.oneof(fc.constantFrom(...MESH_LABELS.filter((l) => l !== 'meshwatch_kind')), fc.constant('extra')),
      HOSTILE_VALUE,
      { maxKeys: 12 },
    ),
    kind: fc.option(KIND, { nil: undefined }),
    time: fc.integer({ min: 0, max: 2_000_000_000_000 }).map((ms) => ms / 1000),
    value: VALUE,
  })
  .map(({ labels, kind, time, value }) => {
    const metric: Record<string, string> = { ...labels };
    if (kind !== undefined) metric.meshwatch_kind = kind;
    return { metric, value: [time, value] };
  });

/** The body as Prometheus writes it: labels sorted by name, no whitespace, then the tail. */
function prometheusBody(series: readonly Series[], tail: string): string {
  const result = series.map(({ metric, value }) => {
    const sorted: Record<string, string> = {};
    for (const name of Object.keys(metric).sort()) sorted[name] = metric[name] as string;
    return { metric: sorted, value };
  });
  return `{"status":"success","data":{"resultType":"vector","result":${JSON.stringify(result)}}${tail}}`;
}

// Escapes JSON allows and Prometheus does not write, so the body is not only JSON.stringify's.
const escapeSome = (body: string, every: number): string => {
  let n = 0;
  return body.replace(/[\u0080-\uffff]|\//g, (c) => {
    n += 1;
    if (n % every !== 0) return c;
    return c === '/' ? '\\/' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
};

const TAIL = fc.oneof(
  fc.constant(''),
  fc
    .record({
      warnings: fc.array(HOSTILE_VALUE, { maxLength: 3 }),
      infos: fc.option(fc.array(HOSTILE_VALUE, { maxLength: 2 }), { nil: undefined }),
    })
    .map(({ warnings, infos }) =>
      infos === undefined
        ? `,"warnings":${JSON.stringify(warnings)}`
        : `,"warnings":${JSON.stringify(warnings)},"infos":${JSON.stringify(infos)}`,
    ),
);

const BODY = fc
  .record({
    series: fc.array(SERIES, { maxLength: 25 }),
    tail: TAIL,
    escapeEvery: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  })
  .map(({ series, tail, escapeEvery }) => {
    const body = prometheusBody(series, tail);
    return escapeEvery === undefined ? body : escapeSome(body, escapeEvery);
  });

/** Cut points in a body of `length` bytes, anywhere: inside a character, an escape, a marker. */
const cutsOf = (length: number): fc.Arbitrary<number[]> =>
  fc
    .uniqueArray(fc.integer({ min: 1, max: Math.max(1, length - 1) }), { maxLength: 40 })
    .map((cuts) => cuts.filter((c) => c < length).sort((a, b) => a - b));

const BODY_AND_CUTS = BODY.chain((body) => {
  const bytes = Buffer.from(body, 'utf8');
  return fc.tuple(fc.constant(bytes), cutsOf(bytes.length));
});

function streamed(decoder: MeshDecoder, bytes: Buffer, cuts: readonly number[]) {
  const sink = decoder.sink('mesh');
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    sink.write(bytes.subarray(from, cut));
    from = cut;
  }
  const { samples, series, warnings } = sink.end();
  return { samples, series, warnings };
}

/** The reference: the whole body through JSON.parse, then the same mesh decoding. */
function parsed(bytes: Buffer) {
  const { data, warnings } = decodeInstantResponse(bytes.toString('utf8'), 'mesh');
  return { samples: decodeMesh(data, new Interner()), series: data.length, warnings };
}

const RUNS = runs(300);

describe('the mesh decoder, on any input', () => {
  it('gives what JSON.parse-based decoding gives, for valid bodies cut anywhere', () => {
    fc.assert(
      fc.property(BODY_AND_CUTS, ([bytes, cuts]) => {
        const expected = parsed(bytes);
        const got = typedOutcome(() => streamed(new MeshDecoder(), bytes, cuts), []);
        expect(got).toEqual({ kind: 'value', value: expected });
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the same samples poll after poll with one decoder (what it interned stays right)', () => {
    fc.assert(
      fc.property(fc.array(BODY_AND_CUTS, { minLength: 2, maxLength: 4 }), (polls) => {
        const decoder = new MeshDecoder();
        for (const [bytes, cuts] of polls) {
          expect(streamed(decoder, bytes, cuts)).toEqual(parsed(bytes));
        }
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });

  // Spoiling a valid body: every byte sequence is possible input from a broken proxy.
  const SPOILED = fc
    .record({
      body: BODY,
      at: fc.nat(),
      cut: fc.boolean(),
      insert: fc.oneof(
        fc.constantFrom(
          '"',
          '\\',
          '}',
          ']',
          ',',
          '{"metric":{',
          '},"value":[',
          '},{"metric":{',
          '"]}]}',
          ']}}',
          '\\u',
          '\\ud800',
          'NaN',
        ),
        fc.string({ maxLength: 3 }),
      ),
      bytes: fc.uint8Array({ maxLength: 3 }),
    })
    .map(({ body, at, cut, insert, bytes }) => {
      const whole = Buffer.from(body, 'utf8');
      const i = at % (whole.length + 1);
      if (cut) return whole.subarray(0, i);
      return Buffer.concat([whole.subarray(0, i), Buffer.from(insert, 'utf8'), bytes, whole.subarray(i)]);
    })
    .chain((bytes) => fc.tuple(fc.constant(bytes), cutsOf(bytes.length)));

  // The one leniency: the fast path does not look for raw control characters inside strings
  // (invalid JSON, which no Prometheus writes: it escapes them), which JSON.parse refuses; a
  // search for them would cost a pass over every body of tens of megabytes.
  const hasRawControl = (text: string): boolean => [...text].some((c) => c.charCodeAt(0) < 0x20);

  it('agrees with JSON.parse-based decoding on spoiled bodies: the same samples or both a PrometheusResponseError', () => {
    fc.assert(
      fc.property(SPOILED, ([bytes, cuts]) => {
        const expected = typedOutcome(() => parsed(bytes), [PrometheusResponseError]);
        const got = typedOutcome(() => streamed(new MeshDecoder(), bytes, cuts), [PrometheusResponseError]);
        if (expected.kind === 'value') expect(got).toEqual(expected);
        else if (!hasRawControl(bytes.toString('utf8'))) expect(got.kind).toBe('error');
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('gives samples or a PrometheusResponseError for any bytes at all', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc.json().map((j) => Buffer.from(j)),
          fc
            .string({ maxLength: 100 })
            .map((s) => Buffer.from(`{"status":"success","data":{"resultType":"vector","result":[${s}`)),
        ),
        fc.integer({ min: 1, max: 16 }),
        (bytes, size) => {
          const cuts: number[] = [];
          for (let c = size; c < bytes.length; c += size) cuts.push(c);
          typedOutcome(() => streamed(new MeshDecoder(), bytes, cuts), [PrometheusResponseError]);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('the mesh decoder, on the inputs its properties found', () => {
  // The end of the result was searched for as the text `"]}]}`, which a label value of the last
  // series can hold, escaped or as its start: the valid answer failed as not JSON.
  it.each([
    ['holds an escaped quote and the end of a vector', '"]}]}'],
    ['starts like the end of a vector', ']}]}x'],
  ])('reads an answer whose last label value %s', (_name, value) => {
    const body = prometheusBody(
      [
        {
          metric: { destination_workload: 'cart', meshwatch_kind: 'requests', source_workload: value },
          value: [1, '2'],
        },
      ],
      ',"warnings":["]}]}"]',
    );
    const bytes = Buffer.from(body, 'utf8');
    const decoded = streamed(new MeshDecoder(), bytes, []);
    expect(decoded).toEqual(parsed(bytes));
    expect(decoded.samples.map((s) => [s.destination.workload, s.caller.workload, s.rate])).toEqual([
      ['cart', value, 2],
    ]);
    expect(decoded.warnings).toEqual([']}]}']);
  });
});
