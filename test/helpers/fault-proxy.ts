import {
  createServer,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the proxy received: the form of a POSTed query, or the URL's parameters of a GET. */
export interface ProxiedRequest {
  method: string;
  /** The path without the query string, e.g. `/api/v1/query`. */
  path: string;
  form: URLSearchParams;
}

/** What the proxy does with a request that a fault applies to. */
export type Fault =
  /** Answers by itself without asking Prometheus, as a proxy or load balancer in front of it does. */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body: string }
  /** Forwards a changed request, so that the real Prometheus answers it with its own error. */
  | { kind: 'rewrite'; form: (form: URLSearchParams) => URLSearchParams }
  /** Forwards the request and holds the answer for `ms` (dropped if the client gives up first). */
  | { kind: 'delay'; ms: number }
  /** Forwards the request and sends the answer's body changed; `chunked` leaves out Content-Length. */
  | { kind: 'transform'; body: (body: string) => string; chunked?: boolean }
  /** Forwards, sends the status and headers (the whole body's Content-Length) and `fraction` of the body, then closes the connection. */
  | { kind: 'cut'; fraction: number };

/** Counts of what the proxy did, since it started. */
export interface ProxyCounts {
  /** Requests received. */
  requests: number;
  /** Requests passed to Prometheus unchanged, answers included. */
  forwarded: number;
  /** Requests a fault applied to. */
  faulted: number;
  /** Requests whose forwarding failed (Prometheus down): the client's connection was closed. */
  upstreamErrors: number;
}

/** A loopback proxy in front of a real Prometheus that injects faults on demand. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Every request received so far, oldest first. */
  requests: ProxiedRequest[];
  counts(): ProxyCounts;
  /**
   * Applies `fault` to the next `times` requests that `match` (default: every request), or to all of
   * them until `clear()` when `times` is not given. Replaces any fault set before.
   */
  inject(fault: Fault, options?: { match?: (request: ProxiedRequest) => boolean; times?: number }): void;
  /** Forwards every request unchanged again. */
  clear(): void;
  /** Stops listening and closes every open connection: connections are refused, as to a stopped server. */
  down(): Promise<void>;
  /** Listens again, on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

interface Active {
  fault: Fault;
  match: (request: ProxiedRequest) => boolean;
  remaining: number;
}

// Hop-by-hop headers belong to one connection; a proxy never passes them on.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

/** Starts a proxy to `target` (e.g. a RunningPrometheus's url) on a free loopback port. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const counts: ProxyCounts = { requests: 0, forwarded: 0, faulted: 0, upstreamErrors: 0 };
  let active: Active | undefined;
  let port = 0;

  /** The fault for this request, if one applies; counts it down. */
  const faultFor = (request: ProxiedRequest): Fault | undefined => {
    const current = active;
    if (!current || !current.match(request)) return undefined;
    current.remaining -= 1;
    if (current.remaining <= 0) active = undefined;
    return current.fault;
  };

  /** Sends `body` to Prometheus; calls back with its answer, or closes the client's connection when it fails. */
  const forward = (
    incoming: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
    onAnswer: (answer: IncomingMessage) => void,
    identity = false,
  ): ClientRequest => {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    headers.host = upstream.host;
    headers['content-length'] = String(body.length);
    // A changed body is easier to change uncompressed; the client accepts either.
    if (identity) headers['accept-encoding'] = 'identity';
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers,
      },
      onAnswer,
    );
    out.on('error', () => {
      counts.upstreamErrors += 1;
      res.destroy();
    });
    // The client gave up (its timeout, shutdown): so does the proxy.
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    out.end(body);
    return out;
  };

  const answerHeaders = (answer: IncomingMessage, drop: readonly string[] = []): OutgoingHttpHeaders => {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (!HOP_BY_HOP.has(name) && !drop.includes(name) && value !== undefined) headers[name] = value;
    }
    return headers;
  };

  /** Sends Prometheus's answer on as it comes. */
  const passOn = (answer: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(answer.statusCode ?? 502, answerHeaders(answer));
    answer.on('error', () => res.destroy());
    answer.pipe(res);
  };

  /** Calls `use` with Prometheus's whole answer; if reading it fails (the client gave up), closes the client's connection. */
  const readAll = (answer: IncomingMessage, res: ServerResponse, use: (body: Buffer) => void): void => {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('error', () => res.destroy());
    answer.on('end', () => use(Buffer.concat(chunks)));
  };

  const handle = (incoming: IncomingMessage, body: Buffer, res: ServerResponse): void => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const form =
      incoming.method === 'POST'
        ? new URLSearchParams(body.toString('utf8'))
        : new URLSearchParams(url.search);
    const request: ProxiedRequest = { method: incoming.method ?? '', path: url.pathname, form };
    requests.push(request);
    counts.requests += 1;
    const fault = faultFor(request);
    if (fault === undefined) {
      counts.forwarded += 1;
      forward(incoming, body, res, (answer) => passOn(answer, res));
      return;
    }
    counts.faulted += 1;
    switch (fault.kind) {
      case 'respond':
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        res.end(fault.body);
        return;
      case 'rewrite': {
        const changed = Buffer.from(fault.form(new URLSearchParams(form)).toString(), 'utf8');
        forward(incoming, changed, res, (answer) => passOn(answer, res));
        return;
      }
      case 'delay':
        forward(incoming, body, res, (answer) => {
          readAll(answer, res, (whole) => {
            const timer = setTimeout(() => {
              if (res.destroyed) return;
              res.writeHead(answer.statusCode ?? 502, answerHeaders(answer));
              res.end(whole);
            }, fault.ms);
            res.on('close', () => clearTimeout(timer));
          });
        });
        return;
      case 'transform':
        forward(
          incoming,
          body,
          res,
          (answer) => {
            readAll(answer, res, (whole) => {
              if (res.destroyed) return;
              const changed = Buffer.from(fault.body(whole.toString('utf8')), 'utf8');
              const headers = answerHeaders(answer, ['content-length', 'content-encoding']);
              if (!fault.chunked) headers['content-length'] = String(changed.length);
              res.writeHead(answer.statusCode ?? 502, headers);
              res.end(changed);
            });
          },
          true,
        );
        return;
      case 'cut':
        forward(
          incoming,
          body,
          res,
          (answer) => {
            readAll(answer, res, (whole) => {
              if (res.destroyed) return;
              const headers = answerHeaders(answer, ['content-length', 'content-encoding']);
              headers['content-length'] = String(whole.length);
              res.writeHead(answer.statusCode ?? 502, headers);
              res.write(whole.subarray(0, Math.floor(whole.length * fault.fraction)), () => {
                // Past the headers and part of the body, the connection goes: as a proxy that dies mid-answer.
                res.socket?.destroy();
              });
            });
          },
          true,
        );
        return;
    }
  };

  const server = createServer((incoming, res) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => handle(incoming, Buffer.concat(chunks), res));
  });
  // A client that goes away mid-request is not a failure of the proxy.
  server.on('clientError', (_err, socket) => socket.destroy());

  const listen = (on: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(on, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      // Keep-alive connections would otherwise carry requests on while the port refuses new ones.
      server.closeAllConnections();
    });

  await listen(0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    counts: () => ({ ...counts }),
    inject: (fault, options = {}) => {
      active = {
        fault,
        match: options.match ?? (() => true),
        remaining: options.times ?? Infinity,
      };
    },
    clear: () => {
      active = undefined;
    },
    down: stop,
    up: () => listen(port),
    close: stop,
  };
}
