/**
 * Decoding the mesh query's answer straight from the response body into edge samples. The
 * answer of a large mesh is 100,000 series and tens of megabytes; `JSON.parse` would build an
 * object per series and a string per label only for most of them to be thrown away. The fast path
 * reads the body as Prometheus writes it (`{"status":"success","data":{"resultType":"vector",
 * "result":[{"metric":{...},"value":[t,"v"]},...]}}`, no whitespace, labels as plain strings) and
 * interns each label value as it goes; anything else (warnings, an escaped character, another
 * engine's layout, an error) goes through the general decoder, which reads every valid answer and
 * gives the typed error for every invalid one. Both paths produce the same samples.
 */
import { StringDecoder } from 'node:string_decoder';
import { decodeInstantResponse, parseSampleValue, quoteQuery } from '../adapters/prometheus/decode';
import { PrometheusResponseError } from '../errors';
import type { BodySink } from '../adapters/prometheus/types';
import { GenerationMap, Interner } from './interner';
import { NO_CALLER, type EdgeSample } from '../core/mesh';
import type { Caller } from '../core/types';
import {
  callerOf,
  decodeMesh,
  MESH_LABELS,
  MESH_SLOT,
  meshLabels,
  sampleTemplate,
  withRate,
  type MeshLabels,
  type SampleTemplate,
} from './mesh';
import type { InstantSample } from './types';

/** What one answer decoded to. */
export interface DecodedMesh {
  samples: EdgeSample[];
  /** Series in the answer, kept or not. */
  series: number;
  /** Mesh series whose value is NaN or ±Inf, left out of `samples`; set only when there are any. */
  nonFinite?: number;
  warnings: string[];
  /** Whether the fast path read it (false: the general decoder did). */
  fast: boolean;
}

const PREFIX = '{"status":"success","data":{"resultType":"vector","result":[';
const ELEMENT = '{"metric":{';
const METRIC_END = '},"value":[';
const END = ']}}';
// Where one element of the result ends and the next begins. With no backslash in the body every
// `"` is the JSON's own, so neither this nor METRIC_END can occur inside a label value.
const BOUNDARY = '},{"metric":{';
// What `head` gives for a series that decodes to nothing (not a mesh series, no workload).
const SKIP = Symbol('skip');
// A JSON number, as a timestamp must be (Number() alone would also take hex and whitespace).
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A decoder of the mesh query's answers that keeps its interned strings from one poll to the
 * next: one per engine.
 */
export class MeshDecoder {
  readonly interner: Interner;
  private readonly heads = new GenerationMap<string, SampleTemplate | typeof SKIP>();
  private readonly tails = new GenerationMap<string, Caller>();

  constructor(interner = new Interner()) {
    this.interner = interner;
  }

  /** Decodes one whole body; throws the general decoder's typed error on a bad one. */
  decode(body: string, query: string): DecodedMesh {
    const sink = this.sink(query);
    sink.write(Buffer.from(body, 'utf8'));
    return sink.end();
  }

