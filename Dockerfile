# tcp-tuning-operator: one image for every component (agent, webhook, controller, check, ...).
#   docker build -t tcp-tuning-operator .          (public bases below)
#   scripts/image.sh                               (no Docker: buildah with locally made bases)
# The bases are build arguments so an air-gapped or hardened environment can substitute its own:
# BUILD_BASE needs node + npm; RUNTIME_BASE needs only node at /nodejs/bin/node (distroless layout).
ARG BUILD_BASE=docker.io/library/node:24-bookworm-slim
ARG RUNTIME_BASE=gcr.io/distroless/nodejs24-debian12:nonroot

# --- compile TypeScript to dist/ (the compiler stays in this stage) ---------------------------
FROM ${BUILD_BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- production dependencies only ----------------------------------------------------------------
FROM ${BUILD_BASE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
# Type declarations, source maps and TypeScript sources have no use at run time (Node never runs
# .ts from node_modules); @types/* come in as dependencies of @kubernetes/client-node.
RUN rm -rf node_modules/@types && \
    find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -delete

# --- runtime: node, compiled JavaScript, production node_modules; no shell, no npm, no src/ -----
FROM ${RUNTIME_BASE}
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY crds ./crds
ENV NODE_ENV=production
# Last, so a new revision or date does not rebuild the layers above.
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="tcp-tuning-operator" \
      org.opencontainers.image.description="Rolls out Linux TCP sysctls across a Kubernetes fleet, safely: node agent, admission webhook, controller and offline checker in one image" \
      org.opencontainers.image.source="https://github.com/tcp-tuning-operator/tcp-tuning-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
# Non-root by default; the agent's DaemonSet runs it as root through its securityContext.
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/tcp-tuning.js"]
CMD ["--help"]
