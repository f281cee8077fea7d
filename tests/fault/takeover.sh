#!/usr/bin/env bash
#
# takeover.sh BUILD_ROOT SOURCE_ROOT: fault scenario of protocol 2 fencing.
#
# While the collectors submit, each iteration does one of (seeded):
#   kill     kill -9 the aggregator and start it again on the same port;
#   takeover start a second aggregator (same key, same id) on another port
#            while the first still runs: the first is fenced at its next unit
#            of work and must exit 1 by itself, logging "another aggregator
#            with id aggregator took over at T";
#   commit   the same, the second one's hello sent while the sink is held
#            (SIGSTOP) inside a commit of the first one's unit of work;
#   both     a takeover, then the first is killed (-9) before or after it
#            noticed.
# After a takeover the collectors are pointed at the survivor, and the
# batches the fenced aggregator never acked (exit 3, left in the outboxes)
# are delivered to it by the next submits and at the end by `submit` with no
# file.  The end checks are tests/fault/lib.sh's: every record of every
# submit that exited 0 is in unit_value with its value or a later one of the
# same key, nothing is applied twice, and `edustat-sink --check` exits 0.
#
# EDUSTAT_FAULT_SEED replays one run, EDUSTAT_FAULT_ITER sets the iterations
# (default 5).

SUBMIT_TIMEOUT=${SUBMIT_TIMEOUT:-5} # the fenced aggregator's collectors wait this long
RUNS_PER_ITER=${RUNS_PER_ITER:-60}  # the lanes run twice an iteration
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

fault_init takeover "$@"
fault_start

FENCED_LINE="another aggregator with id aggregator took over at "

# fenced_count: the fenced aggregators' lines so far (every aggregator logs
# to logs/aggregator.log).
fenced_count() {
        grep -c "$FENCED_LINE" "$WORK/logs/aggregator.log" 2>/dev/null
}

# take_over WHEN: a second aggregator on a fresh port; the first keeps
# running and its collectors keep submitting to it.  OLD_PID is the first.
take_over() {
        local from
        OLD_PID=$AGG_PID
        OLD_FENCED=$(fenced_count)
        STACK_EXTRA_PIDS="$STACK_EXTRA_PIDS $OLD_PID" # stopped at exit if it is still there
        read -r AGG_PORT <<<"$(stack_free_ports 1)"
        stack_endpoints
        if [ "$1" = commit ]; then
                # Hold the sink (SIGSTOP) inside a commit of the first
                # one's uow, so that the second one's hello waits for it.
                WHAT="while the sink committed"
                sink_txn_wait 5000 || WHAT="(no commit seen within 5 s)"
                kill -STOP "$SINK_PID"
                from=$(stack_log_lines "$WORK/logs/aggregator.log")
                stack_start_aggregator nowait
                rand 100 400
                sleep_ms "$R"
                kill -CONT "$SINK_PID"
                stack_wait_ready aggregator "$AGG_PID" "$WORK/logs/aggregator.log" "$from"
        else
                stack_start_aggregator # sets AGG_PID: the survivor, on the new AGG_PORT
        fi
        FAULTS=$((FAULTS + 1))
}

# expect_fenced: the first aggregator exits 1 by itself, saying why.
expect_fenced() {
        local st n
        for _ in $(seq 1 200); do
                kill -0 "$OLD_PID" 2>/dev/null || break
                sleep 0.1
        done
        if kill -0 "$OLD_PID" 2>/dev/null; then
                fail "iteration $it: the aggregator taken over (pid $OLD_PID) still runs 20 s later," \
                        "with collectors submitting to it"
                stack_kill9 "$OLD_PID"
                return
        fi
        wait "$OLD_PID"
        st=$?
        [ "$st" -eq 1 ] || fail "iteration $it: the fenced aggregator (pid $OLD_PID) exited $st, want 1"
        n=$(fenced_count)
        [ "$n" -gt "$OLD_FENCED" ] ||
                fail "iteration $it: the fenced aggregator did not log '${FENCED_LINE}T'"
}

for it in $(seq 1 "$ITER"); do
        lanes_start
        rand 200 1500
        sleep_ms "$R"
        rand 0 3
        case $R in
        0)
                stack_kill9 "$AGG_PID"
                FAULTS=$((FAULTS + 1))
                rand 100 1500
                note "iteration $it: killed the aggregator; down for $R ms"
                sleep_ms "$R"
                stack_start_aggregator
                rand 300 1500
                sleep_ms "$R"
                lanes_stop
                ;;
        1 | 2)
                [ "$R" = 1 ] && mode=takeover || mode=commit
                WHAT=
                take_over "$mode"
                note "iteration $it: a second aggregator (pid $AGG_PID, port $AGG_PORT) took over" \
                        "${WHAT:+$WHAT }from pid $OLD_PID"
                expect_fenced
                lanes_stop
                ;;
        3)
                take_over takeover
                rand 0 500
                sleep_ms "$R"
                stack_kill9 "$OLD_PID"
                FAULTS=$((FAULTS + 1))
                note "iteration $it: a second aggregator (pid $AGG_PID, port $AGG_PORT) took over" \
                        "from pid $OLD_PID, killed $R ms later"
                lanes_stop
                ;;
        esac
        # The collectors, now pointed at the survivor, deliver what waits
        # in their outboxes with their next runs.
        lanes_start
        rand 300 1500
        sleep_ms "$R"
        lanes_stop
        iteration_end "$it"
done
fault_finish
