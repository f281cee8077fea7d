#!/usr/bin/env bash
#
# protocol2.sh BUILD_ROOT SOURCE_ROOT: the collector link of protocol
# version 2 with the real daemons over CURVE and a throwaway PostgreSQL,
# driven by tests/lib/edustat_client.py (written from docs/PROTOCOL.md, not
# from the collector's code) so that the test chooses batch ids and versions,
# and by edustat-collector where its output is the contract.
#
#   - a batch is (collector, batch_id): two collectors (two keys, two names)
#     sending the same batch id both get their own batch stored and acked
#     with their own counts, and both rejections of one line are stored;
#   - the same collector reusing a batch id with other content gets
#     "error" "batch id X was used before with other content", and its first
#     batch stays; an identical resend is acked as before (also after an
#     aggregator restart); edustat-collector shows the error and exits
#     non-zero;
#   - a version more than EDUSTAT_MAX_CLOCK_SKEW (300 s) ahead of the
#     server's clock is rejected ("version is 3 days ahead of the server
#     clock; fix this machine's clock"), in the ack and in edustat.rejected;
#     one 60 s ahead is accepted;
#   - a valid record older than the stored one with another value is "stale":
#     the ack lists it with the stored value, collector and version, and
#     unit_value keeps the newer one; an identical old resend is not stale;
#     edustat-collector prints "FILE:LINE: not stored: a newer value (V) was
#     submitted by NAME at YYYY-MM-DD HH:MM", counts it in the receipt line
#     and exits 0;
#   - an outbox the protocol-1 collector left (data/outbox-v1.db) is
#     delivered as protocol 2, and its values land;
#   - ["submit", 1, ...] is refused naming the version; an empty or
#     non-ASCII batch id and a nil source are refused; the error carries the
#     batch id when it could be read; a record that cannot be decoded is
#     named by its line.
#
# Versions are computed here: microseconds since the Unix epoch x 1024 +
# the record's index (docs/PROTOCOL.md).

BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init protocol2
trap stack_exit EXIT
stack_python
export TZ=UTC

stack_prepare "$SRC/tests/integration/data/config"
CITY=330100
stack_collector_key alpha "$CITY"
stack_collector_key beta "$CITY"
stack_start
echo "protocol2: sink $SINK_PORT, aggregator $AGG_PORT, work $WORK"

q() { psql -AtX -v ON_ERROR_STOP=1 -c "$1"; }

# now_v [SECONDS_AHEAD]: a version for "now" (+ seconds), index 0.
now_v() { echo $((($(date +%s%6N) + ${1:-0} * 1000000) * 1024)); }

# rec LINE VERSION UNIT INDICATOR VALUE: a record (period 2024) as JSON.
rec() { printf '[%s,%s,"%s","2024","%s","%s",null,null]' "$1" "$2" "$3" "$4" "$5"; }

# submit_msg COLLECTOR BATCH SOURCE RECORD...: a protocol 2 submit as JSON.
submit_msg() {
        local c=$1 b=$2 s=$3 recs
        shift 3
        recs=$(
                IFS=,
                echo "$*"
        )
        printf '["submit",2,"%s","%s","%s",[%s]]' "$c" "$b" "$s" "$recs"
}

# send KEY OUTFILE MESSAGE...: the client as KEY; its replies in OUTFILE.
send() {
        local key=$1 out=$2
        shift 2
        stack_client --key "$key" --timeout 20 "$@" >"$out" 2>&1 ||
                fail "client ($key): no reply to $(head -c 300 <<<"$*"): $(cat "$out")"
}

# expect_lines FILE WHAT LINE...: FILE holds exactly these lines, in this order.
expect_lines() {
        local f=$1 what=$2 want
        shift 2
        want=$(printf '%s\n' "$@")
        [ "$(cat "$f")" = "$want" ] || fail "$what: got [$(tr '\n' '|' <"$f")], want [$(tr '\n' '|' <<<"$want")]"
}

# expect_error FILE WHAT BATCH MESSAGE: FILE is one error reply for BATCH
# whose message starts with MESSAGE (more explanation may follow).
expect_error() {
        local f=$1 what=$2 b=$3 m=$4
        [ "$(wc -l <"$f")" = 1 ] && [ "${m}" = "$(head -n 1 "$f" | cut -c $((8 + ${#b}))- | cut -c 1-${#m})" ] &&
                [ "$(cut -d' ' -f1-2 "$f")" = "error $b" ] ||
                fail "$what: got [$(tr '\n' '|' <"$f")], want [error $b $m...]"
}

