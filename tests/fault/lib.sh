# shellcheck shell=bash
#
# lib.sh: what the fault scenarios share.  A scenario script sources it:
#
#   . "$(dirname "$0")/lib.sh"
#   fault_init NAME "$@"        # BUILD_ROOT SOURCE_ROOT; seed, work dir, traps
#   fault_start                 # PostgreSQL, sink, aggregator, the workload
#   for it in $(seq 1 "$ITER"); do
#           lanes_start; ...inject the fault...; lanes_stop; iteration_end
#   done
#   fault_finish                # drain, oracle, consistency check, verdict
#
# The real daemons run against a throwaway PostgreSQL on free loopback
# ports, started, awaited and stopped by the one harness, tests/lib/stack.sh
# (its stack_* functions are at a scenario's disposal too).  The workload (workload.py) is LANES collectors, each
# with its own outbox and its own org units, submitting generated CSV runs
# one after another while the scenario injects its fault at random points.
# Every run's exit code is recorded; at the end workload.py compares
# unit_value with what those exit codes promise, and `edustat-sink --check`
# must find zero mismatches between agg_value and unit_value.
#
# Randomness comes from bash's RANDOM seeded with EDUSTAT_FAULT_SEED (or a
# fresh seed, printed at the start) so a failure's fault points replay.
# Environment: EDUSTAT_FAULT_SEED, EDUSTAT_FAULT_ITER (iterations, default 5,
# or the scenario's ITER_DEFAULT), EDUSTAT_KEEP_WORK=1 (keep the work
# directory), TMPDIR.
#
# Everything started here is stopped by PID (stack.sh's EXIT trap).

set -u

# A scenario may set these before sourcing this file.
LANES=${LANES:-3}                   # collector processes, one outbox each
SUBMIT_LANES=${SUBMIT_LANES:-$LANES} # lanes_start runs lanes 0..SUBMIT_LANES-1; the scenario the rest
PERIODS=${PERIODS:-2}               # periods in the workload
SHARE=${SHARE:-0.5}                 # share of a lane's keys each run stores
SUBMIT_TIMEOUT=${SUBMIT_TIMEOUT:-30} # submit --timeout, seconds
PAUSE_MAX_MS=${PAUSE_MAX_MS:-150}   # a lane's pause between two runs
RUNS_PER_ITER=${RUNS_PER_ITER:-25}  # runs generated per lane and iteration
GEN_LATE=${GEN_LATE:-}              # "EVERY REPEAT": runs that may come late (workload.py gen)
ITER_DEFAULT=${ITER_DEFAULT:-5}     # iterations unless EDUSTAT_FAULT_ITER says

LANE_PIDS=
FAULTS=0

note() {
        echo "fault $NAME: $*"
}

# rand LO HI: sets R to a random integer in [LO, HI] from the seeded RANDOM.
# (A function writing a global, because $(...) would run in a subshell and
# not advance the seeded sequence.)
rand() {
        R=$(($1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1)))
}

