# syntax=docker/dockerfile:1
# meshwatch image: built with dev dependencies, run with production dependencies only, as non-root, on
# distroless Node 20 (no shell, no package manager). scripts/production-install.ts reproduces the runtime
# stage (npm ci --omit=dev plus the built dist/src) and test/integration/production-install.test.ts runs
# it against a real Prometheus, since no Docker engine is available where the tests run.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
COPY bench ./bench
RUN npm run build

# Production dependencies in their own stage, so no build tool or dev dependency reaches the runtime image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="meshwatch" \
      org.opencontainers.image.description="Watches an Istio mesh through Prometheus and pages on unauthorized-access spikes, new callers, plaintext traffic and traffic or error anomalies" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/meshwatch/meshwatch" \
      org.opencontainers.image.documentation="https://github.com/meshwatch/meshwatch/blob/main/docs/install.md"
WORKDIR /app
ENV NODE_ENV=production
# The runtime copy list is the one scripts/production-install.ts uses (RUNTIME_PATHS); a unit test keeps them equal.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY package.json ./package.json
COPY scenarios ./scenarios
# 65532 is distroless's "nonroot"; numeric so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
EXPOSE 9464
# node itself is PID 1, not npm or a shell, so SIGTERM reaches the daemon's graceful shutdown.
ENTRYPOINT ["/nodejs/bin/node", "dist/src/cli/main.js"]
CMD ["run", "--config", "/etc/meshwatch/meshwatch.yml"]
