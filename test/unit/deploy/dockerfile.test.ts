import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRODUCTION_NPM_CI, RUNTIME_PATHS } from '../../../scripts/production-install';
import { ROOT } from './manifests';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
/** The instructions of one stage, continuation lines joined. */
const stage = (name: string): string[] => {
  const lines = dockerfile.replace(/\\\n\s*/g, ' ').split('\n');
  const start = lines.findIndex((l) => new RegExp(`^FROM \\S+ AS ${name}$`).test(l));
  const end = lines.findIndex((l, i) => i > start && l.startsWith('FROM '));
  return lines.slice(start + 1, end === -1 ? undefined : end).filter((l) => l && !l.startsWith('#'));
};

describe('the Dockerfile', () => {
  it('copies into the runtime stage exactly what scripts/production-install.ts installs', () => {
    const copied = stage('runtime')
      .filter((l) => l.startsWith('COPY '))
      .map((l) => l.split(/\s+/).pop()?.replace(/^\.\//, ''));
    expect(copied.sort()).toEqual(['node_modules', ...RUNTIME_PATHS].sort());
  });

  it('installs the production dependencies with the same npm ci as the production-install test', () => {
    expect(stage('deps')).toContain(`RUN npm ${PRODUCTION_NPM_CI.join(' ')}`);
  });

  it('runs node itself, not npm or a shell, as a numeric non-root user', () => {
    const runtime = stage('runtime');
    expect(runtime.filter((l) => /^(USER|ENTRYPOINT|CMD) /.test(l))).toEqual([
      'USER 65532:65532',
      'ENTRYPOINT ["/nodejs/bin/node", "dist/src/cli/main.js"]',
      'CMD ["run", "--config", "/etc/meshwatch/meshwatch.yml"]',
    ]);
  });

  it('builds on Node 20 and labels the image with the version in package.json', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20\.[\d.]+-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs20-debian12:nonroot$/m);
    expect(stage('runtime')).toContain(`ARG VERSION=${pkg.version}`);
    const labels = [...dockerfile.matchAll(/(org\.opencontainers\.image\.[a-z]+)=/g)].map((m) => m[1]);
    expect(labels).toEqual([
      'org.opencontainers.image.title',
      'org.opencontainers.image.description',
      'org.opencontainers.image.version',
      'org.opencontainers.image.licenses',
      'org.opencontainers.image.source',
      'org.opencontainers.image.documentation',
    ]);
  });

  it('sends only the package files, sources and scenarios to the build context', () => {
    const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(rules).toEqual([
      '*',
      '!package.json',
      '!package-lock.json',
      '!tsconfig.json',
      '!tsconfig.build.json',
      '!src/',
      '!scripts/',
      '!bench/',
      '!scenarios/',
      '**/*.test.ts',
      '**/.env',
      '**/*.pem',
      '**/*.key',
    ]);
  });
});
