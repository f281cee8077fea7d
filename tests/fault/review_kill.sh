#!/usr/bin/env bash
#
# Fault scenario: kill -9 of the aggregator and of the sink while review
# actions (finish, approve, return) and submits interleave.
#
#   review_kill.sh BUILD_ROOT SOURCE_ROOT
#
# The test city (tests/integration/data/config, no rules, no forms: a
# school may finish once it stores a value).  LANES collector processes,
# each with its own outbox and name, share the city's key; lane L acts on
# the schools whose position in orgunits.csv is L modulo LANES.  Each lane
# walks its schools round after round: a value, finish, a value (refused
# while submitted), approve, a value (refused while approved), return, ...;
# every comment and reason is unique per school and round (a retry sends
# the same text, so that a resend after a lost ack is taken as one), every
# value is unique.  A
# step that did not exit 0 is retried, unless its refusal names the state
# the school is in now.  Meanwhile the scenario kills the aggregator, the
# sink or both with SIGKILL ITER times at random moments (the seeded
# RANDOM of lib.sh) and starts them again.  At the end, after the lanes'
# outboxes are drained:
#   - every action whose command exited 0 is in edustat.review_history
#     (approve and return by their unique text, finish by count per school);
#   - every value whose submit exited 0 is in edustat.value_history, and
#     every refusal of the review gate is in edustat.rejected;
#   - no value was stored for a (unit, period) while it was submitted or
#     approved: no value_history.received_at strictly between a finish
#     (review_history.recorded_at) and the next return or reopen of the
#     same unit and period (a value committed in the same transaction as a
#     transition ties with it and cannot be ordered by time: it passes);
#   - edustat.review is the last review_history row of every key, and
#     edustat-sink --check is clean.
ITER_DEFAULT=6
LANES=${LANES:-3}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

fault_init review_kill "$@"
CONFIG=${EDUSTAT_FAULT_CONFIG:-$SRC/tests/integration/data/config}
OPS_MAX=${REVIEW_OPS_MAX:-150}   # commands per lane at most
LANE_SECONDS=${REVIEW_LANE_SECONDS:-150}
P=2024

stack_prepare "$CONFIG"
rm -f "$EDUSTAT_CONFIG/periods.csv" "$EDUSTAT_CONFIG/rules.csv" "$EDUSTAT_CONFIG/forms.csv"
stack_start
note "PostgreSQL on $PGPORT, sink on $SINK_PORT (pid $SINK_PID), aggregator on $AGG_PORT (pid $AGG_PID)"

# the lanes' schools (leaves of the tree), by position
python3 - "$EDUSTAT_CONFIG/orgunits.csv" "$LANES" "$WORK" <<'PY' || abort "cannot split the schools"
import csv, sys
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    units = list(csv.DictReader(f))
parents = {u["parent"] for u in units}
schools = [u["code"] for u in units if u["code"] not in parents]
lanes = int(sys.argv[2])
for l in range(lanes):
    with open("%s/lane%d.schools" % (sys.argv[3], l), "w") as out:
        out.write("\n".join(schools[l::lanes]) + "\n")
PY

# rcmd LANE ARGS...: a collector of lane LANE, output in WORK/cur<LANE>.out.
rcmd() {
        local l=$1
        shift
        (cd "$WORK" && EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$AGG_PORT \
                EDUSTAT_OUTBOX="$WORK/outbox.$l.db" EDUSTAT_COLLECTOR_NAME="review-lane$l" \
                exec "$COLLECTOR_BIN" "$@") >"$WORK/cur$l.out" 2>&1
}

