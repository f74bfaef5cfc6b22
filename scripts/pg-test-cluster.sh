#!/usr/bin/env bash
# Bring up (or tear down) a throwaway PostgreSQL cluster for the test-suite.
#   scripts/pg-test-cluster.sh start DIR   -> prints a postgres:// URL on stdout
#   scripts/pg-test-cluster.sh stop DIR
# Uses Debian's server binaries (installed by scripts/ensure-postgres.sh when missing).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data dir}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL server binaries not found (run scripts/ensure-postgres.sh)" >&2; exit 3
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_pg "$bindir/initdb" -D "$dir/data" -U idpkit --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >"$dir/pg_ctl.log" 2>&1
    as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U idpkit idpkit_test
    echo "postgresql://idpkit@127.0.0.1:$port/idpkit_test"
    ;;
  stop)
    [ -d "$dir/data" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
esac
