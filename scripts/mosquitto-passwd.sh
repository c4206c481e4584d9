#!/bin/sh
# Builds and maintains the Mosquitto password files at deploy time, from the environment. There are
# two, one per broker listener (config/mosquitto/mosquitto.conf): the stations' (listener 1883) and
# the services' (listener 1884: ingest, healthcheck, simulator). An account exists in one of them
# only, so a station's password opens nothing on the service listener, where client ids are free.
# The files hold password hashes only, are never committed (git-ignored) and are written atomically
# (a rename), so a broker reloading them on SIGHUP never sees half a file.
#
# docker compose runs `sync` in the one-shot service mosquitto-init before the broker starts; the
# other commands are for operators (docs/operations.md, "MQTT accounts"):
#
#   mosquitto-passwd.sh sync             service accounts from the environment into the services'
#                                        file (rewritten whole); the stations' file keeps every
#                                        station and loses any service account (older deployments
#                                        kept them there), and is created empty if missing
#   mosquitto-passwd.sh add <username>   add or change a station's account (username = station id);
#                                        the password is read from stdin
#   mosquitto-passwd.sh remove <username>
#   mosquitto-passwd.sh list             station usernames only
#
# Environment:
#   MQTT_INGEST_PASSWORD       required by sync: account "ingest" (reads every reading, see config/mosquitto/acl-services)
#   MQTT_HEALTHCHECK_PASSWORD  required by sync: account "healthcheck", used by the broker's health check;
#                              the ACL lets it read its own reply topic and nothing else
#   MQTT_SIMULATOR_PASSWORD    optional: account "simulator", which may publish as ANY station (demo only).
#                              When it is unset, sync removes the account: a production file never keeps it.
#   MOSQUITTO_PASSWD_FILE      the stations' file, default /mosquitto/config/passwd
#   MOSQUITTO_SERVICES_PASSWD_FILE  the services' file, default /mosquitto/config/passwd-services
#   MOSQUITTO_PASSWD_OWNER     owner of the files, default 1883:1883 (the broker's user in the
#                              eclipse-mosquitto image); empty: leave the owner alone
#
# Passwords travel through a mode-0600 temporary file and `mosquitto_passwd -U`, never on a command
# line (which `ps` would show).
set -eu
umask 077

prog=mosquitto-passwd
file=${MOSQUITTO_PASSWD_FILE:-/mosquitto/config/passwd}
services_file=${MOSQUITTO_SERVICES_PASSWD_FILE:-/mosquitto/config/passwd-services}
owner=${MOSQUITTO_PASSWD_OWNER-1883:1883}
managed='ingest healthcheck simulator'

die() {
  echo "$prog: $*" >&2
  exit 1
}

command -v mosquitto_passwd >/dev/null 2>&1 || die "mosquitto_passwd not found (Debian: apt-get install mosquitto; or run this in the eclipse-mosquitto image)"

work=$(mktemp -d "${TMPDIR:-/tmp}/$prog.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP

# A username becomes an ACL %u substitution and a topic level: nothing that widens a topic (/ + #),
# nothing that breaks the file format (:). On the station listener it is also the client id, so it
# may not start like the services' client ids (tuojiang-ingest-…, tuojiang-sim-…): a station named
# so would hold the session of the ingest that uses that id.
check_username() {
  case $1 in
    '' | *[!A-Za-z0-9_.-]*) die "username \"$1\": use letters, digits, '_', '.' and '-' only" ;;
    tuojiang-*) die "username \"$1\": names starting with tuojiang- are the services' client ids" ;;
  esac
}

# mosquitto_passwd -U reads one "user:password" line per account and cuts the password at its first
# ':' (checked with mosquitto 2.0.11: the account then accepts only the part before it).
check_password() {
  name=$1
  value=$2
  what=$3
  [ -n "$value" ] || die "$what is empty (generate one: openssl rand -hex 24)"
  case $value in
    *:* ) die "$what contains ':', where mosquitto_passwd would cut it (openssl rand -hex 24 makes a safe one)" ;;
  esac
  if [ "${#value}" -lt 12 ]; then
    die "$what is shorter than 12 characters (account $name)"
  fi
  case $value in
    *'
'*) die "$what contains a line break" ;;
  esac
}

