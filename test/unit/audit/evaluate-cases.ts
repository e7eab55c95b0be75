/**
 * The evaluator's case table: examples from Istio's documentation (and Istio's own tests), each
 * with its source. evaluate.test.ts runs them; docs/audit-evaluator.md carries the same table, and a
 * test checks that the two agree.
 */
import type { Verdict } from '../../../src/audit/evaluate';

const REF = 'https://istio.io/latest/docs/reference/config/security/authorization-policy/';
const CONCEPTS = 'https://istio.io/latest/docs/concepts/security/';
const EXAMPLES = 'https://istio.io/latest/docs/ops/configuration/security/security-policy-examples/';
const L7 = 'https://istio.io/latest/docs/ambient/usage/l7-features/';
const ZTUNNEL_CODE =
  'istio/istio pilot/pkg/serviceregistry/kube/controller/ambient/authorization.go (handleRule, convertAuthorizationPolicy) and authorization_test.go';

/** The destination and caller of a case. */
export interface CaseRequest {
  /** `namespace/workload`. */
  to: string;
  app?: string;
  version?: string;
  ambient?: boolean;
  waypoint?: boolean;
  services?: string[];
  /** A principal as telemetry writes it, or `plaintext`. */
  from: string;
}

/** One row of the table. */
export interface EvaluatorCase {
  name: string;
  /** The policy in a few words, for the doc's table. */
  policy: string;
  yaml: string;
  request: CaseRequest;
  verdict: Verdict;
  decided_by: string;
  /** URL and section (or repository and path) the expectation comes from. */
  source: string;
  rootNamespace?: string;
}

const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const TEST_NS = 'spiffe://cluster.local/ns/test/sa/client';
const OTHER = 'spiffe://cluster.local/ns/other/sa/client';
const DEV = 'spiffe://cluster.local/ns/dev/sa/client';
const FOO = 'spiffe://cluster.local/ns/foo/sa/client';
const INGRESS = 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';
const HTTPBIN = { to: 'foo/httpbin', app: 'httpbin', version: 'v1' };

const ALLOW_NOTHING_FOO = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: foo }
spec: {}
`;
const ALLOW_ALL_FOO = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-all, namespace: foo }
spec:
  rules:
  - {}
`;
const DENY_ALL_FOO = `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: deny-all, namespace: foo }
spec:
  action: DENY
  rules:
  - {}
`;
const ALLOW_NOTHING_BAR_HTTPBIN = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: bar }
spec:
  selector:
    matchLabels: { app: httpbin }
`;
const ROOT_ALLOW_NOTHING_V1 = (ns: string): string => `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: ${ns} }
spec:
  selector:
    matchLabels: { version: v1 }
`;
const REF_HTTPBIN_ALLOW = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/sleep"]
    - source:
        namespaces: ["test"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/info*"]
    - operation:
        methods: ["POST"]
        paths: ["/data"]
    when:
    - key: request.auth.claims[iss]
      values: ["https://accounts.google.com"]
`;
const REF_DENY_DEV_POST = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  action: DENY
  rules:
  - from:
    - source:
        namespaces: ["dev"]
    to:
    - operation:
        methods: ["POST"]
