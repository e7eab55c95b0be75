/**
 * The exporter-toolkit web configuration file (`server.web_config_file`): the format every
 * Prometheus exporter reads with `--web.config.file`, so that meshwatch is secured as they are.
 * `parseWebConfig` is pure (text in, typed settings or one ConfigError out); `loadWebConfig` reads
 * the file and the PEM files it names and checks that they make a working TLS context. The check of
 * `basic_auth_users` is in basic-auth.ts.
 */
import { createSecureContext, type TlsOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from '../../errors';

/** The config key that names the file; every error carries it. */
export const WEB_CONFIG_KEY = 'server.web_config_file';

/** exporter-toolkit's `client_auth_type` values, with Go's crypto/tls meaning. */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
/** One of `CLIENT_AUTH_TYPES`. */
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersionName = keyof typeof TLS_VERSIONS;

// Go's tls.CipherSuites() (the secure ones exporter-toolkit accepts) by their OpenSSL names. As in Go,
// they only choose among TLS 1.0-1.2 suites; TLS 1.3 suites are not configurable.
const CIPHER_SUITES: Record<string, string> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
};
const TLS13_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

const CURVES: Record<string, string> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

// exporter-toolkit allows only these response headers (and these values where they are an enumeration),
// so that every exporter in the ecosystem takes the same file.
const HEADERS: Record<string, readonly string[] | undefined> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

/** A PEM value: a file (absolute after parsing) or the PEM text given inline. */
export type Pem = { file: string } | { inline: string };

/** `tls_server_config`, validated; versions and suites already in Node's (OpenSSL's) names. */
export interface TlsServerSettings {
  cert: Pem;
  key: Pem;
  clientCa?: Pem;
  clientAuth: ClientAuthType;
  clientAllowedSans?: string[];
  minVersion: (typeof TLS_VERSIONS)[TlsVersionName];
  maxVersion: (typeof TLS_VERSIONS)[TlsVersionName];
  /** OpenSSL cipher list (TLS 1.2 and below), unset: Node's defaults. */
  ciphers?: string;
  /** OpenSSL curve list (`ecdhCurve`), unset: Node's defaults. */
  curves?: string;
  honorCipherOrder: boolean;
}

/** The whole file, validated. No TLS and no users: plain HTTP without authentication, as without a file. */
export interface WebConfig {
  tls?: TlsServerSettings;
  /** Response headers from `http_server_config.headers`. */
  headers: Record<string, string>;
  /** `basic_auth_users`: user name to bcrypt hash; empty: no basic auth. */
  users: Record<string, string>;
}

/** The file loaded: its settings, and the Node TLS options built from the PEM files it names. */
export interface LoadedWebConfig {
  config: WebConfig;
  /** Set when the file configures TLS. */
  tlsOptions?: TlsOptions;
}

type Mapping = Record<string, unknown>;

