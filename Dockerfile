# syntax=docker/dockerfile:1
# Switchboard MCP gateway. Build:  docker build -t switchboard .
# Run:    docker run --init -p 8080:8080 -v "$PWD/config:/config:ro" switchboard
# The config is read from /config/switchboard.json (SWITCHBOARD_CONFIG). Set
# gateway.allowedHosts in it to the hostnames clients use (see docs/security.md).

# ---- build: full install, compile TypeScript to dist/ ----------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run the build before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# policies/ is optional: make sure it exists so the runtime stage can copy it.
RUN npm run build && mkdir -p policies

# ---- runtime: production dependencies only, non-root -----------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    SWITCHBOARD_CONFIG=/config/switchboard.json
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` runs `npm run build`, which needs typescript (a devDependency).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/schema ./schema
COPY --from=build /app/examples ./examples
COPY --from=build /app/policies ./policies
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "bin/switchboard.js", "--host", "0.0.0.0", "--port", "8080"]
