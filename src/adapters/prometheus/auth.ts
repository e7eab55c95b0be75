/** The `Authorization` header for Prometheus: a bearer token or basic auth, both from files. */
import type { PrometheusConfig } from '../../config/types';
import { ConfigError } from '../../errors';
import { secretFile } from './files';

/** Produces the `Authorization` header value per request and remembers what it sent. */
export interface Authorization {
  /** The header value now, or undefined without auth; re-reads rotated files. */
  header(): Promise<string | undefined>;
  /** Every secret value sent so far, so that text echoed back can be scrubbed of them. */
  secrets(): readonly string[];
}

/** Builds the authorization of `config`; at most one of bearer token and basic auth may be set. */
export function authorization(
  config: Pick<PrometheusConfig, 'bearerTokenFile' | 'basicAuth'>,
): Authorization {
  const sent: string[] = [];
  const remember = (secret: string): string => {
    // A rotated token is a new secret; the old one must stay scrubbed too. Rotations are rare,
    // so the list stays short.
    if (!sent.includes(secret)) sent.push(secret);
    return secret;
  };
  if (config.bearerTokenFile !== undefined && config.basicAuth !== undefined) {
    throw new ConfigError(
      'prometheus',
      'prometheus.bearer_token_file and prometheus.basic_auth are both set: choose one',
    );
  }
  if (config.bearerTokenFile !== undefined) {
    const token = secretFile(config.bearerTokenFile, 'prometheus.bearer_token_file');
    return { header: async () => `Bearer ${remember(await token.read())}`, secrets: () => sent };
  }
  if (config.basicAuth !== undefined) {
    const { username } = config.basicAuth;
    const password = secretFile(config.basicAuth.passwordFile, 'prometheus.basic_auth.password_file');
    return {
      header: async () => {
        const encoded = Buffer.from(`${username}:${remember(await password.read())}`).toString('base64');
        return `Basic ${remember(encoded)}`;
      },
      secrets: () => sent,
    };
  }
  return { header: async () => undefined, secrets: () => sent };
}
