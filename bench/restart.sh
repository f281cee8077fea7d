#!/usr/bin/env bash
#
# restart.sh: measurement 8 (bench/README.md), the aggregator's restart: how long
# the real edustat-aggregator takes from exec to "ready" when the sink holds
# RESTART_VALUES stored values (10M by default).
#
# Called by bench/run.sh (or bench/agg.sh) with a throwaway PostgreSQL
# running (PGHOST, PGPORT, PGUSER exported) and:
#
#   EDUSTAT_BENCH_WORK    scratch directory (this script uses WORK/restart)
#   EDUSTAT_BENCH_DATA    a bench/gen.py output: its config/ is the tree
#   EDUSTAT_BENCH_OUT     results: appends to OUT/restart.tsv (RESTART_TSV
#                         overrides the file)
#   EDUSTAT_BENCH_BUILD   meson build directory (BUILD/edustat-*)
#   EDUSTAT_BENCH_RUNS    runs (>= 3 for the report)
#   EDUSTAT_BENCH_SMOKE   1: 20000 values, seconds
# Optional: RESTART_VALUES (values to store; default 10000000, smoke 20000).
#
# Set-up, untimed, once:
#   1. a database of its own (createdb), and the real edustat-sink on it,
#      with CURVE keys as in production, which creates the schema and loads
#      the config (orgunit, indicator);
#   2. RESTART_VALUES rows straight into edustat.unit_value, generated in
#      PostgreSQL from the loaded tree: every school x every count/amount
#      indicator x as many periods (2024, 2025, ...) as it takes, values
#      like bench/gen.py's (counts 1..4096, amounts 0.01..100000.00).  The
#      primary key is dropped for the load and rebuilt after it (the same
#      constraint), then VACUUM FREEZE and CHECKPOINT, so every run reads
#      the same clean pages.  The sync reads unit_value and sink_state (no
#      row for this aggregator: last_seq 0) and nothing else.
# Each run:
#   3. start edustat-aggregator and time from just before the exec to its
#      log line "ready: accepting collectors" (it logs it after the whole
#      state arrived through the sink's COPY ... TO STDOUT stream, was
#      applied and rolled up, and the collector socket is bound: the moment
#      a collector can be served).  restart_s.
#   4. info: the aggregator's own "state loaded ... in N ms", the sink's
#      "sent N stored values ... in S s", and the time from ready until the
#      sink committed the aggregator's first uow, which rewrites every
#      aggregate row after a rebuild (info_restart_rewrite_s): collectors'
#      acks wait behind it.
#   5. SIGTERM, wait for exit.
#
# Output: "metric<TAB>value<TAB>unit<TAB>note" lines.  Exits 1 when a run
# failed.  Everything started here is stopped by PID on exit; the database
# is dropped unless EDUSTAT_KEEP_WORK=1.

set -u

