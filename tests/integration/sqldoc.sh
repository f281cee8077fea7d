#!/usr/bin/env bash
#
# sqldoc.sh BUILD_ROOT SOURCE_ROOT: every query of docs/SQL.md and README.md
# runs on the demo's data and prints what the documentation shows.
#
# A throwaway PostgreSQL (tests/lib/stack.sh) gets the demo's round
# (scripts/demo.sh with the programs of BUILD_ROOT, stopping after its
# summary); then sqldoc.py runs each ```sql block with psql, in the time
# zone the documentation advises (Asia/Shanghai), and compares its output
# cell by cell with the ```text block after it (times match any time).

BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init sqldoc

stack_prepare "$SRC/config"
EDUSTAT_BIN=$BUILD EDUSTAT_DEMO_EXIT=1 timeout 300 "$SRC/scripts/demo.sh" \
        >"$WORK/demo.log" 2>&1 || abort "the demo failed: $(tail -20 "$WORK/demo.log")"

PGTZ=Asia/Shanghai python3 "$SRC/tests/integration/sqldoc.py" check \
        "$SRC/docs/SQL.md" "$SRC/README.md" || fail "the documented queries differ"

stack_finish
