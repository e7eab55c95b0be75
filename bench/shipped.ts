/** What the shipped Deployment gives the meshwatch container: its memory limit and NODE_OPTIONS. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

const ROOT = join(__dirname, '..', '..');

interface ShippedContainer {
  resources?: { limits?: { memory?: string } };
  env?: Array<{ name: string; value?: string }>;
}

/** The meshwatch container of the shipped Deployment. */
function shippedContainer(): ShippedContainer {
  const doc = parseYaml(readFileSync(join(ROOT, 'deploy/base/deployment.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: ShippedContainer[] } } };
  };
  const container = doc.spec.template.spec.containers[0];
  if (!container) throw new Error('deploy/base/deployment.yaml has no container');
  return container;
}

/** The shipped Deployment's NODE_OPTIONS (its heap cap), which the daemon here runs with too. */
export function shippedNodeOptions(): string {
  return shippedContainer().env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
}

/** The shipped Deployment's memory limit, in bytes. */
export function shippedMemoryLimit(): number {
  const text = shippedContainer().resources?.limits?.memory ?? '';
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(text);
  if (!m)
    throw new Error(`cannot read the memory limit ${JSON.stringify(text)} of deploy/base/deployment.yaml`);
  const unit: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  return Number(m[1]) * (unit[m[2] ?? ''] ?? 1);
}
