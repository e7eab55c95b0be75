import { buildReport } from '../../../src/audit/report';
import { formatSummary } from '../../../src/audit/summary';
import { caller, dest, edge, history, T0 } from './history-factories';

const NOW = T0 + 25 * 3_600_000;
const at = (hour: number): string => new Date(T0 + hour * 3_600_000).toISOString();

const backend = dest('shop', 'backend');
const frontend = caller('web', 'frontend');
const legacy = caller('legacy', 'cron', false);
const facts = { app: 'backend', services: ['shop/backend'], waypoint: false, ambient: false };

describe('buildReport', () => {
  it('blocks a destination by its plaintext caller and lists both callers with their volume', () => {
    const report = buildReport(
      history(
        [
          edge(backend, frontend, [
            [1, { requests: 100, mtls: 100, denied: 2 }],
            [2, { requests: 50, mtls: 50 }],
          ]),
          edge(backend, legacy, [
            [2, { requests: 50, plaintext: 50 }],
            [5, { requests: 10, plaintext: 10 }],
          ]),
        ],
        [[backend, facts]],
      ),
      { nowMs: NOW },
    );
    expect(report).toEqual({
      generated_at: at(25),
      lookback: { from: at(0), to: at(24), seconds: 86_400 },
      summary: { destinations: 1, strict_ready: 0, blocked: 1, callers_without_identity: 1 },
      destinations: [
        {
          ...backend,
          requests: 210,
          connections: 0,
          denied: 2,
          plaintext: 60,
          mtls: 150,
          mtls_share: 150 / 210,
          mtls_share_requests: 150 / 210,
          mtls_share_connections: null,
          worst_hour: { start: at(5), mtls_share: 0 },
          strict_ready: false,
          blocked_by: [{ ...legacy, plaintext: 60, first_seen: at(2), last_seen: at(6) }],
          callers: [
            {
              ...frontend,
              requests: 150,
              connections: 0,
              denied: 2,
              plaintext: 0,
              mtls: 150,
              identity: true,
              first_seen: at(1),
              last_seen: at(3),
            },
          ],
          callers_without_identity: [
            {
              ...legacy,
              requests: 60,
              connections: 0,
              denied: 0,
              plaintext: 60,
              mtls: 0,
              identity: false,
              first_seen: at(2),
              last_seen: at(6),
            },
          ],
          workload: facts,
        },
      ],
      namespaces: [
        {
          destination_cluster: 'east',
          destination_namespace: 'shop',
          requests: 210,
          connections: 0,
          denied: 2,
          plaintext: 60,
          mtls: 150,
          destinations: 1,
          strict_ready_destinations: 0,
          strict_ready: false,
          mtls_share: 150 / 210,
          blocked_by: [{ ...legacy, plaintext: 60, first_seen: at(2), last_seen: at(6) }],
          caller_namespaces: [{ source_workload_namespace: 'web', requests: 150, connections: 0 }],
        },
      ],
    });
  });

  it('calls a destination without judged traffic ready, with a share of 1 and no worst hour', () => {
    const db = dest('data', 'db');
    const report = buildReport(history([edge(db, frontend, [[0, { connections: 4 }]], true)]), {
      nowMs: NOW,
    });
    expect(report.destinations[0]).toMatchObject({
      mtls_share: 1,
      mtls_share_requests: null,
      mtls_share_connections: null,
      worst_hour: null,
      strict_ready: true,
      blocked_by: [],
      workload: { services: [], waypoint: false, ambient: false },
    });
  });

  it('gives the share per layer and the earliest of equally bad hours', () => {
    const report = buildReport(
      history([
        edge(backend, frontend, [
          [3, { requests: 10, mtls: 5, plaintext: 5 }],
          [4, { requests: 10, mtls: 10 }],
        ]),
        edge(backend, caller('ops', 'probe'), [[1, { connections: 8, mtls: 4, plaintext: 4 }]], true),
      ]),
      { nowMs: NOW },
    );
    expect(report.destinations[0]).toMatchObject({
      mtls_share: 19 / 28,
      mtls_share_requests: 15 / 20,
      mtls_share_connections: 0.5,
      worst_hour: { start: at(1), mtls_share: 0.5 },
    });
  });

  it('orders callers busiest first and keeps a workload with and without identity as two callers', () => {
    const admin = caller('ops', 'admin');
    const plainFrontend = caller('web', 'frontend', false);
    const report = buildReport(
      history([
        edge(backend, admin, [[0, { requests: 5, mtls: 5 }]]),
        edge(backend, frontend, [[0, { requests: 50, mtls: 50 }]]),
        edge(backend, plainFrontend, [[0, { requests: 1, plaintext: 1 }]]),
      ]),
      { nowMs: NOW },
    );
    const [d] = report.destinations;
    expect(d?.callers.map((c) => c.source_workload)).toEqual(['frontend', 'admin']);
    expect(d?.callers_without_identity.map((c) => c.source_workload)).toEqual(['frontend']);
    expect(d?.blocked_by.map((b) => b.source_workload)).toEqual(['frontend']);
  });

  it('rolls up a namespace: ready only when every destination is, blockers merged across destinations', () => {
    const orders = dest('shop', 'orders');
    const report = buildReport(
      history([
        edge(backend, legacy, [[0, { requests: 3, plaintext: 3 }]]),
        edge(orders, legacy, [[7, { requests: 2, plaintext: 2 }]]),
        edge(dest('web', 'frontend'), caller('edge', 'gateway'), [[0, { requests: 9, mtls: 9 }]]),
      ]),
      { nowMs: NOW },
    );
    expect(report.summary).toEqual({
      destinations: 3,
      strict_ready: 1,
      blocked: 2,
      callers_without_identity: 1,
    });
    expect(
      report.namespaces.map((n) => ({
        ns: n.destination_namespace,
        ready: n.strict_ready,
        of: [n.strict_ready_destinations, n.destinations],
        blocked_by: n.blocked_by,
      })),
    ).toEqual([
      {
        ns: 'shop',
        ready: false,
        of: [0, 2],
        blocked_by: [{ ...legacy, plaintext: 5, first_seen: at(0), last_seen: at(8) }],
      },
      { ns: 'web', ready: true, of: [1, 1], blocked_by: [] },
    ]);
  });

  it('keeps only the namespaces asked for', () => {
    const report = buildReport(
      history([
        edge(backend, frontend, [[0, { requests: 1, mtls: 1 }]]),
        edge(dest('web', 'frontend'), caller('edge', 'gateway'), [[0, { requests: 1, mtls: 1 }]]),
      ]),
      { nowMs: NOW, namespaces: ['web'] },
    );
    expect(report.destinations.map((d) => d.destination_workload)).toEqual(['frontend']);
  });

  it('rounds counts estimated from hourly rates to a thousandth', () => {
    const report = buildReport(
      history([edge(backend, frontend, [[0, { requests: 1.00004, mtls: 1.00004 }]])]),
      { nowMs: NOW },
    );
    expect(report.destinations[0]?.callers[0]?.requests).toBe(1);
  });
});

