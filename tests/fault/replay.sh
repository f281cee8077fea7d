#!/usr/bin/env bash
#
# Fault scenario 6: the same batch delivered many times, and an old version
# arriving after a newer one.
#
#   replay.sh BUILD_ROOT SOURCE_ROOT
#
# How it happens for real: an office restores its collector's outbox from a
# backup (a VM snapshot, a copied disk), or runs a second collector on a
# copy of it; every copy resends what it holds, with the batches' original
# ids and versions, long after the original delivered them.  Or a second
# office (a district submitting for its schools, a laptop) was offline with
# an older submission of the same keys and delivers it after the school's
# newer one.  All of it through the real collector, aggregator and sink.
#
# Each iteration, while the lanes stream their runs:
#   1. Twice, a random lane's outbox is copied (SQLite's online backup: a
#      consistent snapshot of the WAL database) at the moment the lane's
#      current run is pending in it, into 2-3 copies.  All copies but one
#      are drained at once (`edustat-collector submit` without files), some
#      by two processes sharing a copy, while the original still delivers
#      the same batches: the aggregator gets one batch from several
#      connections before, during and after its commit.
#   2. The copies kept back by the previous iteration are drained while the
#      lanes commit newer corrections of the same keys: old versions after
#      newer ones.  Their receipts must say "0 changed" (a copy is taken
#      only while the whole run is unacknowledged in it, so the counts are
#      the copy's own; the original committed the same versions).
#   3. The late run parked by the previous iteration (below) is delivered,
#      once the run after it has committed.
# Between iterations a lane's next run that workload.py marks "late" (gen
# EVERY REPEAT) is submitted through a second, offline outbox (its
# aggregator endpoint has no listener): exit 3, parked.  The lane goes on;
# its next run resends, for half the keys both store, the value the key had
# before the parked run, i.e. the value stored now.  When the parked run
# arrives at last its versions are older than that resend's, so none of its
# values may replace them (the contract: "a retry of an older submission
# never overwrites a newer one").
#
# Every drain must exit 0 and leave its outbox empty.  At the end all copies
# left are drained too.  Then lib.sh's checks: every key holds the newest
# value the runs' exit codes promise (the parked run counts as landed once
# delivered; copies are not runs and add nothing), edustat-sink --check is
# clean, and workload.py's value_history checks: no (key, version) twice, no
# version committed after a higher one of the same key, every unit_value
# row its key's newest history row.
#
# EDUSTAT_REPLAY_LATE=0 leaves out the parked runs (part 3).
export EDUSTAT_FLUSH_MS=300 # holds acks back: a run stays pending long enough to copy it
ITER_DEFAULT=4
LATE_EVERY=5
if [ "${EDUSTAT_REPLAY_LATE:-1}" = 1 ]; then
        GEN_LATE="$LATE_EVERY 0.5"
fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SNAPSHOTS=0  # moments a lane's outbox was copied
COPIES=0     # copies made
DUP_DRAINS=0 # drains of fresh copies (the original still delivering)
OLD_DRAINS=0 # drains of copies taken an iteration earlier
LATE_RUNS=0  # parked runs delivered after newer ones
DRAINS=()    # running drains: "PID KIND LANE RUN OUTBOX"
CHECKED=()   # old copies whose receipts drains_wait has checked
OLD=()       # copies kept for the next iteration: "LANE RUN OUTBOX"
LATE=()      # parked runs: "LANE RUN OUTBOX"

# snapshot SRC DST: a consistent copy of the SQLite database SRC (WAL
# included) by SQLite's online backup, while collectors write it.
snapshot() {
        python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1], timeout=60)
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.close()
src.close()
EOF
}

run_name() {
        printf 'runs/lane%d/run%03d.csv' "$1" "$2"
}

# copy_pending LANE: copy the lane's outbox once its current run is pending
# there, the whole run (one batch, never acknowledged); COPY and COPY_RUN
# name the copy and the run.  0 when done.
copy_pending() {
        local l=$1 cur r pid t c
        t=$(now_ms)
        while [ $(($(now_ms) - t)) -lt 5000 ]; do
                cur=$(cat "$WORK/lane$l.cur" 2>/dev/null) || cur=
                if [ -n "$cur" ]; then
                        read -r r pid <<<"$cur"
                        c=$WORK/copies/outbox.$l.$((COPIES + 1)).db
                        rm -f "$c"
                        if snapshot "$WORK/outbox.$l.db" "$c" 2>>"$WORK/logs/snapshot.err" &&
                                ! collector "$l" status --outbox "$c" >"$c.status" 2>&1 &&
                                grep -qE "^pending: $(run_name "$l" "$r"): ([0-9]+) of \1 batches" \
                                        "$c.status"; then
                                COPIES=$((COPIES + 1))
                                SNAPSHOTS=$((SNAPSHOTS + 1))
                                COPY=$c
                                COPY_RUN=$r
                                return 0
                        fi
                        rm -f "$c" "$c.status"
                fi
                sleep 0.01
        done
        return 1
}

