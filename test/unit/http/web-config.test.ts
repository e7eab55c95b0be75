import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { basicAuthCheck, basicCredentials } from '../../../src/adapters/http/basic-auth';
import {
  clientCertificateProblem,
  loadWebConfig,
  parseWebConfig,
  tlsOptionsOf,
  type TlsServerSettings,
} from '../../../src/adapters/http/web-config';
import { ConfigError } from '../../../src/errors';

const FIXTURES = resolve(__dirname, '../../fixtures/web-config');
const TLS = resolve(__dirname, '../../fixtures/tls');
const HASH = readFileSync(join(TLS, 'basic-auth.bcrypt'), 'utf8').trim();
const PASSWORD = readFileSync(join(TLS, 'basic-auth.password'), 'utf8').trim();
const FILE = '/etc/meshwatch/web/web-config.yml';

/** The error `run` throws. */
function thrown(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const parse = (text: string): ReturnType<typeof parseWebConfig> => parseWebConfig(text, FILE, 'web.yml');
const header = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('parsing the exporter-toolkit web config file', () => {
  it('reads every supported key, with file paths relative to the web config file', () => {
    const config = parse(`
tls_server_config:
  cert_file: tls/server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ../ca.crt
  client_allowed_sans: [spiffe://cluster.local/ns/monitoring/sa/prometheus]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  prometheus: ${HASH}
`);
    expect(config).toEqual({
      tls: {
        cert: { file: '/etc/meshwatch/web/tls/server.crt' },
        key: { file: '/abs/server.key' },
        clientCa: { file: '/etc/meshwatch/ca.crt' },
        clientAuth: 'RequireAndVerifyClientCert',
        clientAllowedSans: ['spiffe://cluster.local/ns/monitoring/sa/prometheus'],
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        ciphers:
          'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384',
        curves: 'X25519:P-256',
        honorCipherOrder: false,
      },
      headers: { 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' },
      users: { prometheus: HASH },
    });
  });

  it("defaults as exporter-toolkit does: no client certificate, TLS 1.2 to 1.3, the server's cipher order", () => {
    expect(parse('tls_server_config:\n  cert: PEM-CERT\n  key: PEM-KEY\n')).toEqual({
      tls: {
        cert: { inline: 'PEM-CERT' },
        key: { inline: 'PEM-KEY' },
        clientAuth: 'NoClientCert',
        minVersion: 'TLSv1.2',
        maxVersion: 'TLSv1.3',
        honorCipherOrder: true,
      },
      headers: {},
      users: {},
    });
  });

  it('reads an empty file, or empty sections, as plain HTTP without authentication', () => {
    const none = { headers: {}, users: {} };
    expect(parse('')).toEqual(none);
    expect(parse('tls_server_config:\nhttp_server_config:\nbasic_auth_users: {}\n')).toEqual(none);
  });

  it('accepts RequireClientCert as the old name of RequireAnyClientCert', () => {
    const config = parse(
      'tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireClientCert}',
    );
    expect(config.tls?.clientAuth).toBe('RequireAnyClientCert');
  });

  it.each([
    [
      'an unknown top-level key',
      'basic_auth_user: {}',
      'web.yml: unknown key basic_auth_user (keys allowed at the top level: tls_server_config, http_server_config, basic_auth_users, rate_limit)',
    ],
    [
      'an unknown key under tls_server_config',
      'tls_server_config: {cert_file: a, key_file: b, ca_file: c}',
      'web.yml: unknown key tls_server_config.ca_file (keys allowed under tls_server_config: cert, key, client_ca, cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans, min_version, max_version, cipher_suites, prefer_server_cipher_suites, curve_preferences)',
    ],
    [
      'an unknown key under http_server_config',
      'http_server_config: {header: {}}',
      'web.yml: unknown key http_server_config.header (keys allowed under http_server_config: http2, headers)',
    ],
    [
      'rate_limit, which meshwatch does not implement',
      'rate_limit: {interval: 1s, burst: 10}',
      'web.yml: rate_limit: not supported by meshwatch (limit the rate at the ingress or proxy in front of it)',
    ],
    [
      'TLS without a certificate',
      'tls_server_config: {key_file: b}',
      'web.yml: tls_server_config: missing one of cert_file or cert',
    ],
    [
      'TLS without a key',
      'tls_server_config: {cert_file: a}',
      'web.yml: tls_server_config: missing one of key_file or key',
    ],
    [
      'both the certificate file and an inline certificate',
      'tls_server_config: {cert_file: a, cert: x, key_file: b}',
      'web.yml: tls_server_config.cert_file: set together with tls_server_config.cert (choose one)',
    ],
    [
      'an unknown client_auth_type',
      'tls_server_config: {cert_file: a, key_file: b, client_auth_type: Required}',
      'web.yml: tls_server_config.client_auth_type: "Required" is not allowed (allowed: NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)',
    ],
    [
      'a client CA without a client auth policy',
      'tls_server_config: {cert_file: a, key_file: b, client_ca_file: c}',
      'web.yml: tls_server_config.client_ca_file: a client CA is set but client_auth_type is NoClientCert (set client_auth_type)',
    ],
    [
      'verifying client certificates without a client CA',
      'tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAndVerifyClientCert}',
      'web.yml: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file (or client_ca) to verify client certificates with',
    ],
    [
      'client_allowed_sans when a client may send no certificate',
      'tls_server_config: {cert_file: a, key_file: b, client_auth_type: VerifyClientCertIfGiven, client_ca_file: c, client_allowed_sans: [x]}',
      'web.yml: tls_server_config.client_allowed_sans: needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert (otherwise a client may send no certificate to match)',
    ],
    [
      'an unknown TLS version',
      'tls_server_config: {cert_file: a, key_file: b, min_version: TLS1.2}',
      'web.yml: tls_server_config.min_version: "TLS1.2" is not a TLS version (allowed: TLS10, TLS11, TLS12, TLS13)',
    ],
    [
      'a minimum version above the maximum',
      'tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12}',
      'web.yml: tls_server_config.min_version: TLS13 is above max_version TLS12',
    ],
    [
      'an unknown cipher suite',
      'tls_server_config: {cert_file: a, key_file: b, cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]}',
      'web.yml: tls_server_config.cipher_suites: unknown cipher suite "TLS_RSA_WITH_RC4_128_SHA" (allowed: TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_256_CBC_SHA, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)',
    ],
    [
      'an unknown curve',
      'tls_server_config: {cert_file: a, key_file: b, curve_preferences: [P-256]}',
      'web.yml: tls_server_config.curve_preferences: unknown curve "P-256" (allowed: CurveP256, CurveP384, CurveP521, X25519)',
    ],
    [
      'a list where a string belongs',
      'tls_server_config: {cert_file: [a], key_file: b}',
      'web.yml: tls_server_config.cert_file: ["a"] is not a string',
    ],
    [
      'a string where a list belongs',
      'tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAnyClientCert, client_allowed_sans: x}',
      'web.yml: tls_server_config.client_allowed_sans: "x" is not a list of strings',
    ],
    [
      'a YAML 1.1 boolean',
      'http_server_config: {http2: yes}',
      'web.yml: http_server_config.http2: "yes" is not a boolean (allowed: true, false)',
    ],
    [
      'a header exporter-toolkit does not allow',
      'http_server_config: {headers: {Server: meshwatch}}',
      'web.yml: http_server_config.headers.Server: this header can not be configured (allowed: Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, Content-Security-Policy)',
    ],
    [
      'a header value outside its enumeration',
      'http_server_config: {headers: {X-Frame-Options: allow}}',
      'web.yml: http_server_config.headers.X-Frame-Options: "allow" is not allowed (allowed: deny, sameorigin)',
    ],
    [
      'a plaintext password instead of a bcrypt hash',
      'basic_auth_users: {prometheus: secret}',
      `web.yml: basic_auth_users.prometheus: not a bcrypt hash ($2y$10$ and 53 characters; make one with: htpasswd -nBC 10 "" | tr -d ':\\n')`,
    ],
    [
      'a user name with a colon',
      `basic_auth_users: {"a:b": "${HASH}"}`,
      'web.yml: basic_auth_users.a:b: a user name cannot contain ":" (basic auth splits user and password there)',
    ],
    [
      'a section that is not a mapping',
      'basic_auth_users: [prometheus]',
      'web.yml: basic_auth_users: ["prometheus"] is not a mapping of keys to values',
    ],
    [
      'a duplicate key',
      'basic_auth_users:\n  a: x\n  a: y\n',
      'web.yml: invalid YAML at line 3, column 3: Map keys must be unique',
    ],
  ])('rejects %s with a message naming the key', (_what, text, message) => {
    const error = thrown(() => parse(text));
    expect([error.key, error.message]).toEqual(['server.web_config_file', message]);
  });
});

describe('loading the web config file and the PEM files it names', () => {
  it('builds the TLS server options from files relative to the web config file', () => {
    const loaded = loadWebConfig(join(FIXTURES, 'web-config.yml'));
    expect(loaded.config.users).toEqual({ prometheus: HASH });
    expect(loaded.tlsOptions).toEqual({
      cert: readFileSync(join(FIXTURES, 'meshwatch.crt'), 'utf8'),
      key: readFileSync(join(FIXTURES, 'meshwatch.key'), 'utf8'),
      ca: readFileSync(join(TLS, 'ca.crt'), 'utf8'),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      honorCipherOrder: true,
    });
  });

  it('names the web config file when it is missing', () => {
    expect(thrown(() => loadWebConfig('/nonexistent/web.yml')).message).toBe(
      'server.web_config_file: /nonexistent/web.yml not found',
    );
  });

  // The PEM checks read the fixture certificates: the web config is given inline, the PEM files by path.
  const loadInline = (tls: Record<string, string>): ConfigError =>
    thrown(() => {
      const config = parseWebConfig(
        JSON.stringify({ tls_server_config: tls }),
        join(FIXTURES, 'x.yml'),
        'web.yml',
      );
      return config.tls === undefined ? undefined : tlsOptionsOf(config.tls, 'web.yml');
    });

  it('names the certificate file when it is missing', () => {
    expect(loadInline({ cert_file: 'missing.crt', key_file: 'meshwatch.key' }).message).toBe(
      `web.yml: tls_server_config.cert_file: ${join(FIXTURES, 'missing.crt')} not found`,
    );
  });

  it('refuses a key that does not belong to the certificate', () => {
    expect(loadInline({ cert_file: 'meshwatch.crt', key_file: 'prometheus.key' }).message).toBe(
      'web.yml: tls_server_config.key_file: does not belong to the certificate in cert_file',
    );
  });

  it('refuses a certificate file that holds no certificate', () => {
    expect(loadInline({ cert_file: 'meshwatch.key', key_file: 'meshwatch.key' }).message).toMatch(
      /^web\.yml: tls_server_config\.cert_file: is not a PEM certificate \(/,
    );
  });

  it('refuses a client CA file that holds no certificate', () => {
    const error = loadInline({
      cert_file: 'meshwatch.crt',
      key_file: 'meshwatch.key',
      client_auth_type: 'RequireAndVerifyClientCert',
      client_ca_file: 'meshwatch.key',
    });
    expect(error.message).toBe('web.yml: tls_server_config.client_ca_file: holds no PEM certificate');
  });
});

describe('basic auth against basic_auth_users', () => {
  /** A check whose bcrypt calls are counted. */
  const counted = (users: Record<string, string>) => {
    const calls: string[] = [];
    const check = basicAuthCheck(users, (password, hash) => {
      calls.push(hash);
      return bcrypt.compare(password, hash);
    });
    return { check, calls };
  };

  it('lets in a known user with the right password, and nobody else', async () => {
    const { check } = counted({ prometheus: HASH });
    expect(
      await Promise.all([
        check.allows(header('prometheus', PASSWORD)),
        check.allows(header('prometheus', 'wrong')),
        check.allows(header('someone', PASSWORD)),
        check.allows(undefined),
        check.allows('Bearer abc'),
        check.allows('Basic !!!'),
        check.allows(`Basic ${Buffer.from('no-colon').toString('base64')}`),
      ]),
    ).toEqual([true, false, false, false, false, false, false]);
  });

  it('remembers a successful check, so the next scrape does not pay for bcrypt again', async () => {
    const { check, calls } = counted({ prometheus: HASH });
    expect(await check.allows(header('prometheus', PASSWORD))).toBe(true);
    expect(await check.allows(header('prometheus', PASSWORD))).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('never lets a wrong password in from the cache, and runs bcrypt for every wrong guess', async () => {
    const { check, calls } = counted({ prometheus: HASH });
    await check.allows(header('prometheus', PASSWORD));
    expect(await check.allows(header('prometheus', `${PASSWORD}x`))).toBe(false);
    expect(await check.allows(header('prometheus', `${PASSWORD}x`))).toBe(false);
    expect(calls).toHaveLength(3);
  });

  it('forgets a cached password when the hash of the user changes', async () => {
    const other = bcrypt.hashSync('other', 4);
    expect(await basicAuthCheck({ prometheus: HASH }).allows(header('prometheus', PASSWORD))).toBe(true);
    expect(await basicAuthCheck({ prometheus: other }).allows(header('prometheus', PASSWORD))).toBe(false);
  });

  it('runs bcrypt for an unknown user too, so that timing does not tell which users exist', async () => {
    const { check, calls } = counted({ prometheus: HASH });
    expect(await check.allows(header('intruder', PASSWORD))).toBe(false);
    expect(calls).toEqual([HASH]);
  });

  it('refuses a password longer than the 72 bytes bcrypt looks at, even when they match', async () => {
    const long = 'p'.repeat(72);
    const check = basicAuthCheck({ prometheus: bcrypt.hashSync(long, 4) });
    expect(await check.allows(header('prometheus', long))).toBe(true);
    expect(await check.allows(header('prometheus', `${long}-anything`))).toBe(false);
  });

  it('splits user and password at the first colon: the password may contain colons', () => {
    expect(basicCredentials(header('u', 'a:b:c'))).toEqual({ user: 'u', password: 'a:b:c' });
    expect(basicCredentials('basic  ' + Buffer.from('u:p').toString('base64'))).toEqual({
      user: 'u',
      password: 'p',
    });
  });
});

describe('client certificates beyond what the TLS handshake enforces', () => {
  const raw = Buffer.from('unused');
  const tls = (
    clientAuth: TlsServerSettings['clientAuth'],
    extra: Partial<TlsServerSettings> = {},
  ): TlsServerSettings => ({
    cert: { inline: '' },
    key: { inline: '' },
    clientAuth,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    honorCipherOrder: true,
    ...extra,
  });
  const pem = (name: string): Buffer => {
    const text = readFileSync(join(FIXTURES, `${name}.crt`), 'utf8');
    return Buffer.from(text.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  };

  it('requires a certificate for RequireAnyClientCert, without verifying it', () => {
    expect(clientCertificateProblem(tls('RequireAnyClientCert'), { authorized: false })).toBe(
      'no client certificate',
    );
    expect(clientCertificateProblem(tls('RequireAnyClientCert'), { authorized: false, raw })).toBeUndefined();
  });

  it('verifies a certificate for VerifyClientCertIfGiven only when one is given', () => {
    const given = { authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', raw };
    expect(clientCertificateProblem(tls('VerifyClientCertIfGiven'), { authorized: false })).toBeUndefined();
    expect(clientCertificateProblem(tls('VerifyClientCertIfGiven'), given)).toBe(
      'client certificate not verified: UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );
  });

  it('lets in only certificates with an allowed SAN when client_allowed_sans is set', () => {
    const only = (san: string) => tls('RequireAndVerifyClientCert', { clientAllowedSans: [san] });
    const peer = { authorized: true, raw: pem('prometheus') };
    expect(
      clientCertificateProblem(only('spiffe://cluster.local/ns/monitoring/sa/prometheus'), peer),
    ).toBeUndefined();
    expect(clientCertificateProblem(only('spiffe://cluster.local/ns/x/sa/y'), peer)).toBe(
      'no allowed SAN in the client certificate (found: spiffe://cluster.local/ns/monitoring/sa/prometheus)',
    );
  });
});
