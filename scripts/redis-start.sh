#!/bin/sh
# Entrypoint of the redis service (docker-compose.yml): renders the ACL file from its template with
# the SHA-256 of each REDIS_<USER>_PASSWORD, then runs the given command (redis-server …).
#
#   REDIS_ACL_TEMPLATE=config/redis/users.acl.template REDIS_ACL_FILE=/run/redis/users.acl \
#   REDIS_INGEST_PASSWORD=… scripts/redis-start.sh redis-server --aclfile /run/redis/users.acl …
#
# Only hashes reach the file (written 0600 to a tmpfs in compose); a password never appears on a
# command line or in `docker inspect` of the redis container's command. A missing or short
# password stops the start, named. Passwords: 16 or more of [A-Za-z0-9._~-] (they go into URLs).
set -eu
umask 077
template=${REDIS_ACL_TEMPLATE:?REDIS_ACL_TEMPLATE: the users.acl template}
out=${REDIS_ACL_FILE:?REDIS_ACL_FILE: where to write the ACL file}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then printf '%s' "$1" | sha256sum | cut -d' ' -f1
  else printf '%s' "$1" | openssl dgst -sha256 -r | cut -d' ' -f1; fi
}

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
: >"$tmp"
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    *'#{{'*'}}'*)
      var=${line#*'#{{'}
      var=${var%%'}}'*}
      eval "value=\${$var:-}"
      if [ -z "$value" ]; then echo "redis-start: $var is empty (set it in .env; scripts/init-env.sh generates it)" >&2; exit 1; fi
      if [ ${#value} -lt 16 ]; then echo "redis-start: $var is shorter than 16 characters" >&2; exit 1; fi
      case $value in *[!A-Za-z0-9._~-]*) echo "redis-start: $var may hold only letters, digits and . _ ~ - (it goes into REDIS_URL)" >&2; exit 1 ;; esac
      line="${line%%'#{{'*}#$(sha256 "$value")${line#*'}}'}"
      ;;
    '#'* | '') continue ;;
  esac
  printf '%s\n' "$line" >>"$tmp"
done <"$template"
mv "$tmp" "$out"
trap - EXIT
[ $# -gt 0 ] || exit 0
exec "$@"
