#!/usr/bin/env bash
# A throw-away PostgreSQL (Debian's package) for the tests: `scripts/postgres.sh start DIR PORT` makes a
# cluster in DIR listening on 127.0.0.1:PORT only, with a database `stepline`, and prints its URL;
# `scripts/postgres.sh stop DIR` stops it. PostgreSQL refuses to run as root: as root it runs as the
# `postgres` user the Debian package creates.
set -euo pipefail
cmd="${1:-}"
dir="${2:-}"
port="${3:-55432}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: scripts/postgres.sh start DIR [PORT] | stop DIR" >&2
  exit 2
fi
bin=""
for d in /usr/lib/postgresql/*/bin; do
  if [ -x "$d/postgres" ]; then bin="$d"; fi
done
if [ -z "$bin" ]; then
  echo "PostgreSQL's server is not installed (Debian package postgresql)" >&2
  exit 3
fi
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_pg "$bin/initdb" -D "$dir/data" -U stepline --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
    # Loopback only; the socket in DIR, not in /run (which may not exist or be writable).
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U stepline stepline
    echo "postgres://stepline@127.0.0.1:$port/stepline"
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: scripts/postgres.sh start DIR [PORT] | stop DIR" >&2
    exit 2
    ;;
esac
