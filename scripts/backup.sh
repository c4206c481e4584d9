#!/bin/sh
# Backups of a tuojiang deployment, and their restore. The `backup` service of docker-compose.yml
# runs `schedule`; the same script runs on any host with redis-cli and influxd (the tests do).
#
#   backup.sh once                  one backup now into BACKUP_DIR/<UTC time>/, then prune
#   backup.sh schedule              once a day at BACKUP_AT (HH:MM, UTC), for ever
#   backup.sh status                exit 0 when the last backup is recent and did not fail (health check)
#   backup.sh list                  the backups, newest last
#   backup.sh restore-redis DIR REDIS_DATA_DIR   put DIR's snapshot into a STOPPED Redis's data folder
#   backup.sh restore-influxdb DIR               restore DIR's database into a running InfluxDB that lacks it
#   backup.sh restore-config DIR TARGET_DIR      unpack DIR's site config into TARGET_DIR (must be empty)
#
# A backup holds: redis/dump.rdb (a point-in-time snapshot streamed over the replication protocol
# by `redis-cli --rdb`: no file access to Redis's volume, no AOF copied mid-rewrite),
# influxdb/ (an `influxd backup -portable` of INFLUX_DB over InfluxDB's RPC port), site-config.tar.gz
# (stations, recipients, thresholds seed, operators' token hashes, the broker's password files) and
# MANIFEST (when, Redis's key count just before and after the snapshot, file sizes and SHA-256). It is written to a .partial
# folder and renamed when complete, so a folder without .partial is a whole backup.
#
# Environment: REDIS_HOST, REDIS_PORT, REDIS_BACKUP_USER, REDIS_BACKUP_PASSWORD; INFLUX_RPC
# (host:port), INFLUX_DB; SITE_CONFIG_DIR; BACKUP_DIR; BACKUP_AT (02:30); BACKUP_KEEP (14, the
# number of backups kept); BACKUP_STALE_H (26: older than that, `status` fails).
set -eu
umask 077

BACKUP_DIR=${BACKUP_DIR:?BACKUP_DIR: where the backups go}
REDIS_HOST=${REDIS_HOST:-redis}
REDIS_PORT=${REDIS_PORT:-6379}
REDIS_BACKUP_USER=${REDIS_BACKUP_USER:-backup}
INFLUX_RPC=${INFLUX_RPC:-influxdb:8088}
INFLUX_DB=${INFLUX_DB:-tuojiang}
SITE_CONFIG_DIR=${SITE_CONFIG_DIR:-/site-config}
BACKUP_AT=${BACKUP_AT:-02:30}
BACKUP_KEEP=${BACKUP_KEEP:-14}
BACKUP_STALE_H=${BACKUP_STALE_H:-26}
REDIS_CLI=${REDIS_CLI:-redis-cli}
INFLUXD=${INFLUXD:-influxd}
REDIS_SERVER=${REDIS_SERVER:-redis-server}

log() { printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() { log "$*"; exit 1; }

redis_cli() {
  REDISCLI_AUTH=${REDIS_BACKUP_PASSWORD:?REDIS_BACKUP_PASSWORD: the backup user\'s Redis password} \
    "$REDIS_CLI" -h "$REDIS_HOST" -p "$REDIS_PORT" --user "$REDIS_BACKUP_USER" "$@"
}

sha() { if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else openssl dgst -sha256 -r "$1" | cut -d' ' -f1; fi; }

once() {
  case $BACKUP_KEEP in '' | *[!0-9]* | 0) fail "BACKUP_KEEP must be a whole number of backups, 1 or more; found '$BACKUP_KEEP'" ;; esac
  mkdir -p "$BACKUP_DIR"
  name=$(date -u +%Y%m%dT%H%M%SZ)
  dir="$BACKUP_DIR/$name.partial"
  rm -rf "$dir"
  mkdir -p "$dir/redis"
  log "starting $name"
  # Redis's key count just before and just after the snapshot (the pipeline goes on writing): the
  # snapshot's lies between, which is what a restore is checked against.
  keyspace_before=$(redis_cli info keyspace 2>/dev/null | tr -d '\r' | grep '^db' || true)
  redis_cli --rdb "$dir/redis/dump.rdb" >/dev/null 2>"$dir/redis-cli.log" || { cat "$dir/redis-cli.log" >&2; fail "Redis snapshot failed (redis-cli --rdb from $REDIS_HOST:$REDIS_PORT as $REDIS_BACKUP_USER)"; }
  rm -f "$dir/redis-cli.log"
  keyspace=$(redis_cli info keyspace | tr -d '\r' | grep '^db' || true)
  "$INFLUXD" backup -portable -host "$INFLUX_RPC" -db "$INFLUX_DB" "$dir/influxdb" >"$dir/influxd.log" 2>&1 || { cat "$dir/influxd.log" >&2; fail "InfluxDB backup failed (influxd backup -portable -host $INFLUX_RPC -db $INFLUX_DB)"; }
  rm -f "$dir/influxd.log"
  [ -d "$SITE_CONFIG_DIR" ] || fail "SITE_CONFIG_DIR $SITE_CONFIG_DIR is not a folder"
  tar -czf "$dir/site-config.tar.gz" -C "$SITE_CONFIG_DIR" .
  {
    echo "backup $name"
    echo "influx_db $INFLUX_DB"
    printf '%s\n' "$keyspace_before" | sed 's/^/redis_keyspace_before /'
    printf '%s\n' "$keyspace" | sed 's/^/redis_keyspace_after /'
    find "$dir" -type f ! -name MANIFEST | sort | while IFS= read -r f; do
      printf 'file %s %s %s\n' "${f#"$dir"/}" "$(wc -c <"$f" | tr -d ' ')" "$(sha "$f")"
    done
  } >"$dir/MANIFEST"
  mv "$dir" "$BACKUP_DIR/$name"
  rm -f "$BACKUP_DIR/.last-error"
  date -u +%s >"$BACKUP_DIR/.last-success"
  log "done $name ($(du -sk "$BACKUP_DIR/$name" | cut -f1) KiB)"
  prune
}

list() { find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '20*Z' | sort; }

prune() {
  count=$(list | wc -l)
  excess=$((count - BACKUP_KEEP))
  [ "$excess" -gt 0 ] || return 0
  list | head -n "$excess" | while IFS= read -r old; do
    log "removing $old (keeping the newest $BACKUP_KEEP)"
    rm -rf "$old"
  done
  # A backup that died half-way leaves a .partial folder; one older than a day is garbage.
  find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '*.partial' -mmin +1440 -exec rm -rf {} +
}

seconds_until() {
  case $1 in [0-2][0-9]:[0-5][0-9]) ;; *) fail "BACKUP_AT must be HH:MM (UTC); found '$1'" ;; esac
  now=$(date -u +%s)
  target=$(date -u -d "$(date -u +%Y-%m-%d) $1" +%s)
  [ "$target" -gt "$now" ] || target=$((target + 86400))
  echo $((target - now))
}

schedule() {
  mkdir -p "$BACKUP_DIR"
  [ -w "$BACKUP_DIR" ] || fail "BACKUP_DIR $BACKUP_DIR is not writable by uid $(id -u)"
  date -u +%s >"$BACKUP_DIR/.schedule-started"
  seconds_until "$BACKUP_AT" >/dev/null
  while :; do
    wait_s=$(seconds_until "$BACKUP_AT")
    log "next backup at $BACKUP_AT UTC (in $wait_s s), keeping $BACKUP_KEEP"
    sleep "$wait_s"
    if ! (once); then
      date -u +%Y-%m-%dT%H:%M:%SZ >"$BACKUP_DIR/.last-error"
      log "backup FAILED; the health check reports it until the next one succeeds"
    fi
  done
}

status() {
  [ -f "$BACKUP_DIR/.last-error" ] && { echo "last backup failed at $(cat "$BACKUP_DIR/.last-error")" >&2; exit 1; }
  now=$(date -u +%s)
  limit=$((BACKUP_STALE_H * 3600))
  if [ -f "$BACKUP_DIR/.last-success" ]; then
    age=$((now - $(cat "$BACKUP_DIR/.last-success")))
    [ "$age" -le "$limit" ] || { echo "last backup is $((age / 3600)) h old" >&2; exit 1; }
    echo "last backup $((age / 60)) min ago"
    exit 0
  fi
  [ -f "$BACKUP_DIR/.schedule-started" ] || { echo "no backup yet and the schedule is not running" >&2; exit 1; }
  age=$((now - $(cat "$BACKUP_DIR/.schedule-started")))
  [ "$age" -le "$limit" ] || { echo "no backup in the $((age / 3600)) h since the schedule started" >&2; exit 1; }
  echo "no backup yet; the first is due at $BACKUP_AT UTC"
}

