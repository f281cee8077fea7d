#!/usr/bin/env bash
#
# identity.sh BUILD_ROOT SOURCE_ROOT: protocol 2, the aggregator's identity
# at the sink and fencing, with the real daemons over CURVE and a throwaway
# PostgreSQL.
#
#   - the aggregator's id is the name its key is registered under at the
#     sink ("aggregator", from edustat-keygen --init): sink_state has a row
#     for it, with an epoch;
#   - an aggregator started with EDUSTAT_AGGREGATOR_ID=other (its key still
#     registered as "aggregator") is refused: it exits non-zero naming both
#     ids, and the running aggregator is not disturbed (same epoch); one
#     started with EDUSTAT_AGGREGATOR_ID=city-2 and a key registered as
#     city-2 is admitted, in a session of its own;
#   - a second aggregator with the same key and id, started on another port
#     while the first runs, takes over (a new epoch): collectors submitting
#     to either of them concurrently; the first is fenced at its next unit of
#     work, exits 1 logging "another aggregator with id aggregator took
#     over", its collectors exit 3 with their batches in their outboxes and
#     nothing of theirs is committed; every submit that exited 0 has all its
#     values in unit_value; the outboxes resent to the survivor land;
#     the survivor knows what the first one committed;
#   - at the sink's protocol (an independent client with the aggregator's
#     key): a hello naming another id is answered fail, a uow of an older
#     epoch fenced (also with a seq already committed), one naming another
#     id fail, neither applied;
#   - edustat-sink --check exits 0.
#
# Expected values come from the CSV files this script writes.

BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init identity
trap stack_exit EXIT

stack_prepare "$SRC/tests/integration/data/config"
# A second aggregator key registered at the sink as city-2 (README, Keys).
"$KEYGEN_BIN" city-2 "$WORK/keys/aggregators" >/dev/null || abort "cannot make the key city-2"
stack_start
read -r AGG2_PORT OTHER_PORT <<<"$(stack_ports)"
read -r CITY2_PORT _ <<<"$(stack_ports)"
echo "identity: sink $SINK_PORT, aggregator $AGG_PORT (pid $AGG_PID), work $WORK"

q() { psql -AtX -v ON_ERROR_STOP=1 -c "$1"; }

# Schools of the test city, one per submitted file.
SCHOOLS=(2133810001 2133810002 2133810003 3133810004 3133810005 2133810101
        2133810102 3133810103 2133820001 2133820002 2133820003 2133820004)

# school_csv N: WORK/sN.csv, four counts of school N (distinct values per file).
school_csv() {
        local n=$1 u=${SCHOOLS[$1]} f=$WORK/s$1.csv
        {
                echo "unit,period,indicator,value"
                echo "$u,2024,pupils,$((1000 + n * 7))"
                echo "$u,2024,teachers,$((60 + n))"
                echo "$u,2024,classes,$((20 + n))"
                echo "$u,2024,books,$((30000 + n * 13))"
        } >"$f"
        printf '%s\n' "$f"
}

# stored N: the rows of school N in unit_value, as the CSV rows (sorted).
stored() {
        q "SELECT unit || ',' || period || ',' || indicator || ',' || value
           FROM edustat.unit_value WHERE unit = '${SCHOOLS[$1]}' ORDER BY 1"
}
want() { tail -n +2 "$WORK/s$1.csv" | LC_ALL=C sort; }

# submit_bg N PORT TIMEOUT: edustat-collector submit of sN.csv to PORT, with
# the outbox WORK/outbox-N.db, in the background; exit code to WORK/rc-N.
submit_bg() {
        local n=$1 port=$2 t=$3
        (
                EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$port EDUSTAT_OUTBOX=$WORK/outbox-$n.db \
                        "$COLLECTOR_BIN" submit --timeout "$t" "$(school_csv "$n")" \
                        >"$WORK/submit-$n.out" 2>&1
                echo $? >"$WORK/rc-$n"
        ) &
        SUBMIT_PIDS="$SUBMIT_PIDS $!"
}

# wait_submits: wait for the submits started (not for the daemons).
SUBMIT_PIDS=
wait_submits() {
        local pid
        for pid in $SUBMIT_PIDS; do wait "$pid"; done
        SUBMIT_PIDS=
}

