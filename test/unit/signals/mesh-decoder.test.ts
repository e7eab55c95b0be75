import { decodeInstantResponse } from '../../../src/adapters/prometheus/decode';
import { destinationKey, edgeKey } from '../../../src/core/keys';
import { PrometheusResponseError } from '../../../src/errors';
import { decodeMesh } from '../../../src/signals/mesh';
import { MeshDecoder, type DecodedMesh } from '../../../src/signals/mesh-decoder';

/** A deterministic stream of numbers in [0, 1). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 2 ** 32;
  };
}

// Label values a mesh may hold, hostile ones among them: quotes, the body's own structure,
// newlines, backslashes, non-ASCII (split across chunks below), a lone surrogate, 10 kB.
const HOSTILE = [
  'cart',
  'checkout-v2',
  'a"b',
  '"},{"metric":{',
  '},"value":[1,"2"]}',
  'line\nbreak',
  'back\\slash',
  'zürich-ß-東京',
  '\ud800alone',
  'x'.repeat(10_000),
  '',
  'unknown',
];
const KINDS = [
  'requests',
  'tcp_connections',
  'denied',
  'denied_connections',
  'server_errors',
  'service_workload',
];

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

function randomSeries(next: () => number, hostile: boolean): Series {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const names = hostile ? HOSTILE : ['cart', 'checkout-v2', 'payments', 'zürich-ß-東京', 'unknown', ''];
  const metric: Record<string, string> = {};
  const maybe = (name: string, values: readonly string[]): void => {
    if (next() < 0.85) metric[name] = pick(values);
  };
  maybe('destination_cluster', ['Kubernetes', 'east', ...names]);
  maybe('destination_workload_namespace', ['shop', 'payments', ...names]);
  maybe('destination_workload', names);
  maybe('source_cluster', ['Kubernetes', 'west', 'unknown', ...names]);
  maybe('source_workload_namespace', ['shop', ...names]);
  maybe('source_workload', names);
  maybe('source_principal', ['spiffe://cluster.local/ns/shop/sa/cart', 'unknown', ...names]);
  maybe('connection_security_policy', ['mutual_tls', 'none', 'unknown']);
  maybe('reporter', ['destination', 'waypoint']);
  maybe('destination_service_namespace', ['shop', ...names]);
  maybe('destination_service_name', ['cart', ...names]);
  maybe('meshwatch_kind', [...KINDS, 'other']);
  if (next() < 0.1) metric.extra_label = pick(names);
  const value = pick(['0.5', '1', '0', '1e-3', '12.345678901234567', 'NaN', '+Inf', '-Inf']);
  return { metric, value: [1764633600 + Math.floor(next() * 1000) / 1000, value] };
}

/** The body as Prometheus writes it: labels sorted by name, no whitespace. */
function prometheusBody(series: readonly Series[], tail = ''): string {
  const result = series.map(({ metric, value }) => {
    const sorted: Record<string, string> = {};
    for (const name of Object.keys(metric).sort()) sorted[name] = metric[name] as string;
    return { metric: sorted, value };
  });
  return `{"status":"success","data":{"resultType":"vector","result":${JSON.stringify(result)}}${tail}}`;
}

/** Feeds `body` to the decoder in chunks of random sizes, as a socket would hand it over. */
function decodeInChunks(
  decoder: MeshDecoder,
  body: string,
  next: () => number,
  largest: number,
): DecodedMesh {
  const bytes = Buffer.from(body, 'utf8');
  const sink = decoder.sink('mesh');
  for (let i = 0; i < bytes.length;) {
    const size = 1 + Math.floor(next() * largest);
    sink.write(bytes.subarray(i, i + size));
    i += size;
  }
  return sink.end();
}

function generalDecode(body: string): {
  samples: ReturnType<typeof decodeMesh>;
  series: number;
  warnings: string[];
} {
  const { data, warnings } = decodeInstantResponse(body, 'mesh');
  return { samples: decodeMesh(data), series: data.length, warnings };
}

