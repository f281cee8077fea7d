#!/usr/bin/env bash
#
# security.sh BUILD_ROOT SOURCE_ROOT: authentication and authorization
# (docs/SECURITY.md) with the real daemons, CURVE on both links, a
# throwaway PostgreSQL.
#
#   - an unregistered key gets no connection: its submit is never confirmed
#     (exit 3), says at once that the aggregator refused the key (not
#     registered in collectors.csv), `status` shows it as the batch's last
#     error, and the aggregator logs the refusal with the peer's address;
#   - a school's key is accepted for its school and refused for another
#     school ("not authorized for unit X", stored in rejected under the
#     school's registered name, whatever name the client claims);
#   - a district office's key is accepted for its schools and refused for
#     another district's;
#   - units with children are authorized too: a school's key may not write
#     its district's or the city's population, a district's not the city's;
#   - SQL-looking text is stored verbatim as data;
#   - a login in edustat_reader can SELECT and cannot INSERT, UPDATE or DELETE;
#     it cannot create a temporary table, a statement past its timeout
#     (EDUSTAT_READER_STATEMENT_TIMEOUT=1s) is cancelled, and a third
#     connection past EDUSTAT_READER_CONNECTIONS=2 is refused.

BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init security

SCHOOL=2133810001   # 城关镇第一小学, under 330181
SCHOOL_B=2133810002 # its neighbour, same town
DISTRICT=330181
OTHER=2133820001 # 西山区第一小学, under 330182
CITY=$(awk -F, 'NR > 1 && $2 == "" {print $1; exit}' "$SRC/tests/integration/data/config/orgunits.csv")

stack_prepare "$SRC/tests/integration/data/config"
# Three more collectors: a school, a district office, and a stranger whose
# key is not registered.
pub() { "$KEYGEN_BIN" "$1" "$WORK/keys" | awk '{print $NF}'; }
{
        echo "$(pub school),school-$SCHOOL,$SCHOOL"
        echo "$(pub office),office-$DISTRICT,$DISTRICT"
} >>"$EDUSTAT_CONFIG/collectors.csv"
pub stranger >/dev/null
# An office login that exists when the sink starts gets its limits then:
# a 1 s statement timeout and 2 connections here.
psql -qAtX -v ON_ERROR_STOP=1 -c "CREATE ROLE edustat_reader NOLOGIN" \
        -c "CREATE ROLE office_login LOGIN IN ROLE edustat_reader" >/dev/null ||
        abort "cannot create the office login"
export EDUSTAT_READER_STATEMENT_TIMEOUT=1s EDUSTAT_READER_CONNECTIONS=2
stack_start
echo "security: sink $SINK_PORT, aggregator $AGG_PORT, work $WORK"

# submit AS FILE...: edustat-collector submit as collector AS (its key pair),
# claiming to be "impostor" so the test sees that the name comes from the key.
submit() {
        local as=$1
        shift
        EDUSTAT_COLLECTOR_SECRET=$WORK/keys/$as.key_secret EDUSTAT_COLLECTOR_NAME=impostor \
                EDUSTAT_OUTBOX=$WORK/outbox-$as.db \
                "$COLLECTOR_BIN" submit --timeout 10 "$@"
}

csv() { # csv NAME ROWS...: a file of unit,period,indicator,value rows
        local f=$WORK/$1
        shift
        printf 'unit,period,indicator,value\n' >"$f"
        printf '%s\n' "$@" >>"$f"
        printf '%s\n' "$f"
}

q() { psql -AtX -v ON_ERROR_STOP=1 -c "$1"; }

# ---- an unregistered key: no connection at all
f=$(csv stranger.csv "$SCHOOL,2024,pupils,999")
t0=${EPOCHREALTIME/./}
submit stranger "$f" >"$WORK/stranger.out" 2>&1
rc=$?
STRANGER_MS=$(((${EPOCHREALTIME/./} - t0) / 1000))
[ "$rc" -eq 3 ] || fail "unregistered key: exit $rc, want 3 (not confirmed)"
grep -q "not confirmed" "$WORK/stranger.out" || fail "unregistered key: no 'not confirmed' message"
grep -qF "the aggregator refused this key (not registered in collectors.csv)" "$WORK/stranger.out" ||
        fail "unregistered key: the collector does not say its key was refused: $(cat "$WORK/stranger.out")"