rc_of() { cat "$WORK/rc-$1" 2>/dev/null || echo none; }

epoch() { q "SELECT coalesce(max(epoch)::text, 'none') FROM edustat.sink_state WHERE aggregator = '$1'"; }

# ---- the default id with CURVE: the key's registered name
[ "$(q "SELECT string_agg(aggregator, ' ' ORDER BY aggregator) FROM edustat.sink_state")" = aggregator ] ||
        fail "sink_state: want one row, for 'aggregator' (the key's name), got:" \
                "$(q "SELECT string_agg(aggregator, ' ') FROM edustat.sink_state")"
E1=$(epoch aggregator)
case $E1 in '' | none | *[!0-9]*) fail "sink_state.epoch of 'aggregator' after its hello: '$E1'" ;; esac
[ "$(q "SELECT count(*) FROM edustat.sink_state WHERE aggregator = 'aggregator' AND epoch_at IS NOT NULL")" = 1 ] ||
        fail "sink_state.epoch_at is not set for 'aggregator'"

# ---- an aggregator claiming another id: refused, exits non-zero naming both
stack_spawn_aggregator WRONG "$OTHER_PORT" "$WORK/aggregator-other.log" nowait \
        EDUSTAT_AGGREGATOR_ID=other
if ! stack_wait_exit "$WRONG" 30; then
        fail "an aggregator with EDUSTAT_AGGREGATOR_ID=other still runs after 30 s (want: refused, exit non-zero)"
elif [ "$STACK_RC" -eq 0 ]; then
        fail "an aggregator with EDUSTAT_AGGREGATOR_ID=other exited 0, want non-zero"
fi
# Both ids on one line of what it said (without the log prefix, which
# names the program edustat-aggregator).
sed -E 's/^edustat-aggregator\[[0-9]+\]: [a-z]+: //' "$WORK/aggregator-other.log" |
        grep -E 'other' | grep -q -E '(^|[^-])\baggregator\b' ||
        fail "the refused aggregator's message does not name both ids (other, aggregator):" \
                "$(tail -n 3 "$WORK/aggregator-other.log")"
[ "$(q "SELECT count(*) FROM edustat.sink_state WHERE aggregator = 'other'")" = 0 ] ||
        fail "the sink stored state for the refused id 'other'"
[ "$(epoch aggregator)" = "$E1" ] ||
        fail "a refused hello changed the epoch of 'aggregator' ($E1 -> $(epoch aggregator))"
grep -q "took over" "$WORK/aggregator.log" && fail "the first aggregator was fenced by a refused hello"

# ---- EDUSTAT_AGGREGATOR_ID=city-2 with the key registered as city-2: admitted,
# a session of its own that does not touch the epoch of 'aggregator'
stack_spawn_aggregator CITY2 "$CITY2_PORT" "$WORK/aggregator-city2.log" \
        EDUSTAT_AGGREGATOR_ID=city-2 EDUSTAT_AGGREGATOR_SECRET="$WORK/keys/aggregators/city-2.key_secret"
case $(epoch city-2) in
'' | none | *[!0-9]*) fail "sink_state has no epoch for the aggregator city-2" ;;
esac
[ "$(epoch aggregator)" = "$E1" ] ||
        fail "the aggregator city-2 changed the epoch of 'aggregator' ($E1 -> $(epoch aggregator))"
kill -TERM "$CITY2"
if stack_wait_exit "$CITY2" 15; then
        [ "$STACK_RC" -eq 0 ] || fail "the aggregator city-2 exited $STACK_RC on SIGTERM, want 0"
else
        fail "the aggregator city-2 did not stop within 15 s of SIGTERM"
fi

# ---- phase 1: three collectors submit to the first aggregator
for n in 0 1 2; do submit_bg "$n" "$AGG_PORT" 30; done
wait_submits
for n in 0 1 2; do
        [ "$(rc_of "$n")" = 0 ] || fail "phase 1: submit of s$n.csv to the only aggregator exited $(rc_of "$n"), want 0: $(cat "$WORK/submit-$n.out")"
done

