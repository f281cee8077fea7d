#!/usr/bin/env bash
#
# pipeline.sh BUILD_ROOT SOURCE_ROOT: the end-to-end test of issue 2.
#
# Starts a throwaway PostgreSQL (scripts/pg.sh), the real edustat-sink and
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
# shellcheck source=../../scripts/pg.sh
. "$SRC/scripts/pg.sh"

find_bin() {
        local b
        for b in "$BUILD/$1" "$BUILD/bin/$1" "$BUILD/$2/$1"; do
                if [ -x "$b" ]; then
                        printf '%s\n' "$b"
                        return 0
                fi
        done
        echo "pipeline: $1 not found under $BUILD" >&2
        return 1
}
SINK_BIN=$(find_bin edustat-sink sink) || exit 1
AGG_BIN=$(find_bin edustat-aggregator aggregator) || exit 1
COLLECTOR_BIN=$(find_bin edustat-collector collector) || exit 1
KEYGEN_BIN=$(find_bin edustat-keygen tools) || exit 1
# shellcheck source=../../scripts/devkeys.sh
. "$SRC/scripts/devkeys.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/edustat-pipeline.XXXXXX") || exit 1
# The postgres user must be able to reach WORK/db when we run as root.
chmod 755 "$WORK"
# The collector's durable outbox belongs to this run: leftovers of an earlier
# run must never be delivered into this one's database.
export EDUSTAT_OUTBOX=$WORK/outbox.db
FILES=$WORK/files
mkdir -p "$FILES"
cp "$DATA"/*.csv "$FILES"/

FAILS=0
SINK_PID=
AGG_PID=

fail() {
        echo "FAIL: $*"
        FAILS=$((FAILS + 1))
}

print_logs() {
        local f
        for f in "$WORK/sink.log" "$WORK/aggregator.log"; do
                [ -f "$f" ] || continue
                echo "----- $(basename "$f") (last 200 lines) -----"
                tail -n 200 "$f"
        done
        echo "----- end of logs -----"
}

cleanup() {
        local pid
        for pid in $AGG_PID $SINK_PID; do
                kill -TERM "$pid" 2>/dev/null
        done
        for pid in $AGG_PID $SINK_PID; do
                for _ in $(seq 1 50); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$pid" 2>/dev/null
        done
        pg_stop
        if [ "$FAILS" -ne 0 ] || [ "${EDUSTAT_KEEP_WORK:-0}" = 1 ]; then
                echo "pipeline: work directory kept: $WORK"
        else
                rm -rf "$WORK"
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# abort MESSAGE: a failure after which nothing more can be checked.
abort() {
        fail "$*"
        print_logs
        exit 1
}

# free_ports N: N distinct loopback ports that nobody listens on right now.
free_ports() {
        python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# wait_ready NAME PID LOG FROM_LINE: wait until LOG, after line FROM_LINE,
# has a line containing "ready".
wait_ready() {
        local name=$1 pid=$2 log=$3 from=$4
        for _ in $(seq 1 300); do
                if tail -n +"$((from + 1))" "$log" 2>/dev/null | grep -q ready; then
                        return 0
                fi
                if ! kill -0 "$pid" 2>/dev/null; then
                        abort "$name exited before it was ready"
                fi
                sleep 0.1
        done
        abort "$name did not log 'ready' within 30 s"
}

log_lines() {
        if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

start_sink() {
        local from
        from=$(log_lines "$WORK/sink.log")
        EDUSTAT_SINK_BIND=tcp://127.0.0.1:$SINK_PORT \
                EDUSTAT_DB_URL=$EDUSTAT_DB_URL "$SINK_BIN" >>"$WORK/sink.log" 2>&1 &
        SINK_PID=$!
        wait_ready sink "$SINK_PID" "$WORK/sink.log" "$from"
}

start_aggregator() {
        local from
        from=$(log_lines "$WORK/aggregator.log")
        EDUSTAT_SINK=tcp://127.0.0.1:$SINK_PORT \
                EDUSTAT_AGGREGATOR_BIND=tcp://127.0.0.1:$AGG_PORT \
                "$AGG_BIN" >>"$WORK/aggregator.log" 2>&1 &
        AGG_PID=$!
        wait_ready aggregator "$AGG_PID" "$WORK/aggregator.log" "$from"
}

# stop_daemon NAME PID: SIGTERM; the daemon must exit 0 within 15 s.
stop_daemon() {
        local name=$1 pid=$2 st
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 150); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
                fail "$name (pid $pid) did not exit within 15 s of SIGTERM"
                kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid"
        st=$?
        if [ "$st" -ne 0 ]; then
                fail "$name exited with status $st on SIGTERM, want 0"
        fi
}

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

pg_start "$WORK/db" || abort "cannot start PostgreSQL"
# CURVE keys on both links, as in production: the test city's config plus a
# collector key registered for the whole city.
devkeys "$KEYGEN_BIN" "$DATA/config" "$WORK" || abort "cannot make CURVE keys"
echo "pipeline: PostgreSQL on port $PGPORT (pid $PG_PID), work dir $WORK"

read -r SINK_PORT AGG_PORT <<<"$(free_ports 2)"
start_sink
start_aggregator
echo "pipeline: sink on $SINK_PORT (pid $SINK_PID), aggregator on $AGG_PORT (pid $AGG_PID)"

# ------------------------------------------------------------------ runs

step=0
while read -r kind want args; do
        case $kind in '' | '#'*) continue ;; esac
        step=$((step + 1))
        if [ "$kind" = restart ]; then
                echo "step $step: restart the aggregator and the sink"
                stop_daemon aggregator "$AGG_PID"
                stop_daemon sink "$SINK_PID"
                AGG_PID=
                SINK_PID=
                start_sink
                start_aggregator
                continue
        fi
        read -r -a argv <<<"$args"
        if [ "$kind" = identical ]; then
                snapshot </dev/null >"$WORK/before.$step" || abort "cannot read unit_value"
        fi
        (cd "$FILES" && EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$AGG_PORT \
                timeout 120 "$COLLECTOR_BIN" submit "${argv[@]}") \
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

read -r DEAD_PORT <<<"$(free_ports 1)"
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

stop_daemon aggregator "$AGG_PID"
stop_daemon sink "$SINK_PID"
AGG_PID=
SINK_PID=

if [ "$FAILS" -ne 0 ]; then
        echo "pipeline: $FAILS failures"
        print_logs
        exit 1
fi
echo "pipeline: ok"
exit 0
