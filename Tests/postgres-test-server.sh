#!/usr/bin/env bash
# A throwaway PostgreSQL server for the catalog tests (make test):
#   Tests/postgres-test-server.sh start   prints the folder it made; its file `url` names the server
#   Tests/postgres-test-server.sh stop DIR stops that server and removes the folder
# Debian's postgresql package; initdb into a new folder under /tmp, on a free loopback port, with
# trust authentication for loopback only (nothing else can reach it). initdb refuses to run as
# root, so as root (CI) the server runs as the unprivileged user nobody; a developer's own user
# runs it directly.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (Debian's postgresql package)" >&2
    exit 1
  fi
  dir=$(mktemp -d /tmp/vqtrace-pg.XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown nobody "$dir"
  # A free port: one nothing answers on (bash's /dev/tcp connect fails).
  port=""
  for _ in $(seq 1 50); do
    candidate=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
  done
  [ -n "$port" ] || { echo "no free port found for the test PostgreSQL" >&2; exit 1; }
  (cd "$dir" && as_server "$bin/initdb" -D "$dir/data" -U vqtrace --auth=trust -E UTF8 --no-sync) >"$dir/initdb.log" 2>&1 \
    || { echo "initdb failed (see $dir/initdb.log):" >&2; tail -5 "$dir/initdb.log" >&2; exit 1; }
  (cd "$dir" && as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start) >/dev/null \
    || { echo "the test PostgreSQL did not start (see $dir/server.log):" >&2; tail -5 "$dir/server.log" >&2; exit 1; }
  echo "postgres://vqtrace@127.0.0.1:$port/postgres" >"$dir/url"
  echo "$dir"
  ;;
stop)
  dir=${2:?stop needs the folder start printed}
  if [ -d "$dir/data" ]; then (cd "$dir" && as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w stop) >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start | stop DIR" >&2
  exit 2
  ;;
esac
