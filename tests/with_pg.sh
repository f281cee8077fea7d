#!/usr/bin/env bash
# Run a test binary against a throwaway PostgreSQL: with_pg.sh SOURCE_ROOT BINARY [ARGS...]
# The binary finds the database in SINKTEST_DB (a libpq connection string).
# PostgreSQL comes from the one harness, tests/lib/stack.sh.
set -u
SRC=$1
shift
# shellcheck source=lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_lib
STACK_NAME=with_pg
WORK=$(mktemp -d /tmp/edustat-pgtest.XXXXXX) || exit 1
chmod 755 "$WORK" # the postgres user reaches WORK/db when we are root
trap stack_cleanup EXIT
trap 'exit 130' INT TERM
pg_start "$WORK/db" >/dev/null || { echo "with_pg: PostgreSQL did not start" >&2; exit 1; }
SINKTEST_DB=$EDUSTAT_DB_URL "$@"