/** Parses and validates the file's text; `file` names it in messages and anchors relative paths. */
export function parseWebConfig(text: string, file: string, sourceName = file): WebConfig {
  const fail = (key: string, problem: string): never => {
    throw new ConfigError(WEB_CONFIG_KEY, `${sourceName}: ${key === '' ? '' : `${key}: `}${problem}`);
  };
  const root = parseYaml(text, sourceName) ?? {};
  const top = mapping(root, '', fail) ?? {};
  allowOnly(top, '', ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit'], fail);
  if (top.rate_limit !== undefined) {
    fail('rate_limit', 'not supported by meshwatch (limit the rate at the ingress or proxy in front of it)');
  }
  const dir = dirname(resolve(file));
  return {
    ...(top.tls_server_config === undefined ? {} : tlsSettings(top.tls_server_config, dir, fail)),
    headers: httpHeaders(top.http_server_config, fail),
    users: users(top.basic_auth_users, fail),
  };
}

function tlsSettings(value: unknown, dir: string, fail: Fail): { tls?: TlsServerSettings } {
  const t = mapping(value, 'tls_server_config', fail);
  if (t === undefined || Object.keys(t).length === 0) return {};
  allowOnly(
    t,
    'tls_server_config',
    [
      'cert',
      'key',
      'client_ca',
      'cert_file',
      'key_file',
      'client_auth_type',
      'client_ca_file',
      'client_allowed_sans',
      'min_version',
      'max_version',
      'cipher_suites',
      'prefer_server_cipher_suites',
      'curve_preferences',
    ],
    fail,
  );
  const at = (key: string): string => `tls_server_config.${key}`;
  const pem = (inlineKey: string, fileKey: string, required: boolean): Pem | undefined => {
    const inline = optionalString(t[inlineKey], at(inlineKey), fail);
    const path = optionalString(t[fileKey], at(fileKey), fail);
    if (inline !== undefined && path !== undefined)
      fail(at(fileKey), `set together with ${at(inlineKey)} (choose one)`);
    if (path !== undefined) return { file: resolve(dir, path) };
    if (inline !== undefined) return { inline };
    // Without a certificate and key there is no TLS server; exporter-toolkit says the same.
    return required ? fail('tls_server_config', `missing one of ${fileKey} or ${inlineKey}`) : undefined;
  };
  const cert = pem('cert', 'cert_file', true) as Pem;
  const key = pem('key', 'key_file', true) as Pem;
  const clientCa = pem('client_ca', 'client_ca_file', false);

  const clientAuth = (optionalString(t.client_auth_type, at('client_auth_type'), fail) ??
    'NoClientCert') as ClientAuthType;
  // Kept for compatibility, as exporter-toolkit does: the old name of RequireAnyClientCert.
  const auth = (clientAuth as string) === 'RequireClientCert' ? 'RequireAnyClientCert' : clientAuth;
  if (!CLIENT_AUTH_TYPES.includes(auth)) {
    fail(
      at('client_auth_type'),
      `${JSON.stringify(clientAuth)} is not allowed (allowed: ${CLIENT_AUTH_TYPES.join(', ')})`,
    );
  }
  if (clientCa !== undefined && auth === 'NoClientCert') {
    fail(
      at('client_ca_file'),
      'a client CA is set but client_auth_type is NoClientCert (set client_auth_type)',
    );
  }
  // Stricter than exporter-toolkit, which falls back to the system CAs: a client certificate from
  // any public CA would then be let in, which nobody means.
  if (
    (auth === 'VerifyClientCertIfGiven' || auth === 'RequireAndVerifyClientCert') &&
    clientCa === undefined
  ) {
    fail(
      at('client_auth_type'),
      `${auth} needs client_ca_file (or client_ca) to verify client certificates with`,
    );
  }
  const sans = optionalStrings(t.client_allowed_sans, at('client_allowed_sans'), fail);
  if (sans !== undefined && auth !== 'RequireAnyClientCert' && auth !== 'RequireAndVerifyClientCert') {
    fail(
      at('client_allowed_sans'),
      'needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert (otherwise a client may send no certificate to match)',
    );
  }
  const version = (name: 'min_version' | 'max_version', fallback: TlsVersionName): TlsVersionName => {
    const v = optionalString(t[name], at(name), fail) ?? fallback;
    if (!(v in TLS_VERSIONS)) {
      fail(
        at(name),
        `${JSON.stringify(v)} is not a TLS version (allowed: ${Object.keys(TLS_VERSIONS).join(', ')})`,
      );
    }
    return v as TlsVersionName;
  };
  const min = version('min_version', 'TLS12');
  const max = version('max_version', 'TLS13');
  if (min > max) fail(at('min_version'), `${min} is above max_version ${max}`);
  const named = (key: string, table: Record<string, string>, what: string): string[] | undefined =>
    optionalStrings(t[key], at(key), fail)?.map((name) => {
      const mapped = table[name];
      return (
        mapped ??
        fail(at(key), `unknown ${what} ${JSON.stringify(name)} (allowed: ${Object.keys(table).join(', ')})`)
      );
    });
  const ciphers = named('cipher_suites', CIPHER_SUITES, 'cipher suite');
  const curves = named('curve_preferences', CURVES, 'curve');
  const prefer = t.prefer_server_cipher_suites ?? true;
  if (typeof prefer !== 'boolean')
    fail(at('prefer_server_cipher_suites'), `${show(prefer)} is not a boolean (allowed: true, false)`);
  return {
    tls: {
      cert,
      key,
      ...(clientCa === undefined ? {} : { clientCa }),
      clientAuth: auth,
      ...(sans === undefined ? {} : { clientAllowedSans: sans }),
      minVersion: TLS_VERSIONS[min],
      maxVersion: TLS_VERSIONS[max],
      // TLS 1.3 suites stay as Node has them: listing only 1.2 suites would otherwise turn TLS 1.3 off.
      ...(ciphers?.length ? { ciphers: [TLS13_SUITES, ...ciphers].join(':') } : {}),
      ...(curves?.length ? { curves: curves.join(':') } : {}),
      honorCipherOrder: prefer as boolean,
    },
  };
}

function httpHeaders(value: unknown, fail: Fail): Record<string, string> {
  const h = mapping(value, 'http_server_config', fail);
  if (h === undefined) return {};
  allowOnly(h, 'http_server_config', ['http2', 'headers'], fail);
  // Accepted so that a file shared with other exporters loads; meshwatch serves HTTP/1.1 either way.
  if (h.http2 !== undefined && typeof h.http2 !== 'boolean') {
    fail('http_server_config.http2', `${show(h.http2)} is not a boolean (allowed: true, false)`);
  }
  const headers = mapping(h.headers, 'http_server_config.headers', fail) ?? {};
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    const key = `http_server_config.headers.${name}`;
    if (!(name in HEADERS))
      fail(key, `this header can not be configured (allowed: ${Object.keys(HEADERS).join(', ')})`);
    const v = optionalString(raw, key, fail);
    if (v === undefined) continue;
    const allowed = HEADERS[name];
    if (allowed && !allowed.includes(v))
      fail(key, `${JSON.stringify(v)} is not allowed (allowed: ${allowed.join(', ')})`);
    out[name] = v;
  }
  return out;
}