sleep_ms() {
        sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

now_ms() {
        date +%s%3N
}

# fault_init NAME BUILD_ROOT SOURCE_ROOT
fault_init() {
        NAME=$1
        if [ $# -ne 3 ]; then
                echo "usage: $0 BUILD_ROOT SOURCE_ROOT" >&2
                exit 2
        fi
        BUILD=$(cd "$2" && pwd) || exit 2
        SRC=$(cd "$3" && pwd) || exit 2
        CONFIG=${EDUSTAT_FAULT_CONFIG:-$SRC/config}
        WORKLOAD=$SRC/tests/fault/workload.py
        # shellcheck source=../lib/stack.sh
        . "$SRC/tests/lib/stack.sh"
        stack_init "fault-$NAME"
        STACK_SINK_LOG=$WORK/logs/sink.log
        STACK_AGG_LOG=$WORK/logs/aggregator.log
        STACK_LOG_FILES="$STACK_SINK_LOG $STACK_AGG_LOG"
        STACK_LOG_TAIL=60
        STACK_READY_SECONDS=60
        STACK_CLEANUP_HOOK=lanes_kill
        SEED=${EDUSTAT_FAULT_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
        RANDOM=$SEED
        ITER=${EDUSTAT_FAULT_ITER:-$ITER_DEFAULT}
        # Runs generated per lane: more than a lane submits in an iteration.
        RUNS_MAX=$(((ITER + 1) * RUNS_PER_ITER))
        T0=$(now_ms)
        mkdir -p "$WORK/runs" "$WORK/logs"
        : >"$WORK/results"
        : >"$WORK/exits"
        note "seed $SEED (replay: EDUSTAT_FAULT_SEED=$SEED), $ITER iterations," \
                "$LANES collectors, work dir $WORK"
}

# lanes_kill: at exit, before stack.sh stops the daemons: the lanes and the
# collectors they run.
lanes_kill() {
        local pid f
        touch "$WORK/stop" 2>/dev/null
        for pid in $LANE_PIDS; do
                kill -TERM "$pid" 2>/dev/null
        done
        for f in "$WORK"/lane*.cur; do
                [ -f "$f" ] && kill -TERM "$(cut -d' ' -f2 "$f")" 2>/dev/null
        done
        for pid in $LANE_PIDS; do
                wait "$pid" 2>/dev/null
        done
}

# sink_in_txn: the sink's PostgreSQL session is inside a transaction now.
sink_in_txn() {
        [ "$(psql -AtX -c "SELECT count(*) FROM pg_stat_activity
                WHERE application_name = 'edustat-sink' AND xact_start IS NOT NULL
                  AND state <> 'idle'" 2>/dev/null)" = 1 ]
}

# sink_txn_wait MS: until the sink is inside a transaction (sink_in_txn),
# at most MS milliseconds; 1 when none was seen.
sink_txn_wait() {
        local t
        t=$(now_ms)
        while ! sink_in_txn; do
                [ $(($(now_ms) - t)) -lt "$1" ] || return 1
        done
}

# collector LANE ARGS...: run edustat-collector as lane LANE's office: in
# WORK, with the lane's own outbox and name.
collector() {
        local l=$1
        shift
        (cd "$WORK" && EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$AGG_PORT \
                EDUSTAT_OUTBOX="$WORK/outbox.$l.db" EDUSTAT_COLLECTOR_NAME="fault-lane$l" \
                exec "$COLLECTOR_BIN" "$@")
}

# collector_bg LANE LOG ARGS...: the same in the background, output appended
# to LOG; BG_PID is the collector's own PID (the subshell execs it), so a
# kill reaches the collector, not a shell around it.
collector_bg() {
        local l=$1 log=$2
        shift 2
        (cd "$WORK" && EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$AGG_PORT \
                EDUSTAT_OUTBOX="$WORK/outbox.$l.db" EDUSTAT_COLLECTOR_NAME="fault-lane$l" \
                exec "$COLLECTOR_BIN" "$@") >>"$log" 2>&1 &
        BG_PID=$!
}

fault_start() {
        note "generating the workload ($LANES lanes, $PERIODS periods, share $SHARE)"
        # shellcheck disable=SC2086  # GEN_LATE is empty or two words
        python3 "$WORKLOAD" gen "$CONFIG" "$WORK/runs" "$SEED" "$LANES" "$RUNS_MAX" \
                "$PERIODS" "$SHARE" $GEN_LATE || abort "cannot generate the workload"
        # CURVE on both links, with a collector key registered for the city.
        stack_prepare "$CONFIG"
        CONFIG=$EDUSTAT_CONFIG
        # The workload spans years the sample round's periods.csv does not
        # list, and periods.csv is the aggregator's list of accepted periods.
        rm -f "$CONFIG/periods.csv"
        # The workload's values are random per key (large_classes above
        # classes...): the sample city's 审核 rules would refuse some, and
        # every acknowledged record must land.  These tests are about
        # delivery; tests/integration/rules.sh is about the rules.
        rm -f "$CONFIG/rules.csv"
        stack_start
        note "PostgreSQL on $PGPORT (pid $PG_PID), sink on $SINK_PORT (pid $SINK_PID)," \
                "aggregator on $AGG_PORT (pid $AGG_PID)"
        for l in $(seq 0 $((LANES - 1))); do
                echo 0 >"$WORK/lane$l.next"
        done
}

# run_record LANE RUN RC: what workload.py judges a run by: "LANE RUN
# STATUS" in WORK/results (ok, failed3: refused before anything was
# queued, failed) and "LANE RUN RC" in WORK/exits.
run_record() {
        local st
        case $3 in
        0) st=ok ;;
        3) st=failed3 ;;
        *) st=failed ;;
        esac
        echo "$1 $2 $st" >>"$WORK/results"
        echo "$1 $2 $3" >>"$WORK/exits"
}

# lane_pending LANE: wait up to 5 s for the lane's running submit to have
# its run pending in the outbox; 0 with PENDING_RUN and PENDING_PID set,
# else 1.
lane_pending() {
        local l=$1 cur t
        t=$(now_ms)
        while [ $(($(now_ms) - t)) -lt 5000 ]; do
                cur=$(cat "$WORK/lane$l.cur" 2>/dev/null) || cur=
                if [ -n "$cur" ]; then
                        read -r PENDING_RUN PENDING_PID <<<"$cur"
                        if collector "$l" status 2>/dev/null |
                                grep -qF "pending: runs/lane$l/$(printf 'run%03d.csv' "$PENDING_RUN"):"; then
                                return 0
                        fi
                fi
                sleep 0.01
        done
        return 1
}

