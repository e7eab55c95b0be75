/** The simulator's HTTP adapter: serves the compiled mesh's counters at `/metrics`, like a sidecar. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderExposition } from './exposition';
import { compileMesh } from './mesh';
import type { Scenario } from './scenario';

/** Options of `startSimulator`. */
export interface SimulatorOptions {
  scenario: Scenario;
  /** Unix ms at which the scenario starts: counters are 0 there, incident offsets count from it. */
  epochMs: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Current Unix ms; injectable for tests. Default Date.now. */
  clock?: () => number;
}

/** A running simulator. */
export interface RunningSimulator {
  /** `http://host:port`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Starts the simulator's HTTP server; it serves `/metrics` and `/-/healthy`. */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const mesh = compileMesh(options.scenario, options.epochMs);
  const clock = options.clock ?? Date.now;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      res.writeHead(200, { 'Content-Type': CONTENT_TYPE });
      if (req.method === 'HEAD') return void res.end();
      for (const chunk of renderExposition(mesh, clock())) res.write(chunk);
      res.end();
    } else if (path === '/-/healthy') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('Healthy\n');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics\n');
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