  /**
   * A sink for one answer's body. An answer that starts as Prometheus writes one is decoded chunk
   * by chunk as it comes, each chunk's complete elements at once, so the body is never held whole;
   * elements the fast path does not read (an escaped character, another layout) are read by the
   * general decoder, a run of elements at a time. Any other answer is kept whole for it.
   */
  sink(query: string): BodySink<DecodedMesh> {
    this.interner.advance();
    this.heads.advance();
    this.tails.advance();
    const text = new StringDecoder('utf8');
    const decoded: DecodedMesh = { samples: [], series: 0, warnings: [], fast: true };
    // The body's first chunks, until they show whether it can be read as it comes.
    let opening: Buffer[] | undefined = [];
    let chunks: Buffer[] | undefined;
    let carry = '';
    let started = false;
    return {
      write: (chunk) => {
        if (chunks) {
          chunks.push(chunk);
          return;
        }
        opening?.push(chunk);
        let t = carry + text.write(chunk);
        if (!started) {
          if (t.length < PREFIX.length && PREFIX.startsWith(t)) {
            carry = t;
            return;
          }
          if (!t.startsWith(PREFIX)) {
            // Not the layout this reads as it comes: the general decoder reads it, whole.
            chunks = opening;
            return;
          }
          started = true;
          opening = undefined;
          t = t.slice(PREFIX.length);
        }
        const boundary = t.lastIndexOf(BOUNDARY);
        if (boundary < 0) {
          carry = t;
          return;
        }
        this.elements(t.slice(0, boundary + 1), query, decoded);
        carry = t.slice(boundary + 2);
      },
      end: () => {
        if (chunks || !started) {
          const body = Buffer.concat(chunks ?? opening ?? []).toString('utf8');
          const { data, warnings } = decodeInstantResponse(body, query);
          const whole: DecodedMesh = {
            samples: decodeMesh(data, this.interner),
            series: data.length,
            warnings,
            fast: false,
          };
          addNonFinite(whole, nonFiniteSeries(data, this.interner));
          return whole;
        }
        // The last elements, then the end of the result and of the body, with any warnings.
        const rest = carry + text.end();
        // Where the result ends is read, not searched for: a label value or a warning may hold
        // the text `"]}]}` (escaped or not), which a search would take for the end.
        const end = resultEnd(rest);
        if (end < 0 || !rest.startsWith(']}', end)) throw malformedEnd(query, rest);
        if (end > 0) this.elements(rest.slice(0, end), query, decoded);
        decoded.warnings = tailWarnings(rest.slice(end + 2), query);
        return decoded;
      },
    };
  }

  /**
   * Decodes a run of complete elements (`{"metric":...},{"metric":...}`), the fast way where it
   * can and with the general decoder where it cannot: all of the run or none of it is read fast,
   * so nothing is counted twice.
   */
  private elements(text: string, query: string, into: DecodedMesh): void {
    const samples: EdgeSample[] = [];
    const counted = { series: 0, nonFinite: 0 };
    if (!text.includes('\\') && this.scan(text, text.length, samples, counted)) {
      for (const sample of samples) into.samples.push(sample);
      into.series += counted.series;
      addNonFinite(into, counted.nonFinite);
      return;
    }
    into.fast = false;
    const { data } = decodeInstantResponse(`${PREFIX}${text}${END}`, query);
    for (const sample of decodeMesh(data, this.interner)) into.samples.push(sample);
    into.series += data.length;
    addNonFinite(into, nonFiniteSeries(data, this.interner));
  }

  /**
   * Reads the elements of `text[0, stop)`, one after another with a comma between them, into
   * `samples`; false as soon as the text is not exactly the expected layout. Prometheus writes
   * labels sorted by name, so a series' labels are a head (destination, policy, kind, service)
   * and a tail (the `source_*` labels: the caller); each is looked up whole, as the text it is,
   * among the heads and tails seen before (a few thousand of each on a large mesh, against
   * 100,000 series), and only one not seen before is read label by label.
   */
  private scan(
    body: string,
    stop: number,
    samples: EdgeSample[],
    counted: { series: number; nonFinite: number },
  ): boolean {
    let i = 0;
    for (;;) {
      if (!body.startsWith(ELEMENT, i)) return false;
      i += ELEMENT.length;
      const metricEnd = body.indexOf(METRIC_END, i);
      if (metricEnd < 0 || metricEnd >= stop) return false;
      let split = body.indexOf('"source_', i);
      if (split < 0 || split > metricEnd) split = metricEnd;
      const headEnd = split === i || split === metricEnd ? split : split - 1;
      if (headEnd !== split && body.charCodeAt(headEnd) !== 0x2c /* , */) return false;
      const head = this.head(body.slice(i, headEnd));
      const caller = this.tail(body.slice(split, metricEnd));
      if (head === undefined || caller === undefined) return false;
      i = metricEnd + METRIC_END.length;
      const comma = body.indexOf(',', i);
      if (comma < 0 || body.charCodeAt(comma + 1) !== 0x22) return false;
      const time = body.slice(i, comma);
      if (!JSON_NUMBER.test(time)) return false;
      const close = body.indexOf('"', comma + 2);
      if (close < 0 || body.charCodeAt(close + 1) !== 0x5d || body.charCodeAt(close + 2) !== 0x7d) {
        return false;
      }
      const value = parseSampleValue(body.slice(comma + 2, close));
      if (value === undefined) return false;
      counted.series += 1;
      if (head !== SKIP) {
        if (Number.isFinite(value)) {
          samples.push(withRate(head, value, head.caller === NO_CALLER ? NO_CALLER : caller));
        } else {
          counted.nonFinite += 1;
        }
      }
      i = close + 3;
      if (i === stop) return true;
      if (i > stop || body.charCodeAt(i) !== 0x2c) return false;
      i += 1;
    }
  }

