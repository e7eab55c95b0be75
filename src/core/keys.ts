import type { Caller, Destination } from './types';

/**
 * Keys the engine computes once per object. The decoder hands out one `Destination` and one
 * `Caller` per workload for as long as it is seen (see `Interner`), and stores their keys on them
 * with `rememberKeys` (under a symbol, not enumerable: invisible to JSON and to comparisons), so a
 * poll of 100,000 samples computes each key once, not once per sample and detector. Objects made
 * elsewhere (tests, a destination named after a service) have their keys computed on each call.
 */
const DESTINATION_KEY = Symbol('meshwatch.destinationKey');
const EDGE_KEYS = Symbol('meshwatch.edgeKeys');
const CALLER_KEYS = Symbol('meshwatch.callerKeys');

interface KeyedDestination extends Destination {
  [DESTINATION_KEY]?: string;
  [EDGE_KEYS]?: EdgeKeyMemo;
}

/** A destination's edge keys, by caller part, of this generation and the one before. */
interface EdgeKeyMemo {
  generation: number;
  current: Map<string, string>;
  previous: Map<string, string>;
}

let generation = 0;

/** A caller's keys; see `callerKey` and its neighbours in detectors/signals. */
export interface CallerKeys {
  /** Its principal, or its workload where it has no identity. */
  caller: string;
  /** Its workload, with its cluster. */
  workload: string;
  /** `caller` per layer. */
  http: string;
  tcp: string;
  /** `caller` with the cluster it calls from, where that is known. */
  clustered: string;
}

interface KeyedCaller extends Caller {
  [CALLER_KEYS]?: CallerKeys;
}

/**
 * The one string key of a destination: `<cluster>/<namespace>/<workload>`, or
 * `<namespace>/<workload>` where the telemetry has no cluster label. Kubernetes names hold no `/`,
 * so the two forms cannot collide.
 */
export function destinationKey(d: Destination): string {
  return (d as KeyedDestination)[DESTINATION_KEY] ?? computeDestinationKey(d);
}

function computeDestinationKey(d: Destination): string {
  return d.cluster === '' ? `${d.namespace}/${d.workload}` : `${d.cluster}/${d.namespace}/${d.workload}`;
}

/**
 * `text` as one fresh, flat string. A string built by concatenation is a tree of its parts, and a
 * substring may be a view into a larger string; V8 hashes and compares either as a map key several
 * times slower than a flat string, and at each lookup: keys that are looked up at every poll are
 * worth copying once. A latin1 copy keeps every code unit below 256, a UTF-16 one every code unit
 * (a lone surrogate too, unlike a round trip through UTF-8).
 */
export function flat(text: string): string {
  return NOT_LATIN1.test(text)
    ? Buffer.from(text, 'utf16le').toString('utf16le')
    : Buffer.from(text, 'latin1').toString('latin1');
}

// eslint-disable-next-line no-control-regex
const NOT_LATIN1 = /[^\u0000-\u00ff]/;

/** The key of an edge: `<destination key>|<caller part>`, the caller part being one of its keys. */
export function edgeKey(d: Destination, caller: string): string {
  const memo = (d as KeyedDestination)[EDGE_KEYS];
  if (memo === undefined) return `${destinationKey(d)}|${caller}`;
  if (memo.generation !== generation) {
    memo.previous = memo.generation === generation - 1 ? memo.current : new Map();
    memo.current = new Map();
    memo.generation = generation;
  }
  let key = memo.current.get(caller);
  if (key === undefined) {
    key = memo.previous.get(caller) ?? flat(`${destinationKey(d)}|${caller}`);
    memo.current.set(caller, key);
  }
  return key;
}

/**
 * Starts a new generation of remembered edge keys: a destination keeps the keys of the callers it
 * had in this generation and the one before, so callers that come and go leave nothing behind.
 * The engine calls it once per snapshot.
 */
export function nextKeyGeneration(): void {
  generation += 1;
}

/** Whether a caller's cluster is known: neither absent from the telemetry nor `unknown`. */
export function knownCluster(cluster: string): boolean {
  return cluster !== '' && cluster !== 'unknown';
}

/** The keys of a caller. */
export function callerKeys(caller: Caller): CallerKeys {
  return (caller as KeyedCaller)[CALLER_KEYS] ?? computeCallerKeys(caller);
}

function computeCallerKeys(c: Caller): CallerKeys {
  const workload = `workload:${c.cluster}/${c.namespace}/${c.workload}`;
  const key = c.principal !== 'unknown' ? c.principal : workload;
  const clustered = `${key}@${knownCluster(c.cluster) ? c.cluster : ''}`;
  return { caller: key, workload, http: `http|${key}`, tcp: `tcp|${key}`, clustered };
}

/** `computeCallerKeys`, each key flat (see `flat`), for keys that are kept. */
function flatCallerKeys(c: Caller): CallerKeys {
  const keys = computeCallerKeys(c);
  return {
    caller: flat(keys.caller),
    workload: flat(keys.workload),
    http: flat(keys.http),
    tcp: flat(keys.tcp),
    clustered: flat(keys.clustered),
  };
}

/**
 * Stores a destination's or a caller's keys on it, for an object that is never changed and is
 * handed out again and again (call before freezing it). Edge keys remembered on a destination are
 * those of its recent callers (`nextKeyGeneration`).
 */
export function rememberKeys<T extends Destination | Caller>(value: T): T {
  if ('principal' in value) {
    Object.defineProperty(value, CALLER_KEYS, { value: flatCallerKeys(value), enumerable: false });
  } else {
    Object.defineProperty(value, DESTINATION_KEY, {
      value: flat(computeDestinationKey(value)),
      enumerable: false,
    });
    const memo: EdgeKeyMemo = { generation, current: new Map(), previous: new Map() };
    Object.defineProperty(value, EDGE_KEYS, { value: memo, enumerable: false });
  }
  return value;
}
