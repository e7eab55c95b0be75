import { dryRun } from '../../../src/audit/dry-run';
import { parsePolicyText } from '../../../src/audit/policy-files';
import {
  destinationKey,
  type AuditHistory,
  type HistoryEdge,
  type Volume,
  type WorkloadFacts,
} from '../../../src/audit/types';

const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const OTHER = 'spiffe://cluster.local/ns/other/sa/client';
const PRODUCTPAGE = 'spiffe://cluster.local/ns/foo/sa/productpage';

function volume(v: Partial<Volume>): Volume {
  return { requests: 0, connections: 0, denied: 0, plaintext: 0, mtls: 0, ...v };
}

function edge(to: string, principal: string, callerWorkload: string, total: Volume): HistoryEdge {
  const [namespace = '', workload = ''] = to.split('/');
  const callerNamespace = /\/ns\/([^/]+)\//.exec(principal)?.[1] ?? 'legacy';
  return {
    destination: {
      destination_cluster: '',
      destination_namespace: namespace,
      destination_workload: workload,
    },
    caller: {
      source_principal: principal,
      source_workload_namespace: callerNamespace,
      source_workload: callerWorkload,
      source_cluster: '',
    },
    total,
    hours: [{ startMs: 0, volume: total }],
    firstSeenMs: 0,
    lastSeenMs: 3_600_000,
  };
}

function history(edges: HistoryEdge[], facts: Record<string, Partial<WorkloadFacts>>): AuditHistory {
  const workloads = new Map<string, WorkloadFacts>();
  for (const [to, f] of Object.entries(facts)) {
    const [namespace = '', workload = ''] = to.split('/');
    workloads.set(
      destinationKey({
        destination_cluster: '',
        destination_namespace: namespace,
        destination_workload: workload,
      }),
      { services: [], waypoint: false, ambient: false, ...f },
    );
  }
  return { fromMs: 0, toMs: 3_600_000, stepMs: 3_600_000, edges, workloads };
}

const POLICIES = parsePolicyText(
  `
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: default, namespace: foo }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin } }
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews-readers, namespace: foo }
spec:
  selector: { matchLabels: { app: reviews } }
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/foo/sa/productpage"] } }]
    to: [{ operation: { methods: ["GET"] } }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: notes, namespace: foo }
`,
  'policies.yaml',
);

const FACTS = {
  'foo/httpbin': { app: 'httpbin' },
  'foo/reviews': { app: 'reviews' },
  'foo/db': { app: 'db' },
};

