/**
 * The dry-run of a set of policies over the lookback's edges (pure): each edge's traffic is judged
 * by `evaluate`, its mTLS and its plaintext part apart, and the edges whose outcome would change
 * are listed: succeeded traffic the policies would deny (what the change would break), denied
 * traffic they would allow, and traffic whose verdict depends on what metrics cannot tell.
 */
import {
  destinationKey,
  type AuditHistory,
  type DryRun,
  type DryRunEdge,
  type HistoryEdge,
  type WorkloadFacts,
} from './types';
import { evaluate, type Evaluation, type EvaluationRequest } from './evaluate';
import type { PolicySet } from './policy-files';

/** Options of `dryRun`. */
export interface DryRunOptions {
  /** Istio's root namespace (meshConfig.rootNamespace); default `istio-system`. */
  rootNamespace?: string;
}

const NO_FACTS: WorkloadFacts = { services: [], waypoint: false, ambient: false };

/** One part of an edge's traffic (over mTLS, in plaintext, or of unknown transport) and its verdict. */
interface Portion {
  volume: number;
  evaluation: Evaluation;
}

/** Replays every edge of `history` against `policies`; each list is sorted by volume, biggest first. */
export function dryRun(history: AuditHistory, policies: PolicySet, options: DryRunOptions = {}): DryRun {
  const evaluateOptions = options.rootNamespace === undefined ? {} : { rootNamespace: options.rootNamespace };
  const result: DryRun = {
    would_deny: [],
    would_allow: [],
    unjudged: [],
    policies: [
      ...policies.authorizationPolicies.map((p) => ({
        kind: p.kind,
        namespace: p.namespace,
        name: p.name,
        file: p.file,
      })),
      ...policies.peerAuthentications.map((p) => ({
        kind: p.kind,
        namespace: p.namespace,
        name: p.name,
        file: p.file,
      })),
    ],
    ignored: policies.ignored.map((i) => ({ ...i })),
  };
  for (const edge of history.edges) {
    const facts = history.workloads.get(destinationKey(edge.destination)) ?? NO_FACTS;
    const request = (mtls: boolean): EvaluationRequest => ({
      destination: {
        cluster: edge.destination.destination_cluster,
        namespace: edge.destination.destination_namespace,
        workload: edge.destination.destination_workload,
        facts,
      },
      source: { principal: edge.caller.source_principal },
      mtls,
    });
    const { requests, connections, denied, mtls, plaintext } = edge.total;
    const all = requests + connections;
    const portions: Portion[] = [];
    const overMtls =
      mtls > 0 || all - plaintext > 0 ? evaluate(request(true), policies, evaluateOptions) : undefined;
    const inPlaintext =
      plaintext > 0 || all - mtls > 0 ? evaluate(request(false), policies, evaluateOptions) : undefined;
    if (mtls > 0 && overMtls) portions.push({ volume: mtls, evaluation: overMtls });
    if (plaintext > 0 && inPlaintext) portions.push({ volume: plaintext, evaluation: inPlaintext });
    // Traffic without `connection_security_policy` (the label stripped) could be either.
    const rest = all - mtls - plaintext;
    if (rest > RESIDUE && overMtls && inPlaintext)
      portions.push({ volume: rest, evaluation: eitherTransport(overMtls, inPlaintext) });

    const succeeded = Math.max(0, all - denied);
    const toDeny = Math.min(succeeded, sum(portions, 'deny'));
    if (toDeny > RESIDUE) result.would_deny.push(dryRunEdge(edge, toDeny, biggest(portions, 'deny')));
    const toAllow = Math.min(denied, sum(portions, 'allow'));
    if (toAllow > RESIDUE)
      result.would_allow.push(dryRunEdge(edge, toAllow, biggest(portions, 'allow'), DENIED_NOTE));
    const open = Math.min(all, sum(portions, 'unjudged'));
    if (open > RESIDUE) result.unjudged.push(dryRunEdge(edge, open, biggest(portions, 'unjudged')));
  }
  for (const list of [result.would_deny, result.would_allow, result.unjudged]) list.sort(byVolume);
  return result;
}

// The history's counts are sums of hourly rate estimates, kept to a thousandth in the report: a
// difference below half of one (`requests + connections - mtls` of an all-mTLS edge) is float
// residue, not traffic, and would list an edge of "0 requests".
const RESIDUE = 0.0005;

// A 401/403 in the metrics may be the application's own answer, not a policy's.
const DENIED_NOTE = ' (the denied traffic may include 401/403 answers of the application itself)';

function eitherTransport(overMtls: Evaluation, inPlaintext: Evaluation): Evaluation {
  if (overMtls.verdict === inPlaintext.verdict) return overMtls;
  return {
    verdict: 'unjudged',
    decided_by: [...new Set([overMtls.decided_by, inPlaintext.decided_by].filter((b) => b !== ''))].join(
      ', ',
    ),
    reason:
      'the telemetry does not say whether this traffic was mTLS (no connection_security_policy): ' +
      `over mTLS it would be ${verb(overMtls)} (${overMtls.reason}), in plaintext ${verb(inPlaintext)} (${inPlaintext.reason})`,
  };
}

function verb(e: Evaluation): string {
  return e.verdict === 'allow' ? 'allowed' : e.verdict === 'deny' ? 'denied' : 'unjudged';
}

function sum(portions: Portion[], verdict: Evaluation['verdict']): number {
  return portions.filter((p) => p.evaluation.verdict === verdict).reduce((n, p) => n + p.volume, 0);
}

function biggest(portions: Portion[], verdict: Evaluation['verdict']): Evaluation {
  const matching = portions.filter((p) => p.evaluation.verdict === verdict);
  const top = matching.reduce((a, b) => (b.volume > a.volume ? b : a));
  return top.evaluation;
}

/** Splits `amount` into requests and connections in the edge's own proportion. */
function dryRunEdge(edge: HistoryEdge, amount: number, evaluation: Evaluation, note = ''): DryRunEdge {
  const { requests, connections } = edge.total;
  const ofRequests = requests + connections === 0 ? 0 : round((amount * requests) / (requests + connections));
  return {
    ...edge.destination,
    ...edge.caller,
    requests: ofRequests,
    connections: round(amount - ofRequests),
    decided_by: evaluation.decided_by,
    reason: evaluation.reason + note,
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function byVolume(a: DryRunEdge, b: DryRunEdge): number {
  const diff = b.requests + b.connections - (a.requests + a.connections);
  if (diff !== 0) return diff;
  const ka = `${a.destination_cluster}/${a.destination_namespace}/${a.destination_workload}/${a.source_principal}/${a.source_workload_namespace}/${a.source_workload}`;
  const kb = `${b.destination_cluster}/${b.destination_namespace}/${b.destination_workload}/${b.source_principal}/${b.source_workload_namespace}/${b.source_workload}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