// $2a$, $2b$ and $2y$ (htpasswd -B) are the same algorithm; the cost is two digits, the rest 53 characters.
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

function users(value: unknown, fail: Fail): Record<string, string> {
  const u = mapping(value, 'basic_auth_users', fail) ?? {};
  const out: Record<string, string> = {};
  for (const [user, hash] of Object.entries(u)) {
    const key = `basic_auth_users.${user}`;
    // RFC 7617: the user-id ends at the first colon, so such a user could never log in.
    if (user.includes(':'))
      fail(key, 'a user name cannot contain ":" (basic auth splits user and password there)');
    if (typeof hash !== 'string')
      fail(key, `${show(hash)} is not a bcrypt hash (make one with: htpasswd -nBC 10 "" | tr -d ':\\n')`);
    const match = BCRYPT.exec(hash as string);
    const cost = Number(match?.[1]);
    if (!match || cost < 4 || cost > 31) {
      fail(
        key,
        `not a bcrypt hash ($2y$10$ and 53 characters; make one with: htpasswd -nBC 10 "" | tr -d ':\\n')`,
      );
    }
    out[user] = hash as string;
  }
  return out;
}

/** Reads `file` and the PEM files it names, and checks that they make a working TLS context. */
export function loadWebConfig(file: string): LoadedWebConfig {
  const sourceName = `${WEB_CONFIG_KEY} ${file}`;
  const config = parseWebConfig(readFile(file, WEB_CONFIG_KEY, file), file, sourceName);
  return config.tls === undefined ? { config } : { config, tlsOptions: tlsOptionsOf(config.tls, sourceName) };
}

/** The Node TLS server options of `tls`, reading its PEM files now; throws ConfigError naming the key. */
export function tlsOptionsOf(tls: TlsServerSettings, sourceName: string): TlsOptions {
  const fail = (key: string, problem: string, cause?: unknown): never => {
    throw new ConfigError(WEB_CONFIG_KEY, `${sourceName}: tls_server_config.${key}: ${problem}`, { cause });
  };
  const read = (pem: Pem, key: string): string =>
    'inline' in pem ? pem.inline : readFile(pem.file, `${sourceName}: tls_server_config.${key}`, pem.file);
  const cert = read(tls.cert, 'file' in tls.cert ? 'cert_file' : 'cert');
  const key = read(tls.key, 'file' in tls.key ? 'key_file' : 'key');
  const caKey = tls.clientCa && 'file' in tls.clientCa ? 'client_ca_file' : 'client_ca';
  const ca = tls.clientCa === undefined ? undefined : read(tls.clientCa, caKey);
  if (ca !== undefined) {
    const certificates = pemCertificates(ca);
    if (certificates.length === 0) fail(caKey, 'holds no PEM certificate');
    certificates.forEach((pem) => {
      try {
        new X509Certificate(pem);
      } catch (err) {
        fail(caKey, `holds a certificate that does not parse (${(err as Error).message})`, err);
      }
    });
  }
  const options: TlsOptions = {
    cert,
    key,
    ...(ca === undefined ? {} : { ca }),
    // The handshake asks for a certificate unless NoClientCert; only RequireAndVerifyClientCert lets Node
    // refuse it there, the other kinds are checked per connection by `clientCertificateProblem`.
    requestCert: tls.clientAuth !== 'NoClientCert',
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
    ...(tls.curves === undefined ? {} : { ecdhCurve: tls.curves }),
    honorCipherOrder: tls.honorCipherOrder,
  };
  try {
    createSecureContext(options);
  } catch (err) {
    const message = (err as Error).message.replace(/^error:[0-9A-F]+:/, '');
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const culprit = /KEY_VALUES_MISMATCH/.test(code)
      ? ['key_file', 'does not belong to the certificate in cert_file']
      : /DECODER|BAD_BASE64|UNSUPPORTED|PRIVATE_KEY/i.test(code + message)
        ? ['key_file', `is not a PEM private key (${message})`]
        : /PEM|X509|CERT/i.test(code + message)
          ? ['cert_file', `is not a PEM certificate (${message})`]
          : /CIPHER/i.test(code)
            ? ['cipher_suites', `not supported by this OpenSSL (${message})`]
            : ['', message];
    const [k, problem] = culprit as [string, string];
    throw new ConfigError(
      WEB_CONFIG_KEY,
      `${sourceName}: tls_server_config${k === '' ? '' : `.${fileKeyName(tls, k)}`}: ${problem}`,
      { cause: err },
    );
  }
  return options;
}

