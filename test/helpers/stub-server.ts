import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the stub does with a request. */
export type StubBehaviour =
  /** Answers with `status` and `body`; `chunked` leaves out Content-Length. */
  | { kind: 'respond'; status?: number; headers?: Record<string, string>; body: string; chunked?: boolean }
  /** Accepts the connection and never answers. */
  | { kind: 'hang' }
  /** Sends the headers of a 200 and then `chunk` over and over, never ending the body. */
  | { kind: 'stream'; chunk: string; everyMs?: number };

/** A request the stub received. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A loopback HTTP server for faults a real Prometheus cannot produce. */
export interface StubServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  /** Every request so far, oldest first. */
  requests: RecordedRequest[];
  /** Sets what the next requests get. */
  behave(behaviour: StubBehaviour | ((request: RecordedRequest) => StubBehaviour)): void;
  close(): Promise<void>;
}

/** Starts a stub on 127.0.0.1 with a free port. */
export async function startStubServer(
  initial: StubBehaviour | ((request: RecordedRequest) => StubBehaviour) = { kind: 'respond', body: '' },
): Promise<StubServer> {
  let behaviour = initial;
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(recorded);
      act(typeof behaviour === 'function' ? behaviour(recorded) : behaviour, res);
    });
  });

  const act = (b: StubBehaviour, res: ServerResponse): void => {
    switch (b.kind) {
      case 'hang':
        return;
      case 'respond':
        res.writeHead(b.status ?? 200, { 'Content-Type': 'application/json', ...b.headers });
        if (b.chunked) {
          res.write(b.body);
          res.end();
        } else {
          res.end(b.body);
        }
        return;
      case 'stream': {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const timer = setInterval(() => {
          if (res.destroyed) {
            clearInterval(timer);
            timers.delete(timer);
            return;
          }
          res.write(b.chunk);
        }, b.everyMs ?? 1);
        timers.add(timer);
        return;
      }
    }
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    behave: (next) => {
      behaviour = next;
    },
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
