#!/usr/bin/env bash
#
# views.sh BUILD_ROOT SOURCE_ROOT: the end-to-end test of issue 6, the views
# offices query (docs/SQL.md).
#
# On its own test city (tests/integration/views-data, see make_data.py) it
# starts a throwaway PostgreSQL (scripts/pg.sh) and checks that:
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
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap

set -u

if [ $# -ne 2 ]; then
        echo "usage: $0 BUILD_ROOT SOURCE_ROOT" >&2
        exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
DATA=$SRC/tests/integration/views-data
ORACLE=$SRC/tests/integration/views_oracle.py
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
        echo "views: $1 not found under $BUILD" >&2
        return 1
}
SINK_BIN=$(find_bin edustat-sink sink) || exit 1
AGG_BIN=$(find_bin edustat-aggregator aggregator) || exit 1
COLLECTOR_BIN=$(find_bin edustat-collector collector) || exit 1
KEYGEN_BIN=$(find_bin edustat-keygen tools) || exit 1
REPORT_BIN=$(find_bin edustat-report tools) || exit 1
# shellcheck source=../../scripts/devkeys.sh
. "$SRC/scripts/devkeys.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/edustat-views.XXXXXX") || exit 1
# The collector's outbox belongs to this run, never to the source tree.
export EDUSTAT_OUTBOX=$WORK/outbox.db
# The postgres user must be able to reach WORK/db when we run as root.
chmod 755 "$WORK"

FAILS=0
SINK_PID=
AGG_PID=

fail() {
        echo "FAIL: $*"
        FAILS=$((FAILS + 1))
}

print_logs() {
        local f
        for f in "$WORK"/*.log; do
                [ -f "$f" ] || continue
                echo "----- $(basename "$f") (last 100 lines) -----"
                tail -n 100 "$f"
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
                echo "views: work directory kept: $WORK"
        else
                rm -rf "$WORK"
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

abort() {
        fail "$*"
        print_logs
        exit 1
}

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

# wait_ready NAME PID LOG: wait until LOG has a line containing "ready".
wait_ready() {
        local name=$1 pid=$2 log=$3
        for _ in $(seq 1 300); do
                if grep -q ': info: ready' "$log" 2>/dev/null; then
                        return 0
                fi
                if ! kill -0 "$pid" 2>/dev/null; then
                        abort "$name exited before it was ready"
                fi
                sleep 0.1
        done
        abort "$name did not log 'ready' within 30 s"
}

# start_sink CONFIG LOG
start_sink() {
        EDUSTAT_CONFIG=$1 EDUSTAT_SINK_BIND=tcp://127.0.0.1:$SINK_PORT \
                EDUSTAT_DB_URL=$EDUSTAT_DB_URL "$SINK_BIN" >"$2" 2>&1 &
        SINK_PID=$!
        wait_ready sink "$SINK_PID" "$2"
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
        [ "$st" -eq 0 ] || fail "$name exited with status $st on SIGTERM, want 0"
}

db_date() {
        psql -AtX -v ON_ERROR_STOP=1 -c "SELECT current_date + $1"
}

# ------------------------------------------------------------------ start

echo "views: checking the oracle against its own data"
python3 "$ORACLE" selfcheck "$DATA" "$DATA/config" || abort "the oracle's self-check failed"

pg_start "$WORK/db" || abort "cannot start PostgreSQL"
echo "views: PostgreSQL on port $PGPORT (pid $PG_PID), work dir $WORK"
read -r SINK_PORT AGG_PORT <<<"$(free_ports 2)"
# CURVE keys on both links; the collector's key is registered for the city.
devkeys "$KEYGEN_BIN" "$DATA/config" "$WORK/keyed" || abort "cannot make CURVE keys"

# ----------------------------------------------- 1. a bad targets.csv stops the sink

mkdir -p "$WORK/bad-config"
cp "$DATA"/config/*.csv "$WORK/bad-config/"
cp "$DATA/bad/targets.csv" "$WORK/bad-config/targets.csv"
EDUSTAT_CONFIG=$WORK/bad-config EDUSTAT_SINK_BIND=tcp://127.0.0.1:$SINK_PORT \
        EDUSTAT_DB_URL=$EDUSTAT_DB_URL timeout 30 "$SINK_BIN" >"$WORK/sink-bad.log" 2>&1
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

start_sink "$WORK/config" "$WORK/sink.log"
EDUSTAT_CONFIG=$WORK/config EDUSTAT_SINK=tcp://127.0.0.1:$SINK_PORT \
        EDUSTAT_AGGREGATOR_BIND=tcp://127.0.0.1:$AGG_PORT \
        "$AGG_BIN" >"$WORK/aggregator.log" 2>&1 &
AGG_PID=$!
wait_ready aggregator "$AGG_PID" "$WORK/aggregator.log"
echo "views: sink on $SINK_PORT (pid $SINK_PID), aggregator on $AGG_PORT (pid $AGG_PID)"

n=0
while read -r file; do
        case $file in '' | '#'*) continue ;; esac
        n=$((n + 1))
        (cd "$DATA" && EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$AGG_PORT \
                timeout 120 "$COLLECTOR_BIN" submit "$file") \
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

stop_daemon aggregator "$AGG_PID"
AGG_PID=
stop_daemon sink "$SINK_PID"
SINK_PID=

# ------------------------------------- 3. without the optional files, the views are empty

mkdir -p "$WORK/bare-config"
cp "$DATA/config/orgunits.csv" "$DATA/config/indicators.csv" "$WORK/bare-config/"
start_sink "$WORK/bare-config" "$WORK/sink-bare.log"
grep -q "loaded 0 targets, 0 periods and 0 balance rules" "$WORK/sink-bare.log" ||
        fail "the sink did not log that it loaded no targets, periods or rules"
python3 "$ORACLE" empty || fail "views are not empty without the optional files"
stop_daemon sink "$SINK_PID"
SINK_PID=

if [ "$FAILS" -ne 0 ]; then
        echo "views: $FAILS failures"
        print_logs
        exit 1
fi
echo "views: ok"
exit 0