describe('dryRun', () => {
  it('lists what the policies would break, unblock and cannot judge, biggest first', () => {
    const h = history(
      [
        edge('foo/httpbin', SLEEP, 'sleep', volume({ requests: 100, denied: 10, mtls: 100 })),
        edge('foo/httpbin', OTHER, 'client', volume({ requests: 300, mtls: 300 })),
        edge('foo/httpbin', 'unknown', 'legacy', volume({ requests: 50, plaintext: 50 })),
        edge('foo/reviews', PRODUCTPAGE, 'productpage', volume({ requests: 70, mtls: 70 })),
        edge('foo/db', OTHER, 'client', volume({ connections: 20, plaintext: 5, mtls: 15 })),
        edge('foo/httpbin', 'unknown', 'stripped', volume({ requests: 8 })),
      ],
      FACTS,
    );
    const row = (
      e: HistoryEdge,
      requests: number,
      connections: number,
      decided_by: string,
      reason: string,
    ) => ({
      ...e.destination,
      ...e.caller,
      requests,
      connections,
      decided_by,
      reason,
    });
    const [sleep, other, legacy, productpage, db, stripped] = h.edges as [
      HistoryEdge,
      HistoryEdge,
      HistoryEdge,
      HistoryEdge,
      HistoryEdge,
      HistoryEdge,
    ];
    const strict = 'PeerAuthentication foo/default sets mTLS STRICT: plaintext is refused';
    expect(dryRun(h, POLICIES)).toEqual({
      would_deny: [
        row(
          other,
          300,
          0,
          'AuthorizationPolicy foo/httpbin',
          'ALLOW policies apply to the workload (AuthorizationPolicy foo/httpbin) and none matches principal cluster.local/ns/other/sa/client',
        ),
        row(legacy, 50, 0, 'PeerAuthentication foo/default', strict),
        // Only the plaintext part of the connections breaks under STRICT.
        row(db, 0, 5, 'PeerAuthentication foo/default', strict),
      ],
      would_allow: [
        row(
          sleep,
          10,
          0,
          'AuthorizationPolicy foo/httpbin',
          'AuthorizationPolicy foo/httpbin (ALLOW) matches principal cluster.local/ns/default/sa/sleep (rule 1)' +
            ' (the denied traffic may include 401/403 answers of the application itself)',
        ),
      ],
      unjudged: [
        row(
          productpage,
          70,
          0,
          'AuthorizationPolicy foo/reviews-readers',
          'AuthorizationPolicy foo/reviews-readers rule 1: to.operation.methods is not in the metrics',
        ),
        row(
          stripped,
          8,
          0,
          'AuthorizationPolicy foo/httpbin, PeerAuthentication foo/default',
          'the telemetry does not say whether this traffic was mTLS (no connection_security_policy): over mTLS it would be unjudged' +
            ' (AuthorizationPolicy foo/httpbin rule 1: the mTLS caller has no source_principal in the telemetry),' +
            ' in plaintext denied (PeerAuthentication foo/default sets mTLS STRICT: plaintext is refused)',
        ),
      ],
      policies: [
        { kind: 'AuthorizationPolicy', namespace: 'foo', name: 'httpbin', file: 'policies.yaml' },
        { kind: 'AuthorizationPolicy', namespace: 'foo', name: 'reviews-readers', file: 'policies.yaml' },
        { kind: 'PeerAuthentication', namespace: 'foo', name: 'default', file: 'policies.yaml' },
      ],
      ignored: [{ kind: 'ConfigMap', name: 'notes', file: 'policies.yaml' }],
    });
  });

  it('reports nothing when the policies allow what succeeded', () => {
    const h = history([edge('foo/httpbin', SLEEP, 'sleep', volume({ requests: 100, mtls: 100 }))], FACTS);
    const result = dryRun(h, POLICIES);
    expect([result.would_deny, result.would_allow, result.unjudged]).toEqual([[], [], []]);
  });

  it('does not take the float residue of summed hourly estimates for traffic of unknown transport', () => {
    // 680949.614 + 68306.182 is 749255.796, a hair above the mTLS sum of the same hours.
    const total = volume({ requests: 680949.614, connections: 68306.182, mtls: 749255.7959999999 });
    const h = history([edge('foo/httpbin', SLEEP, 'sleep', total)], FACTS);
    const result = dryRun(h, POLICIES);
    expect([result.would_deny, result.would_allow, result.unjudged]).toEqual([[], [], []]);
  });

  it("caps what would break at the succeeded volume and splits it by the edge's requests and connections", () => {
    const h = history(
      [edge('foo/httpbin', OTHER, 'client', volume({ requests: 30, connections: 10, denied: 20, mtls: 40 }))],
      FACTS,
    );
    expect(dryRun(h, POLICIES).would_deny.map((e) => [e.requests, e.connections])).toEqual([[15, 5]]);
  });

  it('uses the root namespace it is given', () => {
    const meshWide = parsePolicyText(
      'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: allow-nothing, namespace: mesh }\nspec: {}\n',
      'mesh.yaml',
    );
    const h = history([edge('foo/httpbin', SLEEP, 'sleep', volume({ requests: 4, mtls: 4 }))], FACTS);
    expect(dryRun(h, meshWide).would_deny).toEqual([]);
    expect(dryRun(h, meshWide, { rootNamespace: 'mesh' }).would_deny.map((e) => e.decided_by)).toEqual([
      'AuthorizationPolicy mesh/allow-nothing',
    ]);
  });
});