# Hashes "user:password" lines of $1 in place.
hash_plain() {
  mosquitto_passwd -U "$1" >/dev/null || die "mosquitto_passwd -U failed"
}

# Entries of the stations' file, minus the given usernames (one per argument).
current_without() {
  [ -f "$file" ] || return 0
  pattern=''
  for u in "$@"; do
    pattern="${pattern:+$pattern|}$u"
  done
  grep -v -E "^($pattern):" "$file" || true
}

# install_file <source> [<target>]: target defaults to the stations' file.
install_file() {
  src=$1
  target=${2:-$file}
  dir=$(dirname "$target")
  [ -d "$dir" ] || die "$dir does not exist"
  tmp="$dir/.passwd.$$"
  cp "$src" "$tmp"
  chmod 600 "$tmp"
  if [ -n "$owner" ]; then
    chown "$owner" "$tmp" || die "cannot chown $tmp to $owner (run as root, or set MOSQUITTO_PASSWD_OWNER=)"
  fi
  mv -f "$tmp" "$target"
}

sync_accounts() {
  : >"$work/plain"
  check_password ingest "${MQTT_INGEST_PASSWORD:-}" MQTT_INGEST_PASSWORD
  printf '%s:%s\n' ingest "$MQTT_INGEST_PASSWORD" >>"$work/plain"
  check_password healthcheck "${MQTT_HEALTHCHECK_PASSWORD:-}" MQTT_HEALTHCHECK_PASSWORD
  printf '%s:%s\n' healthcheck "$MQTT_HEALTHCHECK_PASSWORD" >>"$work/plain"
  if [ -n "${MQTT_SIMULATOR_PASSWORD:-}" ]; then
    check_password simulator "$MQTT_SIMULATOR_PASSWORD" MQTT_SIMULATOR_PASSWORD
    printf '%s:%s\n' simulator "$MQTT_SIMULATOR_PASSWORD" >>"$work/plain"
    simulator='created'
  else
    simulator='absent (MQTT_SIMULATOR_PASSWORD unset)'
  fi
  hash_plain "$work/plain"
  install_file "$work/plain" "$services_file"
  # shellcheck disable=SC2086 # word splitting of the fixed list is intended
  current_without $managed >"$work/stations"
  install_file "$work/stations"
  kept=$(grep -c . "$work/stations" || true)
  echo "$prog: $services_file: ingest, healthcheck; simulator $simulator. $file: $kept station account(s) kept"
}

add_account() {
  user=$1
  check_username "$user"
  for m in $managed; do
    [ "$user" != "$m" ] || die "\"$user\" is a service account: set its password in the environment and run sync"
  done
  if [ -t 0 ]; then
    printf 'Password for %s: ' "$user" >&2
    stty -echo
    IFS= read -r pass || true
    stty echo
    printf '\nAgain: ' >&2
    stty -echo
    IFS= read -r again || true
    stty echo
    printf '\n' >&2
    [ "$pass" = "$again" ] || die "the passwords differ"
  else
    IFS= read -r pass || true
  fi
  check_password "$user" "$pass" "the password"
  printf '%s:%s\n' "$user" "$pass" >"$work/plain"
  hash_plain "$work/plain"
  current_without "$user" >"$work/new"
  cat "$work/plain" >>"$work/new"
  install_file "$work/new"
  echo "$prog: $file: account $user set; reload the broker: docker compose kill -s SIGHUP mosquitto"
}

remove_account() {
  user=$1
  check_username "$user"
  [ -f "$file" ] && grep -q -E "^$user:" "$file" || die "no account \"$user\" in $file"
  current_without "$user" >"$work/new"
  install_file "$work/new"
  echo "$prog: $file: account $user removed; reload the broker: docker compose kill -s SIGHUP mosquitto"
}

case ${1:-} in
  sync) sync_accounts ;;
  add) [ $# -eq 2 ] || die "usage: $0 add <username>   (password on stdin)"; add_account "$2" ;;
  remove) [ $# -eq 2 ] || die "usage: $0 remove <username>"; remove_account "$2" ;;
  list) [ -f "$file" ] || die "$file does not exist yet (run sync)"; cut -d: -f1 "$file" ;;
  *) die "usage: $0 sync | add <username> | remove <username> | list" ;;
esac