# lane LANE: submit the lane's runs one after another until WORK/stop
# exists.  Records "LANE RUN STATUS" in WORK/results; the collector's PID
# and run are in WORK/lane<L>.cur while it runs.
lane() {
        local l=$1 r rc pid
        RANDOM=$((SEED + 7919 * (l + 1) + $(cat "$WORK/lane$l.next")))
        while [ ! -e "$WORK/stop" ]; do
                r=$(cat "$WORK/lane$l.next")
                [ "$r" -lt "$RUNS_MAX" ] || break
                echo $((r + 1)) >"$WORK/lane$l.next"
                collector_bg "$l" "$WORK/logs/lane$l.log" submit --timeout "$SUBMIT_TIMEOUT" \
                        "runs/lane$l/$(printf 'run%03d.csv' "$r")"
                pid=$BG_PID
                echo "$r $pid" >"$WORK/lane$l.cur"
                wait "$pid"
                rc=$?
                rm -f "$WORK/lane$l.cur"
                run_record "$l" "$r" "$rc"
                rand 0 "$PAUSE_MAX_MS"
                sleep_ms "$R"
        done
}

lanes_start() {
        local l
        rm -f "$WORK/stop"
        LANE_PIDS=
        for l in $(seq 0 $((SUBMIT_LANES - 1))); do
                # The lane's stderr takes bash's "Killed" notices of
                # collectors that a scenario killed on purpose.
                lane "$l" 2>>"$WORK/logs/lanes.err" &
                LANE_PIDS="$LANE_PIDS $!"
        done
}

lanes_stop() {
        local pid
        touch "$WORK/stop"
        for pid in $LANE_PIDS; do
                wait "$pid"
        done
        LANE_PIDS=
}

# ensure_up: restart whatever the fault left down.
ensure_up() {
        if [ -n "${PG_DATA:-}" ] && [ -z "${PG_PID:-}" ]; then
                pg_resume || abort "PostgreSQL did not start again"
        fi
        if [ -z "$SINK_PID" ] || ! kill -0 "$SINK_PID" 2>/dev/null; then
                stack_start_sink
        fi
        if [ -z "$AGG_PID" ] || ! kill -0 "$AGG_PID" 2>/dev/null; then
                stack_start_aggregator
        fi
}

# run_check WHEN: edustat-sink --check must exit 0.
run_check() {
        local rc t
        t=$(now_ms)
        "$SINK_BIN" --check --db-url "$EDUSTAT_DB_URL" >"$WORK/check.out" 2>&1
        rc=$?
        if [ "$rc" -ne 0 ]; then
                fail "$1: edustat-sink --check exited $rc, want 0:"
                head -n 30 "$WORK/check.out"
                return 1
        fi
        CHECK_MS=$(($(now_ms) - t))
        return 0
}

iteration_end() {
        local it=$1
        ensure_up
        run_check "after iteration $it" || stack_logs
        note "iteration $it done: $(wc -l <"$WORK/exits") runs so far," \
                "$(awk '$3 != 0' "$WORK/exits" | wc -l) of them not confirmed; check ${CHECK_MS:-?} ms"
}

# drain LANE: a submit without files delivers what the lane's outbox holds.
drain() {
        local l=$1 rc
        collector "$l" submit --timeout 120 >>"$WORK/logs/drain$l.log" 2>&1
        rc=$?
        if [ "$rc" -ne 0 ]; then
                fail "draining lane $l's outbox: submit exited $rc, want 0"
                tail -n 20 "$WORK/logs/drain$l.log"
        fi
}

# outbox_empty LANE: `status` must say nothing is pending.
outbox_empty() {
        local l=$1 rc
        collector "$l" status >"$WORK/status$l.out" 2>&1
        rc=$?
        if [ "$rc" -ne 0 ]; then
                fail "lane $l's outbox still holds batches after the drain (status exit $rc)"
                head -n 20 "$WORK/status$l.out"
        fi
}

fault_finish() {
        local l
        ensure_up
        # (a), before the outboxes are drained: what submit promised.
        python3 "$WORKLOAD" check "$CONFIG" "$WORK/runs" "$WORK/results" weak ||
                fail "unit_value does not hold what the exit codes of submit promised"
        run_check "before the drain" || true
        for l in $(seq 0 $((LANES - 1))); do
                drain "$l"
                outbox_empty "$l"
        done
        # After the drain every batch that reached an outbox is delivered.
        python3 "$WORKLOAD" check "$CONFIG" "$WORK/runs" "$WORK/results" strict ||
                fail "unit_value does not hold every batch the outboxes delivered"
        # (b)
        if run_check "at the end"; then
                note "$(tail -n 1 "$WORK/check.out")"
        fi
        note "$(awk '{n[$3]++} END {for (k in n) printf "%s %d  ", k, n[k]}' "$WORK/exits" |
                sed 's/^/exit codes: /')"
        note "$FAULTS faults injected in $ITER iterations; $(wc -l <"$WORK/exits") runs;" \
                "$(($(now_ms) - T0)) ms"
        fault_verdict
}

# fault_verdict: "fault NAME: ok" and exit 0, or the failures, the seed
# that replays them and the daemons' logs, and exit 1.
fault_verdict() {
        if [ "$FAILS" -ne 0 ]; then
                echo "fault $NAME: $FAILS failures (seed $SEED; replay: EDUSTAT_FAULT_SEED=$SEED)"
                stack_logs
                exit 1
        fi
        echo "fault $NAME: ok"
        exit 0
}
