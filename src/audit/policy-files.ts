/**
 * Reading Istio policy YAML for the dry-run: every `*.yaml`/`*.yml` under a folder, multi-document
 * files and `kind: List` items included. AuthorizationPolicy and PeerAuthentication objects are kept
 * (checked as strictly as Istio's own validation, so that a typo is an error rather than a policy
 * that silently means something else); any other object is listed as ignored.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { UsageError } from '../errors';

/** The `action` of an AuthorizationPolicy (Istio's default is ALLOW). */
export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

/** `rules[].from[].source`: every field optional, fields ANDed, values ORed. */
export interface PolicySource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

/** `rules[].to[].operation`. */
export interface PolicyOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

/** `rules[].when[]`. */
export interface PolicyCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

/** One rule: it matches when one source, one operation and every condition match. */
export interface PolicyRule {
  from?: PolicySource[];
  to?: PolicyOperation[];
  when?: PolicyCondition[];
}

/** A `targetRefs` entry (Gateway API policy attachment). */
export interface PolicyTargetRef {
  group: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** An AuthorizationPolicy as read from a file, with its defaults filled. */
export interface LoadedAuthorizationPolicy {
  kind: 'AuthorizationPolicy';
  apiVersion: string;
  namespace: string;
  name: string;
  file: string;
  /** 1-based index of the YAML document in the file. */
  document: number;
  /** `istio.io/dry-run: "true"`: Istio does not enforce it. */
  dryRunAnnotation: boolean;
  action: AuthorizationAction;
  provider?: string;
  /** `matchLabels`; undefined without a selector (an empty map selects every workload too). */
  selector?: Record<string, string>;
  /** `targetRefs`, plus the older singular `targetRef`; undefined when neither is set. */
  targetRefs?: PolicyTargetRef[];
  /** Undefined when `rules` is absent: such a policy never matches. */
  rules?: PolicyRule[];
}

/** A PeerAuthentication mTLS mode. */
export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

/** A PeerAuthentication as read from a file. */
export interface LoadedPeerAuthentication {
  kind: 'PeerAuthentication';
  apiVersion: string;
  namespace: string;
  name: string;
  file: string;
  document: number;
  selector?: Record<string, string>;
  mode: MtlsMode;
  portLevelMtls: Record<string, MtlsMode>;
}

/** The policies read from a folder, each with its file, and the objects that were not policies. */
export interface PolicySet {
  authorizationPolicies: LoadedAuthorizationPolicy[];
  peerAuthentications: LoadedPeerAuthentication[];
  ignored: Array<{ kind: string; name: string; file: string }>;
}

/** Options of `loadPolicyFiles` / `parsePolicyText`. */
export interface PolicyFileOptions {
  /** Namespace of objects without `metadata.namespace` (what `kubectl apply` without `-n` uses). */
  defaultNamespace?: string;
}

const API_VERSIONS = new Set(['security.istio.io/v1', 'security.istio.io/v1beta1']);
const ACTIONS: readonly AuthorizationAction[] = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];
const MODES: readonly MtlsMode[] = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];
const SOURCE_FIELDS: ReadonlyArray<keyof PolicySource> = [
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
  'serviceAccounts',
  'notServiceAccounts',
  'ipBlocks',
  'notIpBlocks',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
];
const OPERATION_FIELDS: ReadonlyArray<keyof PolicyOperation> = [
  'hosts',
  'notHosts',
  'ports',
  'notPorts',
  'methods',
  'notMethods',
  'paths',
  'notPaths',
];

/** Reads every `*.yaml`/`*.yml` under `dir` (recursively, in name order); throws UsageError naming the file. */
export function loadPolicyFiles(dir: string, options: PolicyFileOptions = {}): PolicySet {
  const set: PolicySet = { authorizationPolicies: [], peerAuthentications: [], ignored: [] };
  for (const path of listYamlFiles(dir)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`${path}: cannot read the policy file (${String(err)})`, { cause: err });
    }
    const part = parsePolicyText(text, relative(dir, path), options);
    set.authorizationPolicies.push(...part.authorizationPolicies);
    set.peerAuthentications.push(...part.peerAuthentications);
    set.ignored.push(...part.ignored);
  }
  return set;
}

function listYamlFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new UsageError(`${dir}: cannot read the policies folder (${String(err)})`, { cause: err });
  }
  const files: string[] = [];
  for (const entry of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listYamlFiles(path));
    else if (entry.isFile() && /\.ya?ml$/i.test(entry.name)) files.push(path);
  }
  return files;
}

