/**
 * A real Alertmanager on loopback and a webhook receiver standing in for its pager and chat
 * receivers, shared by the tests (test/helpers/alertmanager.ts) and `npm run demo`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { requireBinary } from './binaries';
import { freePort, waitFor } from './net';
import { repoPath } from './repo';

/** The shipped Alertmanager configuration. */
export const ALERTMANAGER_CONFIG_PATH = repoPath('deploy', 'alertmanager', 'alertmanager.yml');

/** Path of the Debian `prometheus-alertmanager` binary, or an error naming the package to install. */
export const alertmanagerBinary = (): string =>
  requireBinary(['prometheus-alertmanager', 'alertmanager'], 'prometheus-alertmanager');
/** Path of `amtool`, or an error naming the package to install. */
export const amtoolBinary = (): string => requireBinary(['amtool'], 'prometheus-alertmanager');

/** An alert as Alertmanager's API v2 and its webhook describe it. */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: string | { state: string; inhibitedBy: string[]; silencedBy: string[] };
}

/** A running Alertmanager started by a test or the demo; `stop()` it in `afterAll`. */
export interface RunningAlertmanager {
  url: string;
  /** `host:port`, for Prometheus's `alerting:` section. */
  target: string;
  dir: string;
  /** The alerts it holds now (`GET /api/v2/alerts`), inhibited and silenced ones included. */
  alerts(): Promise<AlertmanagerAlert[]>;
  stop(): Promise<void>;
  logs(): string;
}

/** Starts Alertmanager 0.25 from the Debian package on 127.0.0.1 with `configYaml`, clustering off. */
export async function startAlertmanager(configYaml: string): Promise<RunningAlertmanager> {
  const binary = alertmanagerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'meshwatch-am-'));
  const port = await freePort();
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, configYaml);
  let output = '';
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Empty disables the gossip cluster, which would otherwise bind 0.0.0.0:9094.
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`alertmanager exited with ${code}:\n${output}`))),
  );
  exited.catch(() => undefined);
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([
    waitFor('alertmanager to be ready', async () => (await fetch(`${url}/-/ready`)).ok, 30000),
    exited,
  ]);
  return {
    url,
    target: `127.0.0.1:${port}`,
    dir,
    alerts: async () => (await (await fetch(`${url}/api/v2/alerts`)).json()) as AlertmanagerAlert[],
    logs: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}

/** One webhook notification as Alertmanager posts it, with the time it arrived. */
export interface WebhookNotification {
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: Array<AlertmanagerAlert & { status: 'firing' | 'resolved' }>;
  groupLabels: Record<string, string>;
  receivedAtMs: number;
}

/** A local webhook receiver collecting what Alertmanager sends. */
export interface WebhookReceiver {
  /** Base URL; `loopbackAlertmanagerConfig` points receiver `name` at `<url>/<name>`. */
  url: string;
  notifications: WebhookNotification[];
  stop(): Promise<void>;
}

/** Starts an HTTP server on 127.0.0.1 that records every POSTed notification. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const notifications: WebhookNotification[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      try {
        notifications.push({ ...(JSON.parse(body) as WebhookNotification), receivedAtMs: Date.now() });
        res.writeHead(200).end();
      } catch {
        // Only Alertmanager posts here; anything unparsable is refused rather than crashing the host.
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    notifications,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Route timings a test may shorten; the shipped values are for people, not for a test's minutes. */
export interface RouteTimings {
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
}

/**
 * The shipped configuration with its routing tree and inhibit rules untouched, but every receiver
 * replaced by a webhook to `<baseUrl>/<receiver name>` (PagerDuty and Slack are not on loopback)
 * and, when given, the route timings replaced at every level.
 */
export function loopbackAlertmanagerConfig(baseUrl: string, timings: RouteTimings = {}): string {
  const config = parse(readFileSync(ALERTMANAGER_CONFIG_PATH, 'utf8')) as {
    route: Route;
    receivers: Array<{ name: string }>;
  };
  const retime = (route: Route): Route => ({
    ...route,
    ...(route.group_wait !== undefined || route === config.route ? pick(timings, 'group_wait') : {}),
    ...(route.group_interval !== undefined || route === config.route ? pick(timings, 'group_interval') : {}),
    ...(route.repeat_interval !== undefined || route === config.route
      ? pick(timings, 'repeat_interval')
      : {}),
    routes: route.routes?.map(retime),
  });
  return stringify({
    ...config,
    route: retime(config.route),
    receivers: config.receivers.map(({ name }) => ({
      name,
      webhook_configs: [{ url: `${baseUrl}/${name}`, send_resolved: true }],
    })),
  });
}

interface Route extends RouteTimings {
  routes?: Route[];
  [key: string]: unknown;
}

function pick(timings: RouteTimings, key: keyof RouteTimings): RouteTimings {
  return timings[key] === undefined ? {} : { [key]: timings[key] };
}