backup_arg() {
  [ -n "${1:-}" ] || fail "name the backup folder (backup.sh list)"
  [ -f "$1/MANIFEST" ] || fail "$1 is not a complete backup (no MANIFEST)"
}

restore_redis() {
  backup_arg "${1:-}"
  data=${2:?name the Redis data folder (the redis-data volume, Redis stopped)}
  [ -d "$data" ] || fail "$data is not a folder"
  sock="$data/restore.sock"
  [ ! -e "$sock" ] || fail "$data is being restored already ($sock exists)"
  rm -rf "$data/appendonlydir" "$data/appendonly.aof" "$data/dump.rdb"
  cp "$1/redis/dump.rdb" "$data/dump.rdb"
  # With appendonly yes and no AOF, Redis 7 starts EMPTY and ignores dump.rdb (checked with 7.0).
  # So a private Redis on a socket loads the snapshot without AOF, then writes the AOF from it;
  # the deployment's Redis (appendonly yes) then starts from that AOF.
  "$REDIS_SERVER" --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$data" --dbfilename dump.rdb --appendonly no --save '' --daemonize no --logfile "$data/restore.log" &
  pid=$!
  i=0
  until "$REDIS_CLI" -s "$sock" ping 2>/dev/null | grep -q PONG; do
    i=$((i + 1)); [ $i -lt 300 ] || { kill "$pid" 2>/dev/null; fail "the private Redis did not load the snapshot (log: $data/restore.log)"; }
    sleep 0.1
  done
  "$REDIS_CLI" -s "$sock" config set appendonly yes >/dev/null
  i=0
  until "$REDIS_CLI" -s "$sock" info persistence | tr -d '\r' | grep -q '^aof_rewrite_in_progress:0' \
    && "$REDIS_CLI" -s "$sock" info persistence | tr -d '\r' | grep -q '^aof_rewrite_scheduled:0' \
    && "$REDIS_CLI" -s "$sock" info persistence | tr -d '\r' | grep -q '^aof_enabled:1' \
    && [ -d "$data/appendonlydir" ]; do
    i=$((i + 1)); [ $i -lt 6000 ] || { kill "$pid" 2>/dev/null; fail "the AOF was not written within 10 min (log: $data/restore.log)"; }
    sleep 0.1
  done
  keys=$("$REDIS_CLI" -s "$sock" dbsize)
  "$REDIS_CLI" -s "$sock" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" || true
  rm -f "$sock" "$data/restore.log"
  log "Redis restored from $(basename "$1") into $data: $keys keys, AOF written; start Redis"
}

restore_influxdb() {
  backup_arg "${1:-}"
  "$INFLUXD" restore -portable -host "$INFLUX_RPC" -db "$INFLUX_DB" "$1/influxdb" >&2 || fail "InfluxDB restore failed: the database $INFLUX_DB must not exist yet (restore into a fresh InfluxDB, before the pipeline starts and creates it)"
  log "InfluxDB database $INFLUX_DB restored from $(basename "$1")"
}

restore_config() {
  backup_arg "${1:-}"
  target=${2:?name the folder to unpack the site config into}
  mkdir -p "$target"
  [ -z "$(ls -A "$target")" ] || fail "$target is not empty: unpack into a new folder and compare"
  tar -xzf "$1/site-config.tar.gz" -C "$target"
  log "site config of $(basename "$1") in $target"
}

cmd=${1:-}
[ $# -eq 0 ] || shift
case $cmd in
  once) once ;;
  schedule) schedule ;;
  status) status ;;
  list) list ;;
  restore-redis) restore_redis "$@" ;;
  restore-influxdb) restore_influxdb "$@" ;;
  restore-config) restore_config "$@" ;;
  *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
