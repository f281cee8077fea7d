#!/usr/bin/env bash
#
# views.sh BUILD_ROOT SOURCE_ROOT: the end-to-end test of the views offices
# query (docs/SQL.md).
#
# On its own test city (tests/integration/views-data, see make_data.py) it
# starts a throwaway PostgreSQL (tests/lib/stack.sh) and checks that:
#   1. a sink whose targets.csv names an unknown indicator stops at start
#      with "FILE:LINE: problem";
#   2. with a good config the real sink, aggregator and collector carry the
#      submissions of runs.txt into PostgreSQL, and views_oracle.py finds in
#      agg_breakdown, orgunit_closure, target_status, completeness,
#      balance_cv, balance_school and balance_status exactly the rows it
#      computes from the CSV files (the MoE worked example included);
#   3. a sink restarted on a config without the optional files empties their
#      tables, and every view built on them is empty.
# periods.csv is written here, relative to the database's date: 2024 is due
# today (everyone is on time, the due date counting whole), 2025S1 was due
# yesterday (everyone who reports is late) and 2025S2 is due in 30 days
# (nobody has reported).
#
# The daemons run with CURVE keys made for the test (scripts/devkeys.sh).
# Everything started here is stopped by PID on exit.  EDUSTAT_KEEP_WORK=1
# keeps the work directory (logs, database) for a post-mortem.

set -u