describe('formatSummary', () => {
  it('names the blocked destinations with their blockers, the ready ones, and the callers without identity', () => {
    const report = buildReport(
      history([
        edge(backend, frontend, [[1, { requests: 100, mtls: 100 }]]),
        edge(backend, legacy, [[2, { requests: 4, plaintext: 4 }]]),
        edge(dest('web', 'frontend'), caller('edge', 'gateway'), [[0, { requests: 9, mtls: 9 }]]),
      ]),
      { nowMs: NOW },
    );
    expect(formatSummary(report)).toBe(
      [
        `audit of ${at(0)} to ${at(24)}: 2 destinations, 1 ready for STRICT mTLS, 1 blocked, 1 caller without identity`,
        'blocked from STRICT (1):',
        `  shop/backend by legacy/cron (no identity) (4 plaintext, ${at(2)} to ${at(3)})`,
        'ready for STRICT (1):',
        '  web/frontend',
        'callers without identity (1):',
        '  legacy/cron (no identity) -> shop/backend (4 requests, 0 connections)',
        '',
      ].join('\n'),
    );
  });

  it('lists the dry-run first, naming the deciding policy only where one decides', () => {
    const report = buildReport(history([edge(backend, frontend, [[1, { requests: 10, mtls: 10 }]])]), {
      nowMs: NOW,
    });
    const row = (decided_by: string, reason: string) => ({
      ...backend,
      ...frontend,
      requests: 10,
      connections: 0,
      decided_by,
      reason,
    });
    report.dry_run = {
      would_deny: [row('AuthorizationPolicy shop/strict', 'none matches')],
      would_allow: [row('', 'no ALLOW policy applies to the workload')],
      unjudged: [],
      policies: [],
      ignored: [],
    };
    expect(formatSummary(report).split('\n').slice(1, 6)).toEqual([
      'dry-run: 1 edge that succeeded would be denied, 1 denied edge would be allowed, 0 cannot be judged from metrics',
      'would deny (1):',
      `  ${frontend.source_principal} (web/frontend) -> shop/backend: 10 requests, 0 connections; AuthorizationPolicy shop/strict: none matches`,
      'would allow (1):',
      `  ${frontend.source_principal} (web/frontend) -> shop/backend: 10 requests, 0 connections; no ALLOW policy applies to the workload`,
    ]);
  });
});