`;
const REF_DENY_POST_8080 = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  action: DENY
  rules:
  - to:
    - operation:
        methods: ["POST"]
        ports: ["8080"]
`;
const CONCEPTS_HTTPBIN_DENY = `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: httpbin-deny, namespace: foo }
spec:
  selector:
    matchLabels: { app: httpbin, version: v1 }
  action: DENY
  rules:
  - from:
    - source:
        notNamespaces: ["foo"]
`;
const FOO_ISOLATION = `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: foo-isolation, namespace: foo }
spec:
  action: ALLOW
  rules:
  - from:
    - source:
        namespaces: ["foo"]
`;
const ISOLATION_EXCEPT_INGRESS = `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: ns-isolation-except-ingress, namespace: foo }
spec:
  action: ALLOW
  rules:
  - from:
    - source:
        namespaces: ["foo"]
    - source:
        principals: ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]
`;
const REQUIRE_MTLS = `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: require-mtls, namespace: foo }
spec:
  action: DENY
  rules:
  - from:
    - source:
        notPrincipals: ["*"]
`;
const DENY_ISOLATION_EXCEPT_INGRESS = `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: ns-isolation-except-ingress, namespace: foo }
spec:
  action: DENY
  rules:
  - from:
    - source:
        notNamespaces: ["foo"]
        notPrincipals: ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]
`;
const AUTHENTICATED_GET_POST = `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  selector:
    matchLabels: { app: httpbin, version: v1 }
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["*"]
    to:
    - operation:
        methods: ["GET", "POST"]
`;
const PUBLIC_GET_POST = `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  selector:
    matchLabels: { app: httpbin, version: v1 }
  action: ALLOW
  rules:
  - to:
    - operation:
        methods: ["GET", "POST"]
`;
const principalsPolicy = (patterns: string[]): string => `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: by-principal, namespace: foo }
spec:
  rules:
  - from:
    - source:
        principals: ${JSON.stringify(patterns)}
`;
const CUSTOM_ALL = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext-authz, namespace: foo }
spec:
  action: CUSTOM
  provider:
    name: my-custom-authz
  rules:
  - {}
`;
const AUDIT_PROFILE = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: anyname, namespace: foo }
spec:
  selector:
    matchLabels: { app: httpbin }
  action: AUDIT
  rules:
  - to:
    - operation:
        methods: ["GET"]
        paths: ["/user/profile/*"]
`;
const DRY_RUN_DENY = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: dry-run-example
  namespace: foo
  annotations:
    "istio.io/dry-run": "true"
spec:
  selector:
    matchLabels: { app: httpbin }
  action: DENY
  rules:
  - to:
    - operation:
        paths: ["/headers"]
`;
const WAYPOINT_VIEWER = `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: viewer, namespace: default }
spec:
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: waypoint
  action: ALLOW
  rules:
  - from:
    - source:
        namespaces: ["default", "istio-system"]
    to:
    - operation:
        methods: ["GET"]
`;
const SERVICE_VIEWER = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: productpage-viewer, namespace: default }
spec:
  targetRefs:
  - kind: Service
    group: ""
    name: productpage
  action: ALLOW
  rules:
  - from:
    - source:
        namespaces: ["default", "istio-system"]
`;
const ZTUNNEL_ALLOW_GET = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: productpage-viewer, namespace: default }
spec:
  selector:
    matchLabels: { app: productpage }
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/sleep"]
    to:
    - operation:
        methods: ["GET"]
`;
const ZTUNNEL_DENY_POST = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-dev-post, namespace: default }
spec:
  selector:
    matchLabels: { app: productpage }
  action: DENY
  rules:
  - from:
    - source:
        namespaces: ["dev"]
    to:
    - operation:
        methods: ["POST"]
`;
const ZTUNNEL_CUSTOM = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext-authz, namespace: default }
spec:
  selector:
    matchLabels: { app: productpage }
  action: CUSTOM
  provider: { name: my-custom-authz }
  rules:
  - {}
`;
const PA_FOO_STRICT = `
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: example-policy, namespace: foo }
spec:
  mtls:
    mode: STRICT
`;
const PA_MESH_STRICT = `
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls:
    mode: STRICT
`;
const PA_MESH_UNSET = `
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: {}
`;
const PA_FOO_PERMISSIVE = `
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: default, namespace: foo }
spec:
  mtls:
    mode: PERMISSIVE
`;
const PA_REVIEWS_STRICT = `
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: example-peer-policy, namespace: foo }
spec:
  selector:
    matchLabels: { app: reviews }
  mtls:
    mode: STRICT
`;
const PA_PORT_80_DISABLE = `
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: example-workload-policy, namespace: foo }
spec:
  selector:
    matchLabels: { app: example-app }
  portLevelMtls:
    80:
      mode: DISABLE
