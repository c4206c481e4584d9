# syntax=docker/dockerfile:1
#
# One image for every tuojiang service. docker-compose.yml chooses the subcommand per service
# (`ingest`, `alerts worker`, `notify worker`, `api`, `simulate`); any other CLI command runs too:
#   docker compose run --rm ops alerts status
# and a second target, `backup`, for the scheduled backups (scripts/backup.sh).
#
# Build:   docker compose build      (or: docker build --target runtime -t tuojiang:0.1.0 .)
# Node: 24 (LTS) by default. The tests run on Node 20 and 22 as well; see README, "Versions".
# A network that cannot reach the public registries: NODE_IMAGE / REDIS_IMAGE / INFLUXDB_IMAGE from
# your mirror (registry.example.gov.cn/library/node:24-bookworm-slim), NPM_REGISTRY for `npm ci`
# (docs/operations.md, "Install without the internet").
# Digests: scripts/pin-images replaces each tag below with tag@sha256:… (`--check` lists the unpinned).

ARG NODE_IMAGE=node:24-bookworm-slim
ARG REDIS_IMAGE=redis:7.4.10-bookworm
ARG INFLUXDB_IMAGE=influxdb:1.12.4

# --- build: TypeScript -> dist/, with the dev dependencies -------------------------------------
FROM ${NODE_IMAGE} AS build
ARG NPM_REGISTRY=https://registry.npmjs.org/
WORKDIR /src
# The lockfile first, so a source change does not re-download the dependencies.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --registry="$NPM_REGISTRY"
# Everything else not excluded by .dockerignore (secrets, node_modules, dist, data never enter).
COPY . .
RUN npm run build

# --- runtime: production dependencies and the build only ---------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG NPM_REGISTRY=https://registry.npmjs.org/
ENV NODE_ENV=production \
    TUOJIANG_CONFIG=/app/config
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --registry="$NPM_REGISTRY" && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
# The shipped defaults; docker-compose.yml mounts the site's config folder over them (read-only), so
# the YAML an operator edits is the one the services read.
COPY config/*.yaml ./config/
# For `tuojiang dashboards push` to a Grafana that is not provisioned from this repository.
COPY dashboards/generated ./dashboards/generated
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs

# The official node image's unprivileged user (uid 1000). Nothing under /app is writable by it: the
# services keep their state in Redis and InfluxDB.
USER node
# 9464: ingest; 9465: notify worker; 9466: api /readyz, /metrics; 9467: alerts worker; 8080: api.
EXPOSE 9464 9465 9466 9467 8080
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["--help"]

# --- backup: redis-cli (from the Redis image) and influxd backup (from the InfluxDB image) -------
FROM ${INFLUXDB_IMAGE} AS influxdb-binaries
FROM ${REDIS_IMAGE} AS backup
COPY --from=influxdb-binaries /usr/bin/influxd /usr/local/bin/influxd
COPY scripts/backup.sh /usr/local/bin/backup.sh
# The Redis image's unprivileged user; BACKUP_DIR on the host must be writable by uid 999.
USER redis
WORKDIR /backups
ENTRYPOINT ["/bin/sh", "/usr/local/bin/backup.sh"]
CMD ["schedule"]
