#!/bin/sh
# Writes .env for docker-compose.yml from .env.example, with a fresh random value for every empty
# secret (48 hex digits: URL-safe, no ':'). Refuses to overwrite an existing file: secrets that
# already protect data (the InfluxDB users are created from them on the first start) must not
# change behind the operator's back.
#
#   scripts/init-env.sh [--demo] [output]     output defaults to .env next to docker-compose.yml
#
# --demo also fills MQTT_SIMULATOR_PASSWORD, which creates the broker account the simulator of the
# `demo` profile publishes with. That account may publish as any station: never in production.
set -eu
umask 077

root=$(cd "$(dirname "$0")/.." && pwd)
demo=false
out=''
for arg in "$@"; do
  case $arg in
    --demo) demo=true ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "init-env: unknown option $arg" >&2; exit 1 ;;
    *) out=$arg ;;
  esac
done
out=${out:-$root/.env}
example=$root/.env.example

[ -f "$example" ] || { echo "init-env: $example not found" >&2; exit 1; }
if [ -e "$out" ]; then
  echo "init-env: $out exists; not overwriting it (remove it first to start over)" >&2
  exit 1
fi

secret() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex 24
  else
    od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
  fi
}

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    MQTT_SIMULATOR_PASSWORD=)
      if [ "$demo" = true ]; then line="MQTT_SIMULATOR_PASSWORD=$(secret)"; fi ;;
    *_PASSWORD= | *_SECRET=)
      line="$line$(secret)" ;;
  esac
  printf '%s\n' "$line"
done <"$example" >"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "init-env: wrote $out (mode 0600)$([ "$demo" = true ] && echo ', with the simulator account for the demo profile')"
