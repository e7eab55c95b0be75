import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { statSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';
import { basicAuthCheck, type BasicAuthCheck } from './basic-auth';
import {
  clientCertificateProblem,
  pemFilesOf,
  tlsOptionsOf,
  WEB_CONFIG_KEY,
  type LoadedWebConfig,
  type TlsServerSettings,
} from './web-config';

// Kubelet probes cannot send basic auth, and these two answer only "ok" or "not ready": they stay
// open when basic_auth_users is set (docs/install.md, "Securing meshwatch's endpoints").
const OPEN_PATHS: ReadonlySet<string> = new Set(['/livez', '/readyz']);

/** What the HTTP server asks of the daemon. */
export interface ServerDeps {
  registry: Registry;
  /** Undefined when ready, else why not (shown on /readyz with a 503). */
  notReadyReason(): string | undefined;
  /** The body of /api/v1/findings. */
  findings(): unknown;
  /** Re-reads the configuration (`POST /-/reload`); resolves with the error text when it failed. */
  reload?(): Promise<{ ok: true } | { ok: false; error: string }>;
  /** For refused TLS clients and renewed certificates; without one they go unlogged. */
  logger?: Pick<Logger, 'warn' | 'info'>;
}

/** The daemon's one HTTP port: /metrics, /livez, /readyz, /api/v1/findings. */
export interface HttpServer {
  port: number;
  /** Stops accepting connections, ends idle keep-alive ones, and resolves once all are closed. */
  close(): Promise<void>;
}

/**
 * Starts the HTTP server on host:port (port 0 = any free port). With `web` (server.web_config_file,
 * loaded and checked): https when it configures TLS, basic auth when it has users, its headers.
 */
export async function startHttpServer(
  deps: ServerDeps,
  host: string,
  port: number,
  web?: LoadedWebConfig,
): Promise<HttpServer> {
  const auth = web && Object.keys(web.config.users).length > 0 ? basicAuthCheck(web.config.users) : undefined;
  const headers = web?.config.headers ?? {};
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    guarded(deps, auth, req, res).catch((err: unknown) => {
      send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(err as Error).message}\n`);
    });
  };
  const tls = web?.config.tls;
  const server: Server = web?.tlsOptions
    ? createHttpsServer(web.tlsOptions, listener)
    : createServer(listener);
  if (tls) {
    server.on('secureConnection', (socket: TLSSocket) => {
      const peer = socket.getPeerCertificate();
      const problem = clientCertificateProblem(tls, {
        authorized: socket.authorized,
        authorizationError: socket.authorizationError,
        ...(peer.raw === undefined ? {} : { raw: peer.raw }),
      });
      if (problem === undefined) return;
      deps.logger?.warn({ remote: socket.remoteAddress, reason: problem }, 'refused a TLS client');
      socket.destroy();
    });
    server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      deps.logger?.warn({ remote: socket.remoteAddress, reason: err.message }, 'TLS handshake failed');
    });
  }
  // A slow or stuck client must not hold the port open past shutdown.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const stopWatching = tls ? watchPemFiles(server as HttpsServer, tls, deps.logger) : () => undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      stopWatching();
      return closeServer(server);
    },
  };
}

// cert-manager renews a certificate in place (a Secret volume swaps its files); the next connections must
// get the new one without a restart, as exporter-toolkit reads the files for every connection.
const PEM_CHECK_MS = 10_000;

/** Re-reads the PEM files when they change; a broken pair keeps the previous certificate, loudly. */
function watchPemFiles(
  server: HttpsServer,
  tls: TlsServerSettings,
  logger: ServerDeps['logger'],
): () => void {
  const files = pemFilesOf(tls);
  const state = (): string =>
    files
      .map((file) => {
        try {
          const info = statSync(file, { throwIfNoEntry: false });
          return info ? `${info.ino}:${info.size}:${info.mtimeMs}` : 'missing';
        } catch {
          // Unreadable for now (a permission change mid-renewal): a state like any other, retried.
          return 'unreadable';
        }
      })
      .join('|');
  let served = state();
  const timer = setInterval(() => {
    const now = state();
    if (now === served) return;
    try {
      server.setSecureContext(tlsOptionsOf(tls, WEB_CONFIG_KEY));
      served = now;
      logger?.info({ files }, 'reloaded the TLS certificate and key');
    } catch (err) {
      // Not marked as served: the next check tries again (a renewal may have written only one file yet).
      logger?.warn(
        { error: (err as Error).message },
        'cannot reload the TLS certificate; still serving the previous one',
      );
    }
  }, PEM_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Basic auth before anything else, as exporter-toolkit: without it a client learns no more than 401. */
async function guarded(
  deps: ServerDeps,
  auth: BasicAuthCheck | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (auth && !OPEN_PATHS.has(path) && !(await auth.allows(req.headers.authorization))) {
    res.setHeader('WWW-Authenticate', 'Basic');
    send(res, 401, 'text/plain; charset=utf-8', 'Unauthorized\n');
    return;
  }
  await handle(deps, path, req, res);
}

async function handle(
  deps: ServerDeps,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  // As Prometheus and Alertmanager: POST or PUT /-/reload re-reads the config file, 500 if bad.
  if (path === '/-/reload' && deps.reload) {
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.setHeader('Allow', 'POST, PUT');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: POST or PUT to reload\n');
      return;
    }
    const outcome = await deps.reload();
    if (outcome.ok) send(res, 200, 'text/plain; charset=utf-8', 'configuration reloaded\n');
    else
      send(res, 500, 'text/plain; charset=utf-8', `failed to reload the configuration: ${outcome.error}\n`);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/metrics':
      send(res, 200, deps.registry.contentType, await deps.registry.metrics());
      return;
    case '/livez':
      send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    case '/readyz': {
      const reason = deps.notReadyReason();
      if (reason === undefined) send(res, 200, 'text/plain; charset=utf-8', 'ready\n');
      else send(res, 503, 'text/plain; charset=utf-8', `not ready: ${reason}\n`);
      return;
    }
    case '/api/v1/findings':
      send(res, 200, 'application/json', JSON.stringify(deps.findings(), null, 2) + '\n');
      return;
    case '/':
      send(
        res,
        200,
        'text/html; charset=utf-8',
        '<html><head><title>meshwatch</title></head><body><h1>meshwatch</h1><ul>' +
          ['/metrics', '/api/v1/findings', '/readyz', '/livez']
            .map((p) => `<li><a href="${p}">${p}</a></li>`)
            .join('') +
          '</ul></body></html>\n',
      );
      return;
    default:
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
