/**
 * Scenario YAML to a validated `Scenario`. Strict like blackbox_exporter's config: an unknown key, a
 * wrong type or a dangling reference is a ScenarioError naming the file and the path inside it.
 */
import { parseDocument } from 'yaml';
import { ScenarioError } from '../errors';
import { parseDurationMs } from './time';
import type {
  Call,
  CodeShare,
  DenialKind,
  Incident,
  MtlsMode,
  Pattern,
  Protocol,
  Restart,
  Scenario,
  Tls,
  Workload,
} from './scenario';

type Raw = Record<string, unknown>;

/** Where a value came from: the file and the path inside it, for error messages. */
class At {
  constructor(
    readonly source: string,
    readonly path: string,
  ) {}

  key(name: string): At {
    return new At(this.source, this.path ? `${this.path}.${name}` : name);
  }

  index(i: number): At {
    return new At(this.source, `${this.path}[${i}]`);
  }

  fail(problem: string): never {
    throw new ScenarioError(this.path, `${this.source}: ${this.path || '(top level)'}: ${problem}`);
  }
}

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

function object(value: unknown, at: At, allowed: readonly string[]): Raw {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) at.fail(`expected a mapping`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) at.key(key).fail(`unknown key (allowed: ${allowed.join(', ')})`);
  }
  return value as Raw;
}

function list(value: unknown, at: At): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) at.fail('expected a list');
  return value;
}

function required(raw: Raw, key: string, at: At): unknown {
  if (raw[key] === undefined || raw[key] === null) at.key(key).fail('required');
  return raw[key];
}

function text(value: unknown, at: At, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value === '') at.fail(`expected a non-empty string, got ${show(value)}`);
  return value;
}

// DNS-1123 label: what Kubernetes allows for names, and safe inside label values and pod names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function dnsName(value: unknown, at: At, fallback?: string): string {
  const name = text(value, at, fallback);
  if (!DNS_LABEL.test(name) || name.length > 63) {
    at.fail(`${show(name)} is not a Kubernetes name (lower-case letters, digits and '-', at most 63)`);
  }
  return name;
}

function num(
  value: unknown,
  at: At,
  range: { min?: number; max?: number; above?: number },
  fallback?: number,
) {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) at.fail(`expected a number, got ${show(value)}`);
  if (range.min !== undefined && value < range.min) at.fail(`must be at least ${range.min}, got ${value}`);
  if (range.above !== undefined && value <= range.above)
    at.fail(`must be above ${range.above}, got ${value}`);
  if (range.max !== undefined && value > range.max) at.fail(`must be at most ${range.max}, got ${value}`);
  return value;
}

function integer(value: unknown, at: At, min: number, fallback?: number): number {
  const n = num(value, at, { min }, fallback);
  if (!Number.isInteger(n)) at.fail(`expected a whole number, got ${n}`);
  return n;
}

