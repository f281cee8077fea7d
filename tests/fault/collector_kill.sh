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
        local l=$1 cur r pid t
        t=$(now_ms)
        while [ $(($(now_ms) - t)) -lt 5000 ]; do
                cur=$(cat "$WORK/lane$l.cur" 2>/dev/null) || cur=
                if [ -n "$cur" ]; then
                        read -r r pid <<<"$cur"
                        if collector "$l" status 2>/dev/null |
                                grep -qF "pending: runs/lane$l/$(printf 'run%03d.csv' "$r"):"; then
                                kill -KILL "$pid" 2>/dev/null
                                echo "$l $r landed" >>"$WORK/results"
                                note "killed lane $l's collector (pid $pid) with run $r pending"
                                return 0
                        fi
                fi
                sleep 0.01
        done
        return 1
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
