# Switchboard MCP gateway.
# Build:  docker build -t switchboard .
#         (another Node 20 base on Debian bookworm: --build-arg NODE_IMAGE=<image>)
# Run:    docker run -p 8080:8080 -v "$PWD/config:/config:ro" switchboard
#         other port: docker run -e SWITCHBOARD_PORT=9090 -p 9090:9090 -v "$PWD/config:/config:ro" switchboard
# The config is read from /config/switchboard.json (SWITCHBOARD_CONFIG). Set gateway.allowedHosts in it to the
# hostnames clients use (see docs/security.md). The image runs as uid 1000 under tini (zombie reaping, signals),
# works with a read-only root filesystem, and its HEALTHCHECK asks /healthz on the port the gateway was started
# with. scripts/container-smoke.sh builds and runs it for real (docs/deployment.md).
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- deps: every dependency, dev ones too, from the lock file: the only download ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run the build before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund

# ---- production-deps: the same node_modules without the dev dependencies (nothing downloaded) ----
FROM deps AS production-deps
RUN npm prune --omit=dev --ignore-scripts --offline --no-audit --no-fund

# ---- build: compile TypeScript to dist/ ----
# deploy/compose runs the MCP reference server from this stage (target: build), which has the dev dependencies.
FROM deps AS build
COPY . .
# policies/ is optional: make sure it exists so the runtime stage can copy it.
RUN npm run build && mkdir -p policies

# ---- runtime: production dependencies only, non-root, tini as PID 1 ----
FROM ${NODE_IMAGE}
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && apt-get clean \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    SWITCHBOARD_CONFIG=/config/switchboard.json \
    SWITCHBOARD_PORT=8080
WORKDIR /app
# What the npm package ships (package.json "files"), plus the health check; owned by root, read-only to the app.
COPY --from=build /app/package.json ./
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/console ./console
COPY --from=build /app/schema ./schema
COPY --from=build /app/policies ./policies
COPY --from=build /app/scripts/container-healthcheck.mjs ./scripts/
# uid:gid, not a name, so that Kubernetes can verify runAsNonRoot (1000 is the base image's "node" user).
USER 1000:1000
EXPOSE 8080
# GET /healthz on the port on the gateway's own command line (--port), so it follows SWITCHBOARD_PORT and overrides.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/scripts/container-healthcheck.mjs"]
# tini reaps what stdio servers leave behind and passes SIGTERM on; the shell only expands the port, then is
# replaced by node (exec). A command given to `docker run` (or compose/Kubernetes `command`) replaces all of it:
# add --init there (compose: init: true) to keep an init.
CMD ["tini", "--", "sh", "-c", "exec node bin/switchboard.js --host 0.0.0.0 --port \"$SWITCHBOARD_PORT\""]