grep -q "no acknowledgement" "$WORK/stranger.out" &&
        fail "unregistered key: the collector blames a missing acknowledgement: $(cat "$WORK/stranger.out")"
# It gives up at the refusal, not at its 10 s timeout.
[ "${STRANGER_MS:-0}" -lt 8000 ] || fail "unregistered key: submit took $STRANGER_MS ms (the refusal should end it)"
EDUSTAT_OUTBOX=$WORK/outbox-stranger.db "$COLLECTOR_BIN" status >"$WORK/stranger-status.out" 2>&1
grep -qF "not registered in collectors.csv" "$WORK/stranger-status.out" ||
        fail "unregistered key: status does not show the refusal as the batch's last error: $(cat "$WORK/stranger-status.out")"
grep -q "refused CURVE client key .* from 127.0.0.1" "$WORK/aggregator.log" ||
        fail "the aggregator did not log the refused key with the peer's address"
[ "$(q "SELECT count(*) FROM edustat.unit_value WHERE value = 999")" = 0 ] ||
        fail "a value from an unregistered key was stored"

# ---- a school: its own unit yes, its neighbour no
f=$(csv school.csv "$SCHOOL,2024,pupils,410" "$SCHOOL_B,2024,pupils,420" "$OTHER,2024,pupils,430")
submit school "$f" >"$WORK/school.out" 2>"$WORK/school.err"
rc=$?
[ "$rc" -eq 1 ] || fail "school key: exit $rc, want 1 (delivered, some rejected)"
grep -qx "$f:3: not authorized for unit $SCHOOL_B" "$WORK/school.err" ||
        fail "school key: no 'not authorized for unit $SCHOOL_B' on line 3"
grep -qx "$f:4: not authorized for unit $OTHER" "$WORK/school.err" ||
        fail "school key: no 'not authorized for unit $OTHER' on line 4"
[ "$(q "SELECT value FROM edustat.unit_value WHERE unit = '$SCHOOL' AND indicator = 'pupils'")" = 410 ] ||
        fail "the school's own value was not stored"
[ "$(q "SELECT count(*) FROM edustat.unit_value WHERE unit IN ('$SCHOOL_B', '$OTHER')")" = 0 ] ||
        fail "a value for another school was stored"
