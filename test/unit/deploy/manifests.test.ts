import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfig } from '../../../src/config/load';
import {
  BASE,
  ISTIO_SCRAPE,
  ROOT,
  filesBelow,
  filesListed,
  kustomizeDirs,
  readYaml,
  readYamlDocuments,
  validateObject,
  type KubeObject,
  type Kustomization,
} from './manifests';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const manifestFiles = (dir: string): string[] =>
  filesBelow(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml' && f !== 'meshwatch.yml');
const baseObject = (kind: string): KubeObject => {
  const found = manifestFiles(BASE)
    .flatMap((f) => readYamlDocuments(join(BASE, f)) as KubeObject[])
    .find((o) => o.kind === kind);
  if (!found) throw new Error(`no ${kind} in deploy/base`);
  return found;
};

interface Container {
  image: string;
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  securityContext: unknown;
  resources: unknown;
  startupProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  automountServiceAccountToken: boolean;
  securityContext: unknown;
  containers: Container[];
  volumes: unknown[];
}
const deployment = baseObject('Deployment') as KubeObject & {
  spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
};
const pod = deployment.spec.template.spec;
const container = pod.containers[0] as Container;

describe('the kustomize base and overlays', () => {
  it.each(kustomizeDirs().map((d) => [relative(ROOT, d), d]))(
    '%s: every manifest parses and validates against its Kubernetes, prometheus-operator or Istio schema',
    (_name, dir) => {
      const objects = manifestFiles(dir).flatMap((f) => readYamlDocuments(join(dir, f)) as KubeObject[]);
      for (const object of objects) validateObject(object);
    },
  );

  it.each(kustomizeDirs().map((d) => [relative(ROOT, d), d]))(
    '%s: the kustomization lists every file in its folder, and every file it lists exists',
    (_name, dir) => {
      const k = readYaml<Kustomization>(join(dir, 'kustomization.yaml'));
      expect(filesListed(k, dir)).toEqual(filesBelow(dir));
    },
  );

  it.each(kustomizeDirs().map((d) => [relative(ROOT, d), d]))(
    '%s: the configuration in its ConfigMap passes check-config',
    (_name, dir) => {
      const k = readYaml<Kustomization>(join(dir, 'kustomization.yaml'));
      const files = (k.configMapGenerator ?? []).flatMap((g) => g.files ?? []);
      // The in-mesh overlay inherits kube-prometheus-stack's configuration and has none of its own.
      for (const file of files) expect(() => loadConfig({ file: join(dir, file), env: {}, flags: {} })).not.toThrow();
    },
  );

  it('ships the image tagged with the version in package.json', () => {
    const k = readYaml<Kustomization>(join(BASE, 'kustomization.yaml'));
    expect(k.images).toEqual([{ name: 'ghcr.io/meshwatch/meshwatch', newTag: pkg.version }]);
    expect(container.image).toBe(`ghcr.io/meshwatch/meshwatch:${pkg.version}`);
  });

  it('runs the daemon as a non-root user with no privileges, no capabilities and a read-only root filesystem', () => {
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(baseObject('ServiceAccount').automountServiceAccountToken).toBe(false);
  });

  it('mounts the configuration read-only and gives /tmp a small in-memory emptyDir', () => {
    expect(container.volumeMounts).toEqual([
      { name: 'config', mountPath: '/etc/meshwatch', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'config', configMap: { name: 'meshwatch' } },
      { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
    ]);
    expect(container.args).toEqual(['run', '--config', '/etc/meshwatch/meshwatch.yml']);
  });

  it('probes /livez for liveness and startup, /readyz for readiness, on the named metrics port', () => {
    expect(
      [container.startupProbe, container.livenessProbe, container.readinessProbe].map((p) => p.httpGet),
    ).toEqual([
      { path: '/livez', port: 'metrics' },
      { path: '/livez', port: 'metrics' },
      { path: '/readyz', port: 'metrics' },
    ]);
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
  });

  it('requests CPU and memory and limits memory, without a CPU limit that would throttle the warm-up', () => {
    expect(container.resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '1Gi' },
    });
  });

  it('gives the pod longer to stop than the configured shutdown timeout', () => {
    const config = loadConfig({ file: join(BASE, 'meshwatch.yml'), env: {}, flags: {} });
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdown.timeoutMs);
  });

  it('keeps the pod out of the mesh by default (sidecar and ambient)', () => {
    expect(deployment.spec.template.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'meshwatch',
      'app.kubernetes.io/component': 'daemon',
      'sidecar.istio.io/inject': 'false',
      'istio.io/dataplane-mode': 'none',
    });
  });

  it('scrapes the Service named meshwatch on its metrics port, so the job label is the one the alerts use', () => {
    const service = baseObject('Service') as KubeObject & { spec: { ports: unknown[] } };
    const monitor = baseObject('ServiceMonitor') as KubeObject & { spec: { endpoints: Array<{ port: string }> } };
    expect(service.metadata.name).toBe('meshwatch');
    expect(service.spec.ports).toEqual([
      { name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP', appProtocol: 'http' },
    ]);
    expect(monitor.spec.endpoints.map((e) => e.port)).toEqual(['metrics']);
    const rule = readFileSync(join(BASE, 'generated/prometheus-rule.yaml'), 'utf8');
    expect(rule).toContain('up{job="meshwatch"}');
  });

  it('lets only Prometheus in, to the metrics port, and only Prometheus and DNS out', () => {
    const policy = baseObject('NetworkPolicy') as KubeObject & { spec: Record<string, unknown> };
    const prometheusPods = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
    };
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'meshwatch', 'app.kubernetes.io/component': 'daemon' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [prometheusPods], ports: [{ port: 'metrics', protocol: 'TCP' }] }],
      egress: [
        { to: [prometheusPods], ports: [{ port: 9090, protocol: 'TCP' }] },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 53, protocol: 'TCP' },
          ],
        },
      ],
    });
  });

  it('points each overlay at its query endpoint, with the tenant header where there is one', () => {
    const prometheusOf = (dir: string) =>
      loadConfig({ file: join(ROOT, 'deploy/overlays', dir, 'meshwatch.yml'), env: {}, flags: {} }).prometheus;
    expect([prometheusOf('kube-prometheus-stack'), prometheusOf('mimir')].map((p) => [p.url, p.headers])).toEqual([
      ['http://kube-prometheus-stack-prometheus.monitoring.svc:9090', {}],
      ['http://mimir-query-frontend.mimir.svc:8080/prometheus', { 'X-Scope-OrgID': 'mesh' }],
    ]);
  });

  it('scrapes every ztunnel and every waypoint once, on the port and path where they serve Istio metrics', () => {
    const monitors = manifestFiles(ISTIO_SCRAPE).flatMap((f) => readYamlDocuments(join(ISTIO_SCRAPE, f)) as KubeObject[]);
    expect(monitors.map((m) => [m.kind, m.metadata.name, m.metadata.labels, m.spec])).toEqual([
      [
        'PodMonitor',
        'istio-waypoints',
        { 'app.kubernetes.io/part-of': 'meshwatch', release: 'kube-prometheus-stack' },
        {
          namespaceSelector: { any: true },
          selector: { matchLabels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller' } },
          podMetricsEndpoints: [{ port: 'metrics', path: '/stats/prometheus' }],
        },
      ],
      [
        'PodMonitor',
        'istio-ztunnel',
        { 'app.kubernetes.io/part-of': 'meshwatch', release: 'kube-prometheus-stack' },
        {
          namespaceSelector: { matchNames: ['istio-system'] },
          selector: { matchLabels: { app: 'ztunnel' } },
          podMetricsEndpoints: [{ port: 'ztunnel-stats', path: '/metrics' }],
        },
      ],
    ]);
    expect(readYaml<Kustomization>(join(ISTIO_SCRAPE, 'kustomization.yaml')).namespace).toBe('monitoring');
  });
});
