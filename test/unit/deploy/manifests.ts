/** Reading deploy/ and validating Kubernetes objects offline, for the deploy unit tests. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';

/** The repository root. */
export const ROOT = resolve(__dirname, '../../..');
/** The kustomize base. */
export const BASE = join(ROOT, 'deploy/base');
/** The scrape configuration for ztunnel and waypoints (ambient mode), applied on its own. */
export const ISTIO_SCRAPE = join(ROOT, 'deploy/istio-scrape');

/** A Kubernetes object as parsed from YAML. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Validates one object against its schema; throws with the schema's message when it does not conform. */
type Validate = (object: KubeObject) => void;

// Every kind shipped under deploy/, with the schema it is checked against. A new kind must be added here:
// an object without a schema fails the test rather than passing unchecked.
const VALIDATORS: Record<string, Validate> = {
  'v1/ServiceAccount': (o) => new ServiceAccount(o as never).validate(),
  'v1/ConfigMap': (o) => new ConfigMap(o as never).validate(),
  'v1/Service': (o) => new Service(o as never).validate(),
  'apps/v1/Deployment': (o) => new Deployment(o as never).validate(),
  'networking.k8s.io/v1/NetworkPolicy': (o) => new NetworkPolicy(o as never).validate(),
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => new ServiceMonitor(o as never).validate(),
  'monitoring.coreos.com/v1/PodMonitor': (o) => new PodMonitor(o as never).validate(),
  'monitoring.coreos.com/v1/PrometheusRule': (o) => new PrometheusRule(o as never).validate(),
  'security.istio.io/v1/AuthorizationPolicy': (o) => new AuthorizationPolicy(o as never).validate(),
};

/** Validates `object` against the Kubernetes, prometheus-operator or Istio schema of its kind. */
export function validateObject(object: KubeObject): void {
  const validate = VALIDATORS[`${object.apiVersion}/${object.kind}`];
  if (!validate) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  validate(object);
}

/** Reads a YAML file; throws on a parse error or a warning (duplicate keys included). */
export function readYamlDocuments(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8'), { uniqueKeys: true }).map((doc) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length) throw new Error(`${relative(ROOT, path)}: ${problems.map((p) => p.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

/** Reads a file holding exactly one YAML document. */
export function readYaml<T>(path: string): T {
  const docs = readYamlDocuments(path);
  if (docs.length !== 1) throw new Error(`${relative(ROOT, path)}: expected one document, found ${docs.length}`);
  return docs[0] as T;
}

/** The fields of a kustomization.yaml the tests look at. */
export interface Kustomization {
  resources?: string[];
  configMapGenerator?: Array<{ name: string; behavior?: string; files?: string[] }>;
  patches?: Array<{ target?: { kind?: string; name?: string }; patch?: string; path?: string }>;
  images?: Array<{ name: string; newTag?: string }>;
  namespace?: string;
}

/** Files below `dir`, relative to it, sorted. */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string): void => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else out.push(rel);
    }
  };
  walk('');
  return out.sort();
}

/** The kustomize folders: the base, every overlay and the Istio scrape configuration. */
export function kustomizeDirs(): string[] {
  const overlays = join(ROOT, 'deploy/overlays');
  return [BASE, ...readdirSync(overlays).map((name) => join(overlays, name)), ISTIO_SCRAPE];
}

/** The files a kustomization loads from its own folder (resources that are files, generator inputs). */
export function filesListed(k: Kustomization, dir: string): string[] {
  const resources = (k.resources ?? []).filter((r) => !statSync(resolve(dir, r), { throwIfNoEntry: false })?.isDirectory());
  const generated = (k.configMapGenerator ?? []).flatMap((g) => g.files ?? []);
  return ['kustomization.yaml', ...resources, ...generated].sort();
}