# expect_resend FILE WHAT BATCH ACCEPTED CHANGED [LINE...]: the ack of an
# identical resend: as the first one, with CHANGED or 0 changed records
# (the first delivery changed them already).
expect_resend() {
        local f=$1 what=$2 b=$3 a=$4 c=$5
        shift 5
        if [ "$(head -n 1 "$f")" = "ack $b $a 0" ]; then
                c=0
        fi
        expect_lines "$f" "$what" "ack $b $a $c" "$@"
}

val() { q "SELECT coalesce((SELECT value::text FROM edustat.unit_value WHERE unit = '$1' AND period = '2024' AND indicator = '$2'), 'absent')"; }

# ===== a batch is (collector, batch_id)
V=$(now_v)
A1=$(rec 2 "$V" 2133810001 pupils 101),$(rec 3 $((V + 1)) 2133810001 teachers 11),$(rec 4 $((V + 2)) 9999999999 pupils 1)
B1=$(rec 2 "$V" 2133810002 pupils 202),$(rec 3 $((V + 1)) 2133810002 teachers 22),$(rec 4 $((V + 2)) 9999999998 pupils 2),$(rec 5 $((V + 3)) 2133810002 classes 9)
send alpha "$WORK/same-a.out" "$(submit_msg alpha same-batch a.csv "$A1")"
send beta "$WORK/same-b.out" "$(submit_msg beta same-batch b.csv "$B1")"
expect_lines "$WORK/same-a.out" "alpha's batch same-batch" "ack same-batch 2 2" \
        'rejected 4 unknown unit "9999999999"'
expect_lines "$WORK/same-b.out" "beta's batch same-batch (same id, another collector)" \
        "ack same-batch 3 3" 'rejected 4 unknown unit "9999999998"'
[ "$(val 2133810001 pupils)/$(val 2133810001 teachers)" = 101/11 ] || fail "alpha's batch is not stored"
[ "$(val 2133810002 pupils)/$(val 2133810002 teachers)/$(val 2133810002 classes)" = 202/22/9 ] ||
        fail "beta's batch with alpha's batch id is not stored"
