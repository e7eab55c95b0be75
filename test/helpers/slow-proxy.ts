import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request the proxy received, and when it was answered (undefined while in flight). */
export interface ProxiedRequest {
  method: string;
  url: string;
  body: string;
  receivedMs: number;
  answeredMs: number | undefined;
  /** The real server's status; undefined while in flight or when it never answered. */
  status: number | undefined;
}

/**
 * A loopback HTTP proxy in front of a real server (Prometheus, Alertmanager) that can make it
 * slow or unreachable: the real server answers, just late or not at all.
 */
export interface SlowProxy {
  /** `http://127.0.0.1:<port>`: point meshwatch here. */
  url: string;
  port: number;
  requests: ProxiedRequest[];
  /** Requests received and not answered yet. */
  inFlight(): ProxiedRequest[];
  /** How long each request now waits before it is forwarded (by method and path). */
  delay(ms: number | ((method: string, url: string) => number)): void;
  /** Forwards every request waiting now at once (the later ones still wait their delay). */
  release(): void;
  /** Stops listening: connections are refused, as when the server is down. */
  refuse(): Promise<void>;
  /** Listens again on the same port. */
  accept(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (any free port) forwarding to `target` (`http://host:port`). */
export async function startSlowProxy(target: string): Promise<SlowProxy> {
  const upstream = new URL(target);
  let delayOf: (method: string, url: string) => number = () => 0;
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Map<NodeJS.Timeout, () => void>();

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse, record: ProxiedRequest): void => {
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        record.status = answer.statusCode;
        answer.pipe(res);
        answer.on('end', () => (record.answeredMs = Date.now()));
      },
    );
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end('upstream failed');
      record.answeredMs = Date.now();
    });
    // The client gave up (a timeout, a shutdown): so does the proxy.
    res.on('close', () => out.destroy());
    out.end(body);
  };

  const server: Server = createServer((req, res) => {
    const record: ProxiedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      body: '',
      receivedMs: Date.now(),
      answeredMs: undefined,
      status: undefined,
    };
    requests.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      record.body = Buffer.concat(chunks).toString();
      const wait = delayOf(record.method, record.url);
      const go = (): void => {
        clearTimeout(timer);
        timers.delete(timer);
        if (!res.destroyed) forward(req, Buffer.concat(chunks), res, record);
      };
      const timer = setTimeout(go, wait);
      timers.set(timer, go);
      res.on('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
        record.answeredMs ??= Date.now();
      });
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const closeAll = (): Promise<void> =>
    new Promise((resolve) => {
      for (const timer of timers.keys()) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    inFlight: () => requests.filter((r) => r.answeredMs === undefined),
    delay: (ms) => {
      delayOf = typeof ms === 'number' ? () => ms : ms;
    },
    release: () => {
      for (const go of [...timers.values()]) go();
    },
    refuse: closeAll,
    accept: () => listen(port),
    close: closeAll,
  };
}
