#!/usr/bin/env bash
#
# The aggregator's memory bound: its memory stays bounded while the
# sink is down and collectors keep pushing, and everything is delivered
# when the sink returns.
#
#   sink_down.sh BUILD_ROOT SOURCE_ROOT
#
# Each iteration: the lanes stream for a moment; then the sink is stopped
# (odd iterations SIGSTOP: the connection stays up and nobody reads it;
# even iterations kill -9, not restarted: connection refused) for a random
# 11-14 s, while the lanes keep submitting runs of ~6,000 records with a
# 1 s timeout (exit 3, the batches stay in their outboxes, and the next run
# goes out): at least 120,000 records must be offered in each outage, well
# over the 4 x 20,000 changes the aggregator may hold.  Every 100 ms the
# aggregator's VmRSS and VmHWM (/proc/PID/status) are sampled.  Then the
# sink continues (SIGCONT) or is started again, and at the end lib.sh
# drains the outboxes and checks (a) and (b): everything is delivered.
#
# The bound.  Once EDUSTAT_INFLIGHT (4) uows wait for the sink the
# aggregator stops reading collectors, so beyond its idle size (6.5 MB)
# it holds: its state (~45,000 values here, a few MB); at most 4 uows in
# flight and the open one, each at most EDUSTAT_UOW_RECORDS (20,000)
# changes plus one batch, held as changes and aggregate rows and as their
# encoded wire copy (logged below: about 3.8 MB for a full uow, most of it
# the ~17,000 aggregate and breakdown rows of 6 periods), say 2 x 3.8 MB
# each, 38 MB for five; and what ZeroMQ queues from the collectors it is not
# reading, at most 8 batches of 5,000 records (~0.4 MB each) per collector
# connection, ~10 MB for the three here if only the live connections count.
# 6.5 + 4 + 38 + 10 = ~58 MB at worst; measured, the plateau once the cap
# is reached is about 40 MB.  MAX_RSS_MB = 64 leaves room for allocator
# slack, not for anything that grows with the records offered or the time
# the sink stays down.  (EDUSTAT_MAX_RSS_MB and EDUSTAT_RSS_GROWTH_MB
# override the two bounds, for diagnosis only.)
#
# Bounded also means not growing with the outage's length: the peak in the
# second half of each outage may exceed the first half's by at most
# GROWTH_MAX_MB (12 MB).  The cap is reached within a few seconds.  A
# resend of the uows in flight (every EDUSTAT_RESEND_MS, 10 s) goes through
# a new connection, and ZeroMQ keeps a copy of each uow in it until the sink
# takes it: one copy of the window (INFLIGHT x ~2.9 MB here), since closing
# the old connection frees the last.  When the first resend falls in the
# second half, that copy is what the second half adds; a second copy, or
# anything that grows with the time down, is over the allowance.  The aggregator must also keep to its cap:
# at most INFLIGHT uows sent while the sink is down, and either INFLIGHT
# reached or, 3 s into the outage, submits shed (read and left unanswered:
# the outboxes resend them), which it logs.
#
# EDUSTAT_FLUSH_MS=1000 lets every uow fill to its 20,000 changes before it
# is sent (with the default 20 ms they leave smaller when collectors are
# slow), the worst case for memory; debug logging shows each uow's size.
#
# The window is set here, smaller than the defaults (2 uows of up to
# 100,000 changes, sized for bulk loads: bench/RESULTS.md), so that an
# outage of a dozen seconds offers well over what the aggregator may hold
# and the test sees the plateau, not the way up to it.  The mechanism
# that bounds memory is the same at any size; at the defaults the same
# arithmetic gives 6.5 + 4 + 3 x 2 x ~10 MB + 10 = ~80 MB.
export EDUSTAT_FLUSH_MS=1000 EDUSTAT_LOG_LEVEL=debug EDUSTAT_UOW_RECORDS=20000 EDUSTAT_INFLIGHT=4
MAX_RSS_MB=${EDUSTAT_MAX_RSS_MB:-64}
# Under AddressSanitizer freed memory waits in a quarantine (256 MB by
# default) before reuse, so RSS there says nothing about the aggregator's own
# bound: a sanitized build (meson's b_sanitize, passed as EDUSTAT_SANITIZE)
# checks everything else, and the plain build checks memory.
MEMORY_CHECKED=1
case ${EDUSTAT_SANITIZE:-none} in *address*) MEMORY_CHECKED=0 ;; esac
GROWTH_MAX_MB=${EDUSTAT_RSS_GROWTH_MB:-12} # allowed growth from an outage's first half to its second
INFLIGHT=$EDUSTAT_INFLIGHT
PERIODS=6
SHARE=0.4
RUNS_PER_ITER=16
ITER_DEFAULT=2
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# max_kb_in FILE FROM_US TO_US COLUMN: the largest value of COLUMN in the
# samples taken between FROM_US and TO_US.
max_kb_in() {
        awk -v f="$2" -v t="$3" -v c="$4" '$1 >= f && $1 <= t && $c > m {m = $c} END {print m + 0}' "$1"
}

mb() {
        awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'
}

# records LANE FROM TO: records in the lane's runs FROM..TO-1.
records() {
        local l=$1 r n=0
        for r in $(seq "$2" $(($3 - 1))); do
                n=$((n + $(wc -l <"$WORK/runs/lane$l/$(printf 'run%03d.csv' "$r")") - 1))
        done
        echo "$n"
}

