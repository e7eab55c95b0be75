import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../../src/errors';
import { loadPolicyFiles, parsePolicyText } from '../../../src/audit/policy-files';

const FIXTURES = join(__dirname, '../../fixtures/audit/policies');

function errorOf(run: () => unknown): Error {
  try {
    run();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('loadPolicyFiles', () => {
  it('reads every YAML file under the folder, List items included, and lists other objects as ignored', () => {
    expect(loadPolicyFiles(join(FIXTURES, 'valid'))).toEqual({
      authorizationPolicies: [
        {
          kind: 'AuthorizationPolicy',
          apiVersion: 'security.istio.io/v1',
          namespace: 'foo',
          name: 'allow-nothing',
          file: 'foo/policies.yml',
          document: 1,
          dryRunAnnotation: false,
          action: 'ALLOW',
        },
        {
          kind: 'AuthorizationPolicy',
          apiVersion: 'security.istio.io/v1beta1',
          namespace: 'foo',
          name: 'httpbin',
          file: 'foo/policies.yml',
          document: 2,
          dryRunAnnotation: false,
          action: 'ALLOW',
          selector: { app: 'httpbin' },
          rules: [{ from: [{ principals: ['cluster.local/ns/default/sa/sleep'] }] }],
        },
      ],
      peerAuthentications: [
        {
          kind: 'PeerAuthentication',
          apiVersion: 'security.istio.io/v1beta1',
          namespace: 'istio-system',
          name: 'default',
          file: 'mesh.yaml',
          document: 1,
          mode: 'STRICT',
          portLevelMtls: {},
        },
      ],
      ignored: [
        { kind: 'Deployment', name: 'httpbin', file: 'foo/deployment.yaml' },
        { kind: 'Service', name: 'httpbin', file: 'foo/policies.yml' },
      ],
    });
  });

  it('names a folder it cannot read', () => {
    const err = errorOf(() => loadPolicyFiles(join(FIXTURES, 'missing')));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/missing: cannot read the policies folder/);
  });
});

describe('parsePolicyText: malformed policies name the file and the document', () => {
  it.each([
    [
      'bad-action.yaml',
      'bad-action.yaml (document 2): AuthorizationPolicy foo/typo: spec.action must be one of ALLOW, DENY, AUDIT, CUSTOM, found "REJECT"',
    ],
    [
      'wrong-type.yaml',
      'wrong-type.yaml (document 1): AuthorizationPolicy foo/wrong: spec.rules[0].from[0].source.principals must be a list of strings',
    ],
    [
      'port-level-no-selector.yaml',
      'port-level-no-selector.yaml (document 1): PeerAuthentication foo/default: portLevelMtls requires selector',
    ],
  ])('%s', (file, message) => {
    const err = errorOf(() => parsePolicyText(readFileSync(join(FIXTURES, 'invalid', file), 'utf8'), file));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(message);
  });

  it('refuses YAML that does not parse', () => {
    const err = errorOf(() =>
      parsePolicyText(readFileSync(join(FIXTURES, 'invalid', 'not-yaml.yaml'), 'utf8'), 'not-yaml.yaml'),
    );
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/^not-yaml.yaml \(document 1\): not valid YAML: /);
  });

  it.each([
    [
      'an unknown spec field',
      'spec: { rule: [] }',
      'spec: unknown field "rule" (allowed: action, provider, rules, selector, targetRef, targetRefs)',
    ],
    [
      'an empty source',
      'spec: { rules: [{ from: [{ source: {} }] }] }',
      'spec.rules[0].from[0].source: `from.source` must not be empty',
    ],
    [
      'DENY without rules',
      'spec: { action: DENY }',
      'DENY action without `rules` is meaningless as it will never be triggered',
    ],
    [
      'CUSTOM without a provider',
      'spec: { action: CUSTOM, rules: [{}] }',
      '`provider.name` must not be empty',
    ],
    [
      'a provider without CUSTOM',
      'spec: { provider: { name: x }, rules: [{}] }',
      '`provider` must not be with non CUSTOM action, found ALLOW',
    ],
    [
      'selector and targetRefs together',
      'spec: { selector: { matchLabels: { app: a } }, targetRefs: [{ kind: Gateway, name: w }] }',
      'only one of targetRefs or workloadSelector can be set',
    ],
    [
      'a condition without values',
      'spec: { rules: [{ when: [{ key: source.ip }] }] }',
      'spec.rules[0].when[0]: at least one of `values` or `notValues` must be set for key source.ip',
    ],
  ])('refuses %s', (_what, spec, message) => {
    const text = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: p, namespace: foo }\n${spec}\n`;
    const err = errorOf(() => parsePolicyText(text, 'p.yaml'));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(`p.yaml (document 1): AuthorizationPolicy foo/p: ${message}`);
  });

  it('fills the namespace of an object without one from the option', () => {
    const set = parsePolicyText(
      'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: p }\nspec:\n  targetRef: { kind: Gateway, group: gateway.networking.k8s.io, name: waypoint }\n',
      'p.yaml',
      { defaultNamespace: 'bookinfo' },
    );
    expect(set.authorizationPolicies).toEqual([
      {
        kind: 'AuthorizationPolicy',
        apiVersion: 'security.istio.io/v1',
        namespace: 'bookinfo',
        name: 'p',
        file: 'p.yaml',
        document: 1,
        dryRunAnnotation: false,
        action: 'ALLOW',
        targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }],
      },
    ]);
  });
});