  /** What a head says, or SKIP for a series decoding keeps nothing of; undefined if malformed. */
  private head(text: string): SampleTemplate | typeof SKIP | undefined {
    const known = this.heads.get(text);
    if (known !== undefined) return known;
    const labels = segmentLabels(text, false);
    if (labels === undefined) return undefined;
    const head = sampleTemplate(labels, this.interner) ?? SKIP;
    this.heads.set(this.interner.string(text), head);
    return head;
  }

  /** The caller a tail names; undefined if malformed. */
  private tail(text: string): Caller | undefined {
    const known = this.tails.get(text);
    if (known !== undefined) return known;
    const labels = segmentLabels(text, true);
    if (labels === undefined) return undefined;
    const caller = callerOf(labels, this.interner);
    this.tails.set(this.interner.string(text), caller);
    return caller;
  }
}

/**
 * The labels of `"name":"value",...` (no braces), by slot; undefined when malformed, or when the
 * labels are not all `source_*` (`tail`) or none of them is (not `tail`).
 */
function segmentLabels(text: string, tail: boolean): MeshLabels | undefined {
  const labels: MeshLabels = new Array<string | undefined>(MESH_LABELS.length).fill(undefined);
  if (text === '') return labels;
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) !== 0x22) return undefined;
    const nameEnd = text.indexOf('"', i + 1);
    if (nameEnd < 0 || !text.startsWith('":"', nameEnd)) return undefined;
    const valueEnd = text.indexOf('"', nameEnd + 3);
    if (valueEnd < 0) return undefined;
    if (text.startsWith('source_', i + 1) !== tail) return undefined;
    const slot = MESH_SLOT.get(text.slice(i + 1, nameEnd));
    if (slot !== undefined) labels[slot] = text.slice(nameEnd + 3, valueEnd);
    i = valueEnd + 1;
    if (i === text.length) return labels;
    if (text.charCodeAt(i) !== 0x2c) return undefined;
    i += 1;
  }
}

/**
 * The index of the `]` that closes the result array in `text` (the last elements, the end of the
 * result, then the rest of the body): the first `]` outside strings and outside every element;
 * -1 when there is none (a body cut off).
 */
function resultEnd(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* backslash: the next character is escaped */) i += 1;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth += 1;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (depth === 0) return c === 0x5d ? i : -1;
      depth -= 1;
    }
  }
  return -1;
}

/** The mesh series (those decoding keeps) among `data` whose value is NaN or ±Inf. */
function nonFiniteSeries(data: readonly InstantSample[], interner: Interner): number {
  let count = 0;
  for (const { labels, value } of data) {
    if (!Number.isFinite(value) && sampleTemplate(meshLabels(labels), interner)) count += 1;
  }
  return count;
}

function addNonFinite(into: DecodedMesh, count: number): void {
  if (count > 0) into.nonFinite = (into.nonFinite ?? 0) + count;
}

/** The warnings and infos after the result: `rest` is what follows `"result":[...]}` up to the end. */
function tailWarnings(rest: string, query: string): string[] {
  if (rest === '}') return [];
  // The top level's other fields, read as an object of their own.
  return decodeInstantResponse(`{"status":"success","data":{"resultType":"vector","result":[]}${rest}`, query)
    .warnings;
}

function malformedEnd(query: string, rest: string): PrometheusResponseError {
  return new PrometheusResponseError(
    `Prometheus returned an unexpected response for query ${quoteQuery(query)}: the body ends ${JSON.stringify(rest.slice(-60))}, not with the end of a vector`,
    { query },
  );
}