SRC=$(cd "$(dirname "$0")/.." && pwd) || exit 2
: "${EDUSTAT_BENCH_WORK:?}" "${EDUSTAT_BENCH_DATA:?}" "${EDUSTAT_BENCH_OUT:?}"
: "${EDUSTAT_BENCH_BUILD:?}"
RUNS=${EDUSTAT_BENCH_RUNS:-3}
SMOKE=${EDUSTAT_BENCH_SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
        VALUES=${RESTART_VALUES:-20000}
else
        VALUES=${RESTART_VALUES:-10000000}
fi
TSV=${RESTART_TSV:-$EDUSTAT_BENCH_OUT/restart.tsv}
WORK=$EDUSTAT_BENCH_WORK/restart
BUILD=$EDUSTAT_BENCH_BUILD
DB=edustat_restart
# shellcheck source=../tests/lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_lib
STACK_NAME=restart.sh
STACK_READY_POLL=0.02 # the restart time is measured to the readiness line

say() { echo "restart.sh: $*" >&2; }

die() {
        say "$*"
        exit 1
}

cleanup() {
        stack_stop_pid "$AGG_PID" 10
        stack_stop_pid "$SINK_PID" 10
        if [ "${EDUSTAT_KEEP_WORK:-0}" != 1 ]; then
                dropdb --if-exists "$DB" 2>/dev/null
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SINK_BIN=$(stack_find_bin edustat-sink) || exit 1
AGG_BIN=$(stack_find_bin edustat-aggregator) || exit 1
KEYGEN_BIN=$(stack_find_bin edustat-keygen) || exit 1
[ -f "$EDUSTAT_BENCH_DATA/config/orgunits.csv" ] || die "no $EDUSTAT_BENCH_DATA/config"

emit() { stack_metric "$TSV" "$@"; }

now_ns() { date +%s%N; }

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# ------------------------------------------------------------------ set-up

mkdir -p "$WORK" || exit 1
rm -f "$WORK"/sink.log "$WORK"/aggregator.log
dropdb --if-exists "$DB" 2>/dev/null
createdb "$DB" || die "createdb $DB"
DB_URL="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB"

devkeys "$KEYGEN_BIN" "$EDUSTAT_BENCH_DATA/config" "$WORK" >/dev/null ||
        die "cannot make CURVE keys"
read -r SINK_PORT AGG_PORT <<<"$(stack_free_ports 2)"
stack_endpoints
unset EDUSTAT_INSECURE
STACK_SINK_LOG=$WORK/sink.log
STACK_AGG_LOG=$WORK/aggregator.log

STACK_READY_SECONDS=120
EDUSTAT_DB_URL=$DB_URL stack_start_sink nowait
stack_ready sink "$SINK_PID" "$STACK_SINK_LOG" || die "the sink did not start"

say "loading $VALUES values into $DB.edustat.unit_value (untimed)"
t0=$(now_ns)
PER_PERIOD=$(q -c "SELECT (SELECT count(*) FROM edustat.orgunit WHERE is_leaf) *
                          (SELECT count(*) FROM edustat.indicator WHERE kind <> 'ratio')")
[ "${PER_PERIOD:-0}" -gt 0 ] || die "no schools or indicators loaded"
PERIODS=$(((VALUES + PER_PERIOD - 1) / PER_PERIOD))
LOAD_SQL="
INSERT INTO edustat.unit_value (unit, period, indicator, value, version)
SELECT s.code, (2023 + p.pn)::text, i.code,
       CASE WHEN coalesce(i.decimals, 0) > 0
            THEN round(((abs(h.h) % 10000000) + 1)::numeric / 100, 2)
            ELSE ((abs(h.h) % 4096) + 1)::numeric END,
       p.pn * 1000000000000 + s.sn * 10000 + i.inum
  FROM generate_series(1, $PERIODS) AS p(pn)
 CROSS JOIN (SELECT code, row_number() OVER (ORDER BY parent, code) AS sn
               FROM edustat.orgunit WHERE is_leaf) AS s
 CROSS JOIN (SELECT code, decimals, row_number() OVER (ORDER BY code) AS inum
               FROM edustat.indicator WHERE kind <> 'ratio') AS i
 CROSS JOIN LATERAL (SELECT hashtext(s.code || '/' || p.pn || '/' || i.code)::bigint AS h) AS h
 LIMIT $VALUES;"
# Without the primary key the load appends; the index is then built in one
# sorted pass.  Should the key be pinned by a dependent object, load with it.
if ! q -c "SET maintenance_work_mem = '1GB'" -c "BEGIN" \
        -c "ALTER TABLE edustat.unit_value DROP CONSTRAINT unit_value_pkey" \
        -c "$LOAD_SQL" \
        -c "ALTER TABLE edustat.unit_value ADD CONSTRAINT unit_value_pkey
              PRIMARY KEY (unit, period, indicator)" -c "COMMIT" >/dev/null; then
        say "loading without dropping the primary key"
        q -c "TRUNCATE edustat.unit_value" -c "$LOAD_SQL" >/dev/null || die "loading failed"
fi
q -c "VACUUM (FREEZE, ANALYZE) edustat.unit_value" -c "CHECKPOINT" >/dev/null ||
        die "VACUUM/CHECKPOINT failed"
NVAL=$(q -c "SELECT count(*) FROM edustat.unit_value")
t1=$(now_ns)
say "$NVAL values over $PERIODS period(s) loaded in $(((t1 - t0) / 1000000)) ms"
[ "$NVAL" -eq "$VALUES" ] || say "note: $NVAL values, not $VALUES (the tree is too small)"

# ------------------------------------------------------------------ runs

FAILED=0
for run in $(seq 1 "$RUNS"); do
        q -c "CHECKPOINT" >/dev/null
        seq0=$(q -c "SELECT coalesce(max(last_seq), 0) FROM edustat.sink_state")
        from=$(stack_log_lines "$WORK/aggregator.log")
        sfrom=$(stack_log_lines "$WORK/sink.log")
        t0=$(now_ns)
        stack_start_aggregator nowait
        if ! STACK_READY_SECONDS=600 stack_ready aggregator "$AGG_PID" "$STACK_AGG_LOG" "$from"; then
                say "run $run: the aggregator did not get ready"
                FAILED=1
                kill -KILL "$AGG_PID" 2>/dev/null
                wait "$AGG_PID" 2>/dev/null
                AGG_PID=
                continue
        fi
        t1=$(now_ns)
        ready_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        loaded=$(tail -n +"$((from + 1))" "$WORK/aggregator.log" | grep -m1 "state loaded")
        load_ms=$(sed -n 's/.* in \([0-9]*\) ms.*/\1/p' <<<"$loaded")
        nstate=$(sed -n 's/.*state loaded: \([0-9]*\) values, \([0-9]*\) aggregates.*/\1/p' <<<"$loaded")
        naggs=$(sed -n 's/.*state loaded: \([0-9]*\) values, \([0-9]*\) aggregates.*/\2/p' <<<"$loaded")
        sent=$(tail -n +"$((sfrom + 1))" "$WORK/sink.log" | grep -m1 "stored values to aggregator")
        sink_s=$(sed -n 's/.* in \([0-9.]*\) s;.*/\1/p' <<<"$sent")
        emit restart_s "$ready_s" s "run $run; edustat-aggregator exec -> 'ready: accepting collectors' with ${nstate:-?} stored values (${naggs:-?} aggregates) streamed by edustat-sink (COPY unit_value TO STDOUT, CURVE); $PERIODS period(s) of the bench tree"
        [ -n "$load_ms" ] && emit info_restart_state_loaded_s \
                "$(awk -v m="$load_ms" 'BEGIN { printf "%.3f", m / 1000 }')" s \
                "run $run; the aggregator's own 'state loaded' time (hello -> every row applied and rolled up)"
        [ -n "$sink_s" ] && emit info_restart_sink_stream_s "$sink_s" s \
                "run $run; the sink's 'sent N stored values' time (COPY TO STDOUT -> rows messages)"
        if [ "${nstate:-0}" != "$NVAL" ]; then
                say "run $run: the aggregator loaded ${nstate:-?} values, the table holds $NVAL"
                FAILED=1
        fi

        # The first uow after a rebuild rewrites every aggregate row.
        deadline=$(($(date +%s) + 1800))
        while [ "$(date +%s)" -le "$deadline" ]; do
                s=$(q -c "SELECT coalesce(max(last_seq), 0) FROM edustat.sink_state")
                [ "$s" -gt "$seq0" ] && break
                kill -0 "$AGG_PID" 2>/dev/null || break
                sleep 0.2
        done
        t2=$(now_ns)
        if [ "${s:-0}" -gt "$seq0" ]; then
                emit info_restart_rewrite_s \
                        "$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" s \
                        "run $run; ready -> the sink committed the uow rewriting all ${naggs:-?} aggregate rows (collectors' acks queue behind it)"
        else
                say "run $run: the rewrite of the aggregates was not committed"
                FAILED=1
        fi
        kill -TERM "$AGG_PID" 2>/dev/null
        wait "$AGG_PID" 2>/dev/null
        AGG_PID=
done
exit "$FAILED"