`;

const join = (...docs: string[]): string => docs.join('---\n');

/** The table. */
export const EVALUATOR_CASES: EvaluatorCase[] = [
  {
    name: 'no policy allows everything',
    policy: '(none)',
    yaml: '',
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'allow',
    decided_by: '',
    source: `${CONCEPTS}#implicit-enablement`,
  },
  {
    name: 'allow-nothing (`spec: {}`) denies all in its namespace',
    policy: '`allow-nothing` in foo: `spec: {}`',
    yaml: ALLOW_NOTHING_FOO,
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/allow-nothing',
    source: `${REF} (policy scope: allow-nothing in namespace foo)`,
  },
  {
    name: 'allow-nothing does not reach another namespace',
    policy: '`allow-nothing` in foo: `spec: {}`',
    yaml: ALLOW_NOTHING_FOO,
    request: { to: 'bar/httpbin', app: 'httpbin', from: SLEEP },
    verdict: 'allow',
    decided_by: '',
    source: `${REF} (policy scope: "metadata/namespace" tells which namespace the policy applies)`,
  },
  {
    name: 'allow-all (`rules: [{}]`) allows all',
    policy: '`allow-all` in foo: `rules: [{}]`',
    yaml: ALLOW_ALL_FOO,
    request: { ...HTTPBIN, from: OTHER },
    verdict: 'allow',
    decided_by: 'AuthorizationPolicy foo/allow-all',
    source: `${REF} (allow-all in namespace foo)`,
  },
  {
    name: 'ALLOW policies are additive: allow-all beside allow-nothing allows',
    policy: '`allow-nothing` + `allow-all` in foo',
    yaml: join(ALLOW_NOTHING_FOO, ALLOW_ALL_FOO),
    request: { ...HTTPBIN, from: OTHER },
    verdict: 'allow',
    decided_by: 'AuthorizationPolicy foo/allow-all',
    source: `${CONCEPTS}#allow-nothing-deny-all-and-allow-all-policy`,
  },
  {
    name: 'deny-all overrides allow-all',
    policy: '`deny-all` (DENY, `rules: [{}]`) + `allow-all` in foo',
    yaml: join(DENY_ALL_FOO, ALLOW_ALL_FOO),
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/deny-all',
    source: `${CONCEPTS}#allow-nothing-deny-all-and-allow-all-policy`,
  },
  {
    name: 'a selector applies to the workloads it selects',
    policy: '`allow-nothing` in bar, selector `app: httpbin`',
    yaml: ALLOW_NOTHING_BAR_HTTPBIN,
    request: { to: 'bar/httpbin', app: 'httpbin', from: SLEEP },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy bar/allow-nothing',
    source: `${REF} (allow-nothing for workloads with label app: httpbin in namespace bar)`,
  },
  {
    name: 'a selector does not apply to other workloads',
    policy: '`allow-nothing` in bar, selector `app: httpbin`',
    yaml: ALLOW_NOTHING_BAR_HTTPBIN,
    request: { to: 'bar/productpage', app: 'productpage', from: SLEEP },
    verdict: 'allow',
    decided_by: '',
    source: `${REF} (allow-nothing for workloads with label app: httpbin in namespace bar)`,
  },
  {
    name: 'a selector on a label the telemetry does not know is unjudged',
    policy: '`allow-nothing` in bar, selector `app: httpbin`',
    yaml: ALLOW_NOTHING_BAR_HTTPBIN,
    request: { to: 'bar/httpbin', from: SLEEP },
    verdict: 'unjudged',
    decided_by: 'AuthorizationPolicy bar/allow-nothing',
    source: `${REF} (same example; destination_app unknown in telemetry)`,
  },
  {
    name: 'a policy in the root namespace applies in every namespace',
    policy: '`allow-nothing` in istio-system, selector `version: v1`',
    yaml: ROOT_ALLOW_NOTHING_V1('istio-system'),
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy istio-system/allow-nothing',
    source: `${REF} (allow-nothing for label version: v1 in all namespaces, root namespace istio-system)`,
  },
  {
    name: 'a root-namespace selector still selects',
    policy: '`allow-nothing` in istio-system, selector `version: v1`',
    yaml: ROOT_ALLOW_NOTHING_V1('istio-system'),
    request: { to: 'foo/httpbin', app: 'httpbin', version: 'v2', from: SLEEP },
    verdict: 'allow',
    decided_by: '',
    source: `${REF} (same example, a v2 workload)`,
  },
  {
    name: 'the root namespace is configurable',
    policy: '`allow-nothing` in mesh-root (root namespace mesh-root), selector `version: v1`',
    yaml: ROOT_ALLOW_NOTHING_V1('mesh-root'),
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy mesh-root/allow-nothing',
    source: `${CONCEPTS}#policy-target`,
    rootNamespace: 'mesh-root',
  },
  {
    name: 'an ALLOW rule whose source matches depends on methods, paths and JWT: unjudged',
    policy: '`httpbin` ALLOW from sa sleep or ns test, to GET /info* or POST /data, when JWT iss',
    yaml: REF_HTTPBIN_ALLOW,
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'unjudged',
    decided_by: 'AuthorizationPolicy foo/httpbin',
    source: `${REF} (first example, action ALLOW)`,
  },
  {
    name: 'the same rule from namespace test is unjudged too',
    policy: '`httpbin` ALLOW from sa sleep or ns test, to GET /info* or POST /data, when JWT iss',
    yaml: REF_HTTPBIN_ALLOW,
    request: { ...HTTPBIN, from: TEST_NS },
    verdict: 'unjudged',
    decided_by: 'AuthorizationPolicy foo/httpbin',
    source: `${REF} (first example, action ALLOW)`,
  },
  {
    name: 'an ALLOW rule whose source cannot match denies, whatever its `to` and `when`',
    policy: '`httpbin` ALLOW from sa sleep or ns test, to GET /info* or POST /data, when JWT iss',
    yaml: REF_HTTPBIN_ALLOW,
    request: { ...HTTPBIN, from: OTHER },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/httpbin',
    source: `${REF} (first example: "Any other requests will be denied")`,
  },
  {
    name: 'a DENY rule on POST from dev is unjudged for dev (the method is unknown)',
    policy: '`httpbin` DENY from ns dev to POST',
    yaml: REF_DENY_DEV_POST,
    request: { ...HTTPBIN, from: DEV },
    verdict: 'unjudged',
    decided_by: 'AuthorizationPolicy foo/httpbin',
    source: `${REF} (second example, action DENY)`,
  },
  {
    name: 'a DENY rule whose source cannot match is irrelevant',
    policy: '`httpbin` DENY from ns dev to POST',
    yaml: REF_DENY_DEV_POST,
    request: { ...HTTPBIN, from: OTHER },
    verdict: 'allow',
    decided_by: '',
    source: `${REF} (second example, action DENY)`,
  },
  {
    name: 'a DENY rule on method and port only is unjudged for everyone',
    policy: '`httpbin` DENY to POST on port 8080',
    yaml: REF_DENY_POST_8080,
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'unjudged',
    decided_by: 'AuthorizationPolicy foo/httpbin',
    source: `${REF} (third example, DENY POST on port 8080)`,
  },
  {
    name: 'notNamespaces denies callers from other namespaces',
    policy: '`httpbin-deny` DENY from notNamespaces foo, selector app httpbin, version v1',
    yaml: CONCEPTS_HTTPBIN_DENY,
    request: { ...HTTPBIN, from: OTHER },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/httpbin-deny',
    source: `${CONCEPTS}#authorization-policies`,
  },
  {
    name: 'notNamespaces lets the namespace itself through',
    policy: '`httpbin-deny` DENY from notNamespaces foo, selector app httpbin, version v1',
    yaml: CONCEPTS_HTTPBIN_DENY,
    request: { ...HTTPBIN, from: FOO },
    verdict: 'allow',
    decided_by: '',
    source: `${CONCEPTS}#authorization-policies`,
  },
  {
    name: 'notNamespaces matches a plaintext caller (it has no namespace)',
    policy: '`httpbin-deny` DENY from notNamespaces foo, selector app httpbin, version v1',
    yaml: CONCEPTS_HTTPBIN_DENY,
    request: { ...HTTPBIN, from: 'plaintext' },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/httpbin-deny',
    source: `${CONCEPTS}#dependency-on-mutual-tls`,
  },
  {
    name: 'namespace isolation allows its own namespace',
    policy: '`foo-isolation` ALLOW from namespaces foo',
    yaml: FOO_ISOLATION,
    request: { ...HTTPBIN, from: FOO },
    verdict: 'allow',
    decided_by: 'AuthorizationPolicy foo/foo-isolation',
    source: `${EXAMPLES}#namespace-isolation`,
  },
  {
    name: 'namespace isolation denies other namespaces',
    policy: '`foo-isolation` ALLOW from namespaces foo',
    yaml: FOO_ISOLATION,
    request: { ...HTTPBIN, from: OTHER },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/foo-isolation',
    source: `${EXAMPLES}#namespace-isolation`,
  },
  {
    name: 'namespace isolation denies plaintext (namespaces need mTLS)',
    policy: '`foo-isolation` ALLOW from namespaces foo',
    yaml: FOO_ISOLATION,
    request: { ...HTTPBIN, from: 'plaintext' },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/foo-isolation',
    source: `${EXAMPLES}#namespace-isolation ("This requires you have already enabled mTLS")`,
  },
  {
    name: 'namespace isolation with an ingress exception allows the ingress gateway',
    policy: '`ns-isolation-except-ingress` ALLOW from ns foo or the ingress gateway principal',
    yaml: ISOLATION_EXCEPT_INGRESS,
    request: { ...HTTPBIN, from: INGRESS },
    verdict: 'allow',
    decided_by: 'AuthorizationPolicy foo/ns-isolation-except-ingress',
    source: `${EXAMPLES}#namespace-isolation-with-ingress-exception`,
  },
  {
    name: 'require-mtls (DENY notPrincipals `*`) denies plaintext',
    policy: '`require-mtls` DENY from notPrincipals `*`',
    yaml: REQUIRE_MTLS,
    request: { ...HTTPBIN, from: 'plaintext' },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/require-mtls',
    source: `${EXAMPLES}#require-mtls-in-authorization-layer-defense-in-depth`,
  },
  {
    name: 'require-mtls lets mTLS through',
    policy: '`require-mtls` DENY from notPrincipals `*`',
    yaml: REQUIRE_MTLS,
    request: { ...HTTPBIN, from: OTHER },
    verdict: 'allow',
    decided_by: '',
    source: `${EXAMPLES}#require-mtls-in-authorization-layer-defense-in-depth`,
  },
  {
    name: 'DENY isolation (notNamespaces and notPrincipals ANDed) denies another namespace',
    policy: '`ns-isolation-except-ingress` DENY from notNamespaces foo and notPrincipals ingress',
    yaml: DENY_ISOLATION_EXCEPT_INGRESS,
    request: { ...HTTPBIN, from: OTHER },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/ns-isolation-except-ingress',
    source: `${EXAMPLES}#require-mandatory-authorization-check-with-deny-policy`,
  },
  {
    name: 'DENY isolation lets the ingress gateway through',
    policy: '`ns-isolation-except-ingress` DENY from notNamespaces foo and notPrincipals ingress',
    yaml: DENY_ISOLATION_EXCEPT_INGRESS,
    request: { ...HTTPBIN, from: INGRESS },
    verdict: 'allow',
    decided_by: '',
    source: `${EXAMPLES}#require-mandatory-authorization-check-with-deny-policy`,
  },
  {
    name: 'principals `*` (authenticated only) denies plaintext whatever the method',
    policy: '`httpbin` ALLOW from principals `*` to GET, POST',
    yaml: AUTHENTICATED_GET_POST,
    request: { ...HTTPBIN, from: 'plaintext' },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/httpbin',
    source: `${CONCEPTS}#authenticated-and-unauthenticated-identity`,
  },
  {
    name: 'principals `*` with methods is unjudged over mTLS',
    policy: '`httpbin` ALLOW from principals `*` to GET, POST',
    yaml: AUTHENTICATED_GET_POST,
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'unjudged',
    decided_by: 'AuthorizationPolicy foo/httpbin',
    source: `${CONCEPTS}#authenticated-and-unauthenticated-identity`,
  },
  {
    name: 'a public policy on methods only is unjudged',
    policy: '`httpbin` ALLOW to GET, POST (no source)',
    yaml: PUBLIC_GET_POST,
    request: { ...HTTPBIN, from: 'plaintext' },
    verdict: 'unjudged',
    decided_by: 'AuthorizationPolicy foo/httpbin',
    source: `${CONCEPTS}#authenticated-and-unauthenticated-identity`,
  },
  {
    name: 'prefix match on principals',
    policy: 'ALLOW from principals `cluster.local/ns/default/*`',
    yaml: principalsPolicy(['cluster.local/ns/default/*']),
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'allow',
    decided_by: 'AuthorizationPolicy foo/by-principal',
    source: `${REF}#Rule (Prefix match: "abc*" matches "abc" and "abcd")`,
  },
  {
    name: 'suffix match on principals',
    policy: 'ALLOW from principals `*/sa/sleep`',
    yaml: principalsPolicy(['*/sa/sleep']),
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'allow',
    decided_by: 'AuthorizationPolicy foo/by-principal',
    source: `${REF}#Rule (Suffix match: "*abc" matches "abc" and "xabc")`,
  },
  {
    name: 'suffix match does not match another service account',
    policy: 'ALLOW from principals `*/sa/sleep`',
    yaml: principalsPolicy(['*/sa/sleep']),
    request: { ...HTTPBIN, from: OTHER },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/by-principal',
    source: `${REF}#Rule (Suffix match)`,
  },
  {
    name: 'presence match `*` allows any mTLS caller',
    policy: 'ALLOW from principals `*`',
    yaml: principalsPolicy(['*']),
    request: { ...HTTPBIN, from: OTHER },
    verdict: 'allow',
    decided_by: 'AuthorizationPolicy foo/by-principal',
    source: `${REF}#Rule (Presence match: "*" will match when value is not empty)`,
  },
  {
    name: 'presence match `*` does not match plaintext',
    policy: 'ALLOW from principals `*`',
    yaml: principalsPolicy(['*']),
    request: { ...HTTPBIN, from: 'plaintext' },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/by-principal',
    source: `${CONCEPTS}#value-matching (Presence match) and #dependency-on-mutual-tls`,
  },
  {
    name: 'CUSTOM (ext_authz) is unjudged',
    policy: '`ext-authz` CUSTOM provider my-custom-authz, `rules: [{}]`',
    yaml: CUSTOM_ALL,
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'unjudged',
    decided_by: 'AuthorizationPolicy foo/ext-authz',
    source: `${REF}#AuthorizationPolicy-Action (CUSTOM)`,
  },
  {
    name: 'DENY decides even with a CUSTOM policy in front',
    policy: '`ext-authz` CUSTOM + `deny-all` in foo',
    yaml: join(CUSTOM_ALL, DENY_ALL_FOO),
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy foo/deny-all',
    source: `${REF} (evaluation: CUSTOM, then DENY, then ALLOW; a request is allowed only if all allow)`,
  },
  {
    name: 'AUDIT does not change the decision',
    policy: '`anyname` AUDIT GET /user/profile/* on app myapi-like httpbin',
    yaml: AUDIT_PROFILE,
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'allow',
    decided_by: '',
    source: `${REF} ("AUDIT policies do not affect whether requests are allowed or denied")`,
  },
  {
    name: 'a policy annotated istio.io/dry-run is not enforced',
    policy: '`dry-run-example` DENY paths /headers, annotation `istio.io/dry-run: "true"`',
    yaml: DRY_RUN_DENY,
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'allow',
    decided_by: '',
    source: `${REF} (dry-run example)`,
  },
  {
    name: 'a waypoint policy does not apply to a sidecar workload',
    policy: '`viewer` ALLOW, targetRefs Gateway waypoint, from ns default/istio-system to GET',
    yaml: WAYPOINT_VIEWER,
    request: { to: 'default/productpage', app: 'productpage', from: OTHER },
    verdict: 'allow',
    decided_by: '',
    source: `${L7}#attach-to-the-entire-waypoint-proxy`,
  },
  {
    name: 'a waypoint policy on an ambient workload with a waypoint is unjudged (which waypoint, which method)',
    policy: '`viewer` ALLOW, targetRefs Gateway waypoint, from ns default/istio-system to GET',
    yaml: WAYPOINT_VIEWER,
    request: {
      to: 'default/productpage',
      app: 'productpage',
      ambient: true,
      waypoint: true,
      services: ['default/productpage'],
      from: SLEEP,
    },
    verdict: 'unjudged',
    decided_by: 'AuthorizationPolicy default/viewer',
    source: `${L7}#attach-to-the-entire-waypoint-proxy`,
  },
  {
    name: 'a Service-targeted policy applies at its waypoint and denies other namespaces',
    policy: '`productpage-viewer` ALLOW, targetRefs Service productpage, from ns default/istio-system',
    yaml: SERVICE_VIEWER,
    request: {
      to: 'default/productpage',
      app: 'productpage',
      ambient: true,
      waypoint: true,
      services: ['default/productpage'],
      from: OTHER,
    },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy default/productpage-viewer',
    source: `${L7}#attach-to-a-specific-service and #authorization-policy-attachment`,
  },
  {
    name: 'a Service-targeted policy allows its namespaces',
    policy: '`productpage-viewer` ALLOW, targetRefs Service productpage, from ns default/istio-system',
    yaml: SERVICE_VIEWER,
    request: {
      to: 'default/productpage',
      app: 'productpage',
      ambient: true,
      waypoint: true,
      services: ['default/productpage'],
      from: SLEEP,
    },
    verdict: 'allow',
    decided_by: 'AuthorizationPolicy default/productpage-viewer',
    source: `${L7}#authorization-policy-attachment (targetRefs Service: source identity is the client pod)`,
  },
  {
    name: 'ztunnel omits ALLOW rules with HTTP attributes: they never match',
    policy:
      '`productpage-viewer` ALLOW from sa sleep to GET, selector app productpage (ambient, no waypoint)',
    yaml: ZTUNNEL_ALLOW_GET,
    request: { to: 'default/productpage', app: 'productpage', ambient: true, from: SLEEP },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy default/productpage-viewer',
    source: `${L7}#authorization-policy-attachment ("fail closed"); ${ZTUNNEL_CODE}`,
  },
  {
    name: 'the same policy on a sidecar is unjudged (the method is unknown)',
    policy: '`productpage-viewer` ALLOW from sa sleep to GET, selector app productpage (sidecar)',
    yaml: ZTUNNEL_ALLOW_GET,
    request: { to: 'default/productpage', app: 'productpage', from: SLEEP },
    verdict: 'unjudged',
    decided_by: 'AuthorizationPolicy default/productpage-viewer',
    source: `${REF} (rules: a match needs one source and one operation)`,
  },
  {
    name: 'ztunnel enforces a DENY rule without its HTTP attributes',
    policy: '`no-dev-post` DENY from ns dev to POST, selector app productpage (ambient, no waypoint)',
    yaml: ZTUNNEL_DENY_POST,
    request: { to: 'default/productpage', app: 'productpage', ambient: true, from: DEV },
    verdict: 'deny',
    decided_by: 'AuthorizationPolicy default/no-dev-post',
    source: `${ZTUNNEL_CODE} ("DENY policy with HTTP attributes is enforced without the HTTP rules")`,
  },
  {
    name: 'ztunnel does not enforce CUSTOM',
    policy: '`ext-authz` CUSTOM `rules: [{}]`, selector app productpage (ambient, no waypoint)',
    yaml: ZTUNNEL_CUSTOM,
    request: { to: 'default/productpage', app: 'productpage', ambient: true, from: SLEEP },
    verdict: 'allow',
    decided_by: '',
    source: `${ZTUNNEL_CODE} ("ztunnel does not support the CUSTOM action")`,
  },
  {
    name: 'namespace-wide STRICT refuses plaintext',
    policy: 'PeerAuthentication `example-policy` in foo, STRICT',
    yaml: PA_FOO_STRICT,
    request: { ...HTTPBIN, from: 'plaintext' },
    verdict: 'deny',
    decided_by: 'PeerAuthentication foo/example-policy',
    source: `${CONCEPTS}#peer-authentication`,
  },
  {
    name: 'namespace-wide STRICT accepts mTLS',
    policy: 'PeerAuthentication `example-policy` in foo, STRICT',
    yaml: PA_FOO_STRICT,
    request: { ...HTTPBIN, from: SLEEP },
    verdict: 'allow',
    decided_by: '',
    source: `${CONCEPTS}#peer-authentication`,
  },
  {
    name: 'a namespace PERMISSIVE policy overrides mesh-wide STRICT (narrowest wins)',
    policy: 'PeerAuthentication mesh-wide STRICT + foo PERMISSIVE',
    yaml: join(PA_MESH_STRICT, PA_FOO_PERMISSIVE),
    request: { ...HTTPBIN, from: 'plaintext' },
    verdict: 'allow',
    decided_by: '',
    source: `${CONCEPTS}#policy-storage (order: workload-specific, namespace-wide, mesh-wide)`,
  },
  {
    name: 'mesh-wide STRICT refuses plaintext everywhere',
    policy: 'PeerAuthentication `default` in istio-system, STRICT',
    yaml: PA_MESH_STRICT,
    request: { to: 'bar/legacy', from: 'plaintext' },
    verdict: 'deny',
    decided_by: 'PeerAuthentication istio-system/default',
    source: `${CONCEPTS}#policy-storage (mesh-wide policy)`,
  },
  {
    name: 'a mesh-wide policy with unset mode is PERMISSIVE',
    policy: 'PeerAuthentication `default` in istio-system, `spec: {}`',
    yaml: PA_MESH_UNSET,
    request: { ...HTTPBIN, from: 'plaintext' },
    verdict: 'allow',
    decided_by: '',
    source: `${CONCEPTS}#peer-authentication ("Mesh-wide peer authentication policies with an unset mode use the PERMISSIVE mode")`,
  },
  {
    name: 'a workload STRICT policy refuses plaintext to its workload',
    policy: 'PeerAuthentication `example-peer-policy` in foo, selector app reviews, STRICT',
    yaml: PA_REVIEWS_STRICT,
    request: { to: 'foo/reviews', app: 'reviews', from: 'plaintext' },
    verdict: 'deny',
    decided_by: 'PeerAuthentication foo/example-peer-policy',
    source: `${CONCEPTS}#authentication-policies`,
  },
  {
    name: 'a workload STRICT policy leaves other workloads alone',
    policy: 'PeerAuthentication `example-peer-policy` in foo, selector app reviews, STRICT',
    yaml: PA_REVIEWS_STRICT,
    request: { ...HTTPBIN, from: 'plaintext' },
    verdict: 'allow',
    decided_by: '',
    source: `${CONCEPTS}#authentication-policies`,
  },
  {
    name: 'a workload STRICT policy on an unknown app label is unjudged',
    policy: 'PeerAuthentication `example-peer-policy` in foo, selector app reviews, STRICT',
    yaml: PA_REVIEWS_STRICT,
    request: { to: 'foo/reviews-v1', from: 'plaintext' },
    verdict: 'unjudged',
    decided_by: 'PeerAuthentication foo/example-peer-policy',
    source: `${CONCEPTS}#selector-field`,
  },
  {
    name: 'port-level DISABLE under namespace STRICT is unjudged (the port is unknown)',
    policy: 'PeerAuthentication foo STRICT + `example-workload-policy` (app example-app, port 80 DISABLE)',
    yaml: join(PA_FOO_STRICT, PA_PORT_80_DISABLE),
    request: { to: 'foo/example-app', app: 'example-app', from: 'plaintext' },
    verdict: 'unjudged',
    decided_by: 'PeerAuthentication foo/example-policy',
    source: `${CONCEPTS}#peer-authentication (portLevelMtls example)`,
  },
];