# drain_bg KIND LANE RUN OUTBOX [ARGS...]: deliver what OUTBOX holds, in
# the background, as lane LANE's collector.
drain_bg() {
        local kind=$1 l=$2 r=$3 ob=$4
        shift 4
        collector_bg "$l" "$WORK/logs/drain.$(basename "$ob").log" submit --outbox "$ob" \
                --timeout 90 "$@"
        DRAINS+=("$BG_PID $kind $l $r $ob")
}

# status_of LANE RUN: the run's last line in WORK/results ("" when none).
status_of() {
        awk -v l="$1" -v r="$2" '$1 == l && $2 == r {s = $3} END {print s}' "$WORK/results"
}

# drains_wait WHEN: every drain must exit 0 and leave its outbox empty; an
# old copy of a committed run must have changed nothing; a parked run
# delivered is landed.
drains_wait() {
        local d pid kind l r ob rc log changed
        for d in "${DRAINS[@]}"; do
                read -r pid kind l r ob <<<"$d"
                wait "$pid"
                rc=$?
                log=$WORK/logs/drain.$(basename "$ob").log
                if [ "$rc" -ne 0 ]; then
                        fail "$1: delivering $kind outbox $(basename "$ob") exited $rc, want 0"
                        tail -n 5 "$log"
                        continue
                fi
                if [ "$kind" = late ]; then
                        echo "$l $r landed" >>"$WORK/results"
                fi
        done
        for d in "${DRAINS[@]}"; do
                read -r pid kind l r ob <<<"$d"
                log=$WORK/logs/drain.$(basename "$ob").log
                if ! collector "$l" status --outbox "$ob" >"$ob.after" 2>&1; then
                        fail "$1: $kind outbox $(basename "$ob") still holds batches after its drain"
                        head -n 5 "$ob.after"
                fi
                if [ "$kind" != old ] || [ "$(status_of "$l" "$r")" != ok ] ||
                        [[ " ${CHECKED[*]} " == *" $ob "* ]]; then
                        continue
                fi
                CHECKED+=("$ob")
                # Of two processes sharing a copy one prints the receipt.
                changed=$(sed -n "s/^earlier: $(run_name "$l" "$r" | sed 's/[/.]/\\&/g'): .* accepted (\([0-9]*\) changed).*/\1/p" "$log" | sort -u)
                if [ "$changed" != 0 ]; then
                        fail "$1: an old copy of lane $l's committed run $r changed" \
                                "'${changed:-(no receipt)}' values, want 0"
                        cat "$log"
                fi
        done
        DRAINS=()
        CHECKED=()
}

# submit_run LANE [ARGS...]: the lane's next run, in the foreground; its
# exit code recorded like lib.sh's lanes do.  RUN_RC is the exit code.
submit_run() {
        local l=$1 r
        shift
        r=$(cat "$WORK/lane$l.next")
        echo $((r + 1)) >"$WORK/lane$l.next"
        collector "$l" submit "$@" "$(run_name "$l" "$r")" >>"$WORK/logs/lane$l.log" 2>&1
        RUN_RC=$?
        run_record "$l" "$r" "$RUN_RC"
        RUN=$r
}

# park LANE: bring the lane to its next late run (workload.py gen EVERY)
# and submit that through an offline outbox.
park() {
        local l=$1 ob
        while [ $(($(cat "$WORK/lane$l.next") % LATE_EVERY)) -ne $((LATE_EVERY - 1)) ]; do
                submit_run "$l" --timeout "$SUBMIT_TIMEOUT"
        done
        ob=$WORK/late/late.$l.$(cat "$WORK/lane$l.next").db
        submit_run "$l" --outbox "$ob" --aggregator "tcp://127.0.0.1:$DEAD_PORT" --timeout 1
        # Nothing listens there: exit 3, the run stays parked, not delivered.
        [ "$RUN_RC" = 3 ] || fail "lane $l's run $RUN into an offline outbox exited $RUN_RC, want 3"
        # Until it is delivered its fate is open ("failed3" would claim the
        # lane's own outbox holds it, and the lane's drain delivers it).
        echo "$l $RUN failed" >>"$WORK/results"
        LATE+=("$l $RUN $ob")
        note "lane $l's run $RUN parked in an offline outbox; the lane goes on"
}