fault_init sink_down "$@"
fault_start
stack_sample_rss "$AGG_PID" "$WORK/rss" &
SAMPLER=$!
STACK_EXTRA_PIDS=$SAMPLER
sleep 0.5
IDLE_KB=$(awk '{print $2}' "$WORK/rss" | sort -n | tail -n 1)
note "aggregator idle: VmRSS $(mb "$IDLE_KB") MB"
OFFERED_MIN=
PEAK_KB=0
for it in $(seq 1 "$ITER"); do
        SUBMIT_TIMEOUT=30
        lanes_start
        rand 1000 2500
        sleep_ms "$R"
        lanes_stop
        declare -A from
        for l in $(seq 0 $((LANES - 1))); do
                from[$l]=$(cat "$WORK/lane$l.next")
        done
        from_log=$(stack_log_lines "$WORK/logs/aggregator.log")
        t0=${EPOCHREALTIME/./}
        if [ $((it % 2)) = 1 ]; then
                how="stopped (SIGSTOP)"
                kill -STOP "$SINK_PID"
        else
                how="killed (kill -9)"
                stack_kill9 "$SINK_PID"
                SINK_PID=
        fi
        FAULTS=$((FAULTS + 1))
        rand 11000 14000
        down=$R
        SUBMIT_TIMEOUT=1
        lanes_start
        sleep_ms "$down"
        lanes_stop
        offered=0
        for l in $(seq 0 $((LANES - 1))); do
                offered=$((offered + $(records "$l" "${from[$l]}" "$(cat "$WORK/lane$l.next")")))
        done
        half=$(max_kb_in "$WORK/rss" "$t0" $((t0 + down * 500)) 2)
        peak=$(max_kb_in "$WORK/rss" "$t0" "${EPOCHREALTIME/./}" 2)
        [ "$peak" -gt "$PEAK_KB" ] && PEAK_KB=$peak
        if [ -z "$OFFERED_MIN" ] || [ "$offered" -lt "$OFFERED_MIN" ]; then
                OFFERED_MIN=$offered
        fi
        uows=$(tail -n +"$((from_log + 1))" "$WORK/logs/aggregator.log" |
                sed -n 's/.*uow [0-9]* sent: \([0-9]*\) bytes.*/\1/p' | sort -n | tail -n 1)
        note "iteration $it: sink $how for $down ms; $offered records offered meanwhile;" \
                "aggregator VmRSS peak $(mb "$half") MB in the first half, $(mb "$peak") MB" \
                "in all; largest uow sent ${uows:-0} bytes"
        # Bounded means it stops growing once it holds its cap, within a few
        # seconds of the outage: the second half may not add to the first.
        if [ "$MEMORY_CHECKED" = 1 ] && [ $((peak - half)) -gt $((GROWTH_MAX_MB * 1024)) ]; then
                fail "iteration $it: the aggregator grew by $(mb $((peak - half))) MB in the" \
                        "second half of the outage (over $GROWTH_MAX_MB MB): its memory grows" \
                        "with the time the sink is down"
        fi
        # The aggregator must have reached its cap, INFLIGHT uows unanswered
        # (sent while the sink was down, or resent after EDUSTAT_RESEND_MS),
        # and kept to it.
        sent=$(tail -n +"$((from_log + 1))" "$WORK/logs/aggregator.log" | grep -c ' sent: ')
        if [ "$sent" -gt "$INFLIGHT" ]; then
                fail "iteration $it: the aggregator sent $sent uows while the sink was down," \
                        "over its cap of $INFLIGHT"
        elif [ "$sent" -lt "$INFLIGHT" ] && ! tail -n +"$((from_log + 1))" \
                "$WORK/logs/aggregator.log" | grep -q "resending $INFLIGHT uow(s)\|are left unanswered"; then
                fail "iteration $it: the aggregator neither had $INFLIGHT uows in flight nor" \
                        "shed submits: the load did not reach its cap"
        fi
        if [ -n "$SINK_PID" ]; then
                kill -CONT "$SINK_PID"
        else
                stack_start_sink
        fi
        iteration_end "$it"
done
touch "$WORK/sampler.stop"
wait "$SAMPLER"
STACK_EXTRA_PIDS=
# VmHWM is synced lazily; the sampled peak may pass its last reading.
HWM_KB=$(awk 'END {print $3}' "$WORK/rss")
[ "$PEAK_KB" -gt "$HWM_KB" ] && HWM_KB=$PEAK_KB
note "aggregator memory: idle $(mb "$IDLE_KB") MB, peak VmRSS sampled $(mb "$PEAK_KB") MB" \
        "while the sink was down, VmHWM $(mb "$HWM_KB") MB; bound $MAX_RSS_MB MB;" \
        "at least $OFFERED_MIN records offered in each outage"
if [ "$MEMORY_CHECKED" = 0 ]; then
        note "memory bound not checked: an AddressSanitizer build ($EDUSTAT_SANITIZE) keeps" \
                "freed memory in its quarantine; the plain build checks it"
elif [ "$HWM_KB" -gt $((MAX_RSS_MB * 1024)) ]; then
        fail "the aggregator's memory peaked at $(mb "$HWM_KB") MB (VmHWM), over the" \
                "$MAX_RSS_MB MB bound"
        awk 'NR == 1 {s = $1} NR % 10 == 1 {printf "  %.1f s: %.1f MB\n", ($1 - s) / 1e6, $2 / 1024}' \
                "$WORK/rss" | tail -n 40
fi
# Well over what the cap lets the aggregator hold (4 uows of 20,000), or
# the memory figure proves nothing.  A sanitized build checks no memory,
# and its slower collectors may offer less: that the cap was reached is
# checked above either way (INFLIGHT uows sent, or submits shed).
if [ "$MEMORY_CHECKED" = 1 ] && [ "$OFFERED_MIN" -lt $((3 * INFLIGHT * 20000 / 2)) ]; then
        fail "only $OFFERED_MIN records offered in an outage; want at least" \
                "$((3 * INFLIGHT * 20000 / 2))"
fi
fault_finish