# ---- a second aggregator, same key, same id, takes over
stack_spawn_aggregator AGG2_PID "$AGG2_PORT" "$WORK/aggregator2.log"
echo "identity: second aggregator on $AGG2_PORT (pid $AGG2_PID)"
E2=$(epoch aggregator)
case $E2 in '' | none | *[!0-9]*) fail "sink_state.epoch after the takeover: '$E2'" ;; *)
        [ "$E1" != none ] && [ "$E2" -gt "$E1" ] 2>/dev/null ||
                fail "the second hello did not start a newer epoch ($E1 -> $E2)" ;;
esac
kill -0 "$AGG_PID" 2>/dev/null || echo "identity: note: the first aggregator exited before phase 2"

# ---- phase 2: collectors submit to both at once
for n in 3 4 5; do submit_bg "$n" "$AGG_PORT" 8; done
for n in 6 7 8; do submit_bg "$n" "$AGG2_PORT" 30; done
wait_submits

FENCED=$AGG_PID
if ! stack_wait_exit "$FENCED" 20; then
        fail "the fenced aggregator (pid $FENCED) still runs 20 s after it was sent batches"
        kill -KILL "$FENCED" 2>/dev/null
        wait "$FENCED" 2>/dev/null
elif [ "$STACK_RC" -ne 1 ]; then
        fail "the fenced aggregator exited $STACK_RC, want 1"
fi
# The harness stops AGG_PID at exit: from now on that is the survivor.
AGG_PID=$AGG2_PID
grep -q "another aggregator with id aggregator took over at " "$WORK/aggregator.log" ||
        fail "the fenced aggregator's log lacks 'another aggregator with id aggregator took over at T':" \
                "$(tail -n 3 "$WORK/aggregator.log")"
grep -q "took over" "$WORK/aggregator2.log" && fail "the second aggregator says it was fenced"
kill -0 "$AGG2_PID" 2>/dev/null || abort "the second aggregator exited"

for n in 3 4 5; do
        [ "$(rc_of "$n")" = 3 ] ||
                fail "phase 2: submit of s$n.csv to the fenced aggregator exited $(rc_of "$n"), want 3 (no ack): $(cat "$WORK/submit-$n.out")"
        EDUSTAT_OUTBOX=$WORK/outbox-$n.db "$COLLECTOR_BIN" status >"$WORK/status-$n.out" 2>&1
        [ $? -eq 1 ] || fail "s$n.csv: the outbox of a submit that exited 3 holds nothing (status)"
        [ -z "$(stored "$n")" ] ||
                fail "s$n.csv was committed through the fenced aggregator (no ack, yet in unit_value): $(stored "$n" | tr '\n' ' ')"
done
for n in 6 7 8; do
        [ "$(rc_of "$n")" = 0 ] ||
                fail "phase 2: submit of s$n.csv to the new aggregator exited $(rc_of "$n"), want 0: $(cat "$WORK/submit-$n.out")"
done

# Every submit that exited 0: all its values are in unit_value.
for n in 0 1 2 3 4 5 6 7 8; do
        [ "$(rc_of "$n")" = 0 ] || continue
        [ "$(stored "$n")" = "$(want "$n")" ] ||
                fail "s$n.csv exited 0 but unit_value holds [$(stored "$n" | tr '\n' ' ')], want [$(want "$n" | tr '\n' ' ')]"
done

# ---- what exited 3 is resent to the survivor and lands
for n in 3 4 5; do
        EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$AGG2_PORT EDUSTAT_OUTBOX=$WORK/outbox-$n.db \
                "$COLLECTOR_BIN" submit --timeout 30 >"$WORK/resend-$n.out" 2>&1
        rc=$?
        [ "$rc" -eq 0 ] || fail "resending s$n.csv's outbox to the survivor: exit $rc, want 0: $(cat "$WORK/resend-$n.out")"
        [ "$(stored "$n")" = "$(want "$n")" ] ||
                fail "s$n.csv after its resend: unit_value holds [$(stored "$n" | tr '\n' ' ')], want [$(want "$n" | tr '\n' ' ')]"
done

# ---- the survivor knows what the first aggregator committed: a correction
# of a phase-1 value changes it (changed 1), a repeat of another changes nothing.
u=${SCHOOLS[0]}
printf 'unit,period,indicator,value\n%s,2024,pupils,4242\n%s,2024,teachers,%s\n' "$u" "$u" 60 \
        >"$WORK/correction.csv"
EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$AGG2_PORT EDUSTAT_OUTBOX=$WORK/outbox-c.db \
        "$COLLECTOR_BIN" submit --timeout 30 "$WORK/correction.csv" >"$WORK/correction.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "a correction through the survivor exited $rc: $(cat "$WORK/correction.out")"
grep -q "2 records, 2 accepted (1 changed)" "$WORK/correction.out" ||
        fail "the survivor did not load the first aggregator's values (want '2 accepted (1 changed)'): $(cat "$WORK/correction.out")"
[ "$(q "SELECT value FROM edustat.unit_value WHERE unit = '$u' AND indicator = 'pupils'")" = 4242 ] ||
        fail "the correction through the survivor is not in unit_value"

# ---- the sink itself, spoken to as an aggregator (tests/lib/edustat_client.py
# with the aggregator's key): a uow of a replaced epoch is answered fenced,
# one naming another id fail, neither is applied; an empty uow of the
# current session is ok (the control: the uows were well-formed).
# This session takes over from the survivor, so it comes last.
stack_python
sinkc() {
        stack_client --endpoint "$EDUSTAT_SINK" --server sink --key aggregator --timeout 20 "$@"
}
sinkc '["hello",3,"other"]' >"$WORK/sink0.out" 2>&1
grep -q '^fail 0 .*other' "$WORK/sink0.out" ||
        fail "a hello naming id 'other' with the key of 'aggregator': want 'fail 0 ...other...', got: $(cat "$WORK/sink0.out")"
sinkc '["hello",3,"aggregator"]' >"$WORK/sink1.out" 2>&1
read -r _ _ _ E3 _ <<<"$(grep '^ready ' "$WORK/sink1.out")"
case $E3 in
'' | *[!0-9]*) fail "a hello from the test client: no 'ready LAST_SEQ NROWS EPOCH NREVIEWS NNOTES': $(cat "$WORK/sink1.out")" ;;
*)
        V=$((($(date +%s%6N)) * 1024))
        # a uow: [batch...] then [value...], each value naming its batch by index
        batch() { printf '[["collector","%s","t.csv"]]' "$1"; }
        val() { printf '["%s","2024","pupils","%s",%s,3,0]' "$1" "$2" "$V"; }
        sinkc '["hello",3,"aggregator"]' \
                "[\"uow\",\"@next_seq\",$E3,\"aggregator\",$(batch fenced-1),[$(val 2133820004 777)],[],[],[],0,[]]" \
                "[\"uow\",\"@last_seq\",$E3,\"aggregator\",[],[],[],[],[],0,[]]" \
                "[\"uow\",\"@next_seq\",\"@epoch\",\"other\",$(batch other-1),[$(val 2133820004 778)],[],[],[],0,[]]" \
                '["uow","@next_seq","@epoch","aggregator",[],[],[],[],[],0,[]]' >"$WORK/sink2.out" 2>&1
        grep -v '^rows ' "$WORK/sink2.out" | cut -d' ' -f1 | tr '\n' ' ' | grep -qx 'ready fenced fenced fail ok ' ||
                fail "the sink's replies to an old epoch's uow, another id's uow and a good one:" \
                        "want ready, fenced, fenced (a replayed seq of the old epoch), fail, ok; got: $(grep -v '^rows ' "$WORK/sink2.out" | tr '\n' '|')"
        grep -q "^fenced .*another aggregator with id aggregator took over at " "$WORK/sink2.out" ||
                fail "the sink's fenced reply does not say 'another aggregator with id aggregator took over at T'"
        grep "^fail " "$WORK/sink2.out" | grep -q other ||
                fail "the sink's fail reply for id 'other' does not name it: $(grep '^fail ' "$WORK/sink2.out")"
        read -r _ _ _ E4 _ <<<"$(grep '^ready ' "$WORK/sink2.out")"
        [ "${E4:-0}" -gt "$E3" ] 2>/dev/null || fail "a second hello did not start a newer epoch ($E3 -> $E4)"
        [ "$(q "SELECT count(*) FROM edustat.value_history WHERE batch_id IN ('fenced-1', 'other-1')")" = 0 ] ||
                fail "the sink applied a fenced uow or one naming another id"
        ;;
esac

"$SINK_BIN" --check --db-url "$EDUSTAT_DB_URL" >"$WORK/check.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "edustat-sink --check exited $rc, want 0: $(head -n 20 "$WORK/check.out")"

stack_finish
