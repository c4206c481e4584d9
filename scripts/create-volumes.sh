#!/bin/sh
# Creates the deployment's data volumes once, outside compose's reach: docker-compose.yml declares
# them external, so `docker compose down -v` cannot remove them and renaming the checkout's folder
# does not strand them (compose would otherwise prefix them with the folder's name).
#
#   scripts/create-volumes.sh [env-file]      (default: .env next to docker-compose.yml)
#
# Idempotent: an existing volume is kept as it is. TUOJIANG_VOLUME_PREFIX (default tuojiang) names them.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
env=${1:-$root/.env}
prefix=tuojiang
if [ -f "$env" ]; then
  line=$(grep '^TUOJIANG_VOLUME_PREFIX=' "$env" || true)
  [ -z "$line" ] || prefix=${line#TUOJIANG_VOLUME_PREFIX=}
fi
case $prefix in '' | *[!a-z0-9_.-]*) echo "create-volumes: TUOJIANG_VOLUME_PREFIX must be lower-case letters, digits, . _ -; found '$prefix'" >&2; exit 1 ;; esac
for v in mosquitto-data redis-data influxdb-data grafana-data; do
  name="$prefix-$v"
  if docker volume inspect "$name" >/dev/null 2>&1; then
    echo "create-volumes: $name exists (kept)"
  else
    docker volume create --label org.tuojiang.volume="$v" "$name" >/dev/null
    echo "create-volumes: created $name"
  fi
done
