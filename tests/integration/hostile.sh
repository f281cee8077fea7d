#!/usr/bin/env bash
#
# hostile.sh BUILD_ROOT SOURCE_ROOT: a hostile but registered school (a
# valid key, its own unit) against the real daemons over CURVE on
# 127.0.0.1, with a throwaway PostgreSQL, driven by
# tests/lib/edustat_client.py; an honest school submits with
# edustat-collector meanwhile.
#
#   - org tree: collectors.csv names units that orgunits.csv no longer has;
#     the aggregator starts, warns naming collectors.csv:LINE, and every
#     other collector works (one that kept one of its units, for that unit);
#   - a password in --db-url: edustat-sink refuses to start and says why
#     (the process list);
#   - authorization: the hostile school's key cannot write its neighbour,
#     its district's or the city's population;
#   - forged and control-character reasons: a client's "refused by
#     PostgreSQL: x" is stored as "the collector says: refused by PostgreSQL:
#     x"; ESC, CR, LF, BEL in a client's reason or in a unit come back as
#     \x1b, \x0d, \x0a, \x07, in the ack and in edustat.rejected; a client's
#     4,000-byte reason is cut to 200 bytes and "...";
#   - a rejection flood with big sources: FLOOD_BATCHES submits of 20,000
#     records the client refused itself (4 KB source; raw 4 KB for the
#     first FLOOD_BIG_RAW rows, so the 16 MiB submit limit holds, 200 bytes
#     after; reasons of about 200 bytes) sent as fast as the socket takes
#     them and sent again when unanswered for 10 s, as an outbox does (the
#     aggregator leaves the hostile key's batches unanswered once it is over
#     its byte budget while the honest school sends), while the honest
#     school runs `edustat-collector submit` every
#     2 s: every honest submit exits 0 within HONEST_MAX_S (15 s) and all
#     its values are in unit_value; the aggregator's peak RSS (VmHWM, and
#     VmRSS sampled every 100 ms) stays under MAX_RSS_MB (256) in a plain
#     build (not checked when EDUSTAT_SANITIZE is other than none: ASan's
#     quarantine); every hostile row is in edustat.rejected, and exactly the
#     first 1,000 rejections of each batch keep their raw text; the sink
#     logs no dropped or oversized message; edustat-sink --check passes.
#
#   - the spool (`edustat-collector run`, quiet time 3 s): a file written
#     in place with a 2.2 s pause is read whole, once; a symbolic link to a
#     file outside the spool is never read, nor is a name swapped between a
#     regular file and such a link while the collector looks;
#
# Before commit 5210ebd each rejection carried its batch's 4 KB source to
# the sink, so one flood batch made ~100 MB of uow and the aggregator's RSS
# went far past the bound.
#
# Everything stays on 127.0.0.1; every loop is bounded in count and time.

BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init hostile
trap stack_exit EXIT
stack_python
export TZ=UTC

FLOOD_BATCHES=${EDUSTAT_HOSTILE_BATCHES:-10}
FLOOD_RECORDS=20000
FLOOD_BIG_RAW=${EDUSTAT_HOSTILE_BIG_RAW:-1100}
FLOOD_SMALL_RAW=${EDUSTAT_HOSTILE_SMALL_RAW:-64}
FLOOD_WHY=${EDUSTAT_HOSTILE_WHY:-48} # words of a flood row's reason ("why ")
FLOOD_TIMEOUT_S=150 # the flood's acks must all be in by then
HONEST_MAX_S=15 # 45 under a sanitizer (below)
HONEST_EVERY_S=2
HONEST_MAX_RUNS=40
MAX_RSS_MB=${EDUSTAT_MAX_RSS_MB:-256}
MEMORY_CHECKED=1
# Under AddressSanitizer freed memory waits in a quarantine (256 MB by
# default) and everything runs slower: a sanitized build (meson's
# b_sanitize, passed as EDUSTAT_SANITIZE) checks everything but the memory,
# with a longer bound for the honest school.
case ${EDUSTAT_SANITIZE:-none} in
none | '') ;;
*)
        MEMORY_CHECKED=0
        HONEST_MAX_S=45
        ;;