function oneOf<T extends string>(value: unknown, at: At, allowed: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    at.fail(`expected one of ${allowed.join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

function bool(value: unknown, at: At, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') at.fail(`expected true or false, got ${show(value)}`);
  return value;
}

function duration(value: unknown, at: At, positive: boolean): number {
  const ms = typeof value === 'string' ? parseDurationMs(value) : value === 0 ? 0 : undefined;
  if (ms === undefined) at.fail(`expected a duration like 30m or 6d23h, got ${show(value)}`);
  if (positive && ms <= 0) at.fail('must be longer than 0');
  return ms;
}

const PATTERN_KEYS = ['daily_amplitude', 'peak_hour', 'weekend_factor', 'noise'] as const;

function pattern(value: unknown, at: At, base: Pattern): Pattern {
  if (value === undefined) return base;
  const raw = object(value, at, PATTERN_KEYS);
  return {
    dailyAmplitude: num(
      raw.daily_amplitude,
      at.key('daily_amplitude'),
      { min: 0, max: 1 },
      base.dailyAmplitude,
    ),
    peakHour: num(raw.peak_hour, at.key('peak_hour'), { min: 0, max: 24 }, base.peakHour),
    weekendFactor: num(raw.weekend_factor, at.key('weekend_factor'), { min: 0 }, base.weekendFactor),
    noise: num(raw.noise, at.key('noise'), { min: 0, max: 1 }, base.noise),
  };
}

/** A flat pattern: constant rate, no jitter. */
export const FLAT_PATTERN: Pattern = { dailyAmplitude: 0, peakHour: 14, weekendFactor: 1, noise: 0 };

const WORKLOAD_KEYS = [
  'name',
  'namespace',
  'service_account',
  'replicas',
  'mesh',
  'mtls',
  'app',
  'version',
  'service',
] as const;

function workload(value: unknown, at: At): Workload {
  const raw = object(value, at, WORKLOAD_KEYS);
  const name = dnsName(required(raw, 'name', at), at.key('name'));
  const namespace = dnsName(required(raw, 'namespace', at), at.key('namespace'));
  return {
    id: `${namespace}/${name}`,
    name,
    namespace,
    serviceAccount: dnsName(raw.service_account, at.key('service_account'), name),
    replicas: integer(raw.replicas, at.key('replicas'), 1, 1),
    mesh: bool(raw.mesh, at.key('mesh'), true),
    mtls: oneOf<MtlsMode>(raw.mtls, at.key('mtls'), ['permissive', 'strict'], 'permissive'),
    app: dnsName(raw.app, at.key('app'), name),
    version: raw.version === undefined ? undefined : dnsName(String(raw.version), at.key('version')),
    service: dnsName(raw.service, at.key('service'), name),
  };
}

/** Resolves `namespace/name`, or a bare `name` when only one workload has it. */
class Workloads {
  private readonly byId = new Map<string, Workload>();

  constructor(all: Workload[], at: At) {
    all.forEach((w, i) => {
      if (this.byId.has(w.id)) at.index(i).fail(`duplicate workload ${w.id}`);
      this.byId.set(w.id, w);
    });
  }

  resolve(value: unknown, at: At): Workload {
    const ref = text(value, at);
    const exact = this.byId.get(ref);
    if (exact) return exact;
    if (!ref.includes('/')) {
      const named = [...this.byId.values()].filter((w) => w.name === ref);
      if (named.length === 1 && named[0]) return named[0];
      if (named.length > 1) at.fail(`ambiguous workload ${ref}: write namespace/name`);
    }
    return at.fail(`unknown workload ${ref}`);
  }
}

function tls(value: unknown, at: At, from: Workload, to: Workload): Tls {
  const fallback: Tls = from.mesh && to.mesh ? 'mutual' : 'plaintext';
  const chosen = oneOf<Tls>(value, at, ['mutual', 'plaintext'], fallback);
  if (chosen === 'mutual' && !(from.mesh && to.mesh)) {
    at.fail(`mutual TLS needs both sides in the mesh, and ${from.mesh ? to.id : from.id} has no sidecar`);
  }
  if (chosen === 'plaintext' && to.mtls === 'strict') {
    at.fail(`${to.id} has mtls: strict and would refuse plaintext traffic`);
  }
  return chosen;
}

function codes(value: unknown, at: At, protocol: Protocol): CodeShare[] {
  if (protocol === 'tcp') {
    if (value !== undefined) at.fail('tcp calls have no response codes');
    return [];
  }
  if (value === undefined) return [{ code: 200, share: 1 }];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    at.fail('expected a mapping of response code to share, e.g. {200: 0.99, 503: 0.01}');
  }
  const shares = Object.entries(value).map(([key, share]) => {
    const code = Number(key);
    if (!Number.isInteger(code) || code < 100 || code > 599)
      at.fail(`${show(key)} is not an HTTP status code`);
    return { code, share: num(share, at.key(key), { above: 0, max: 1 }) };
  });
  const total = shares.reduce((sum, s) => sum + s.share, 0);
  if (Math.abs(total - 1) > 1e-6)
    at.fail(`shares must add up to 1, they add up to ${Number(total.toFixed(6))}`);
  return shares;
}

const CALL_KEYS = ['from', 'to', 'rate', 'protocol', 'codes', 'tls', 'pattern'] as const;

function call(raw: Raw, at: At, workloads: Workloads, basePattern: Pattern): Call {
  const from = workloads.resolve(required(raw, 'from', at), at.key('from'));
  const to = workloads.resolve(required(raw, 'to', at), at.key('to'));
  if (from.id === to.id) at.key('to').fail(`${to.id} cannot call itself`);
  if (!from.mesh && !to.mesh)
    at.fail(`neither ${from.id} nor ${to.id} has a sidecar, so nothing would report`);
  const protocol = oneOf<Protocol>(raw.protocol, at.key('protocol'), ['http', 'grpc', 'tcp'], 'http');
  return {
    from: from.id,
    to: to.id,
    rate: num(required(raw, 'rate', at), at.key('rate'), { above: 0 }),
    protocol,
    codes: codes(raw.codes, at.key('codes'), protocol),
    tls: tls(raw.tls, at.key('tls'), from, to),
    pattern: pattern(raw.pattern, at.key('pattern'), basePattern),
  };
}

const INCIDENT_KEYS: Record<Incident['kind'], readonly string[]> = {
  denial_spike: ['from', 'to', 'rate', 'denial', 'protocol', 'tls'],
  denial_ramp: ['from', 'to', 'start_rate', 'end_rate', 'denial', 'protocol', 'tls'],
  new_caller: ['from', 'to', 'rate', 'protocol', 'codes', 'tls', 'pattern'],
  plaintext_fallback: ['from', 'to', 'share'],
  traffic_change: ['to', 'factor'],
  error_burst: ['to', 'share', 'code'],
};

function incident(
  value: unknown,
  at: At,
  workloads: Workloads,
  calls: Call[],
  basePattern: Pattern,
): Incident {
  const kinds = Object.keys(INCIDENT_KEYS) as Incident['kind'][];
  const head = object(value, at, ['kind', 'at', 'duration', ...new Set(Object.values(INCIDENT_KEYS).flat())]);
  const kind = oneOf(required(head, 'kind', at), at.key('kind'), kinds);
  const raw = object(value, at, ['kind', 'at', 'duration', ...INCIDENT_KEYS[kind]]);
  const timed = {
    atMs: duration(required(raw, 'at', at), at.key('at'), false),
    durationMs: duration(required(raw, 'duration', at), at.key('duration'), true),
  };
  const existing = (from: Workload, to: Workload) =>
    calls.findIndex((c) => c.from === from.id && c.to === to.id);
  switch (kind) {
    case 'denial_spike':
    case 'denial_ramp': {
      const from = workloads.resolve(required(raw, 'from', at), at.key('from'));
      const to = workloads.resolve(required(raw, 'to', at), at.key('to'));
      if (!to.mesh) at.key('to').fail(`${to.id} has no sidecar, so no policy can deny its requests`);
      const common = {
        ...timed,
        from: from.id,
        to: to.id,
        denial: oneOf<DenialKind>(raw.denial, at.key('denial'), ['rbac', 'jwt', 'ext_authz'], 'rbac'),
        protocol: oneOf<'http' | 'grpc'>(raw.protocol, at.key('protocol'), ['http', 'grpc'], 'http'),
        tls: tls(raw.tls, at.key('tls'), from, to),
      };
      if (kind === 'denial_spike') {
        return { kind, ...common, rate: num(required(raw, 'rate', at), at.key('rate'), { above: 0 }) };
      }
      return {
        kind,
        ...common,
        startRate: num(required(raw, 'start_rate', at), at.key('start_rate'), { min: 0 }),
        endRate: num(required(raw, 'end_rate', at), at.key('end_rate'), { above: 0 }),
      };
    }
    case 'new_caller': {
      const made = call(raw, at, workloads, basePattern);
      const known = calls.findIndex((c) => c.from === made.from && c.to === made.to);
      if (known >= 0) at.fail(`${made.from} already calls ${made.to} (calls[${known}])`);
      return { kind, ...timed, call: made };
    }
    case 'plaintext_fallback': {
      const from = workloads.resolve(required(raw, 'from', at), at.key('from'));
      const to = workloads.resolve(required(raw, 'to', at), at.key('to'));
      const index = existing(from, to);
      if (index < 0) at.fail(`${from.id} does not call ${to.id}: a fallback needs an existing call`);
      if (calls[index]?.tls === 'plaintext') at.fail(`calls[${index}] is already plaintext`);
      if (to.mtls === 'strict')
        at.key('to').fail(`${to.id} has mtls: strict and would refuse plaintext traffic`);
      return {
        kind,
        ...timed,
        from: from.id,
        to: to.id,
        share: num(raw.share, at.key('share'), { above: 0, max: 1 }, 1),
      };
    }
    case 'traffic_change': {
      const to = workloads.resolve(required(raw, 'to', at), at.key('to'));
      return {
        kind,
        ...timed,
        to: to.id,
        factor: num(required(raw, 'factor', at), at.key('factor'), { min: 0 }),
      };
    }
    case 'error_burst': {
      const to = workloads.resolve(required(raw, 'to', at), at.key('to'));
      const code = integer(raw.code, at.key('code'), 500, 503);
      if (code > 599) at.key('code').fail(`must be a 5xx status code, got ${code}`);
      return {
        kind,
        ...timed,
        to: to.id,
        share: num(required(raw, 'share', at), at.key('share'), { above: 0, max: 1 }),
        code,
      };
    }
  }
}

const RESTART_KEYS = ['workload', 'replica', 'at'] as const;

function restart(value: unknown, at: At, workloads: Workloads): Restart {
  const raw = object(value, at, RESTART_KEYS);
  const target = workloads.resolve(required(raw, 'workload', at), at.key('workload'));
  if (!target.mesh) at.key('workload').fail(`${target.id} has no sidecar, so it has no counters to reset`);
  const replica = integer(raw.replica, at.key('replica'), 0, 0);
  if (replica >= target.replicas)
    at.key('replica').fail(`${target.id} has ${target.replicas} replica(s): 0..${target.replicas - 1}`);
  return { workload: target.id, replica, atMs: duration(required(raw, 'at', at), at.key('at'), false) };
}

const TOP_KEYS = [
  'name',
  'description',
  'seed',
  'trust_domain',
  'cluster',
  'pattern',
  'workloads',
  'calls',
  'restarts',
  'incidents',
] as const;

/** Validates an already-parsed scenario document (`source` names the file in messages). */
export function scenarioFromObject(value: unknown, source: string): Scenario {
  const at = new At(source, '');
  const raw = object(value, at, TOP_KEYS);
  const basePattern = pattern(raw.pattern, at.key('pattern'), FLAT_PATTERN);
  const workloadList = list(required(raw, 'workloads', at), at.key('workloads')).map((w, i) =>
    workload(w, at.key('workloads').index(i)),
  );
  const workloads = new Workloads(workloadList, at.key('workloads'));
  const calls: Call[] = [];
  list(raw.calls, at.key('calls')).forEach((c, i) => {
    const callAt = at.key('calls').index(i);
    const made = call(object(c, callAt, CALL_KEYS), callAt, workloads, basePattern);
    const twin = calls.findIndex((other) => other.from === made.from && other.to === made.to);
    if (twin >= 0) callAt.fail(`duplicate call ${made.from} -> ${made.to} (calls[${twin}])`);
    calls.push(made);
  });
  return {
    name: text(raw.name, at.key('name'), source),
    description: raw.description === undefined ? '' : text(raw.description, at.key('description')),
    seed: integer(raw.seed, at.key('seed'), 0, 1),
    trustDomain: text(raw.trust_domain, at.key('trust_domain'), 'cluster.local'),
    cluster: text(raw.cluster, at.key('cluster'), 'Kubernetes'),
    workloads: workloadList,
    calls,
    restarts: list(raw.restarts, at.key('restarts')).map((r, i) =>
      restart(r, at.key('restarts').index(i), workloads),
    ),
    incidents: list(raw.incidents, at.key('incidents')).map((x, i) =>
      incident(x, at.key('incidents').index(i), workloads, calls, basePattern),
    ),
  };
}

/** Parses YAML text into a plain object, or a ScenarioError with the line and column. */
export function parseScenarioYaml(yamlText: string, source: string): unknown {
  const doc = parseDocument(yamlText, { uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const where = first.linePos?.[0];
    const place = where ? `line ${where.line}, column ${where.col}` : '(top level)';
    throw new ScenarioError(
      '',
      `${source}: ${place}: ${(first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      { cause: first },
    );
  }
  return doc.toJS();
}

/** Parses and validates scenario YAML text; `source` (the file name) prefixes every error message. */
export function parseScenario(yamlText: string, source: string): Scenario {
  return scenarioFromObject(parseScenarioYaml(yamlText, source), source);
}
