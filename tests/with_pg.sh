#!/usr/bin/env bash
# Run a test binary against a throwaway PostgreSQL: with_pg.sh SOURCE_ROOT BINARY [ARGS...]
# The binary finds the database in SINKTEST_DB (a libpq connection string).
set -u
SRC=$1
shift
# shellcheck source=../scripts/pg.sh
. "$SRC/scripts/pg.sh"
WORK=$(mktemp -d /tmp/edustat-pgtest.XXXXXX) || exit 1
chmod 755 "$WORK"
cleanup() {
        pg_stop >/dev/null 2>&1
        rm -rf "$WORK"
}
trap cleanup EXIT
pg_start "$WORK" || { echo "with_pg: PostgreSQL did not start" >&2; exit 1; }
SINKTEST_DB=$EDUSTAT_DB_URL "$@"