esac
# The aggregator runs at its defaults: a uow flushes at about 8 MiB
# (EDUSTAT_UOW_BYTES), so a uow of flood rejections holds about 15,000 of
# them, not 100,000 (about 85 MB each with its wire copy, three alive at
# once, which peaked near 400 MB before the byte limit; about 170 MB now).

HOSTILE=2133810001 # 城关镇第一小学, under 330181100 / 330181
NEIGHBOUR=2133810002
DISTRICT=330181
CITY=330100
HONEST=2133820001 # 西山区第一小学, under 330182
MOVED=3133810005  # a unit of the collector "moved", which also names a gone unit
GONE=9999999990

stack_prepare "$SRC/tests/integration/data/config"
stack_collector_key hostile "$HOSTILE"
stack_collector_key honest "$HONEST"
stack_collector_key ghost "$GONE"
GHOST_LINE=$(wc -l <"$EDUSTAT_CONFIG/collectors.csv")
stack_collector_key moved "$GONE" "$MOVED"
MOVED_LINE=$(wc -l <"$EDUSTAT_CONFIG/collectors.csv")
# The byte budget of a collector key, at the bound this test measures (the
# default is higher, so that district offices loading a round in bulk are
# never held back by each other).
export EDUSTAT_COLLECTOR_RATE=1048576 EDUSTAT_COLLECTOR_BURST=16777216
stack_start
echo "hostile: sink $SINK_PORT, aggregator $AGG_PORT, work $WORK"

q() { psql -AtX -v ON_ERROR_STOP=1 -c "$1"; }

# py ARGS... <<'PY': python with pyzmq and msgpack, tests/lib importable.
py() { PYTHONPATH=$SRC/tests/lib${PYTHONPATH:+:$PYTHONPATH} "$STACK_PY" - "$@"; }

# collector NAME ARGS...: edustat-collector as NAME (its key, its outbox).
collector() {
        local name=$1
        shift
        EDUSTAT_COLLECTOR_SECRET=$WORK/keys/$name.key_secret EDUSTAT_OUTBOX=$WORK/outbox-$name.db \
                "$COLLECTOR_BIN" "$@"
}

# ===== org tree: collectors.csv names units orgunits.csv does not have
grep -qF "collectors.csv:$GHOST_LINE: collector \"ghost\" names unit \"$GONE\"" "$WORK/aggregator.log" ||
        fail "no warning naming collectors.csv:$GHOST_LINE for ghost's gone unit $GONE"
grep -qF "collectors.csv:$MOVED_LINE: collector \"moved\" names unit \"$GONE\"" "$WORK/aggregator.log" ||
        fail "no warning naming collectors.csv:$MOVED_LINE for moved's gone unit $GONE"
printf 'unit,period,indicator,value\n%s,2024,pupils,777\n' "$MOVED" >"$WORK/moved.csv"
collector moved submit --timeout 20 "$WORK/moved.csv" >"$WORK/moved.out" 2>&1 ||
        fail "the collector 'moved' (one unit gone, one kept) could not submit for $MOVED: exit $?: $(cat "$WORK/moved.out")"
[ "$(q "SELECT value FROM edustat.unit_value WHERE unit = '$MOVED' AND period = '2024' AND indicator = 'pupils'")" = 777 ] ||
        fail "moved.csv's value is not in unit_value"

# ===== a password on the sink's command line
timeout 20 "$SINK_BIN" --db-url 'host=127.0.0.1 password=x' >"$WORK/sink-password.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
        fail "edustat-sink --db-url with a password: exit $rc, want a refusal (non-zero, at once)"
grep -q "process list" "$WORK/sink-password.out" ||
        fail "edustat-sink --db-url with a password does not mention the process list: $(head -c 500 "$WORK/sink-password.out")"
grep -q "password=x" "$WORK/sink-password.out" &&
        fail "edustat-sink echoed the password: $(head -c 500 "$WORK/sink-password.out")"

