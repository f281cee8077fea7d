#!/usr/bin/env bash
#
# Fault scenario 7: SIGTERM (not SIGKILL) of each daemon under load, each
# then started again.
#
#   sigterm.sh BUILD_ROOT SOURCE_ROOT
#
# Lanes 0-2 stream runs with `edustat-collector submit`; lane 3 drops its
# runs one at a time into the spool of a long-running `edustat-collector
# run` (a run counts as committed when its file reaches done/).  The
# iterations take turns between the targets, at a random moment:
#   1. the aggregator: in one round at a random moment, then started again
#      and sent SIGTERM once more while it loads its state from the sink;
#      in the next while the sink commits one of its uows (one in flight);
#   2. the sink: in one round inside a commit (pg_stat_activity), in the
#      next at a random moment;
#   3. a submitting collector, once its run is pending in the outbox;
#   0. the `run` collector.
# Every target must be gone within TERM_BOUND_S (10 s) of the signal.  The
# daemons (aggregator, sink, run) install a handler and must exit 0; the sink
# must not leave an open transaction for PostgreSQL to abort (the server logs
# "unexpected EOF ... with an open transaction" when it does).  `submit`
# catches SIGTERM while it waits for acks (collector/main.c), prints its
# receipts and exits 128 + 15; the outbox, committed before anything is
# sent, keeps the unconfirmed batches for the next run.  So 143 (or 0 when
# it finished first) is what it may return, and its run counts as landed.  After the
# last iteration `run` gets SIGTERM once more and lib.sh's checks follow.
export EDUSTAT_FLUSH_MS=200 # larger uows: commits long enough to catch one
LANES=4
SUBMIT_LANES=3
ITER_DEFAULT=8
TERM_BOUND_S=10
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SPOOL_LANE=3
RUN_PID=

# gone PID: the process has exited (a zombie counts: it has stopped running).
gone() {
        local st
        st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
        [ -z "$st" ] || [ "$st" = Z ]
}

# term_wait NAME PID: SIGTERM, then wait for it to exit, at most
# TERM_BOUND_S; TERM_MS is how long it took.  1 (after SIGKILL) when it
# did not exit in time.
term_wait() {
        local name=$1 pid=$2 t
        t=$(now_ms)
        kill -TERM "$pid" 2>/dev/null
        while ! gone "$pid"; do
                if [ $(($(now_ms) - t)) -ge $((TERM_BOUND_S * 1000)) ]; then
                        fail "$name (pid $pid) still runs $TERM_BOUND_S s after SIGTERM"
                        kill -KILL "$pid" 2>/dev/null
                        TERM_MS=$(($(now_ms) - t))
                        return 1
                fi
                sleep 0.02
        done
        TERM_MS=$(($(now_ms) - t))
        return 0
}

# term_child NAME PID: term_wait for a child of this shell, which must then
# exit 0.
term_child() {
        local name=$1 pid=$2 rc
        term_wait "$name" "$pid"
        wait "$pid"
        rc=$?
        [ "$rc" = 0 ] || fail "$name (pid $pid) exited $rc after SIGTERM, want 0"
        note "SIGTERM: $name exited $rc after $TERM_MS ms"
}

open_eofs() {
        grep -c 'unexpected EOF on client connection with an open transaction' \
                "$PG_DIR/pg.log" 2>/dev/null
}

start_run() {
        local from log=$WORK/logs/run$SPOOL_LANE.log
        from=$(stack_log_lines "$log")
        collector_bg "$SPOOL_LANE" "$log" run --spool "$WORK/spool$SPOOL_LANE"
        RUN_PID=$BG_PID
        STACK_EXTRA_PIDS=$RUN_PID
        stack_wait_ready "edustat-collector run" "$RUN_PID" "$log" "$from"
}

# spool_lane: lane SPOOL_LANE's runs, one file at a time, through the spool
# of the `run` collector; "LANE RUN ok" once the file is in done/.
spool_lane() {
        local l=$SPOOL_LANE r name sp=$WORK/spool$SPOOL_LANE t
        RANDOM=$((SEED + 7919 * (l + 1) + $(cat "$WORK/lane$l.next")))
        while [ ! -e "$WORK/stop" ]; do
                r=$(cat "$WORK/lane$l.next")
                [ "$r" -lt "$RUNS_MAX" ] || break
                echo $((r + 1)) >"$WORK/lane$l.next"
                name=$(printf 'run%03d.csv' "$r")
                cp "$WORK/runs/lane$l/$name" "$sp/incoming/.$name"
                mv "$sp/incoming/.$name" "$sp/incoming/$name"
                t=$(now_ms)
                while [ ! -e "$sp/done/$name" ] && [ ! -e "$sp/failed/$name" ] &&
                        [ $(($(now_ms) - t)) -lt 90000 ]; do
                        sleep 0.05
                done
                if [ -e "$sp/done/$name" ]; then
                        echo "$l $r ok" >>"$WORK/results"
                        echo "$l $r 0" >>"$WORK/exits"
                else
                        echo "$l $r failed" >>"$WORK/results"
                        echo "$l $r spool" >>"$WORK/exits"
                        echo "FAIL: lane $l's spool file $name is not in done/ after 90 s"
                        touch "$WORK/spool.bad"
                fi
                rand 0 "$PAUSE_MAX_MS"
                sleep_ms "$R"
        done
}