got=$(q "SELECT string_agg(collector || ':' || unit || ':' || indicator, ' ' ORDER BY collector, unit, indicator)
         FROM edustat.value_history WHERE batch_id = 'same-batch'")
[ "$got" = "alpha:2133810001:pupils alpha:2133810001:teachers beta:2133810002:classes beta:2133810002:pupils beta:2133810002:teachers" ] ||
        fail "value_history of batch same-batch: got '$got'"
got=$(q "SELECT string_agg(collector || ':' || line || ':' || source || ':' || unit, ' ' ORDER BY collector)
         FROM edustat.rejected WHERE batch_id = 'same-batch'")
[ "$got" = "alpha:4:a.csv:9999999999 beta:4:b.csv:9999999998" ] ||
        fail "edustat.rejected of batch same-batch (line 4 of two collectors): got '$got'"
# An identical resend by alpha: acked as before, nothing changed, stored once.
send alpha "$WORK/same-a2.out" "$(submit_msg alpha same-batch a.csv "$A1")"
expect_resend "$WORK/same-a2.out" "alpha's identical resend of same-batch" same-batch 2 2 \
        'rejected 4 unknown unit "9999999999"'
[ "$(q "SELECT count(*) FROM edustat.rejected WHERE batch_id = 'same-batch'")" = 2 ] ||
        fail "a resend stored its rejection again"

# ===== the same collector reusing a batch id with other content
V=$(now_v)
R1=$(rec 2 "$V" 2133810003 pupils 300)
R2=$(rec 2 $((V + 5)) 2133810003 pupils 301),$(rec 3 $((V + 6)) 2133810003 books 7)
send alpha "$WORK/reuse1.out" "$(submit_msg alpha reuse-1 r.csv "$R1")"
expect_lines "$WORK/reuse1.out" "alpha's batch reuse-1" "ack reuse-1 1 1"
send alpha "$WORK/reuse2.out" "$(submit_msg alpha reuse-1 r.csv "$R2")"
expect_error "$WORK/reuse2.out" "alpha reusing reuse-1 with other content" reuse-1 \
        "batch id reuse-1 was used before with other content"
send alpha "$WORK/reuse3.out" "$(submit_msg alpha reuse-1 r.csv "$R1")"
expect_resend "$WORK/reuse3.out" "alpha's identical resend of reuse-1" reuse-1 1 1
# Another collector may use that id with that other content.
send beta "$WORK/reuse4.out" "$(submit_msg beta reuse-1 r.csv "$(rec 2 $((V + 5)) 2133810003 books 7)")"
expect_lines "$WORK/reuse4.out" "beta using alpha's batch id reuse-1" "ack reuse-1 1 1"
[ "$(val 2133810003 pupils)" = 300 ] || fail "reuse-1: the first batch's value is not stored (got $(val 2133810003 pupils), want 300)"

# After an aggregator restart (it forgets the digests: docs/PROTOCOL.md)
# an identical resend is still acked, and nothing was lost.
kill -TERM "$AGG_PID"
stack_wait_exit "$AGG_PID" 15 || abort "the aggregator did not stop on SIGTERM"
[ "$STACK_RC" -eq 0 ] || fail "the aggregator exited $STACK_RC on SIGTERM, want 0"
"$AGG_BIN" >"$WORK/aggregator-restarted.log" 2>&1 &
AGG_PID=$!
stack_wait "restarted aggregator" "$AGG_PID" "$WORK/aggregator-restarted.log"
send alpha "$WORK/reuse6.out" "$(submit_msg alpha reuse-1 r.csv "$R1")"
expect_resend "$WORK/reuse6.out" "after a restart, alpha's identical resend of reuse-1" reuse-1 1 1
[ "$(val 2133810003 pupils)" = 300 ] || fail "reuse-1 after the restart: pupils is $(val 2133810003 pupils), want 300"

# edustat-collector meets a reused id: its batch waits in the outbox (no
# aggregator at a dead port), alpha's client takes that id first with other
# content, then the outbox is delivered.
read -r DEAD_PORT _ <<<"$(stack_ports)"
printf 'unit,period,indicator,value\n3133810004,2024,pupils,444\n' >"$WORK/reused.csv"
col_alpha() {
        EDUSTAT_COLLECTOR_SECRET=$WORK/keys/alpha.key_secret EDUSTAT_OUTBOX=$WORK/outbox-alpha.db \
                "$COLLECTOR_BIN" "$@"
}
EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$DEAD_PORT col_alpha submit --timeout 2 "$WORK/reused.csv" \
        >"$WORK/reused1.out" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "submit to a dead port exited $rc, want 3"
ID=$("$STACK_PY" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT batch_id FROM batch").fetchone()[0])' \
        "$WORK/outbox-alpha.db" 2>&1)
case $ID in
'' | *' '*) fail "cannot read the waiting batch id from the outbox: $ID" ;;
*)
        send alpha "$WORK/reused-py.out" "$(submit_msg alpha "$ID" other.csv "$(rec 2 "$(now_v)" 3133810005 pupils 555)")"
        expect_lines "$WORK/reused-py.out" "the client taking the outbox's batch id first" "ack $ID 1 1"
        col_alpha submit --timeout 20 >"$WORK/reused2.out" 2>"$WORK/reused2.err"
        rc=$?
        [ "$rc" -ne 0 ] || fail "edustat-collector delivering a batch whose id was used with other content exited 0"
        # A refusal is final (README: exit 3, the batch leaves the outbox).
        col_alpha status >"$WORK/reused-status.out" 2>&1 ||
                fail "a refused batch still waits in the outbox: $(cat "$WORK/reused-status.out")"
        grep -qF "batch id $ID was used before with other content" "$WORK/reused2.err" ||
                fail "edustat-collector did not show 'batch id $ID was used before with other content' on stderr:" \
                        "$(cat "$WORK/reused2.out" "$WORK/reused2.err")"
        [ "$(q "SELECT value FROM edustat.unit_value WHERE unit = '3133810005' AND indicator = 'pupils'")" = 555 ] ||
                fail "the first batch with id $ID is not in unit_value"
        [ "$(val 3133810004 pupils)" = absent ] ||
                fail "the refused batch (reused id) was stored: 3133810004 pupils = $(val 3133810004 pupils)"
        ;;
esac

# ===== versions: clock skew
V=$(now_v)
V3D=$(now_v $((3 * 86400)))
V60=$(now_v 60)
send alpha "$WORK/skew.out" "$(submit_msg alpha skew-1 skew.csv "$(rec 2 "$V3D" 1133810006 kg_children 66)" \
        "$(rec 3 $((V + 1)) 1133810006 teachers 6)" "$(rec 4 "$V60" 1133810006 classes 5)")"
if ! grep -q "^ack skew-1 2 2$" "$WORK/skew.out"; then
        fail "skew-1: want 'ack skew-1 2 2', got: $(tr '\n' '|' <"$WORK/skew.out")"
fi
grep -q "^rejected 2 version is 3 days ahead of the server clock; fix this machine's clock$" "$WORK/skew.out" ||
        fail "skew-1: line 2 (3 days ahead) not rejected with the skew reason: $(tr '\n' '|' <"$WORK/skew.out")"
[ "$(grep -c '^rejected' "$WORK/skew.out")" = 1 ] ||
        fail "skew-1: a version 60 s ahead was rejected (the limit is 300 s): $(tr '\n' '|' <"$WORK/skew.out")"
got=$(q "SELECT collector || '|' || line || '|' || unit || '|' || indicator || '|' || reason
         FROM edustat.rejected WHERE batch_id = 'skew-1'")
[ "$got" = "alpha|2|1133810006|kg_children|version is 3 days ahead of the server clock; fix this machine's clock" ] ||
        fail "edustat.rejected for skew-1: got '$got'"
[ "$(val 1133810006 kg_children)/$(val 1133810006 teachers)/$(val 1133810006 classes)" = absent/6/5 ] ||
        fail "skew-1 stored: kg_children/teachers/classes = $(val 1133810006 kg_children)/$(val 1133810006 teachers)/$(val 1133810006 classes), want absent/6/5"

# ===== versions: stale
K=2133820001
VHI=$(now_v 60)
VLO=$(now_v)
send alpha "$WORK/stale1.out" "$(submit_msg alpha stale-1 new.csv "$(rec 2 "$VHI" "$K" pupils 12)")"
expect_lines "$WORK/stale1.out" "stale-1 (the newer value)" "ack stale-1 1 1"
send beta "$WORK/stale2.out" "$(submit_msg beta stale-2 old.csv "$(rec 7 "$VLO" "$K" pupils 9)" \
        "$(rec 8 $((VLO + 1)) "$K" teachers 3)")"
expect_lines "$WORK/stale2.out" "stale-2 (an older, other value)" "ack stale-2 2 1" \
        "stale 7 12 alpha $VHI"
[ "$(q "SELECT value || '|' || version FROM edustat.unit_value WHERE unit = '$K' AND indicator = 'pupils'")" = "12|$VHI" ] ||
        fail "a stale record changed unit_value: $(q "SELECT value || '|' || version FROM edustat.unit_value WHERE unit = '$K' AND indicator = 'pupils'")"
[ "$(q "SELECT count(*) FROM edustat.value_history WHERE unit = '$K' AND indicator = 'pupils'")" = 1 ] ||
        fail "a stale record went into value_history"
[ "$(q "SELECT count(*) FROM edustat.rejected WHERE batch_id = 'stale-2'")" = 0 ] ||
        fail "a stale record was stored as rejected"
send beta "$WORK/stale3.out" "$(submit_msg beta stale-3 old.csv "$(rec 7 $((VLO + 9)) "$K" pupils 12)")"
expect_lines "$WORK/stale3.out" "stale-3 (an older version of the same value)" "ack stale-3 1 0"

# edustat-collector's receipt: a newer value stored 2 minutes ahead.
K2=2133820002
VHI2=$(now_v 120)
send alpha "$WORK/stale4.out" "$(submit_msg alpha stale-4 ahead.csv "$(rec 2 "$VHI2" "$K2" pupils 12)")"
expect_lines "$WORK/stale4.out" "stale-4 (2 minutes ahead)" "ack stale-4 1 1"
printf 'unit,period,indicator,value\n%s,2024,teachers,3\n%s,2024,pupils,8\n' "$K2" "$K2" >"$WORK/late.csv"
EDUSTAT_COLLECTOR_SECRET=$WORK/keys/beta.key_secret EDUSTAT_OUTBOX=$WORK/outbox-beta.db \
        "$COLLECTOR_BIN" submit --timeout 20 "$WORK/late.csv" >"$WORK/late.out" 2>"$WORK/late.err"
rc=$?
[ "$rc" -eq 0 ] || fail "edustat-collector with a stale record exited $rc, want 0: $(cat "$WORK/late.out" "$WORK/late.err")"
at=$(date -u -d "@$((VHI2 / 1024 / 1000000))" '+%Y-%m-%d %H:%M')
want="$WORK/late.csv:3: not stored: a newer value (12) was submitted by alpha at $at"
grep -qxF "$want" <(cat "$WORK/late.out" "$WORK/late.err") ||
        fail "edustat-collector did not print '$want': $(cat "$WORK/late.out" "$WORK/late.err")"
grep "^$WORK/late.csv: " "$WORK/late.out" | grep -q -E '\b1 (stale|not stored)' ||
        fail "the receipt line does not count 1 stale record: $(grep "^$WORK/late.csv: " "$WORK/late.out")"
[ "$(val "$K2" pupils)/$(val "$K2" teachers)" = 12/3 ] ||
        fail "late.csv: pupils/teachers = $(val "$K2" pupils)/$(val "$K2" teachers), want 12/3"

# The time is the collector machine's local time (README): in China, CST.
if [ -e /usr/share/zoneinfo/Asia/Shanghai ]; then
        K4=2133820004
        VHI4=$(now_v 90)
        send alpha "$WORK/stale5.out" "$(submit_msg alpha stale-5 ahead.csv "$(rec 2 "$VHI4" "$K4" books 5000)")"
        expect_lines "$WORK/stale5.out" "stale-5 (90 s ahead)" "ack stale-5 1 1"
        printf 'unit,period,indicator,value\n%s,2024,books,4000\n' "$K4" >"$WORK/late-cst.csv"
        TZ=Asia/Shanghai EDUSTAT_COLLECTOR_SECRET=$WORK/keys/beta.key_secret \
                EDUSTAT_OUTBOX=$WORK/outbox-beta.db "$COLLECTOR_BIN" submit --timeout 20 "$WORK/late-cst.csv" \
                >"$WORK/late-cst.out" 2>&1 || fail "late-cst.csv: submit exited $?, want 0"
        at=$(TZ=Asia/Shanghai date -d "@$((VHI4 / 1024 / 1000000))" '+%Y-%m-%d %H:%M')
        want="$WORK/late-cst.csv:2: not stored: a newer value (5000) was submitted by alpha at $at"
        grep -qxF "$want" "$WORK/late-cst.out" ||
                fail "with TZ=Asia/Shanghai, want '$want' (local time): $(cat "$WORK/late-cst.out")"
fi

# ===== edustat-collector's versions: microseconds x 1024 + index in the batch
K3=2133820003
printf 'unit,period,indicator,value\n%s,2024,pupils,31\n%s,2024,teachers,32\n%s,2024,classes,33\n' \
        "$K3" "$K3" "$K3" >"$WORK/versions.csv"
T0=$(date +%s%6N)
EDUSTAT_COLLECTOR_SECRET=$WORK/keys/beta.key_secret EDUSTAT_OUTBOX=$WORK/outbox-beta.db \
        "$COLLECTOR_BIN" submit --timeout 20 "$WORK/versions.csv" >"$WORK/versions.out" 2>&1 ||
        fail "versions.csv: submit exited $?: $(cat "$WORK/versions.out")"
T1=$(date +%s%6N)
read -r v0 v1 v2 <<<"$(q "SELECT string_agg(version::text, ' ' ORDER BY value) FROM edustat.unit_value WHERE unit = '$K3'")"
if [ -z "${v2:-}" ]; then
        fail "versions.csv is not stored"
else
        [ $((v1 - v0)) = 1 ] && [ $((v2 - v0)) = 2 ] ||
                fail "versions of one batch's records 0, 1, 2: want base + index, got $v0 $v1 $v2"
        [ $((v0 / 1024)) -ge "$T0" ] && [ $((v0 / 1024)) -le "$T1" ] ||
                fail "edustat-collector's version $v0 / 1024 = $((v0 / 1024)) µs is not the time of its submit ($T0..$T1)"
fi

# edustat.rejected is unique on (collector, batch_id, line, unit, period,
# indicator), NULLs alike: a batch is its collector's, and each refused cell
# of a wide row is kept.
[ "$(q "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'edustat' AND c.relname = 'rejected' AND i.indisunique
          AND i.indnullsnotdistinct
          AND (SELECT array_agg(attname::text ORDER BY attname) FROM pg_attribute
               WHERE attrelid = c.oid AND attnum = ANY (i.indkey))
              = ARRAY['batch_id', 'collector', 'indicator', 'line', 'period', 'unit']")" = 1 ] ||
        fail "edustat.rejected has no unique index on (collector, batch_id, line, unit, period, indicator) NULLS NOT DISTINCT"

# ===== an outbox left by the protocol-1 collector (data/outbox-v1.db: made by
# edustat-collector of commit f66666a, `submit old-v1.csv` to a dead port,
# EDUSTAT_COLLECTOR_NAME=old-collector; one batch of 3 records of school
# 3133820009, 2024: pupils 1290, teachers 97, classes 27, versions of
# 2026-12-04) is delivered by this collector as protocol 2.
cp "$SRC/tests/integration/data/outbox-v1.db" "$WORK/outbox-v1.db"
(cd "$WORK" && EDUSTAT_OUTBOX=$WORK/outbox-v1.db EDUSTAT_COLLECTOR_SECRET=$WORK/keys/beta.key_secret \
        "$COLLECTOR_BIN" submit --timeout 20) >"$WORK/v1-outbox.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "delivering a protocol-1 outbox: exit $rc, want 0: $(cat "$WORK/v1-outbox.out")"
got=$(q "SELECT string_agg(indicator || '=' || value || ':' || collector, ' ' ORDER BY indicator)
         FROM edustat.unit_value WHERE unit = '3133820009' AND period = '2024'")
[ "$got" = "classes=27:beta pupils=1290:beta teachers=97:beta" ] ||
        fail "the protocol-1 outbox's batch in unit_value: got '$got'"
grep -q "old-v1.csv: 3 records, 3 accepted (3 changed), 0 rejected" "$WORK/v1-outbox.out" ||
        fail "the protocol-1 outbox's receipt: $(cat "$WORK/v1-outbox.out")"
EDUSTAT_OUTBOX=$WORK/outbox-v1.db "$COLLECTOR_BIN" status >"$WORK/v1-status.out" 2>&1 ||
        fail "the protocol-1 outbox still holds batches after its delivery: $(cat "$WORK/v1-status.out")"

# ===== refusals of malformed submits
B=2133810001 # its books are never stored by any of these
V=$(now_v)
OK_REC=$(rec 2 "$V" "$B" books 5)
send alpha "$WORK/v1.out" "[\"submit\",1,\"alpha\",\"v1-batch\",\"x.csv\",[$OK_REC]]"
grep -q "^error v1-batch .*version" "$WORK/v1.out" && grep -q "1" <(sed 's/^error v1-batch //' "$WORK/v1.out") ||
        fail "protocol version 1: want an error for batch v1-batch naming the version, got: $(cat "$WORK/v1.out")"
send alpha "$WORK/empty.out" "$(submit_msg alpha "" x.csv "$OK_REC")"
grep -q "^error " "$WORK/empty.out" || fail "an empty batch id: want an error, got: $(cat "$WORK/empty.out")"
send alpha "$WORK/nonascii.out" "$(submit_msg alpha "批次一" x.csv "$OK_REC")"
grep -q "^error " "$WORK/nonascii.out" || fail "a non-ASCII batch id: want an error, got: $(cat "$WORK/nonascii.out")"
send alpha "$WORK/nilsrc.out" "[\"submit\",2,\"alpha\",\"nilsrc-1\",null,[$OK_REC]]"
grep -q "^error nilsrc-1 " "$WORK/nilsrc.out" ||
        fail "a nil source: want an error carrying batch nilsrc-1, got: $(cat "$WORK/nilsrc.out")"
send alpha "$WORK/badrec.out" "[\"submit\",2,\"alpha\",\"badrec-1\",\"x.csv\",[$(rec 5 "$V" "$B" books 5),[17,$((V + 1)),123,\"2024\",\"books\",\"6\",null,null]]]"
grep -q "^error badrec-1 .*\bline 17\b" "$WORK/badrec.out" ||
        fail "an undecodable record at line 17 (position 2): want an error for badrec-1 naming line 17, got: $(cat "$WORK/badrec.out")"
grep -q -E "record (1|2)\b" "$WORK/badrec.out" && fail "the decode error names the record by its position: $(cat "$WORK/badrec.out")"
[ "$(val "$B" books)" = absent ] || fail "a refused submit stored $B books = $(val "$B" books)"
# The aggregator still serves.
send alpha "$WORK/after.out" "$(submit_msg alpha after-1 x.csv "$(rec 2 "$(now_v)" "$B" classes 31)")"
expect_lines "$WORK/after.out" "a good batch after the refusals" "ack after-1 1 1"

"$SINK_BIN" --check --db-url "$EDUSTAT_DB_URL" >"$WORK/check.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "edustat-sink --check exited $rc, want 0: $(head -n 20 "$WORK/check.out")"

stack_finish