# ===== authorization: the hostile key writes only its own school
py "$EDUSTAT_AGGREGATOR" "$EDUSTAT_KEYS" "$HOSTILE" "$NEIGHBOUR" "$DISTRICT" "$CITY" >"$WORK/auth.out" 2>&1 <<'PY'
import sys, time, zmq, edustat_client as ec
ep, keys, own, nb, dist, city = sys.argv[1:]
us = int(time.time() * 1e6)
recs = [[2, ec.version_at(us, 0), own, "2024", "teachers", "61", None, None],
        [3, ec.version_at(us, 1), nb, "2024", "teachers", "62", None, None],
        [4, ec.version_at(us, 2), dist, "2024", "pop_3_5", "63", None, None],
        [5, ec.version_at(us, 3), city, "2024", "pop_3_5", "64", None, None]]
ctx = zmq.Context()
s = ec.curve_dealer(ctx, ep, keys, "hostile")
r = ec.send_all(s, [["submit", 2, "honest", "auth-1", "auth.csv", recs]], 20)
reply = r.get("auth-1", (None,))[0]
print("reply", reply)
want = ["ack", "auth-1", 1, 1, [[3, "not authorized for unit " + nb],
        [4, "not authorized for unit " + dist], [5, "not authorized for unit " + city]], []]
if reply != want:
    print("FAIL want", want)
PY
grep -q '^FAIL' "$WORK/auth.out" && fail "authorization: $(cat "$WORK/auth.out")"
got=$(q "SELECT string_agg(collector || ':' || unit, ' ' ORDER BY line) FROM edustat.rejected WHERE batch_id = 'auth-1'")
[ "$got" = "hostile:$NEIGHBOUR hostile:$DISTRICT hostile:$CITY" ] ||
        fail "authorization: edustat.rejected of auth-1 (under the key's name): got '$got'"
got=$(q "SELECT count(*) FROM edustat.unit_value WHERE value IN (62, 63, 64)")
[ "$got" = 0 ] || fail "authorization: the hostile key wrote $got value(s) outside its school"

# ===== forged reasons, control characters, long reasons
py "$EDUSTAT_AGGREGATOR" "$EDUSTAT_KEYS" "$HOSTILE" >"$WORK/reasons.out" 2>&1 <<'PY'
import sys, time, zmq, edustat_client as ec
ep, keys, own = sys.argv[1:]
us = int(time.time() * 1e6)
ctl = "bad\x1b[31mred\r\nforged line\x07"
recs = [[2, ec.version_at(us, 0), own, "2024", "pupils", "1", "2024,x", "refused by PostgreSQL: x"],
        [3, ec.version_at(us, 1), own, "2024", "pupils", "1", "2024,y", ctl],
        [4, ec.version_at(us, 2), "21338\x1b[2J\r\n\x07", "2024", "pupils", "1", None, None],
        [5, ec.version_at(us, 3), own, "2024", "pupils", "1", "2024,z", "a" * 4000],
        [6, ec.version_at(us, 4), own, "2024", "books", "8", None, None]]
want = [[2, "the collector says: refused by PostgreSQL: x"],
        [3, "bad\\x1b[31mred\\x0d\\x0aforged line\\x07"],
        [4, 'unknown unit "21338\\x1b[2J\\x0d\\x0a\\x07"'],
        [5, "a" * 200 + "..."]]
ctx = zmq.Context()
s = ec.curve_dealer(ctx, ep, keys, "hostile")
r = ec.send_all(s, [["submit", 2, "hostile", "reasons-1", "reasons.csv", recs]], 20)
reply = r.get("reasons-1", (None,))[0]
print("reply", ascii(reply))
if not (isinstance(reply, list) and reply[:4] == ["ack", "reasons-1", 1, 1]):
    print("FAIL want ack reasons-1 1 1")
else:
    got = reply[4]
    for w in want:
        g = [x for x in got if x[0] == w[0]]
        if g != [w]:
            print("FAIL line %d: ack says %s, want %s" % (w[0], ascii(g), ascii(w)))
    if len(got) != len(want):
        print("FAIL %d rejections in the ack, want %d" % (len(got), len(want)))
PY
grep -q '^FAIL' "$WORK/reasons.out" && fail "reasons in the ack: $(cat "$WORK/reasons.out")"
reason() { q "SELECT reason FROM edustat.rejected WHERE collector = 'hostile' AND batch_id = 'reasons-1' AND line = $1"; }
got=$(reason 2)
[ "$got" = "the collector says: refused by PostgreSQL: x" ] ||
        fail "a client's 'refused by PostgreSQL: x' is stored as '$got'"
