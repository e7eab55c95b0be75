import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What the HTTP server asks of the daemon. */
export interface ServerDeps {
  registry: Registry;
  /** Undefined when ready, else why not (shown on /readyz with a 503). */
  notReadyReason(): string | undefined;
  /** The body of /api/v1/findings. */
  findings(): unknown;
}

/** The daemon's one HTTP port: /metrics, /livez, /readyz, /api/v1/findings. */
export interface HttpServer {
  port: number;
  /** Stops accepting connections, ends idle keep-alive ones, and resolves once all are closed. */
  close(): Promise<void>;
}

/** Starts the HTTP server on host:port (port 0 = any free port). */
export async function startHttpServer(deps: ServerDeps, host: string, port: number): Promise<HttpServer> {
  const server = createServer((req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(err as Error).message}\n`);
    });
  });
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
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
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
