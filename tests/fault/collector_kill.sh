#!/usr/bin/env bash
#
# Fault scenario 4: kill -9 of a collector between its outbox write and the
# ack, then the outbox drained by a new run.
#
#   collector_kill.sh BUILD_ROOT SOURCE_ROOT
#
# The aggregator flushes units of work every 300 ms, which holds the acks
# back long enough to aim at the window.  Twice per iteration a random
# collector is watched with `edustat-collector status` until its current
# file is listed as pending (in the outbox, not acknowledged) and is then
# killed with SIGKILL.  Its batches must be delivered by the lane's next
# submit or, at the end, by a submit without files: after the drain, every
# record of a killed run must be in unit_value unless a later run of the
# same collector replaced it.  See lib.sh for the checks.
export EDUSTAT_FLUSH_MS=300
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# kill_pending LANE: kill the lane's collector once its run is pending in
# the outbox.  0 when one was killed.
kill_pending() {
        lane_pending "$1" || return 1
        kill -KILL "$PENDING_PID" 2>/dev/null
        echo "$1 $PENDING_RUN landed" >>"$WORK/results"
        note "killed lane $1's collector (pid $PENDING_PID) with run $PENDING_RUN pending"
}

fault_init collector_kill "$@"
fault_start
for it in $(seq 1 "$ITER"); do
        lanes_start
        for _ in 1 2; do
                rand 100 600
                sleep_ms "$R"
                rand 0 $((LANES - 1))
                if kill_pending "$R"; then
                        FAULTS=$((FAULTS + 1))
                else
                        note "iteration $it: lane $R had nothing pending for 5 s"
                fi
        done
        rand 300 1000
        sleep_ms "$R"
        lanes_stop
        iteration_end "$it"
done
[ "$FAULTS" -gt 0 ] || fail "no collector was killed with batches pending"
fault_finish
