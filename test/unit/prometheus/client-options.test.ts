import { createPrometheusClient } from '../../../src/adapters/prometheus/client';
import type { PrometheusClientOptions } from '../../../src/adapters/prometheus/types';
import { ConfigError } from '../../../src/errors';

const options = (overrides: Partial<PrometheusClientOptions>): PrometheusClientOptions => ({
  url: 'https://thanos.example/prefix/',
  timeoutMs: 1000,
  maxResponseBytes: 1000,
  headers: {},
  tls: { insecureSkipVerify: false },
  ...overrides,
});

/** The ConfigError creating a client throws, as key and message. */
function configError(overrides: Partial<PrometheusClientOptions>): { key: string; message: string } {
  try {
    createPrometheusClient(options(overrides)).close();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return { key: (err as ConfigError).key, message: (err as ConfigError).message };
  }
  throw new Error('expected a ConfigError');
}

describe('createPrometheusClient', () => {
  it('refuses a URL that does not parse', () => {
    expect(configError({ url: 'not a url' })).toEqual({
      key: 'prometheus.url',
      message: 'prometheus.url "not a url" is not a URL',
    });
  });

  it('refuses a scheme other than http and https', () => {
    expect(configError({ url: 'ftp://prom.example/' })).toEqual({
      key: 'prometheus.url',
      message: 'prometheus.url ftp://prom.example/ must be http:// or https://',
    });
  });

  it('refuses a bearer token and basic auth together, as Prometheus does', () => {
    expect(configError({ bearerTokenFile: '/t', basicAuth: { username: 'u', passwordFile: '/p' } })).toEqual({
      key: 'prometheus',
      message: 'prometheus.bearer_token_file and prometheus.basic_auth are both set: choose one',
    });
  });

  it('refuses TLS files for a plain http URL', () => {
    expect(
      configError({ url: 'http://prom.example:9090', tls: { caFile: '/ca', insecureSkipVerify: false } }),
    ).toEqual({
      key: 'prometheus.tls',
      message: 'prometheus.tls is set but prometheus.url http://prom.example:9090 is not https',
    });
  });

  it('refuses a client certificate without its key', () => {
    expect(configError({ tls: { certFile: '/c', insecureSkipVerify: false } })).toEqual({
      key: 'prometheus.tls.key_file',
      message: 'prometheus.tls.cert_file and prometheus.tls.key_file must be set together',
    });
  });

  it('reads no file until the first query, so a client can be built before secrets are mounted', () => {
    const client = createPrometheusClient(
      options({
        bearerTokenFile: '/nonexistent/token',
        tls: { caFile: '/nonexistent/ca', insecureSkipVerify: false },
      }),
    );
    expect(Object.keys(client).sort()).toEqual(['close', 'query', 'queryRange', 'queryWith']);
    client.close();
  });
});
