#!/usr/bin/env bash
#
# Fault scenario 5: the collectors offline (the aggregator down) for a whole
# round, then everything delivered when it returns.
#
#   offline.sh BUILD_ROOT SOURCE_ROOT
#
# Each iteration stops the aggregator, lets every collector submit a few
# runs with a 2 s timeout (each must exit 3, "not confirmed", and
# `status` must list its batches), then starts the aggregator again and
# drains the outboxes: lane 0 with the long-running `edustat-collector run`
# (stopped by SIGTERM once `status` shows nothing pending), the other lanes
# with `submit` without files.  Nothing may be missing afterwards.  See
# lib.sh for the checks.
SUBMIT_TIMEOUT=2
OFFLINE_RUNS=${OFFLINE_RUNS:-2}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# offline_lane LANE: OFFLINE_RUNS runs, each must exit 3.
offline_lane() {
        local l=$1 r rc
        for _ in $(seq 1 "$OFFLINE_RUNS"); do
                r=$(cat "$WORK/lane$l.next")
                echo $((r + 1)) >"$WORK/lane$l.next"
                collector "$l" submit --timeout "$SUBMIT_TIMEOUT" \
                        "runs/lane$l/$(printf 'run%03d.csv' "$r")" >>"$WORK/logs/lane$l.log" 2>&1
                rc=$?
                echo "$l $r $rc" >>"$WORK/exits"
                if [ "$rc" = 3 ]; then
                        echo "$l $r failed3" >>"$WORK/results"
                else
                        echo "$l $r failed" >>"$WORK/results"
                        echo "FAIL: lane $l run $r exited $rc with the aggregator down, want 3"
                        touch "$WORK/offline.bad"
                fi
        done
}

# run_drain LANE: `edustat-collector run` until the outbox is empty; then
# SIGTERM, on which it must exit 0.
run_drain() {
        local l=$1 pid t rc
        mkdir -p "$WORK/spool$l/incoming"
        collector_bg "$l" "$WORK/logs/run$l.log" run --spool "$WORK/spool$l"
        pid=$BG_PID
        t=$(now_ms)
        while [ $(($(now_ms) - t)) -lt 120000 ]; do
                if collector "$l" status >/dev/null 2>&1; then
                        break
                fi
                sleep 0.2
        done
        kill -TERM "$pid"
        t=$(now_ms)
        while kill -0 "$pid" 2>/dev/null && [ $(($(now_ms) - t)) -lt 15000 ]; do
                sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid"
        rc=$?
        [ "$rc" = 0 ] || fail "edustat-collector run exited $rc on SIGTERM, want 0"
}

fault_init offline "$@"
fault_start
for it in $(seq 1 "$ITER"); do
        stack_stop_pid "$AGG_PID"
        AGG_PID=
        FAULTS=$((FAULTS + 1))
        LANE_PIDS=
        for l in $(seq 0 $((LANES - 1))); do
                offline_lane "$l" &
                LANE_PIDS="$LANE_PIDS $!"
        done
        for pid in $LANE_PIDS; do
                wait "$pid"
        done
        LANE_PIDS=
        for l in $(seq 0 $((LANES - 1))); do
                if collector "$l" status >"$WORK/status$l.out" 2>&1; then
                        fail "iteration $it: lane $l's outbox is empty with the aggregator down"
                fi
        done
        note "iteration $it: $((LANES * OFFLINE_RUNS)) runs submitted offline;" \
                "$(grep -h '^pending: [0-9]* batches' "$WORK"/status*.out | tr '\n' ' ')"
        stack_start_aggregator
        run_drain 0
        for l in $(seq 1 $((LANES - 1))); do
                drain "$l"
        done
        for l in $(seq 0 $((LANES - 1))); do
                outbox_empty "$l"
        done
        # Delivered means committed: everything is there now.
        python3 "$WORKLOAD" check "$CONFIG" "$WORK/runs" "$WORK/results" strict ||
                fail "iteration $it: not everything submitted offline is in unit_value"
        iteration_end "$it"
done
[ -e "$WORK/offline.bad" ] && fail "some offline submits did not exit 3"
fault_finish