# deliver_late "LANE RUN OUTBOX": once the run after the parked one has
# committed, deliver the parked run.
deliver_late() {
        local l r ob t
        read -r l r ob <<<"$1"
        t=$(now_ms)
        while [ -z "$(status_of "$l" $((r + 1)))" ] && [ $(($(now_ms) - t)) -lt 20000 ]; do
                sleep 0.05
        done
        note "delivering lane $l's parked run $r; run $((r + 1))" \
                "is $(status_of "$l" $((r + 1)) | sed 's/^$/not finished/')"
        drain_bg late "$l" "$r" "$ob"
        LATE_RUNS=$((LATE_RUNS + 1))
}

# deliver_old "LANE RUN OUTBOX": deliver an old copy from one or two processes.
deliver_old() {
        local l r ob
        read -r l r ob <<<"$1"
        rand 1 2
        for _ in $(seq 1 "$R"); do
                drain_bg old "$l" "$r" "$ob"
                OLD_DRAINS=$((OLD_DRAINS + 1))
        done
        note "delivering again lane $l's copy of run $r ($R processes); the lane has" \
                "started $(($(cat "$WORK/lane$l.next") - r - 1)) newer runs since"
}

fault_init replay "$@"
mkdir -p "$WORK/copies" "$WORK/late"
read -r DEAD_PORT <<<"$(stack_free_ports 1)"
fault_start
for it in $(seq 1 "$ITER"); do
        old=("${OLD[@]}")
        late=("${LATE[@]}")
        OLD=()
        LATE=()
        lanes_start
        rand 200 800
        sleep_ms "$R"
        # 2. Old versions after newer ones: the copies kept back.
        for o in "${old[@]}"; do
                deliver_old "$o"
                FAULTS=$((FAULTS + 1))
        done
        # 1. The same batches from several places at once.
        for _ in 1 2; do
                rand 100 600
                sleep_ms "$R"
                rand 0 $((LANES - 1))
                l=$R
                if ! copy_pending "$l"; then
                        note "iteration $it: lane $l had nothing pending for 5 s"
                        continue
                fi
                rand 2 3
                ncopy=$R
                copies=("$COPY")
                for _ in $(seq 2 "$ncopy"); do
                        COPIES=$((COPIES + 1))
                        snapshot "$COPY" "$WORK/copies/outbox.$l.$COPIES.db" ||
                                abort "cannot copy $COPY"
                        copies+=("$WORK/copies/outbox.$l.$COPIES.db")
                done
                # The last copy is kept for the next iteration; the others go now.
                nproc=0
                for c in "${copies[@]:0:$((ncopy - 1))}"; do
                        rand 1 2
                        for _ in $(seq 1 "$R"); do
                                drain_bg dup "$l" "$COPY_RUN" "$c"
                                DUP_DRAINS=$((DUP_DRAINS + 1))
                                nproc=$((nproc + 1))
                        done
                done
                OLD+=("$l $COPY_RUN ${copies[$((ncopy - 1))]}")
                FAULTS=$((FAULTS + 1))
                note "iteration $it: lane $l's run $COPY_RUN pending: copied $ncopy times;" \
                        "$nproc collectors deliver the copies beside the original"
        done
        # 3. The parked run, after the run that resent the stored values.
        for o in "${late[@]}"; do
                deliver_late "$o"
                FAULTS=$((FAULTS + 1))
        done
        rand 500 1500
        sleep_ms "$R"
        lanes_stop
        drains_wait "iteration $it"
        if [ -n "$GEN_LATE" ] && [ "$it" -lt "$ITER" ]; then
                rand 0 $((LANES - 1))
                park "$R"
        fi
        iteration_end "$it"
done
# The copies kept back by the last iteration: every lane's newest runs are in.
for o in "${OLD[@]}"; do
        deliver_old "$o"
        FAULTS=$((FAULTS + 1))
done
drains_wait "at the end"
note "$SNAPSHOTS snapshots of a pending run, $COPIES copies: $DUP_DRAINS deliveries beside" \
        "the original, $OLD_DRAINS deliveries of old copies, $LATE_RUNS parked runs delivered late"
[ "$DUP_DRAINS" -gt 0 ] || fail "no batch was delivered twice"
[ "$OLD_DRAINS" -gt 0 ] || fail "no old copy was delivered after newer runs"
if [ -n "$GEN_LATE" ] && [ "$ITER" -ge 2 ] && [ "$LATE_RUNS" = 0 ]; then
        fail "no parked run was delivered late"
fi
fault_finish