got=$(reason 3)
# shellcheck disable=SC2016 # backslashes as stored, not expanded
[ "$got" = 'bad\x1b[31mred\x0d\x0aforged line\x07' ] ||
        fail "control characters in a client's reason are stored as '$(printf '%q' "$got")'"
got=$(reason 4)
[ "$got" = 'unknown unit "21338\x1b[2J\x0d\x0a\x07"' ] ||
        fail "control characters in a unit are stored in the reason as '$(printf '%q' "$got")'"
got=$(q "SELECT length(reason) || ':' || (reason = repeat('a', 200) || '...')
         FROM edustat.rejected WHERE collector = 'hostile' AND batch_id = 'reasons-1' AND line = 5")
[ "$got" = "203:true" ] || fail "a 4,000-byte client reason: length and form '$got', want 203:true (200 bytes and ...)"
[ "$(q "SELECT count(*) FROM edustat.rejected WHERE reason ~ '[\x01-\x1f\x7f]'")" = 0 ] ||
        fail "edustat.rejected holds a reason with a control character"
[ "$(q "SELECT count(*) FROM edustat.rejected WHERE reason LIKE 'refused by%'")" = 0 ] ||
        fail "a client planted a reason starting 'refused by'"

# ===== the spool: a writer that pauses half-way, a symbolic link swapped in
SPOOL=$WORK/spool
mkdir -p "$SPOOL/incoming"
EDUSTAT_SPOOL_QUIET_MS=3000 EDUSTAT_COLLECTOR_SECRET=$WORK/keys/honest.key_secret \
        EDUSTAT_OUTBOX=$WORK/outbox-spool.db "$COLLECTOR_BIN" run --spool "$SPOOL" >"$WORK/run.log" 2>&1 &
RUN_PID=$!
STACK_EXTRA_PIDS="$STACK_EXTRA_PIDS $RUN_PID"
# wait_file PATH SECONDS: until PATH exists.
wait_file() {
        for _ in $(seq 1 $(($2 * 10))); do
                [ -e "$1" ] && return 0
                sleep 0.1
        done
        return 1
}
# A symbolic link to a file outside the spool (another school's figures) is never read.
printf 'unit,period,indicator,value\n%s,2022,pupils,4242\n' "$HONEST" >"$WORK/secret.csv"
ln -s "$WORK/secret.csv" "$SPOOL/incoming/link.csv"
# Written in place with a pause of two polls (less than the quiet time): read whole or not at all.
exec 7>"$SPOOL/incoming/paused.csv"
printf 'unit,period,indicator,value\n%s,2021,pupils,1201\n' "$HONEST" >&7
sleep 2.2
printf '%s,2021,teachers,1202\n%s,2021,classes,1203\n' "$HONEST" "$HONEST" >&7
exec 7>&-
# A name that alternates between a regular file and a link to secret.csv (each an atomic rename).
printf 'unit,period,indicator,value\n%s,2022,teachers,5151\n' "$HONEST" >"$WORK/swap-regular.csv"
for _ in $(seq 1 15); do
        ln -sfn "$WORK/secret.csv" "$SPOOL/incoming/.swap-link"
        mv -T "$SPOOL/incoming/.swap-link" "$SPOOL/incoming/swap.csv"
        sleep 0.15
        cp "$WORK/swap-regular.csv" "$SPOOL/incoming/.swap-file"
        mv -T "$SPOOL/incoming/.swap-file" "$SPOOL/incoming/swap.csv"
        sleep 0.15
done
wait_file "$SPOOL/done/paused.csv.receipt" 30 || fail "spool: paused.csv was not delivered within 30 s: $(cat "$WORK/run.log")"
wait_file "$SPOOL/done/swap.csv.receipt" 30 || fail "spool: swap.csv was not delivered within 30 s: $(cat "$WORK/run.log")"
sleep 2 # two more polls for link.csv
got=$(q "SELECT string_agg(indicator || '=' || value, ' ' ORDER BY indicator) FROM edustat.unit_value
         WHERE unit = '$HONEST' AND period = '2021'")
[ "$got" = "classes=1203 pupils=1201 teachers=1202" ] ||
        fail "spool: the paused writer's file landed as '$got', want all three rows"
ls "$SPOOL/done" "$SPOOL/failed" | grep -q 'paused\.[0-9]' &&
        fail "spool: paused.csv was taken more than once: $(ls "$SPOOL/done" "$SPOOL/failed")"
head -n 1 "$SPOOL/done/paused.csv.receipt" | grep -q '3 records' ||
        fail "spool: paused.csv's receipt: $(head -n 1 "$SPOOL/done/paused.csv.receipt")"
[ "$(q "SELECT count(*) FROM edustat.unit_value WHERE value = 4242")" = 0 ] ||
        fail "spool: the collector followed a symbolic link and sent secret.csv"
[ "$(q "SELECT value FROM edustat.unit_value WHERE unit = '$HONEST' AND period = '2022' AND indicator = 'teachers'")" = 5151 ] ||
        fail "spool: the regular file under swap.csv did not land"
[ -L "$SPOOL/incoming/link.csv" ] || fail "spool: link.csv was moved out of incoming/"
kill -TERM "$RUN_PID"
stack_wait_exit "$RUN_PID" 10 || fail "edustat-collector run did not stop on SIGTERM"

# ===== a rejection flood with big sources, and an honest school meanwhile
# honest_loop: `submit` of a small file every HONEST_EVERY_S seconds, one
# period per run, until the flood is done (at least 3 runs, at most
# HONEST_MAX_RUNS); "RUN RC MILLISECONDS PERIOD" lines in WORK/honest.txt.
honest_loop() {
        local i=0 y m p t0 t1 rc
        : >"$WORK/honest.txt"
        while [ $i -lt $HONEST_MAX_RUNS ]; do
                [ -e "$WORK/flood.done" ] && [ $i -ge 3 ] && break
                i=$((i + 1))
                y=$((2024 - (i - 1) / 12))
                m=$(((i - 1) % 12 + 1))
                p=$(printf '%d%02d' $y $m)
                printf 'unit,period,indicator,value\n%s,%s,pupils,%d\n%s,%s,teachers,%d\n%s,%s,classes,%d\n' \
                        "$HONEST" "$p" $((1000 + i)) "$HONEST" "$p" $((100 + i)) "$HONEST" "$p" $((20 + i)) \
                        >"$WORK/honest-$i.csv"
                t0=${EPOCHREALTIME/./}
                timeout $((HONEST_MAX_S + 30)) env EDUSTAT_COLLECTOR_SECRET="$WORK/keys/honest.key_secret" \
                        EDUSTAT_OUTBOX="$WORK/outbox-honest.db" \
                        "$COLLECTOR_BIN" submit --timeout $((HONEST_MAX_S + 20)) "$WORK/honest-$i.csv" \
                        >"$WORK/honest-$i.out" 2>&1
                rc=$?
                t1=${EPOCHREALTIME/./}
                echo "$i $rc $(((t1 - t0) / 1000)) $p" >>"$WORK/honest.txt"
                sleep "$HONEST_EVERY_S"
        done
}

rm -f "$WORK/sampler.stop" "$WORK/flood.done" "$WORK/rss.over"
limit=
[ "$MEMORY_CHECKED" = 1 ] && limit=$((2 * MAX_RSS_MB * 1024)) # far past the bound: stop the flood
stack_sample_rss "$AGG_PID" "$WORK/rss" ${limit:+"$limit"} &
SAMPLER=$!
STACK_EXTRA_PIDS="$STACK_EXTRA_PIDS $SAMPLER"
sleep 0.3
IDLE_KB=$(awk '{print $2}' "$WORK/rss" | sort -n | tail -n 1)
honest_loop &
HONEST_PID=$!
STACK_EXTRA_PIDS="$STACK_EXTRA_PIDS $HONEST_PID"
sleep 1
T_FLOOD=${EPOCHREALTIME/./}
py "$EDUSTAT_AGGREGATOR" "$EDUSTAT_KEYS" "$HOSTILE" "$WORK/rss.over" "$FLOOD_BATCHES" "$FLOOD_RECORDS" "$FLOOD_BIG_RAW" \
        "$FLOOD_SMALL_RAW" "$FLOOD_WHY" "$FLOOD_TIMEOUT_S" >"$WORK/flood.out" 2>&1 <<'PY'
import sys, time, zmq, msgpack, edustat_client as ec
ep, keys, own, stopfile = sys.argv[1:5]
nb, nr, nbig, small, why, timeout = (int(x) for x in sys.argv[5:11])
source = ("flood-" + "S" * 4096)[:4096]
msgs = []
for b in range(nb):
    us = int(time.time() * 1e6)
    recs = []
    for i in range(nr):
        raw = ("%d,%s," % (i, own)) + ("R" * (4096 if i < nbig else small))
        recs.append([i + 2, ec.version_at(us, i), own, "2024", "pupils", "1", raw[:4096],
                     "row %d: %s" % (i + 2, "why " * why)])
    m = msgpack.packb(["submit", 2, "hostile", "flood-%02d" % b, source, recs], use_bin_type=True)
    if len(m) > 16 * 1024 * 1024 - 65536:
        print("FAIL a flood submit of %d bytes is too close to the 16 MiB limit" % len(m))
        sys.exit(1)
    msgs.append(("flood-%02d" % b, m))
print("built %d submits of %d bytes" % (len(msgs), len(msgs[0][1])))
sys.stdout.flush()
ctx = zmq.Context()
s = ec.curve_dealer(ctx, ep, keys, "hostile")
t0 = time.monotonic()
def on(bid, reply, t):
    n = len(reply[4]) if reply[0] == "ack" else -1
    print("reply %s %s %s rejected=%d %.1fs" % (bid, reply[0], reply[2] if reply[0] == "ack" else ascii(reply[2])[:200], n, t))
    sys.stdout.flush()
import os
# Like a collector's outbox: what is not answered within 10 s is sent again
# (the aggregator leaves a key's batches unanswered while it is over its budget).
r = {}
deadline = time.monotonic() + timeout
pending = msgs
while pending and time.monotonic() < deadline and not os.path.exists(stopfile):
    r.update(ec.send_all(s, pending, min(10, deadline - time.monotonic()), on,
                         lambda: os.path.exists(stopfile)))
    pending = [m for m in msgs if m[0] not in r]
    if pending:
        print("resending %d unanswered batches" % len(pending))
        sys.stdout.flush()
if os.path.exists(stopfile):
    print("stopped: the aggregator's RSS passed twice the bound")
print("flood: %d of %d replies in %.1f s" % (len(r), len(msgs), time.monotonic() - t0))
bad = [b for b, (rep, _) in r.items() if not (rep[0] == "ack" and rep[2] == 0 and len(rep[4]) == nr)]
if len(r) != len(msgs) or bad:
    print("FAIL: want an ack of 0 accepted and %d rejected for each of %d batches; bad: %s" % (nr, len(msgs), bad))
PY
rc=$?
T_DONE=${EPOCHREALTIME/./}
touch "$WORK/flood.done"
echo "hostile: flood of $FLOOD_BATCHES x $FLOOD_RECORDS refused rows took $(((T_DONE - T_FLOOD) / 1000000)) s"
[ "$rc" -eq 0 ] && ! grep -q '^FAIL' "$WORK/flood.out" || fail "the flood: $(grep -v '^reply' "$WORK/flood.out" | head -c 2000)"
stack_wait_exit "$HONEST_PID" $((HONEST_MAX_RUNS * (HONEST_MAX_S + 35))) || abort "the honest loop did not end"
touch "$WORK/sampler.stop"
stack_wait_exit "$SAMPLER" 5
HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$AGG_PID/status")
PEAK_KB=$(awk '$2 > m {m = $2} END {print m + 0}' "$WORK/rss")
AFTER_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$AGG_PID/status")
echo "hostile: aggregator RSS idle $((IDLE_KB / 1024)) MB, sampled peak $((PEAK_KB / 1024)) MB, VmHWM $((HWM_KB / 1024)) MB, after $((AFTER_KB / 1024)) MB"

# The honest school: every submit exited 0 within HONEST_MAX_S.
runs=$(wc -l <"$WORK/honest.txt")
echo "hostile: honest submits (run rc ms period): $(tr '\n' ';' <"$WORK/honest.txt")"
[ "$runs" -ge 3 ] || fail "only $runs honest submits ran"
while read -r i rc ms p; do
        [ "$rc" -eq 0 ] || fail "honest submit $i (period $p) during the flood exited $rc: $(cat "$WORK/honest-$i.out")"
        [ "$ms" -le $((HONEST_MAX_S * 1000)) ] || fail "honest submit $i (period $p) took $ms ms, more than $HONEST_MAX_S s"
done <"$WORK/honest.txt"
collector honest submit --timeout 30 >"$WORK/honest-drain.out" 2>&1 ||
        fail "the honest outbox could not be drained: $(cat "$WORK/honest-drain.out")"
while read -r i rc ms p; do
        got=$(q "SELECT string_agg(indicator || '=' || value, ' ' ORDER BY indicator) FROM edustat.unit_value
                 WHERE unit = '$HONEST' AND period = '$p'")
        want="classes=$((20 + i)) pupils=$((1000 + i)) teachers=$((100 + i))"
        [ "$got" = "$want" ] || fail "honest submit $i: unit_value for $p is '$got', want '$want'"
done <"$WORK/honest.txt"

# The budget held the flooding key back, and only it.
grep -q "collector hostile sends faster than its share" "$WORK/aggregator.log" ||
        fail "the aggregator never held the flooding key back (no 'sends faster than its share' for hostile)"
grep "sends faster than its share" "$WORK/aggregator.log" | grep -v "collector hostile " &&
        fail "the aggregator held back a key other than the flooding one (above)"

# Memory.
if [ "$MEMORY_CHECKED" = 1 ]; then
        for kb in "$PEAK_KB" "$HWM_KB"; do
                [ "$kb" -lt $((MAX_RSS_MB * 1024)) ] ||
                        fail "the aggregator's RSS reached $((kb / 1024)) MB during the flood, more than $MAX_RSS_MB MB"
        done
else
        echo "hostile: memory not checked (EDUSTAT_SANITIZE=$EDUSTAT_SANITIZE)"
fi

# edustat.rejected: every hostile row; raw only for the first 1,000 of each batch.
got=$(q "SELECT count(DISTINCT batch_id) || ' ' || count(*) || ' ' || count(raw) || ' ' ||
                count(*) FILTER (WHERE raw IS NOT NULL AND line > 1001) || ' ' ||
                count(*) FILTER (WHERE raw IS NULL AND line <= 1001) || ' ' ||
                count(*) FILTER (WHERE reason NOT LIKE 'row %: why why%')
         FROM edustat.rejected WHERE collector = 'hostile' AND batch_id LIKE 'flood-%'")
want="$FLOOD_BATCHES $((FLOOD_BATCHES * FLOOD_RECORDS)) $((FLOOD_BATCHES * 1000)) 0 0 0"
[ "$got" = "$want" ] ||
        fail "edustat.rejected of the flood (batches rows with_raw raw_after_1000 no_raw_in_first_1000 other_reason): got '$got', want '$want'"
got=$(q "SELECT count(*) FROM edustat.rejected WHERE collector = 'hostile' AND batch_id LIKE 'flood-%'
           AND line <= 1001 AND raw <> ((line - 2) || ',$HOSTILE,' || repeat('R', 4096 - length((line - 2) || ',$HOSTILE,')))")
[ "$got" = 0 ] || fail "$got flood rows kept a raw text other than the one sent"
got=$(q "SELECT count(DISTINCT reason) FILTER (WHERE length(reason) > 203) FROM edustat.rejected WHERE collector = 'hostile'")
[ "$got" = 0 ] || fail "$got client reasons longer than 200 bytes and '...' were stored"

# The sink dropped nothing.
grep -Ei 'dropped|too large|oversized|malformed' "$WORK/sink.log" &&
        fail "the sink logged a dropped or oversized message (above)"
grep -q 'not sent' "$WORK/aggregator.log" && fail "the aggregator refused a uow too large to send: $(grep 'not sent' "$WORK/aggregator.log")"

# Still standing, and consistent.
kill -0 "$AGG_PID" 2>/dev/null || fail "the aggregator died"
kill -0 "$SINK_PID" 2>/dev/null || fail "the sink died"
"$SINK_BIN" --check --db-url "$EDUSTAT_DB_URL" >"$WORK/check.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "edustat-sink --check exited $rc, want 0: $(head -n 20 "$WORK/check.out")"

stack_finish