describe('the mesh decoder', () => {
  it.each([
    ['ordinary labels, large chunks', 1, false, 4096],
    ['ordinary labels, one to seven bytes at a time', 2, false, 7],
    ['hostile labels (quotes, the body’s own structure, newlines, backslashes, 10 kB)', 3, true, 512],
    ['hostile labels, a byte or two at a time', 4, true, 2],
  ])('decodes %s exactly as the general decoder does', (_name, seed, hostile, largest) => {
    const next = random(seed);
    const decoder = new MeshDecoder();
    for (let poll = 0; poll < 4; poll++) {
      const series = Array.from({ length: 150 }, () => randomSeries(next, hostile));
      const body = prometheusBody(series);
      const fast = decodeInChunks(decoder, body, next, largest);
      const general = generalDecode(body);
      expect(fast.samples).toEqual(general.samples);
      expect(fast.series).toBe(general.series);
      expect(fast.warnings).toEqual([]);
      // Plain labels are read the fast way throughout; escaped ones partly the general way.
      if (!hostile) expect(fast.fast).toBe(true);
    }
  });

  it('reads an answer of plain labels without the general decoder, and one with escapes in part with it', () => {
    const next = random(5);
    const plain = Array.from({ length: 50 }, () => randomSeries(next, false));
    expect(new MeshDecoder().decode(prometheusBody(plain), 'mesh').fast).toBe(true);
    const escaped = [
      ...plain,
      { metric: { destination_workload: 'a"b', meshwatch_kind: 'requests' }, value: [1, '1'] },
    ];
    const decoded = new MeshDecoder().decode(prometheusBody(escaped as Series[]), 'mesh');
    expect(decoded.fast).toBe(false);
    expect(decoded.samples).toEqual(generalDecode(prometheusBody(escaped as Series[])).samples);
  });

  it('reads another layout (whitespace, keys in another order) with the general decoder, whole', () => {
    const next = random(6);
    const series = Array.from({ length: 40 }, () => randomSeries(next, false));
    const pretty = JSON.stringify(
      { data: { result: series, resultType: 'vector' }, status: 'success' },
      null,
      2,
    );
    const decoded = decodeInChunks(new MeshDecoder(), pretty, next, 64);
    expect(decoded.fast).toBe(false);
    expect(decoded.samples).toEqual(generalDecode(pretty).samples);
  });

  it('passes on the warnings and infos of a partial answer (Thanos, Mimir)', () => {
    const next = random(7);
    const series = Array.from({ length: 30 }, () => randomSeries(next, false));
    const body = prometheusBody(
      series,
      ',"warnings":["store eu-1 unreachable: partial response"],"infos":["]}]}"]',
    );
    const decoded = decodeInChunks(new MeshDecoder(), body, next, 100);
    expect(decoded.warnings).toEqual(['store eu-1 unreachable: partial response', ']}]}']);
    expect(decoded.samples).toEqual(generalDecode(body).samples);
    expect(new MeshDecoder().decode(prometheusBody([]), 'mesh')).toEqual({
      samples: [],
      series: 0,
      warnings: [],
      fast: true,
    });
  });

  it.each([
    ['a body cut off mid-way', (body: string) => body.slice(0, Math.floor(body.length / 2))],
    [
      'a body cut off after a whole element',
      (body: string) => body.slice(0, body.lastIndexOf('},{"metric"') + 1),
    ],
    [
      'an error status in a 2xx answer',
      () => '{"status":"error","errorType":"execution","error":"query timed out"}',
    ],
    ['a body that is not JSON', () => '<html>502 Bad Gateway</html>'],
    ['a native histogram', (body: string) => body.replace('"value":[', '"histogram":[')],
    [
      'a value that is not a number',
      (body: string) => body.replace(/"value":\[([0-9.]+),"[^"]*"\]/, '"value":[$1,"many"]'),
    ],
    ['garbage after the end', (body: string) => `${body.slice(0, -1)},"extra":}`],
  ])('fails on %s with a typed error, as the general decoder does', (_name, spoil) => {
    const next = random(8);
    const series = Array.from({ length: 20 }, () => randomSeries(next, false)).map((s) => ({
      ...s,
      value: [s.value[0], '1'] as [number, string],
    }));
    const body = spoil(prometheusBody(series));
    expect(() => generalDecode(body)).toThrow(PrometheusResponseError);
    expect(() => decodeInChunks(new MeshDecoder(), body, next, 50)).toThrow(PrometheusResponseError);
  });

  it('hands out one destination and one caller object per workload from poll to poll, with their keys', () => {
    const decoder = new MeshDecoder();
    const body = (rate: string): string =>
      prometheusBody([
        {
          metric: {
            destination_workload_namespace: 'shop',
            destination_workload: 'cart',
            source_workload_namespace: 'shop',
            source_workload: 'web',
            source_principal: 'spiffe://cluster.local/ns/shop/sa/web',
            connection_security_policy: 'mutual_tls',
            meshwatch_kind: 'requests',
          },
          value: [1, rate],
        },
      ]);
    const [first] = decoder.decode(body('1'), 'mesh').samples;
    const [second] = decoder.decode(body('2'), 'mesh').samples;
    expect(second?.destination).toBe(first?.destination);
    expect(second?.caller).toBe(first?.caller);
    expect(second?.rate).toBe(2);
    // The keys are the ones any destination of these labels has, and invisible to JSON.
    expect(destinationKey(first!.destination)).toBe('shop/cart');
    expect(edgeKey(first!.destination, 'x')).toBe('shop/cart|x');
    expect(JSON.stringify(first?.destination)).toBe('{"cluster":"","namespace":"shop","workload":"cart"}');
    expect(Object.isFrozen(first?.destination)).toBe(true);
  });

  it('holds what the last two polls used, however fast callers come and go', () => {
    const decoder = new MeshDecoder();
    const poll = (generation: number): void => {
      const series = Array.from({ length: 200 }, (_, i) => ({
        metric: {
          destination_workload_namespace: 'shop',
          destination_workload: `cart-${i % 10}`,
          source_workload_namespace: 'jobs',
          source_workload: `job-${generation}-${i}`,
          source_principal: `spiffe://cluster.local/ns/jobs/sa/job-${generation}-${i}`,
          connection_security_policy: 'mutual_tls',
          meshwatch_kind: 'requests',
        },
        value: [1, '1'] as [number, string],
      }));
      decoder.decode(prometheusBody(series), 'mesh');
    };
    poll(0);
    const afterOne = decoder.interner.size;
    for (let generation = 1; generation < 50; generation++) poll(generation);
    // Every poll brings 400 new strings (workload and principal of 200 callers): two polls' worth stay.
    expect(decoder.interner.size).toBeLessThanOrEqual(2 * afterOne + 20);
  });
});
