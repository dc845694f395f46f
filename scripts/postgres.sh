#!/usr/bin/env bash
# A throw-away PostgreSQL (Debian's package) for the tests: `scripts/postgres.sh start DIR PORT` makes a
# cluster in DIR listening on 127.0.0.1:PORT only, with TLS and a database `stepline`, and prints its URL
# (which asks for the server's certificate verified);
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
    # TLS, as a managed PostgreSQL has it: a CA of its own signs the server's certificate (for 127.0.0.1),
    # and the URL asks for the server verified against that CA. A second CA, which signed nothing here, lets
    # a test check that a certificate from elsewhere is refused.
    tls() { openssl "$@" >>"$dir/tls.log" 2>&1; }
    tls req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=stepline test CA" -keyout "$dir/ca.key" -out "$dir/ca.crt"
    tls req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" -keyout "$dir/other-ca.key" -out "$dir/other-ca.crt"
    tls req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$dir/server.key" -out "$dir/server.csr"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > "$dir/server.ext"
    tls x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
      -extfile "$dir/server.ext" -out "$dir/server.crt"
    chmod 600 "$dir/server.key"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir/server.key" "$dir/server.crt"; fi
    # Loopback only; the socket in DIR, not in /run (which may not exist or be writable).
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200 -c ssl=on \
          -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key" start >/dev/null
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U stepline stepline
    echo "postgres://stepline@127.0.0.1:$port/stepline?sslmode=verify-full&sslrootcert=$dir/ca.crt"
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
