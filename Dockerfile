# syntax=docker/dockerfile:1
#
# One image for every tuojiang service. docker-compose.yml chooses the subcommand per service
# (`ingest`, `alerts worker`, `notify worker`, `api`, `simulate`); any other CLI command runs too:
#   docker compose run --rm alerts alerts status
#
# Build:   docker build -t tuojiang .          (docker compose build does the same)
# Node 22 or 24 instead of 20:  --build-arg NODE_IMAGE=node:22-bookworm-slim

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: TypeScript -> dist/, with the dev dependencies -------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# The lockfile first, so a source change does not re-download the dependencies.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Everything else not excluded by .dockerignore (secrets, node_modules, dist, data never enter).
COPY . .
RUN npm run build

# --- runtime: production dependencies and the build only ---------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TUOJIANG_CONFIG=/app/config
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
# The shipped defaults; docker-compose.yml mounts the checkout's config/ over them (read-only), so
# the YAML an operator edits is the one the services read.
COPY config/*.yaml ./config/
# For `tuojiang dashboards push` to a Grafana that is not provisioned from this repository.
COPY dashboards/generated ./dashboards/generated
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs

# The official node image's unprivileged user (uid 1000). Nothing under /app is writable by it: the
# services keep their state in Redis and InfluxDB.
USER node
# 9464: ingest /healthz, /readyz, /metrics; 9465: notify worker (HTTP_PORT); 8080: api.
EXPOSE 9464 9465 8080
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["--help"]