if [ $# -ne 2 ]; then
        echo "usage: $0 BUILD_ROOT SOURCE_ROOT" >&2
        exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
DATA=$SRC/tests/integration/views-data
ORACLE=$SRC/tests/integration/views_oracle.py
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init views
REPORT_BIN=$(stack_find_bin edustat-report) || exit 1

db_date() {
        psql -AtX -v ON_ERROR_STOP=1 -c "SELECT current_date + $1"
}

# ------------------------------------------------------------------ start

echo "views: checking the oracle against its own data"
python3 "$ORACLE" selfcheck "$DATA" "$DATA/config" || abort "the oracle's self-check failed"

pg_start "$WORK/db" || abort "cannot start PostgreSQL"
echo "views: PostgreSQL on port $PGPORT (pid $PG_PID), work dir $WORK"
read -r SINK_PORT AGG_PORT <<<"$(stack_free_ports 2)"
stack_endpoints
# CURVE keys on both links; the collector's key is registered for the city.
devkeys "$KEYGEN_BIN" "$DATA/config" "$WORK/keyed" || abort "cannot make CURVE keys"

# ----------------------------------------------- 1. a bad targets.csv stops the sink

mkdir -p "$WORK/bad-config"
cp "$DATA"/config/*.csv "$WORK/bad-config/"
cp "$DATA/bad/targets.csv" "$WORK/bad-config/targets.csv"
EDUSTAT_CONFIG=$WORK/bad-config timeout 30 "$SINK_BIN" >"$WORK/sink-bad.log" 2>&1
rc=$?
want="$WORK/bad-config/targets.csv:3: unknown indicator \"kg_ger_3y\""
echo "step 1: sink with a bad targets.csv: exit $rc"
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
        fail "the sink with a bad targets.csv exited $rc, want a start-up failure"
fi
grep -qF "$want" "$WORK/sink-bad.log" || fail "the sink did not say: $want"

# ------------------------------------------------ 2. the views against the oracle

TODAY=$(db_date 0) || abort "cannot read the database's date"
mkdir -p "$WORK/config"
cp "$DATA"/config/*.csv "$WORK/keyed/config/collectors.csv" "$WORK/config/"
{
        echo "period,opens,due"
        echo "2024,$(db_date -30),$TODAY"
        echo "2025S1,$(db_date -31),$(db_date -1)"
        echo "2025S2,$TODAY,$(db_date 30)"
} >"$WORK/config/periods.csv"

export EDUSTAT_CONFIG=$WORK/config
stack_start
echo "views: sink on $SINK_PORT (pid $SINK_PID), aggregator on $AGG_PORT (pid $AGG_PID)"

n=0
while read -r file; do
        case $file in '' | '#'*) continue ;; esac
        n=$((n + 1))
        (cd "$DATA" && timeout 120 "$COLLECTOR_BIN" submit "$file") \
                </dev/null >"$WORK/submit.$n.out" 2>&1
        rc=$?
        if [ "$rc" -ne 0 ]; then
                fail "submitting $file: exit $rc, want 0:"
                cat "$WORK/submit.$n.out"
        fi
done <"$DATA/runs.txt"
echo "step 2: submitted $n files"
if [ "$(db_date 0)" != "$TODAY" ]; then
        abort "the database's date changed during the submissions (midnight); run again"
fi

python3 "$ORACLE" compare "$DATA" "$WORK/config" "$TODAY" ||
        fail "the views do not hold what the oracle expects"

# edustat-report missing: the same schools as the (oracle-checked) view, for
# a person; exit 1 while some have not reported.
for period in 2024 2025S1; do
        want=$(psql -AtX -c "SELECT c.missing FROM edustat.completeness c
                JOIN edustat.orgunit o ON o.code = c.unit
                WHERE o.depth = 0 AND c.period = '$period' AND c.stage IS NULL" |
                tr ';' '\n' | awk 'NF {print $1}' | sort)
        "$REPORT_BIN" missing --period "$period" >"$WORK/report.$period.out" 2>&1
        rc=$?
        got=$(awk '/have not reported/ {on = 1; next} on && NF {print $1}' \
                "$WORK/report.$period.out" | sort)
        [ "$got" = "$want" ] || fail "edustat-report missing $period lists '$got', want '$want'"
        if [ -n "$want" ]; then exp=1; else exp=0; fi
        [ "$rc" -eq "$exp" ] || fail "edustat-report missing $period: exit $rc, want $exp"
done
"$REPORT_BIN" missing --period 2099 >/dev/null 2>&1
[ $? -eq 2 ] || fail "edustat-report for an unknown period should exit 2"

# edustat-report review: nobody has finished anything, so the tree below the
# root shows every current unit once, each open; an unknown unit exits 2.
root=$(psql -AtX -c "SELECT code FROM edustat.orgunit WHERE depth = 0 AND current")
"$REPORT_BIN" review --unit "$root" --period 2024 >"$WORK/review.out" 2>&1 ||
        fail "edustat-report review --unit $root: exit $?, want 0"
want=$(psql -AtX -c "SELECT count(*) FROM edustat.orgunit WHERE current")
got=$(grep -c '^ *[^ ]* .*  open' "$WORK/review.out")
[ "$got" = "$want" ] || fail "edustat-report review shows $got open units, want $want"
"$REPORT_BIN" review --unit NO_SUCH_UNIT --period 2024 >"$WORK/review.bad" 2>&1
[ $? -eq 2 ] && grep -q 'unknown unit "NO_SUCH_UNIT"' "$WORK/review.bad" ||
        fail "edustat-report review of an unknown unit should say so and exit 2"

stack_stop_daemon aggregator "$AGG_PID"
AGG_PID=
stack_stop_daemon sink "$SINK_PID"
SINK_PID=

# ------------------------------------- 3. without the optional files, the views are empty

mkdir -p "$WORK/bare-config"
cp "$DATA/config/orgunits.csv" "$DATA/config/indicators.csv" "$WORK/bare-config/"
STACK_SINK_LOG=$WORK/sink-bare.log
EDUSTAT_CONFIG=$WORK/bare-config stack_start_sink
grep -q "loaded 0 targets, 0 periods and 0 balance rules" "$WORK/sink-bare.log" ||
        fail "the sink did not log that it loaded no targets, periods or rules"
python3 "$ORACLE" empty || fail "views are not empty without the optional files"
stack_stop_daemon sink "$SINK_PID"
SINK_PID=
stack_finish
