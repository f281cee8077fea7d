#!/usr/bin/env bash
#
# pipeline.sh BUILD_ROOT SOURCE_ROOT: the end-to-end test of the pipeline.
#
# Starts a throwaway PostgreSQL (tests/lib/stack.sh), the real edustat-sink and
# edustat-aggregator on free loopback ports with the test city
# (tests/integration/data/config), and runs edustat-collector over the
# submission files in the order of data/runs.txt, checking every exit code
# and every "FILE:LINE: reason" line.  Then oracle.py compares unit_value,
# value_history, rejected and agg_value with what it computes from the CSV
# files alone.  Also checked: an identical resubmission changes no row of
# unit_value and adds no value_history row (before and after a restart of
# both daemons); the collector exits 3 saying delivery was not confirmed
# when no aggregator listens, and 143 with its receipt on SIGTERM while it
# waits for acks; both daemons exit 0 on SIGTERM.
#
# Everything started here is stopped by PID on exit.  EDUSTAT_KEEP_WORK=1
# keeps the work directory (logs, database) for a post-mortem.

set -u

if [ $# -ne 2 ]; then
        echo "usage: $0 BUILD_ROOT SOURCE_ROOT" >&2
        exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
DATA=$SRC/tests/integration/data
ORACLE=$SRC/tests/integration/oracle.py
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init pipeline
STACK_LOG_TAIL=200
FILES=$WORK/files
mkdir -p "$FILES"
cp "$DATA"/*.csv "$FILES"/

# The state that an identical resubmission must leave alone.
snapshot() {
        psql -AtX -v ON_ERROR_STOP=1 -c "SELECT unit, period, indicator, value, version
                FROM edustat.unit_value ORDER BY unit, period, indicator" &&
                psql -AtX -v ON_ERROR_STOP=1 -c \
                        "SELECT 'value_history rows: ' || count(*) FROM edustat.value_history"
}

# ------------------------------------------------------------------ start

echo "pipeline: checking the oracle against its own data"
python3 "$ORACLE" selfcheck "$DATA" || abort "the oracle's self-check failed"

# CURVE keys on both links, as in production: the test city's config plus a
# collector key registered for the whole city.
stack_up "$DATA/config"
echo "pipeline: PostgreSQL on port $PGPORT (pid $PG_PID), work dir $WORK"
echo "pipeline: sink on $SINK_PORT (pid $SINK_PID), aggregator on $AGG_PORT (pid $AGG_PID)"

# ------------------------------------------------------------------ runs

step=0
while read -r kind want args; do
        case $kind in '' | '#'*) continue ;; esac
        step=$((step + 1))
        if [ "$kind" = restart ]; then
                echo "step $step: restart the aggregator and the sink"
                stack_stop_daemon aggregator "$AGG_PID"
                stack_stop_daemon sink "$SINK_PID"
                AGG_PID=
                SINK_PID=
                stack_start
                continue
        fi
        read -r -a argv <<<"$args"
        if [ "$kind" = identical ]; then
                snapshot </dev/null >"$WORK/before.$step" || abort "cannot read unit_value"
        fi
        (cd "$FILES" && timeout 120 "$COLLECTOR_BIN" submit "${argv[@]}") \
                </dev/null >"$WORK/run.$step.out" 2>"$WORK/run.$step.err"
        rc=$?
        echo "step $step: $kind ${argv[*]}: exit $rc (want $want)"
        if [ "$rc" -ne "$want" ]; then
                fail "step $step: collector exited $rc, want $want; its output:"
                cat "$WORK/run.$step.out" "$WORK/run.$step.err"
        fi
        if ! (cd "$FILES" && python3 "$ORACLE" stderr "$DATA" "$WORK/run.$step.err" \
                "${argv[@]}" </dev/null); then
                fail "step $step: the rejection lines on stderr are wrong; stderr was:"
                cat "$WORK/run.$step.err"
        fi
        if [ "$kind" = identical ]; then
                snapshot </dev/null >"$WORK/after.$step" || abort "cannot read unit_value"
                if ! diff "$WORK/before.$step" "$WORK/after.$step" >"$WORK/diff.$step"; then
                        fail "step $step: an identical resubmission changed the database:"
                        head -n 40 "$WORK/diff.$step"
                fi
        fi
        for p in "$SINK_PID" "$AGG_PID"; do
                kill -0 "$p" 2>/dev/null || abort "a daemon (pid $p) died during step $step"
        done
done <"$DATA/runs.txt"

# ------------------------------------------------------------- compare

if ! python3 "$ORACLE" compare "$DATA"; then
        fail "PostgreSQL does not hold what the oracle expects"
fi

# ------------------------------------------------ nobody listening: exit 3

read -r DEAD_PORT <<<"$(stack_free_ports 1)"
mkdir -p "$WORK/unreachable"
cp "$DATA/after_restart_2024.csv" "$WORK/unreachable/"
start=$(date +%s)
(cd "$WORK/unreachable" && EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$DEAD_PORT \
        timeout 60 "$COLLECTOR_BIN" submit --timeout 2 after_restart_2024.csv) \
        >"$WORK/unreachable.out" 2>"$WORK/unreachable.err"
rc=$?
took=$(($(date +%s) - start))
echo "unreachable aggregator: exit $rc after ${took}s (want 3)"
if [ "$rc" -ne 3 ]; then
        fail "collector with no aggregator exited $rc, want 3; its output:"
        cat "$WORK/unreachable.out" "$WORK/unreachable.err"
elif ! grep -qi 'not confirmed' "$WORK/unreachable.out" "$WORK/unreachable.err"; then
        fail "collector with no aggregator did not say delivery was not confirmed; it said:"
        cat "$WORK/unreachable.out" "$WORK/unreachable.err"
fi

# SIGTERM while submit waits for acks: it stops at once, still prints the
# receipt, says the batches stay in the outbox, and exits 128 + 15.  The
# outbox is the one above, so it holds that file's batch as well.
(cd "$WORK/unreachable" && exec env EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$DEAD_PORT \
        "$COLLECTOR_BIN" submit --timeout 60 after_restart_2024.csv) \
        >"$WORK/sigterm.out" 2>"$WORK/sigterm.err" &
SUBMIT_PID=$!
sleep 1
start=$(date +%s)
kill -TERM "$SUBMIT_PID"
wait "$SUBMIT_PID"
rc=$?
took=$(($(date +%s) - start))
echo "submit on SIGTERM: exit $rc after ${took}s (want 143)"
if [ "$rc" -ne 143 ] || [ "$took" -gt 5 ]; then
        fail "submit on SIGTERM exited $rc after ${took}s, want 143 at once; its output:"
        cat "$WORK/sigterm.out" "$WORK/sigterm.err"
elif ! grep -q '^after_restart_2024.csv: .*not confirmed' "$WORK/sigterm.out" ||
        ! grep -q 'stopped by signal 15 .* batches stay in the outbox' "$WORK/sigterm.err"; then
        fail "submit on SIGTERM did not print its receipt and what stays in the outbox; it said:"
        cat "$WORK/sigterm.out" "$WORK/sigterm.err"
fi

# ------------------------------------------------------------ shutdown

stack_stop_daemon aggregator "$AGG_PID"
stack_stop_daemon sink "$SINK_PID"
AGG_PID=
SINK_PID=
stack_finish