# review_lane LANE: the lane's walk.  Writes "KIND UNIT TEXT RC" lines to
# WORK/lane<L>.log (TEXT: the value, comment or reason; "-" for finish).
review_lane() {
        local l=$1 op=0 t0 s i rc text cur
        local -a schools step round
        RANDOM=$((SEED + 104729 * (l + 1)))
        mapfile -t schools <"$WORK/lane$l.schools"
        for i in "${!schools[@]}"; do
                step[i]=0
                round[i]=0
        done
        t0=$(date +%s)
        mkdir -p "$WORK/csv$l"
        while [ ! -e "$WORK/stop" ] && [ "$op" -lt "$OPS_MAX" ] && [ $(($(date +%s) - t0)) -lt "$LANE_SECONDS" ]; do
                op=$((op + 1))
                i=$((RANDOM % ${#schools[@]}))
                s=${schools[i]}
                # the walk: 0 value, 1 finish, 2 value, 3 approve, 4 value, 5 return
                cur=${step[i]}
                case $cur in
                0 | 2 | 4)
                        text=$((l * 1000000 + op * 10 + step[i] / 2))
                        printf 'unit,period,indicator,value\n%s,%s,pupils,%s\n' "$s" "$P" "$text" \
                                >"$WORK/csv$l/op$op.csv"
                        rcmd "$l" submit --timeout 20 "csv$l/op$op.csv"
                        rc=$?
                        echo "value $s $text $rc" >>"$WORK/lane$l.log"
                        case $rc in 0 | 1) step[i]=$(((step[i] + 1) % 6)) ;; esac
                        ;;
                1)
                        rcmd "$l" finish --unit "$s" --period "$P" --timeout 20
                        rc=$?
                        echo "finish $s - $rc" >>"$WORK/lane$l.log"
                        ;;
                3)
                        text="lane$l-$s-round${round[i]}-approve"
                        rcmd "$l" approve --unit "$s" --period "$P" --comment "$text" --timeout 20
                        rc=$?
                        echo "approve $s $text $rc" >>"$WORK/lane$l.log"
                        ;;
                5)
                        text="lane$l-$s-round${round[i]}-return"
                        rcmd "$l" return --unit "$s" --period "$P" --reason "$text" --timeout 20
                        rc=$?
                        echo "return $s $text $rc" >>"$WORK/lane$l.log"
                        ;;
                esac
                case $cur in
                1 | 3 | 5)
                        if [ "$rc" = 0 ]; then
                                [ "${step[i]}" = 5 ] && round[i]=$((round[i] + 1))
                                step[i]=$(((step[i] + 1) % 6))
                        elif grep -q "it is submitted" "$WORK/cur$l.out"; then
                                step[i]=2
                        elif grep -q "it is approved" "$WORK/cur$l.out"; then
                                step[i]=4
                        elif grep -q "it is open" "$WORK/cur$l.out"; then
                                [ "${step[i]}" = 5 ] && round[i]=$((round[i] + 1))
                                step[i]=0
                        fi
                        ;;
                esac
                cat "$WORK/cur$l.out" >>"$WORK/logs/lane$l.out"
        done
}

: >"$WORK/lanes.pids"
rm -f "$WORK/stop"
LANE_PIDS=
for l in $(seq 0 $((LANES - 1))); do
        : >"$WORK/lane$l.log"
        review_lane "$l" 2>>"$WORK/logs/lanes.err" &
        LANE_PIDS="$LANE_PIDS $!"
done

for it in $(seq 1 "$ITER"); do
        rand 500 2500
        sleep_ms "$R"
        case $((it % 3)) in
        1) what=aggregator ;;
        2) what=sink ;;
        0) what="aggregator and sink" ;;
        esac
        case $what in *aggregator*) stack_kill9 "$AGG_PID" ;; esac
        case $what in *sink*)
                sink_txn_wait 2000 || true
                stack_kill9 "$SINK_PID"
                ;;
        esac
        FAULTS=$((FAULTS + 1))
        rand 100 1500
        note "iteration $it: killed the $what; down for $R ms"
        sleep_ms "$R"
        ensure_up
done
rand 1000 3000
sleep_ms "$R"
touch "$WORK/stop"
for pid in $LANE_PIDS; do
        wait "$pid"
done
LANE_PIDS=
ensure_up

# every lane's outbox delivered (values that were not confirmed land now,
# or are refused by the review gate)
for l in $(seq 0 $((LANES - 1))); do
        rcmd "$l" submit --timeout 60 || fail "draining lane $l's outbox exited $?: $(tail -n 5 "$WORK/cur$l.out")"
done

cat "$WORK"/lane*.log >"$WORK/actions"
note "$(awk '{n[$1 " " ($4 == 0 ? "ok" : "rc" $4)]++} END {for (k in n) printf "%s: %d  ", k, n[k]}' "$WORK/actions")"
psql -AtX -F "$(printf '\t')" -c "SELECT unit, action, coalesce(comment, '-'), to_state,
        extract(epoch FROM recorded_at)::numeric(20,6), id FROM edustat.review_history
        WHERE period = '$P' ORDER BY id" >"$WORK/history" || fail "cannot read review_history"
psql -AtX -F "$(printf '\t')" -c "SELECT unit, value::bigint, extract(epoch FROM received_at)::numeric(20,6)
        FROM edustat.value_history WHERE period = '$P' AND indicator = 'pupils'" >"$WORK/values" ||
        fail "cannot read value_history"