got=$(q "SELECT string_agg(collector || ' ' || unit || ' ' || reason, '; ' ORDER BY line)
           FROM edustat.rejected WHERE source = '$f'")
want="school-$SCHOOL $SCHOOL_B not authorized for unit $SCHOOL_B; school-$SCHOOL $OTHER not authorized for unit $OTHER"
[ "$got" = "$want" ] || fail "rejected rows: got '$got', want '$want'"
[ "$(q "SELECT DISTINCT collector FROM edustat.value_history WHERE unit = '$SCHOOL'")" = "school-$SCHOOL" ] ||
        fail "value_history does not name the collector by its key"

# ---- a district office: its district and its schools yes, another district no
f=$(csv office.csv "$DISTRICT,2024,pop_3_5,5000" "$SCHOOL_B,2024,pupils,421" "$OTHER,2024,pupils,431")
submit office "$f" >"$WORK/office.out" 2>"$WORK/office.err"
rc=$?
[ "$rc" -eq 1 ] || fail "district key: exit $rc, want 1"
grep -qx "$f:4: not authorized for unit $OTHER" "$WORK/office.err" ||
        fail "district key: no 'not authorized for unit $OTHER' on line 4"
[ "$(q "SELECT value FROM edustat.unit_value WHERE unit = '$SCHOOL_B' AND indicator = 'pupils'")" = 421 ] ||
        fail "the district office's school value was not stored"
[ "$(q "SELECT count(*) FROM edustat.unit_value WHERE unit = '$OTHER'")" = 0 ] ||
        fail "the district office wrote another district's school"

# ---- units with children are authorized like schools: a school's key may
# not write its district's or the city's own values (their population), a
# district office's key not the city's
f=$(csv up-school.csv "$DISTRICT,2024,pop_3_5,6000" "$CITY,2024,pop_3_5,60000")
submit school "$f" >"$WORK/up-school.out" 2>"$WORK/up-school.err"
rc=$?
[ "$rc" -eq 1 ] || fail "school key writing its district and city: exit $rc, want 1"
grep -qx "$f:2: not authorized for unit $DISTRICT" "$WORK/up-school.err" ||
        fail "school key: no 'not authorized for unit $DISTRICT' for its district's population"
grep -qx "$f:3: not authorized for unit $CITY" "$WORK/up-school.err" ||
        fail "school key: no 'not authorized for unit $CITY' for the city's population"
f=$(csv up-office.csv "$CITY,2024,pop_3_5,60001")
submit office "$f" >"$WORK/up-office.out" 2>"$WORK/up-office.err"
rc=$?
[ "$rc" -eq 1 ] || fail "district key writing the city: exit $rc, want 1"
grep -qx "$f:2: not authorized for unit $CITY" "$WORK/up-office.err" ||
        fail "district key: no 'not authorized for unit $CITY' for the city's population"
[ "$(q "SELECT value FROM edustat.unit_value WHERE unit = '$DISTRICT' AND indicator = 'pop_3_5'")" = 5000 ] ||
        fail "the district's population changed: a school's key wrote it"
[ "$(q "SELECT count(*) FROM edustat.unit_value WHERE unit = '$CITY'")" = 0 ] ||
        fail "a school's or a district's key wrote the city's own value"

# ---- SQL-looking text is data
evil="x'); DROP TABLE edustat.unit_value; --"
f=$(csv evil.csv "$SCHOOL,2024,\"$evil\",1" "$SCHOOL,2024,pupils,\"1; DELETE FROM edustat.orgunit\"")
submit school "$f" >/dev/null 2>&1
[ "$(q "SELECT indicator FROM edustat.rejected WHERE source = '$f' AND line = 2")" = "$evil" ] ||
        fail "SQL-looking indicator not stored verbatim"
[ "$(q "SELECT count(*) FROM edustat.unit_value")" -ge 2 ] || fail "unit_value lost rows"
[ "$(q "SELECT count(*) > 0 FROM edustat.orgunit")" = t ] || fail "orgunit lost rows"

# ---- edustat_reader: read yes, write no
as_reader() { psql -AtX -U office_login -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
out=$(as_reader "SELECT count(*) FROM edustat.agg_value") || fail "reader cannot SELECT agg_value: $out"
for sql in "INSERT INTO edustat.unit_value (unit, period, indicator, value, version) VALUES ('x', '2024', 'pupils', 1, 1)" \
        "UPDATE edustat.unit_value SET value = 0" \
        "DELETE FROM edustat.rejected" \
        "CREATE TABLE edustat.mine (x int)"; do
        if out=$(as_reader "$sql"); then
                fail "reader could run: $sql"
        else
                case $out in *"permission denied"*) ;; *) fail "reader: unexpected error for $sql: $out" ;; esac
        fi
done

# ---- edustat_reader: no temporary tables, a statement timeout, a connection limit
out=$(as_reader "CREATE TEMP TABLE scratch (x int)") && fail "reader could create a temporary table"
case $out in *"permission denied"*) ;; *) fail "reader: unexpected error creating a temporary table: $out" ;; esac
q "CREATE TEMP TABLE sink_scratch (x int)" >/dev/null || fail "the sink's own role lost its temporary tables"
out=$(as_reader "SELECT pg_sleep(3)") && fail "reader's 3 s statement was not cut off by the 1 s timeout"
case $out in *"statement timeout"*) ;; *) fail "reader: unexpected error for a long statement: $out" ;; esac
# Two sessions (each turning its own timeout off for the test) fill the limit of 2.
HOLD_PIDS=
for _ in 1 2; do
        psql -AtX -U office_login -c "SET statement_timeout = 0" -c "SELECT pg_sleep(6)" >/dev/null 2>&1 &
        HOLD_PIDS="$HOLD_PIDS $!"
done
STACK_EXTRA_PIDS="$STACK_EXTRA_PIDS $HOLD_PIDS"
for _ in $(seq 1 40); do
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE usename = 'office_login'")" = 2 ] && break
        sleep 0.1
done
out=$(as_reader "SELECT 1") && fail "reader opened a third connection past its limit of 2"
case $out in *"too many connections"*) ;; *) fail "reader: unexpected error past the connection limit: $out" ;; esac
for pid in $HOLD_PIDS; do stack_wait_exit "$pid" 10; done

stack_finish