# commit_wait: until the sink is inside a commit (at most 5 s); WHAT says
# whether it was.
commit_wait() {
        WHAT="(no commit seen within 5 s)"
        sink_txn_wait 5000 || return 1
        WHAT="inside a commit"
}

# term_aggregator ROUND
term_aggregator() {
        local from
        WHAT="at a random moment"
        [ $(($1 % 2)) = 1 ] && commit_wait && WHAT="while the sink commits"
        note "SIGTERM to the aggregator $WHAT"
        term_child aggregator "$AGG_PID"
        AGG_PID=
        FAULTS=$((FAULTS + 1))
        if [ $(($1 % 2)) = 0 ]; then
                # Once more while the restarted one loads its state (its
                # handler is installed before it logs "loading state").
                from=$(stack_log_lines "$WORK/logs/aggregator.log")
                stack_start_aggregator nowait
                while ! tail -n +"$((from + 1))" "$WORK/logs/aggregator.log" |
                        grep -q 'loading state'; do
                        gone "$AGG_PID" && break
                        sleep 0.01
                done
                rand 0 100
                sleep_ms "$R"
                term_child "aggregator (loading its state)" "$AGG_PID"
                AGG_PID=
                FAULTS=$((FAULTS + 1))
        fi
        stack_start_aggregator
}

# term_sink ROUND
term_sink() {
        local eofs
        WHAT="at a random moment"
        [ $(($1 % 2)) = 0 ] && commit_wait
        eofs=$(open_eofs)
        note "SIGTERM to the sink $WHAT"
        term_child sink "$SINK_PID"
        SINK_PID=
        FAULTS=$((FAULTS + 1))
        sleep 0.3
        if [ "$(open_eofs)" -gt "$eofs" ]; then
                fail "the sink left an open transaction for PostgreSQL to abort on SIGTERM"
        fi
        rand 100 1000
        sleep_ms "$R"
        stack_start_sink
}

# term_submit: SIGTERM a submitting collector whose run is in the outbox.
term_submit() {
        local l r t rc
        rand 0 $((SUBMIT_LANES - 1))
        l=$R
        if ! lane_pending "$l"; then
                note "lane $l had nothing pending for 5 s"
                return 0
        fi
        r=$PENDING_RUN
        echo "$l $r landed" >>"$WORK/results"
        term_wait "lane $l's submit" "$PENDING_PID"
        FAULTS=$((FAULTS + 1))
        # Its exit code, as the lane recorded it.
        t=$(now_ms)
        while ! rc=$(awk -v l="$l" -v r="$r" \
                '$1 == l && $2 == r {print $3; f = 1} END {exit !f}' "$WORK/exits"); do
                [ $(($(now_ms) - t)) -lt 5000 ] || break
                sleep 0.02
        done
        case $rc in
        0 | 143) ;;
        *) fail "lane $l's submit exited '$rc' after SIGTERM, want 143 or 0" ;;
        esac
        note "SIGTERM: lane $l's submit of run $r (pending) exited $rc after $TERM_MS ms"
}

fault_init sigterm "$@"
mkdir -p "$WORK/spool$SPOOL_LANE/incoming"
fault_start
start_run
for it in $(seq 1 "$ITER"); do
        lanes_start
        spool_lane 2>>"$WORK/logs/lanes.err" &
        LANE_PIDS="$LANE_PIDS $!"
        rand 300 1500
        sleep_ms "$R"
        round=$(((it - 1) / 4))
        case $((it % 4)) in
        1) term_aggregator "$round" ;;
        2) term_sink "$round" ;;
        3) term_submit ;;
        0)
                term_child "edustat-collector run" "$RUN_PID"
                FAULTS=$((FAULTS + 1))
                rand 100 1000
                sleep_ms "$R"
                start_run
                ;;
        esac
        rand 500 1500
        sleep_ms "$R"
        lanes_stop
        iteration_end "$it"
done
term_child "edustat-collector run" "$RUN_PID"
STACK_EXTRA_PIDS=
[ -e "$WORK/spool.bad" ] && fail "some spool files did not reach done/"
fault_finish