psql -AtX -F "$(printf '\t')" -c "SELECT unit, reason FROM edustat.rejected WHERE period = '$P'" >"$WORK/rejected" ||
        fail "cannot read rejected"
psql -AtX -F "$(printf '\t')" -c "SELECT r.unit, r.period FROM edustat.review r
        LEFT JOIN LATERAL (SELECT h.to_state, h.\"by\", h.comment FROM edustat.review_history h
                WHERE h.unit = r.unit AND h.period = r.period ORDER BY h.id DESC LIMIT 1) h ON true
        WHERE ROW(r.state, r.\"by\", r.comment) IS DISTINCT FROM ROW(h.to_state, h.\"by\", h.comment)" >"$WORK/review-mismatch" ||
        fail "cannot compare review with review_history"
[ -s "$WORK/review-mismatch" ] && fail "edustat.review is not the last review_history row for: $(head -n 5 "$WORK/review-mismatch")"

python3 - "$WORK" <<'PY' >"$WORK/verdict" || fail "$(head -n 30 "$WORK/verdict")"
import collections, sys
from decimal import Decimal
work = sys.argv[1]
acts = [ln.split(" ") for ln in open(work + "/actions").read().splitlines() if ln]
hist = [ln.split("\t") for ln in open(work + "/history").read().splitlines() if ln]
vals = [ln.split("\t") for ln in open(work + "/values").read().splitlines() if ln]
rej = [ln.split("\t", 1) for ln in open(work + "/rejected").read().splitlines() if ln]
bad = []
texts = {(h[0], h[1], h[2]) for h in hist}
finishes = collections.Counter(h[0] for h in hist if h[1] == "finish")
stored = {(v[0], v[1]) for v in vals}
for kind, unit, text, rc in acts:
    if rc != "0":
        continue
    if kind in ("approve", "return") and (unit, kind, text) not in texts:
        bad.append("%s %s '%s' exited 0 but review_history has no such row" % (kind, unit, text))
    if kind == "value" and (unit, text) not in stored:
        bad.append("the value %s of %s exited 0 but value_history does not hold it" % (text, unit))
# A finish retried after a lost ack is taken again without a new transition:
# the finishes between two return commands (whatever their exit) count once
# when one of them exited 0.
groups = collections.Counter()
seen = {}
for kind, unit, text, rc in acts:
    if kind == "return":
        seen.pop(unit, None)
    elif kind == "finish" and rc == "0" and not seen.get(unit):
        seen[unit] = True
        groups[unit] += 1
for unit, n in groups.items():
    if finishes[unit] < n:
        bad.append("%d rounds of finish of %s exited 0, review_history has %d finishes"
                   % (n, unit, finishes[unit]))
# refused values: the reason is the review gate's
gate = [r for r in rej if " is submitted by " in r[1] or " is approved by " in r[1]]
other = [r for r in rej if r not in gate]
if other:
    bad.append("rejections that are not the review gate's: %s" % other[:5])
nrefused = sum(1 for a in acts if a[0] == "value" and a[3] == "1")
if len(gate) < nrefused:
    bad.append("%d submits exited 1, edustat.rejected has %d refusals of the review gate"
               % (nrefused, len(gate)))
# closed intervals per unit: from a finish to the next return or reopen
closed = collections.defaultdict(list)
start = {}
for unit, action, _, to_state, at, _ in hist:
    t = Decimal(at)
    if action == "finish":
        start[unit] = t
    elif to_state == "open" and unit in start:
        closed[unit].append((start.pop(unit), t))
for unit, t in start.items():
    closed[unit].append((t, None))
for unit, value, at in vals:
    t = Decimal(at)
    for a, b in closed[unit]:
        if a < t and (b is None or t < b):
            bad.append("the value %s of %s was stored at %s, while it was closed (%s .. %s)"
                       % (value, unit, t, a, b))
print("%d commands, %d transitions, %d values stored, %d refused by the review gate"
      % (len(acts), len(hist), len(vals), len(gate)))
for b in bad[:30]:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
note "$(head -n 1 "$WORK/verdict")"
[ "$(awk '$1 != "value" && $4 == 0' "$WORK/actions" | wc -l)" -gt 0 ] || fail "no review action was confirmed"
[ "$(awk '$1 == "value" && $4 == 1' "$WORK/actions" | wc -l)" -gt 0 ] || fail "no value was refused by the review gate"
if run_check "at the end"; then
        note "$(tail -n 1 "$WORK/check.out")"
fi
note "$FAULTS faults injected; $(($(now_ms) - T0)) ms"
fault_verdict
