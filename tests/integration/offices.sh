#!/usr/bin/env bash
#
# offices.sh BUILD_ROOT SOURCE_ROOT: the views built for a bureau's yearly
# figures and its dated plans, against an independent oracle.
#
# offices_oracle.py writes a small city with values for every kind of period
# (years, halves, quarters, months; some with the same period a year
# earlier, a previous value of 0, a ratio with denominator 0) and a
# targets.csv with open and closed bounds, with and without a baseline.
# The real sink, aggregator and collector carry them into PostgreSQL
# (tests/lib/stack.sh); then the oracle recomputes agg_change (previous
# value, change, change in % and in percentage points), which targets
# target_status shows for which periods (in force), and target_path
# (baseline, expected value on the path, actual value, on_track) from the
# CSV files alone, and compares.  edustat-report export writes the 过录表
# of a district and of the city as CSV and xlsx, and the oracle reads them
# back: every school's cell its own value, every subtotal and total the
# rollup.  A targets.csv with a path but no end is refused at start with
# its line.

BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
ORACLE=$SRC/tests/integration/offices_oracle.py
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init offices

python3 "$ORACLE" data "$WORK/data" || abort "cannot write the test data"
stack_up "$WORK/data/config"
echo "offices: sink $SINK_PORT, aggregator $AGG_PORT, work $WORK"

for f in "$WORK"/data/values_*.csv; do
        timeout 120 "$COLLECTOR_BIN" submit "$f" </dev/null >"$WORK/submit.out" 2>&1 ||
                abort "submitting $f: exit $?: $(cat "$WORK/submit.out")"
done

python3 "$ORACLE" compare "$WORK/data" || fail "the views differ from the oracle"

# The 过录表 of a district and of the city, both formats, read back.
REPORT_BIN=$(stack_find_bin edustat-report) || abort "no edustat-report"
for unit in D1 C; do
        for fmt in csv xlsx; do
                out=$WORK/export_$unit.$fmt
                "$REPORT_BIN" export --unit "$unit" --period 2024 --format "$fmt" -o "$out" \
                        >"$WORK/export.out" 2>&1 || fail "export $unit $fmt: $(cat "$WORK/export.out")"
                python3 "$ORACLE" export "$WORK/data" "$out" "$unit" 2024 ||
                        fail "the export of $unit as $fmt differs from the oracle"
        done
done
"$REPORT_BIN" export --unit NOPE --period 2024 -o "$WORK/nope.csv" >"$WORK/export.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "export of an unknown unit: exit $rc, want 2"
grep -q "no unit NOPE in the org tree" "$WORK/export.out" || fail "export of an unknown unit: $(cat "$WORK/export.out")"
[ ! -e "$WORK/nope.csv" ] || fail "export of an unknown unit left a file"

# A path needs the period it ends at: the sink names the line and stops.
kill -TERM "$AGG_PID" "$SINK_PID"
stack_wait_exit "$AGG_PID" 10 || abort "the aggregator did not stop"
stack_wait_exit "$SINK_PID" 10 || abort "the sink did not stop"
AGG_PID=''
SINK_PID=''
printf '%s\n' "indicator,level,unit,stage,op,value,source,from,to,baseline_period,baseline" \
        "pupils,school,,,=,1000,,,,2023,800" >"$EDUSTAT_CONFIG/targets.csv"
timeout 60 "$SINK_BIN" >"$WORK/sink-bad.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] || fail "a sink with a path without an end started (exit 0)"
grep -q "targets.csv:2: baseline_period 2023 needs a to (the period the target is due by)" \
        "$WORK/sink-bad.log" || fail "the sink did not name targets.csv:2: $(tail -2 "$WORK/sink-bad.log")"

stack_finish
