#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on 127.0.0.1 for the test suite, installing it from Debian
# packages when it is missing. Prints the SQLAlchemy URL of a fresh database on stdout.
# Usage: eval "$(bash .ci/postgres.sh)"   (exports HWDB_TEST_PG_URL)
set -euo pipefail
PORT="${HWDB_TEST_PG_PORT:-54329}"
ROOT="${HWDB_TEST_PG_DIR:-$(dirname "$(mktemp -u)")/hwdb-ci-postgres}"
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
BIN="$(find_bin)"
if [ -z "$BIN" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >&2
  $SUDO apt-get install -y -q postgresql >&2
  BIN="$(find_bin)"
fi
# initdb and the server refuse to run as root: use the postgres account when we are root.
AS=""; [ "$(id -u)" -eq 0 ] && AS="runuser -u postgres --"
if [ -f "$ROOT/data/postmaster.pid" ]; then
  $AS "$BIN/pg_ctl" -D "$ROOT/data" -m immediate stop >&2 || true
fi
rm -rf "$ROOT"
mkdir -p "$ROOT"
[ -n "$AS" ] && chown postgres "$ROOT"
$AS "$BIN/initdb" -D "$ROOT/data" -U postgres -A trust --no-sync >&2
$AS "$BIN/pg_ctl" -D "$ROOT/data" -l "$ROOT/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $PORT -k $ROOT -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >&2
"$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres hwdb_test >&2
echo "export HWDB_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/hwdb_test"