/** Parses one file's text (pure); `file` names it in the PolicySet and in errors. */
export function parsePolicyText(text: string, file: string, options: PolicyFileOptions = {}): PolicySet {
  const set: PolicySet = { authorizationPolicies: [], peerAuthentications: [], ignored: [] };
  const documents = parseAllDocuments(text, { version: '1.2', uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((doc, i) => {
    const where = `${file} (document ${i + 1})`;
    const problem = doc.errors[0];
    if (problem !== undefined) throw new UsageError(`${where}: not valid YAML: ${problem.message}`);
    const value: unknown = doc.toJS();
    // An empty document (a trailing `---`, a file of comments) holds no object.
    if (value === null || value === undefined) return;
    collect(value, where, file, i + 1, options, set);
  });
  return set;
}

function collect(
  value: unknown,
  where: string,
  file: string,
  document: number,
  options: PolicyFileOptions,
  set: PolicySet,
): void {
  if (!isRecord(value)) throw new UsageError(`${where}: a Kubernetes object must be a mapping`);
  const kind = typeof value.kind === 'string' ? value.kind : '';
  const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : '';
  // `kubectl get -o yaml` writes `kind: List` (and `...List` kinds) with the objects under `items`.
  if (kind === 'List' || (kind.endsWith('List') && Array.isArray(value.items))) {
    const items = value.items ?? [];
    if (!Array.isArray(items)) throw new UsageError(`${where}: \`items\` of a List must be a list`);
    items.forEach((item, j) => collect(item, `${where} item ${j + 1}`, file, document, options, set));
    return;
  }
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const isPolicy =
    API_VERSIONS.has(apiVersion) && (kind === 'AuthorizationPolicy' || kind === 'PeerAuthentication');
  if (!isPolicy) {
    set.ignored.push({ kind: kind || '(no kind)', name, file });
    return;
  }
  if (name === '') throw new UsageError(`${where}: ${kind} needs metadata.name`);
  const namespace =
    typeof metadata.namespace === 'string' && metadata.namespace !== ''
      ? metadata.namespace
      : (options.defaultNamespace ?? 'default');
  const at = `${where}: ${kind} ${namespace}/${name}`;
  const spec = value.spec ?? {};
  if (!isRecord(spec)) throw new UsageError(`${at}: spec must be a mapping`);
  const base = { apiVersion, namespace, name, file, document };
  if (kind === 'AuthorizationPolicy') {
    const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
    set.authorizationPolicies.push({
      kind,
      ...base,
      dryRunAnnotation: String(annotations['istio.io/dry-run']) === 'true',
      ...parseAuthorizationSpec(spec, at),
    });
  } else {
    set.peerAuthentications.push({ kind: 'PeerAuthentication', ...base, ...parsePeerSpec(spec, at) });
  }
}

type AuthorizationFields = Pick<
  LoadedAuthorizationPolicy,
  'action' | 'provider' | 'selector' | 'targetRefs' | 'rules'
>;

// The checks follow Istio's admission validation (istio/istio pkg/config/validation,
// ValidateAuthorizationPolicy) so that what Istio refuses is refused here, with its wording.
function parseAuthorizationSpec(spec: Record<string, unknown>, at: string): AuthorizationFields {
  onlyKeys(spec, ['action', 'provider', 'rules', 'selector', 'targetRef', 'targetRefs'], `${at}: spec`);
  const action = spec.action ?? 'ALLOW';
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(
      `${at}: spec.action must be one of ${ACTIONS.join(', ')}, found ${JSON.stringify(action)}`,
    );
  }
  const typedAction = action as AuthorizationAction;
  let provider: string | undefined;
  if (spec.provider !== undefined) {
    if (!isRecord(spec.provider)) throw new UsageError(`${at}: spec.provider must be a mapping`);
    onlyKeys(spec.provider, ['name'], `${at}: spec.provider`);
    if (typeof spec.provider.name !== 'string')
      throw new UsageError(`${at}: spec.provider.name must be a string`);
    provider = spec.provider.name;
    if (typedAction !== 'CUSTOM') {
      throw new UsageError(`${at}: \`provider\` must not be with non CUSTOM action, found ${typedAction}`);
    }
  }
  const selector = parseSelector(spec.selector, `${at}: spec.selector`);
  const targetRefs = parseTargetRefs(spec, at);
  if ([spec.selector, spec.targetRef, spec.targetRefs].filter((v) => v !== undefined).length > 1) {
    throw new UsageError(`${at}: only one of targetRefs or workloadSelector can be set`);
  }
  let rules: PolicyRule[] | undefined;
  if (spec.rules !== undefined && spec.rules !== null) {
    if (!Array.isArray(spec.rules)) throw new UsageError(`${at}: spec.rules must be a list`);
    rules = spec.rules.map((rule, i) => parseRule(rule, `${at}: spec.rules[${i}]`));
  }
  if (typedAction === 'CUSTOM' && rules === undefined) {
    throw new UsageError(
      `${at}: CUSTOM action without \`rules\` is meaningless as it will never be triggered`,
    );
  }
  if (typedAction === 'CUSTOM' && (provider === undefined || provider === '')) {
    throw new UsageError(`${at}: \`provider.name\` must not be empty`);
  }
  if (typedAction === 'DENY' && rules === undefined) {
    throw new UsageError(`${at}: DENY action without \`rules\` is meaningless as it will never be triggered`);
  }
  const out: AuthorizationFields = { action: typedAction };
  if (provider !== undefined) out.provider = provider;
  if (selector !== undefined) out.selector = selector;
  if (targetRefs !== undefined) out.targetRefs = targetRefs;
  if (rules !== undefined) out.rules = rules;
  return out;
}

function parseTargetRefs(spec: Record<string, unknown>, at: string): PolicyTargetRef[] | undefined {
  const refs: unknown[] = [];
  if (spec.targetRef !== undefined) refs.push(spec.targetRef);
  if (spec.targetRefs !== undefined) {
    if (!Array.isArray(spec.targetRefs)) throw new UsageError(`${at}: spec.targetRefs must be a list`);
    refs.push(...(spec.targetRefs as unknown[]));
  }
  if (spec.targetRef === undefined && spec.targetRefs === undefined) return undefined;
  return refs.map((ref, i) => {
    const where = `${at}: spec.targetRefs[${i}]`;
    if (!isRecord(ref)) throw new UsageError(`${where} must be a mapping`);
    onlyKeys(ref, ['group', 'kind', 'name', 'namespace'], where);
    for (const key of ['group', 'kind', 'name', 'namespace'] as const) {
      if (ref[key] !== undefined && typeof ref[key] !== 'string')
        throw new UsageError(`${where}.${key} must be a string`);
    }
    if (typeof ref.kind !== 'string' || ref.kind === '')
      throw new UsageError(`${where}.kind must not be empty`);
    if (typeof ref.name !== 'string' || ref.name === '')
      throw new UsageError(`${where}.name must not be empty`);
    const out: PolicyTargetRef = {
      group: (ref.group as string | undefined) ?? '',
      kind: ref.kind,
      name: ref.name,
    };
    if (typeof ref.namespace === 'string') out.namespace = ref.namespace;
    return out;
  });
}

function parseRule(rule: unknown, at: string): PolicyRule {
  if (rule === null) throw new UsageError(`${at}: \`rule\` must not be nil`);
  if (!isRecord(rule)) throw new UsageError(`${at} must be a mapping`);
  onlyKeys(rule, ['from', 'to', 'when'], at);
  const out: PolicyRule = {};
  if (rule.from !== undefined) {
    if (!Array.isArray(rule.from) || rule.from.length === 0)
      throw new UsageError(`${at}: \`from\` must be a non-empty list`);
    out.from = rule.from.map((entry, i) => {
      const where = `${at}.from[${i}]`;
      if (!isRecord(entry)) throw new UsageError(`${where} must be a mapping`);
      onlyKeys(entry, ['source'], where);
      if (!isRecord(entry.source)) throw new UsageError(`${where}: \`from.source\` must not be nil`);
      return stringLists(
        entry.source,
        SOURCE_FIELDS,
        `${where}.source`,
        '`from.source` must not be empty',
      ) as PolicySource;
    });
  }
  if (rule.to !== undefined) {
    if (!Array.isArray(rule.to) || rule.to.length === 0)
      throw new UsageError(`${at}: \`to\` must be a non-empty list`);
    out.to = rule.to.map((entry, i) => {
      const where = `${at}.to[${i}]`;
      if (!isRecord(entry)) throw new UsageError(`${where} must be a mapping`);
      onlyKeys(entry, ['operation'], where);
      if (!isRecord(entry.operation)) throw new UsageError(`${where}: \`to.operation\` must not be nil`);
      return stringLists(
        entry.operation,
        OPERATION_FIELDS,
        `${where}.operation`,
        '`to.operation` must not be empty',
      ) as PolicyOperation;
    });
  }
  if (rule.when !== undefined) {
    if (!Array.isArray(rule.when)) throw new UsageError(`${at}: \`when\` must be a list`);
    out.when = rule.when.map((entry, i) => {
      const where = `${at}.when[${i}]`;
      if (!isRecord(entry)) throw new UsageError(`${where} must be a mapping`);
      onlyKeys(entry, ['key', 'values', 'notValues'], where);
      if (typeof entry.key !== 'string' || entry.key === '')
        throw new UsageError(`${where}: \`key\` must not be empty`);
      const lists = stringLists(entry, ['values', 'notValues'], where, '');
      if (lists.values === undefined && lists.notValues === undefined) {
        throw new UsageError(
          `${where}: at least one of \`values\` or \`notValues\` must be set for key ${entry.key}`,
        );
      }
      return { key: entry.key, ...lists };
    });
  }
  return out;
}

/** Copies the string-list fields of `value` (all optional), refusing other keys and other types. */
function stringLists(
  value: Record<string, unknown>,
  fields: readonly string[],
  at: string,
  emptyMessage: string,
): Record<string, string[]> {
  onlyKeys(value, [...fields, ...(fields.includes('values') ? ['key'] : [])], at);
  const out: Record<string, string[]> = {};
  for (const field of fields) {
    const list = value[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
      throw new UsageError(`${at}.${field} must be a list of strings`);
    }
    if (list.some((v) => v === '')) throw new UsageError(`${at}.${field}: empty value is not allowed`);
    out[field] = list as string[];
  }
  if (emptyMessage !== '' && Object.keys(out).length === 0) throw new UsageError(`${at}: ${emptyMessage}`);
  return out;
}

function parseSelector(selector: unknown, at: string): Record<string, string> | undefined {
  if (selector === undefined || selector === null) return undefined;
  if (!isRecord(selector)) throw new UsageError(`${at} must be a mapping`);
  onlyKeys(selector, ['matchLabels'], at);
  const labels = selector.matchLabels ?? {};
  if (!isRecord(labels)) throw new UsageError(`${at}.matchLabels must be a mapping`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== 'string') throw new UsageError(`${at}.matchLabels.${key} must be a string`);
    out[key] = value;
  }
  return out;
}

