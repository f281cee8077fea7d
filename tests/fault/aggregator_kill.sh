#!/usr/bin/env bash
#
# Fault scenario 1: kill -9 of the aggregator mid-stream, then restart.
#
#   aggregator_kill.sh BUILD_ROOT SOURCE_ROOT
#
# Each iteration: the collectors stream runs (corrections of each other's
# keys interleaved); at a random moment the aggregator is killed with
# SIGKILL, stays down for a random while, and is started again; it rebuilds
# its state from PostgreSQL and the collectors resend what was not
# acknowledged.  The iterations take turns between three ways to land the
# kill:
#   1. at a random moment, down for 0.1-2 s;
#   2. while the sink is inside a commit of the aggregator's unit of work
#      (pg_stat_activity), restarted at once, so the new aggregator says
#      hello while the old one's work may still be queued at the sink;
#   3. as 1, and the restarted aggregator is killed again 0-300 ms after
#      its start, often while it is still loading its state.
# See lib.sh for the checks.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

fault_init aggregator_kill "$@"
fault_start
for it in $(seq 1 "$ITER"); do
        lanes_start
        rand 200 1500
        sleep_ms "$R"
        case $((it % 3)) in
        2)
                what="while the sink committed"
                sink_txn_wait 5000 || what="(no commit seen within 5 s)"
                stack_kill9 "$AGG_PID"
                FAULTS=$((FAULTS + 1))
                note "iteration $it: killed the aggregator $what; restarting it at once"
                ;;
        *)
                stack_kill9 "$AGG_PID"
                FAULTS=$((FAULTS + 1))
                rand 100 2000
                note "iteration $it: killed the aggregator; down for $R ms"
                sleep_ms "$R"
                ;;
        esac
        if [ $((it % 3)) = 0 ]; then
                stack_start_aggregator nowait
                rand 0 300
                sleep_ms "$R"
                stack_kill9 "$AGG_PID"
                FAULTS=$((FAULTS + 1))
                note "iteration $it: killed the restarted aggregator again after $R ms"
        fi
        stack_start_aggregator
        rand 300 1500
        sleep_ms "$R"
        lanes_stop
        iteration_end "$it"
done
fault_finish