/** The PEM files `tls` reads (not the inline PEM), for noticing when they are renewed. */
export function pemFilesOf(tls: TlsServerSettings): string[] {
  return [tls.cert, tls.key, ...(tls.clientCa ? [tls.clientCa] : [])].flatMap((pem) =>
    'file' in pem ? [pem.file] : [],
  );
}

/** `cert_file` or `cert` (and so on), whichever the file used. */
function fileKeyName(tls: TlsServerSettings, fileKey: string): string {
  const pem = fileKey === 'key_file' ? tls.key : fileKey === 'cert_file' ? tls.cert : undefined;
  return pem !== undefined && 'inline' in pem ? fileKey.replace(/_file$/, '') : fileKey;
}

/** The PEM certificate blocks in `text`. */
function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * Why a client's certificate is refused under `tls`, or undefined when it may go on. Node enforces
 * RequireAndVerifyClientCert in the handshake; the kinds it cannot express (a certificate required
 * but not verified, verified only if given) and `client_allowed_sans` are enforced here.
 */
export function clientCertificateProblem(
  tls: TlsServerSettings,
  peer: { authorized: boolean; authorizationError?: Error | string; raw?: Buffer },
): string | undefined {
  const given = peer.raw !== undefined && peer.raw.length > 0;
  if (
    (tls.clientAuth === 'RequireAnyClientCert' || tls.clientAuth === 'RequireAndVerifyClientCert') &&
    !given
  ) {
    return 'no client certificate';
  }
  if (tls.clientAuth === 'VerifyClientCertIfGiven' && given && !peer.authorized) {
    return `client certificate not verified: ${String(peer.authorizationError)}`;
  }
  if (tls.clientAllowedSans !== undefined && peer.raw !== undefined) {
    const sans = subjectAltNames(new X509Certificate(peer.raw).subjectAltName);
    if (!sans.some((san) => tls.clientAllowedSans?.includes(san))) {
      return `no allowed SAN in the client certificate (found: ${sans.join(', ') || 'none'})`;
    }
  }
  return undefined;
}

/** The values of OpenSSL's subjectAltName text (`DNS:a, IP Address:1.2.3.4, URI:spiffe://...`). */
function subjectAltNames(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(/,\s*(?=(?:DNS|IP Address|URI|email|othername|DirName|Registered ID):)/)
    .map((entry) => entry.replace(/^[^:]+:/, '').replace(/^"(.*)"$/, '$1'));
}

type Fail = (key: string, problem: string) => never;

function parseYaml(text: string, sourceName: string): unknown {
  const document = parseDocument(text, { version: '1.2', uniqueKeys: true, prettyErrors: true });
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem !== undefined) {
    const reason = problem.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? problem.code;
    const at = problem.linePos?.[0];
    const position = at === undefined ? '' : ` at line ${at.line}, column ${at.col}`;
    throw new ConfigError(WEB_CONFIG_KEY, `${sourceName}: invalid YAML${position}: ${reason}`, {
      cause: problem,
    });
  }
  try {
    return document.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err) {
    throw new ConfigError(WEB_CONFIG_KEY, `${sourceName}: invalid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** `value` as a mapping; null (an empty section) is undefined. */
function mapping(value: unknown, key: string, fail: Fail): Mapping | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    return fail(key, `${show(value)} is not a mapping of keys to values`);
  }
  return value as Mapping;
}

function allowOnly(m: Mapping, at: string, allowed: readonly string[], fail: Fail): void {
  for (const key of Object.keys(m)) {
    if (!allowed.includes(key)) {
      const where = at === '' ? 'at the top level' : `under ${at}`;
      fail(
        '',
        `unknown key ${at === '' ? key : `${at}.${key}`} (keys allowed ${where}: ${allowed.join(', ')})`,
      );
    }
  }
}

function optionalString(value: unknown, key: string, fail: Fail): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return fail(key, `${show(value)} is not a string`);
  return value === '' ? undefined : value;
}

function optionalStrings(value: unknown, key: string, fail: Fail): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    return fail(key, `${show(value)} is not a list of strings`);
  }
  return value as string[];
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function readFile(path: string, what: string, name: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'not found'
        : code === 'EISDIR'
          ? 'is a directory'
          : `cannot be read (${code ?? String(err)})`;
    throw new ConfigError(WEB_CONFIG_KEY, `${what}: ${name} ${reason}`, { cause: err });
  }
}
