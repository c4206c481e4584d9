#!/bin/sh
# Writes .env for docker-compose.yml from .env.example, with a fresh random value for every empty
# secret (48 hex digits: URL-safe, no ':'). Refuses to overwrite an existing file: secrets that
# already protect data (the InfluxDB users are created from them on the first start) must not
# change behind the operator's back.
#
#   scripts/init-env.sh --site DIR [output]   production: copies the shipped config/ to DIR/config
#                                              (once; an existing one is kept) and points
#                                              TUOJIANG_SITE_CONFIG there, BACKUP_DIR at DIR/backups
#   scripts/init-env.sh --demo [output]       the demo profile: Mailpit, localhost links, the
#                                              simulator's broker account, the checkout's config/
# output defaults to .env next to docker-compose.yml.
#
# In production PUBLIC_URL, GRAFANA_URL, SMTP_URL, GRAFANA_SMTP_HOST and GRAFANA_ALERT_EMAILS stay
# empty: `docker compose` names each until you set it. The simulator's account may publish as any
# station: --demo only.
set -eu
umask 077

root=$(cd "$(dirname "$0")/.." && pwd)
demo=false
site=''
out=''
while [ $# -gt 0 ]; do
  case $1 in
    --demo) demo=true ;;
    --site) [ $# -ge 2 ] || { echo "init-env: --site needs a folder" >&2; exit 1; }; site=$2; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "init-env: unknown option $1" >&2; exit 1 ;;
    *) out=$1 ;;
  esac
  shift
done
out=${out:-$root/.env}
example=$root/.env.example

[ -f "$example" ] || { echo "init-env: $example not found" >&2; exit 1; }
if [ -e "$out" ]; then
  echo "init-env: $out exists; not overwriting it (remove it first to start over)" >&2
  exit 1
fi
if [ "$demo" = false ] && [ -z "$site" ]; then
  echo "init-env: name the site folder (--site /srv/tuojiang: the configuration outside the checkout) or ask for the demo (--demo)" >&2
  exit 1
fi

secret() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex 24
  else
    od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
  fi
}

if [ -n "$site" ]; then
  mkdir -p "$site"
  site=$(cd "$site" && pwd)
  if [ -d "$site/config" ]; then
    echo "init-env: keeping the existing $site/config"
  else
    umask 022
    mkdir -p "$site/config" "$site/backups"
    # The YAML files and the broker's config and ACLs; never a password file of the checkout.
    cp "$root"/config/*.yaml "$site/config/"
    mkdir -p "$site/config/mosquitto" "$site/config/mosquitto/conf.d"
    cp "$root/config/mosquitto/mosquitto.conf" "$root/config/mosquitto/acl" "$root/config/mosquitto/acl-services" "$site/config/mosquitto/"
    umask 077
  fi
  # Grafana's dashboards and gazetteer, generated from the site's stations.yaml (the shipped ones to
  # start with; `docker compose run --rm ops stations add` regenerates them).
  if [ ! -d "$site/generated" ]; then
    umask 022
    cp -R "$root/dashboards/generated" "$site/generated"
    umask 077
  fi
fi

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    MQTT_SIMULATOR_PASSWORD=)
      if [ "$demo" = true ]; then line="MQTT_SIMULATOR_PASSWORD=$(secret)"; fi ;;
    *_PASSWORD= | *_SECRET=)
      line="$line$(secret)" ;;
    TUOJIANG_PROFILE=*)
      if [ "$demo" = true ]; then line='TUOJIANG_PROFILE=demo'; fi ;;
    BACKUP_DIR=)
      if [ -n "$site" ]; then line="BACKUP_DIR=$site/backups"; else line="BACKUP_DIR=$root/backups"; fi ;;
    '# TUOJIANG_SITE_CONFIG='*)
      if [ -n "$site" ]; then line="TUOJIANG_SITE_CONFIG=$site/config"; fi ;;
    '# TUOJIANG_SITE_GENERATED='*)
      if [ -n "$site" ]; then line="TUOJIANG_SITE_GENERATED=$site/generated"; fi ;;
  esac
  if [ "$demo" = true ]; then
    case $line in
      PUBLIC_URL=) line='PUBLIC_URL=http://localhost:8080' ;;
      GRAFANA_URL=) line='GRAFANA_URL=http://localhost:3000' ;;
      SMTP_URL=) line='SMTP_URL=smtp://mailpit:1025' ;;
      GRAFANA_SMTP_HOST=) line='GRAFANA_SMTP_HOST=mailpit:1025' ;;
      GRAFANA_ALERT_EMAILS=) line='GRAFANA_ALERT_EMAILS=operators@localhost' ;;
    esac
  fi
  printf '%s\n' "$line"
done <"$example" >"$tmp"
mv "$tmp" "$out"
trap - EXIT
# The backup container runs as the Redis image's user (uid 999): it must be able to write there.
# (Only for a real deployment's .env: --site, or the checkout's own .env.)
backups=$(sed -n 's/^BACKUP_DIR=//p' "$out")
if [ -n "$backups" ] && { [ -n "$site" ] || [ "$out" = "$root/.env" ]; }; then
  mkdir -p "$backups"
  if [ "$(id -u)" = 0 ]; then chown 999:999 "$backups"; else echo "init-env: let the backup service write $backups: sudo chown 999:999 $backups"; fi
fi
if [ "$demo" = true ]; then
  echo "init-env: wrote $out (mode 0600) for the demo profile: docker compose --profile demo up -d --build"
else
  echo "init-env: wrote $out (mode 0600); site config in $site/config. Now set PUBLIC_URL, GRAFANA_URL, SMTP_URL, GRAFANA_SMTP_HOST (and GRAFANA_SMTP_USER/PASSWORD) and GRAFANA_ALERT_EMAILS in $out"
fi