function parsePeerSpec(
  spec: Record<string, unknown>,
  at: string,
): Pick<LoadedPeerAuthentication, 'selector' | 'mode' | 'portLevelMtls'> {
  onlyKeys(spec, ['selector', 'mtls', 'portLevelMtls'], `${at}: spec`);
  const selector = parseSelector(spec.selector, `${at}: spec.selector`);
  const mode = parseMode(spec.mtls, `${at}: spec.mtls`);
  const portLevelMtls: Record<string, MtlsMode> = {};
  if (spec.portLevelMtls !== undefined) {
    if (!isRecord(spec.portLevelMtls)) throw new UsageError(`${at}: spec.portLevelMtls must be a mapping`);
    // Istio's CRD rule (istio/api PeerAuthentication XValidation).
    if (selector === undefined || Object.keys(selector).length === 0) {
      throw new UsageError(`${at}: portLevelMtls requires selector`);
    }
    for (const [port, value] of Object.entries(spec.portLevelMtls)) {
      const n = Number(port);
      if (!Number.isInteger(n) || n < 1 || n > 65535) {
        throw new UsageError(`${at}: spec.portLevelMtls port must be in range 1..65535, found ${port}`);
      }
      portLevelMtls[port] = parseMode(value, `${at}: spec.portLevelMtls.${port}`);
    }
  }
  const out: Pick<LoadedPeerAuthentication, 'selector' | 'mode' | 'portLevelMtls'> = { mode, portLevelMtls };
  if (selector !== undefined) out.selector = selector;
  return out;
}

function parseMode(mtls: unknown, at: string): MtlsMode {
  if (mtls === undefined || mtls === null) return 'UNSET';
  if (!isRecord(mtls)) throw new UsageError(`${at} must be a mapping`);
  onlyKeys(mtls, ['mode'], at);
  const mode = mtls.mode ?? 'UNSET';
  if (typeof mode !== 'string' || !(MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`${at}.mode must be one of ${MODES.join(', ')}, found ${JSON.stringify(mode)}`);
  }
  return mode as MtlsMode;
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], at: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new UsageError(`${at}: unknown field ${JSON.stringify(key)} (allowed: ${allowed.join(', ')})`);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
