/**
 * The keep-alive connection pool to Prometheus. For https it carries the TLS settings, and it is
 * rebuilt when a CA, certificate or key file changes so that renewed certificates take effect
 * without a restart.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { PrometheusConfig } from '../../config/types';
import { ConfigError } from '../../errors';
import { watchedFile, type WatchedFile } from './files';

/** Hands out the current agent; `close()` drops every pooled connection. */
export interface AgentSource {
  current(): Promise<HttpAgent>;
  close(): void;
}

// Enough parallel connections for a poll's handful of queries without opening one per query.
const MAX_SOCKETS = 8;

/** The agent source for `url`; `retireAfterMs` is how long a replaced agent keeps serving requests in flight. */
export function agentSource(url: URL, tls: PrometheusConfig['tls'], retireAfterMs: number): AgentSource {
  const usesTlsFiles =
    tls.caFile !== undefined ||
    tls.certFile !== undefined ||
    tls.keyFile !== undefined ||
    tls.serverName !== undefined;
  if (url.protocol === 'http:') {
    if (usesTlsFiles) {
      throw new ConfigError(
        'prometheus.tls',
        `prometheus.tls is set but prometheus.url ${url.origin} is not https`,
      );
    }
    const agent = new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
    return { current: async () => agent, close: () => agent.destroy() };
  }
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigError(
      tls.certFile === undefined ? 'prometheus.tls.cert_file' : 'prometheus.tls.key_file',
      'prometheus.tls.cert_file and prometheus.tls.key_file must be set together',
    );
  }
  const files = {
    ca: optionalFile(tls.caFile, 'prometheus.tls.ca_file'),
    cert: optionalFile(tls.certFile, 'prometheus.tls.cert_file'),
    key: optionalFile(tls.keyFile, 'prometheus.tls.key_file'),
  };
  let built: { agent: HttpsAgent; ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
  const retired = new Set<HttpsAgent>();

  return {
    async current() {
      const [ca, cert, key] = await Promise.all([files.ca?.read(), files.cert?.read(), files.key?.read()]);
      // WatchedFile returns the same Buffer while a file is unchanged, so identity means "same file".
      if (built && built.ca === ca && built.cert === cert && built.key === key) return built.agent;
      const previous = built?.agent;
      built = {
        agent: new HttpsAgent({
          keepAlive: true,
          maxSockets: MAX_SOCKETS,
          ca,
          cert,
          key,
          servername: tls.serverName,
          // Verification stays on unless the config turns it off explicitly.
          rejectUnauthorized: tls.insecureSkipVerify !== true,
        }),
        ca,
        cert,
        key,
      };
      if (previous) {
        retired.add(previous);
        setTimeout(() => {
          retired.delete(previous);
          previous.destroy();
        }, retireAfterMs).unref();
      }
      return built.agent;
    },
    close() {
      built?.agent.destroy();
      for (const agent of retired) agent.destroy();
      retired.clear();
    },
  };
}

function optionalFile(path: string | undefined, key: string): WatchedFile | undefined {
  return path === undefined ? undefined : watchedFile(path, key);
}
