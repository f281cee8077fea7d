#!/usr/bin/env bash
#
# e2e.sh: measurements 2-5 (bench/README.md), through the real daemons.
#
# Called by bench/run.sh with a throwaway PostgreSQL running (PGHOST, PGPORT,
# PGUSER exported) and:
#
#   EDUSTAT_BENCH_WORK    scratch directory (this script uses WORK/e2e)
#   EDUSTAT_BENCH_DATA    a bench/gen.py output: config/, lanes/<l>/{units,fresh,correct}
#   EDUSTAT_BENCH_OUT     results: appends to OUT/e2e.tsv, may write OUT/notes-e2e.md
#   EDUSTAT_BENCH_BUILD   meson build directory (BUILD/edustat-*)
#   EDUSTAT_BENCH_RUNS    runs (>= 3 for the report)
#   EDUSTAT_BENCH_SMOKE   1: the data is tiny and this must take seconds
#
# Optional knobs (environment):
#   EDUSTAT_BENCH_E2E_RATE     offered load of the latency phase, records/s (10000)
#   EDUSTAT_BENCH_E2E_RATES    lower loads measured once, in the last run, to show
#                              where latency turns (info_*_rate<R>; "2000 5000";
#                              smoke: none)
#   EDUSTAT_BENCH_E2E_BATCH    records per batch of that load (100)
#   EDUSTAT_BENCH_E2E_SECONDS  length of the latency phase (20; smoke 2)
#   EDUSTAT_BENCH_E2E_CURVE    collector counts for the throughput curve, besides
#                              the data's own lane count ("1 2"; "" skips it)
#   EDUSTAT_BENCH_E2E_PERF     1: profile an extra run with perf when a target is
#                              missed (default 1, smoke 0); 0: never; force: always
#
# The target check reads the same run's baseline_copy_rps and
# staging_upsert_rps from OUT/pg_baseline.tsv (bench/pg_baseline.sh runs
# first); without them it uses the reference figures of e2e_notes.py and says so.
#
# Every run uses a fresh database (createdb), a fresh sink and aggregator on
# free loopback ports, with CURVE keys as in production: the sink's and
# aggregator's pairs from `edustat-keygen --init`, and one key pair per
# collector, registered in collectors.csv for the district codes of its lane
# only (lanes/<l>/units), so the aggregator authorizes every record.  A run:
#
#   (2) fresh      L collectors (one per lane, each its own outbox and key)
#                  submit every lanes/<l>/fresh/*.csv at once; the clock runs
#                  from their start until the last `submit` exited.  submit
#                  exits 0 only when every record was acked, and an ack means
#                  committed in PostgreSQL (docs/PROTOCOL.md), so that is
#                  "all committed"; count(*) of unit_value confirms it.
#   (4) unchanged  the same files again (before the corrections, so nothing
#                  differs); value_history must not grow.
#   (3) corrections  lanes/<l>/correct/*.csv; value_history must grow by
#                  exactly their records.
#   (5) latency    bench/latency.c (bench_latency) against the loaded stack,
#                  with a key registered for the root: an open-loop offered
#                  load of changes, submit->ack per batch measured from its
#                  due time; and one school's corrections, from the send to
#                  the root's agg_value row showing it (PostgreSQL polled
#                  every 2 ms).  It speaks the protocol itself, as a
#                  long-running collector would, so the figures leave out
#                  the process start and the one outbox fsync of a `submit`
#                  (latency.c says why).
#
# Once per invocation: the throughput curve against the number of collectors
# (info_e2e_fresh_rps_lanes<C>, a fresh database each), and, when a target is
# missed, one more run under perf for OUT/notes-e2e.md (bench/e2e_notes.py).
#
# Output: OUT/e2e.tsv lines "metric<TAB>value<TAB>unit<TAB>note", one per run
# and metric; OUT/notes-e2e.md when a target is missed; OUT/e2e-*.png with
# gnuplot.  Exits 1 when a check failed (a collector did not exit 0, a
# count does not match), so the smoke run catches rot.  Everything started
# here is stopped by PID.

set -u

for v in EDUSTAT_BENCH_WORK EDUSTAT_BENCH_DATA EDUSTAT_BENCH_OUT EDUSTAT_BENCH_BUILD PGHOST PGPORT; do
        if [ -z "${!v:-}" ]; then
                echo "e2e: $v is not set (bench/run.sh sets it)" >&2
                exit 2
        fi
done
SRC=$(cd "$(dirname "$0")/.." && pwd) || exit 2
BUILD=$(cd "$EDUSTAT_BENCH_BUILD" && pwd) || exit 2
DATA=$(cd "$EDUSTAT_BENCH_DATA" && pwd) || exit 2
mkdir -p "$EDUSTAT_BENCH_OUT" "$EDUSTAT_BENCH_WORK" || exit 2
OUT=$(cd "$EDUSTAT_BENCH_OUT" && pwd) || exit 2
WORK=$(cd "$EDUSTAT_BENCH_WORK" && pwd)/e2e
RUNS=${EDUSTAT_BENCH_RUNS:-3}
SMOKE=${EDUSTAT_BENCH_SMOKE:-0}
TSV=$OUT/e2e.tsv
PGUSER=${PGUSER:-postgres}
export PGUSER

RATE=${EDUSTAT_BENCH_E2E_RATE:-10000}
BATCH=${EDUSTAT_BENCH_E2E_BATCH:-100}
if [ "$SMOKE" = 1 ]; then
        LAT_SECONDS=${EDUSTAT_BENCH_E2E_SECONDS:-2}
        RATES=${EDUSTAT_BENCH_E2E_RATES-}
        PERF_MODE=${EDUSTAT_BENCH_E2E_PERF:-0}
else
        LAT_SECONDS=${EDUSTAT_BENCH_E2E_SECONDS:-20}
        RATES=${EDUSTAT_BENCH_E2E_RATES-2000 5000}
        PERF_MODE=${EDUSTAT_BENCH_E2E_PERF:-1}
fi
CURVE=${EDUSTAT_BENCH_E2E_CURVE-1 2}
# A collector waits this long for its acks: far more than any phase takes.
SUBMIT_TIMEOUT=3600

# shellcheck source=../tests/lib/stack.sh
. "$SRC/tests/lib/stack.sh"
STACK_NAME=e2e
STACK_READY_SECONDS=60
FAILS=0
SINK_PID=
AGG_PID=
LAT_PID=
DBS=
CLK_TCK=$(getconf CLK_TCK)

note() {
        echo "e2e: $*" >&2
}

fail() {
        echo "e2e: FAIL: $*" >&2
        FAILS=$((FAILS + 1))
}

BIN_sink=$(stack_find_bin edustat-sink) || exit 2
BIN_aggregator=$(stack_find_bin edustat-aggregator) || exit 2
BIN_collector=$(stack_find_bin edustat-collector) || exit 2
BIN_keygen=$(stack_find_bin edustat-keygen) || exit 2
SINK_BIN=$BIN_sink
AGG_BIN=$BIN_aggregator

# tsv METRIC VALUE UNIT NOTE
tsv() { stack_metric "$TSV" "$@"; }

cleanup() {
        local db
        stack_stop_pid "$LAT_PID"
        e2e_stop
        for db in $DBS; do
                dropdb --if-exists "$db" 2>/dev/null
        done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ set-up

rm -rf "$WORK"
mkdir -p "$WORK/config" "$WORK/keys" "$WORK/lists" || exit 2
cp "$DATA"/config/*.csv "$WORK/config/" || exit 2
"$BIN_keygen" --init "$WORK/keys" >/dev/null || { echo "e2e: edustat-keygen --init failed" >&2; exit 2; }
export EDUSTAT_CONFIG=$WORK/config EDUSTAT_KEYS=$WORK/keys

# The data's lanes, by name (gen.py numbers them 1..L).
mapfile -t LANE_IDS < <(find "$DATA/lanes" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -n)
LANES=${#LANE_IDS[@]}
[ "$LANES" -gt 0 ] || { echo "e2e: no lanes in $DATA/lanes" >&2; exit 2; }

# The collector counts to measure: the data's lanes, then the curve's.
COUNTS=$LANES
for c in $CURVE; do
        if [ "$c" -ge 1 ] && [ "$c" -lt "$LANES" ]; then
                COUNTS="$COUNTS $c"
        fi
done

# Collector k of C takes the data lanes at positions i with i % C == k: their
# units and their files.  Each gets its own key, registered for exactly
# those units.
ROOT=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { h = tolower($i); gsub(/[ \r"\357\273\277]/, "", h); col[h] = i }; next }
        $col["parent"] == "" { print $col["code"]; exit }' "$WORK/config/orgunits.csv")
[ -n "$ROOT" ] || { echo "e2e: no root unit in orgunits.csv" >&2; exit 2; }
printf 'public_key,name,units\n' >"$WORK/config/collectors.csv"
for c in $COUNTS; do
        for k in $(seq 0 $((c - 1))); do
                name=c${c}l$k
                pub=$("$BIN_keygen" "$name" "$WORK/keys" | awk '{print $NF}') || exit 2
                units=
                for i in $(seq "$k" "$c" $((LANES - 1))); do
                        l=$DATA/lanes/${LANE_IDS[$i]}
                        units="$units $(tr -s ' \r\n' '  ' <"$l/units")"
                        for kind in fresh correct; do
                                find "$l/$kind" -maxdepth 1 -name '*.csv' 2>/dev/null | sort \
                                        >>"$WORK/lists/$name.$kind"
                        done
                done
                # shellcheck disable=SC2086  # word splitting squeezes the spaces
                printf '%s,%s,%s\n' "$pub" "$name" "$(echo $units)" >>"$WORK/config/collectors.csv"
        done
done
# The latency client writes for any school: registered for the root.
pub=$("$BIN_keygen" latency "$WORK/keys" | awk '{print $NF}') || exit 2
printf '%s,latency,%s\n' "$pub" "$ROOT" >>"$WORK/config/collectors.csv"

# records FILELIST: the data rows of the files listed (header and blank lines not counted).
records() {
        cat "$@" | xargs -r -d '\n' awk 'FNR > 1 && NF > 0 { n++ } END { print n + 0 }' | awk '{ n += $1 } END { print n + 0 }'
}
N_FRESH=$(records "$WORK"/lists/c${LANES}l*.fresh)
N_CORR=$(records "$WORK"/lists/c${LANES}l*.correct)
NFILES_FRESH=$(cat "$WORK"/lists/c${LANES}l*.fresh | wc -l)
note "$LANES lanes, $NFILES_FRESH fresh files, $N_FRESH fresh records, $N_CORR correction records"
[ "$N_FRESH" -gt 0 ] || { echo "e2e: no fresh records under $DATA/lanes" >&2; exit 2; }

# The latency client: built by meson with the rest, or here from its one file.
LAT_BIN=$(stack_find_bin bench_latency 2>/dev/null)
if [ -z "$LAT_BIN" ]; then
        LAT_BIN=$WORK/bench_latency
        # shellcheck disable=SC2046
        if ! cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$SRC/lib" \
                -o "$LAT_BIN" "$SRC/bench/latency.c" "$BUILD/libedustat.a" \
                $(pkg-config --cflags --libs libzmq msgpack libpq) -lcsv -lm -lpthread \
                2>"$WORK/latency-cc.log"; then
                fail "cannot build bench/latency.c (see $WORK/latency-cc.log); latency not measured"
                LAT_BIN=
        fi
fi

# ------------------------------------------------------------------ CPU accounting

# ticks PID...: user + system clock ticks of these processes so far.
ticks() {
        local t=0 p v
        for p in "$@"; do
                v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || continue
                t=$((t + ${v:-0}))
        done
        echo "$t"
}

# pg_ticks: ticks of the whole PostgreSQL server: the postmaster, its
# children alive now, and (cutime/cstime) those it has reaped.
PG_PM=
pg_ticks() {
        local t c
        if [ -z "$PG_PM" ]; then
                PG_PM=$(head -n 1 "$(psql -AtX -d postgres -c 'SHOW data_directory')/postmaster.pid" 2>/dev/null)
        fi
        [ -n "$PG_PM" ] || { echo 0; return; }
        t=$(sed 's/^.*) //' "/proc/$PG_PM/stat" | awk '{print $12 + $13 + $14 + $15}')
        # shellcheck disable=SC2046
        c=$(ticks $(ps -o pid= --ppid "$PG_PM"))
        echo $((t + c))
}

secs() {
        awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'
}

# ------------------------------------------------------------------ the stack

e2e_stop() {
        stack_stop_pid "$AGG_PID"
        stack_stop_pid "$SINK_PID"
        AGG_PID=
        SINK_PID=
}

# e2e_start DB RUNDIR [profile]: a fresh database DB, then sink and
# aggregator.  With "profile", PostgreSQL logs every statement of DB with its
# duration and the aggregator logs every uow (debug), for e2e_notes.py.
e2e_start() {
        local level=info
        DB=$1
        RUNDIR=$2
        mkdir -p "$RUNDIR"
        dropdb --if-exists "$DB" 2>/dev/null
        createdb "$DB" || { fail "createdb $DB"; return 1; }
        DBS="$DBS $DB"
        if [ "${3:-}" = profile ]; then
                psql -qX -d postgres -c "ALTER DATABASE $DB SET log_min_duration_statement = 0" ||
                        note "no statement log for the profile"
                level=debug
        fi
        read -r SINK_PORT AGG_PORT <<<"$(stack_free_ports 2)"
        stack_endpoints
        STACK_SINK_LOG=$RUNDIR/sink.log
        STACK_AGG_LOG=$RUNDIR/aggregator.log
        DB_URL="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB application_name=edustat-sink"
        EDUSTAT_DB_URL=$DB_URL stack_start_sink nowait
        stack_ready sink "$SINK_PID" "$STACK_SINK_LOG" || { fail "the sink did not get ready"; return 1; }
        EDUSTAT_LOG_LEVEL=$level stack_start_aggregator nowait
        stack_ready aggregator "$AGG_PID" "$STACK_AGG_LOG" ||
                { fail "the aggregator did not get ready"; return 1; }
        return 0
}

q() {
        psql -AtX -v ON_ERROR_STOP=1 -d "$DB" -c "$1"
}

# phase C KIND [WRAP]: C collectors submit their KIND (fresh|correct) files
# at once.  Sets WALL (s), CPU_COL, CPU_AGG, CPU_SINK, CPU_PG (s) and RCS.
# WRAP, when given, is the program run in place of the collector (perf).
phase() {
        local c=$1 kind=$2 bin=${3:-$BIN_collector} specs=() k line a0 s0 p0
        for k in $(seq 0 $((c - 1))); do
                specs+=("c${c}l$k=$RUNDIR/outbox.c${c}l$k.db=$WORK/keys/c${c}l$k.key_secret=$WORK/lists/c${c}l$k.$kind")
        done
        # The same start for every phase: no checkpoint left over from the last.
        psql -AtX -d "$DB" -c CHECKPOINT >/dev/null
        a0=$(ticks "$AGG_PID")
        s0=$(ticks "$SINK_PID")
        p0=$(pg_ticks)
        line=$(python3 "$SRC/bench/e2e_lanes.py" "$bin" "$SUBMIT_TIMEOUT" "${specs[@]}")
        CPU_AGG=$(secs $(($(ticks "$AGG_PID") - a0)))
        CPU_SINK=$(secs $(($(ticks "$SINK_PID") - s0)))
        CPU_PG=$(secs $(($(pg_ticks) - p0)))
        read -r WALL CPU_COL_U CPU_COL_S RCS <<<"$line"
        CPU_COL=$(awk -v u="${CPU_COL_U:-0}" -v s="${CPU_COL_S:-0}" 'BEGIN { printf "%.2f", u + s }')
        if [ -z "${WALL:-}" ] || [ -n "$(echo "$RCS" | tr -d '0,')" ]; then
                fail "$kind with $c collectors: exit codes ${RCS:-?}, want all 0; last lines:"
                tail -n 5 "$RUNDIR"/outbox.c${c}l*.db.log >&2
                WALL=${WALL:-0}
                return 1
        fi
        return 0
}

rps() {
        awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print 0 }'
}

# cpu_tsv PHASE NOTE: the CPU split of the last phase.
cpu_tsv() {
        tsv "info_cpu_${1}_wall_s" "$WALL" s "$2"
        tsv "info_cpu_${1}_collectors_s" "$CPU_COL" s "$2"
        tsv "info_cpu_${1}_aggregator_s" "$CPU_AGG" s "$2"
        tsv "info_cpu_${1}_sink_s" "$CPU_SINK" s "$2"
        tsv "info_cpu_${1}_postgres_s" "$CPU_PG" s "$2"
}

# latency_phase DIR [RATE]: bench_latency against the running stack at RATE
# records/s (default $RATE), its figures in DIR/latency.tsv, its samples in
# DIR; the CPU split as phase() sets it.
latency_phase() {
        local dir=$1 rate=${2:-$RATE} rc a0 s0 p0 t0
        psql -AtX -d "$DB" -c CHECKPOINT >/dev/null
        a0=$(ticks "$AGG_PID")
        s0=$(ticks "$SINK_PID")
        p0=$(pg_ticks)
        t0=$(date +%s%N)
        EDUSTAT_COLLECTOR_SECRET=$WORK/keys/latency.key_secret \
                "$LAT_BIN" --aggregator "$EDUSTAT_AGGREGATOR" \
                --db "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB" \
                --rate "$rate" --batch "$BATCH" --seconds "$LAT_SECONDS" \
                --samples "$dir" >"$dir/latency.tsv" 2>"$dir/latency.log" &
        LAT_PID=$!
        wait "$LAT_PID"
        rc=$?
        LAT_PID=
        WALL=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        CPU_AGG=$(secs $(($(ticks "$AGG_PID") - a0)))
        CPU_SINK=$(secs $(($(ticks "$SINK_PID") - s0)))
        CPU_PG=$(secs $(($(pg_ticks) - p0)))
        CPU_COL=0
        if [ "$rc" -ne 0 ]; then
                fail "bench_latency exited $rc:"
                tail -n 20 "$dir/latency.log" >&2
                return 1
        fi
        return 0
}

# ------------------------------------------------------------------ measurements

measured_run() {
        local r=$1 tag h0 h1 uv agg brk
        tag="run $r, $LANES collectors"
        e2e_start "e2e_${$}_$r" "$WORK/run$r" || return 1

        # (2) fresh
        phase "$LANES" fresh || return 1
        uv=$(q "SELECT count(*) FROM edustat.unit_value")
        if [ "$uv" != "$N_FRESH" ]; then
                fail "run $r: unit_value holds $uv rows after the fresh load, want $N_FRESH"
        fi
        h0=$(q "SELECT count(*) FROM edustat.value_history")
        agg=$(q "SELECT count(*) FROM edustat.agg_rollup")
        brk=$(q "SELECT count(*) FROM edustat.agg_breakdown")
        tsv e2e_fresh_rps "$(rps "$N_FRESH" "$WALL")" records/s "$tag, $N_FRESH records in $WALL s"
        tsv "info_e2e_fresh_rps_lanes$LANES" "$(rps "$N_FRESH" "$WALL")" records/s "$tag"
        tsv e2e_fresh_history_rows "$h0" rows "$tag, value_history"
        tsv e2e_fresh_agg_rows "$((agg + brk))" rows "$tag, agg_rollup $agg + agg_breakdown $brk"
        tsv info_e2e_fresh_unit_value_rows "$uv" rows "$tag"
        cpu_tsv fresh "$tag"

        # (4) unchanged: the same files again, before any correction
        phase "$LANES" fresh || return 1
        h1=$(q "SELECT count(*) FROM edustat.value_history")
        if [ "$h1" != "$h0" ]; then
                fail "run $r: the unchanged resubmission added $((h1 - h0)) value_history rows, want 0"
        fi
        tsv e2e_unchanged_rps "$(rps "$N_FRESH" "$WALL")" records/s \
                "$tag, $N_FRESH records in $WALL s, $((h1 - h0)) history rows added"
        cpu_tsv unchanged "$tag"

        # (3) corrections
        if [ "$N_CORR" -gt 0 ]; then
                phase "$LANES" correct || return 1
                h1=$(q "SELECT count(*) FROM edustat.value_history")
                if [ "$((h1 - h0))" != "$N_CORR" ]; then
                        fail "run $r: the corrections added $((h1 - h0)) value_history rows, want $N_CORR"
                fi
                tsv e2e_corr_rps "$(rps "$N_CORR" "$WALL")" records/s "$tag, $N_CORR records in $WALL s"
                cpu_tsv corr "$tag"
        fi

        # (5) latency at a steady offered load
        if [ -n "$LAT_BIN" ]; then
                latency_phase "$WORK/run$r" || return 1
                while IFS=$'\t' read -r m v u; do
                        [ -n "$m" ] && tsv "$m" "$v" "$u" "run $r, offered $RATE records/s in batches of $BATCH for $LAT_SECONDS s"
                done <"$WORK/run$r/latency.tsv"
                cpu_tsv latency "run $r"
                # Once: the same at lower loads, where the sink has headroom.
                if [ "$r" = "$RUNS" ]; then
                        local rate
                        for rate in $RATES; do
                                mkdir -p "$WORK/run$r/rate$rate"
                                latency_phase "$WORK/run$r/rate$rate" "$rate" || return 1
                                while IFS=$'\t' read -r m v u; do
                                        case $m in
                                        ack_p* | visible_p* | info_latency_acked_rps)
                                                tsv "info_${m#info_}_rate$rate" "$v" "$u" \
                                                        "run $r, offered $rate records/s for $LAT_SECONDS s"
                                                ;;
                                        esac
                                done <"$WORK/run$r/rate$rate/latency.tsv"
                        done
                fi
        fi
        e2e_stop
        dropdb --if-exists "$DB"
        return 0
}

curve_run() {
        local c=$1
        e2e_start "e2e_${$}_c$c" "$WORK/curve$c" || return 1
        if phase "$c" fresh; then
                tsv "info_e2e_fresh_rps_lanes$c" "$(rps "$N_FRESH" "$WALL")" records/s \
                        "$c collectors, $N_FRESH records in $WALL s"
                cpu_tsv "fresh_lanes$c" "$c collectors"
        fi
        e2e_stop
        dropdb --if-exists "$DB"
}

T0=$(date +%s)
TSV_FROM=$(if [ -f "$TSV" ]; then wc -l <"$TSV"; else echo 0; fi)
for r in $(seq 1 "$RUNS"); do
        note "run $r of $RUNS"
        measured_run "$r" || { e2e_stop; fail "run $r did not complete"; }
done
for c in $COUNTS; do
        [ "$c" = "$LANES" ] && continue
        note "throughput curve: $c collectors"
        curve_run "$c" || e2e_stop
done

# ------------------------------------------------------------------ targets, profile, plot

# A profiled run: perf record on the daemons and the sink's PostgreSQL
# backend (WORK/perf-daemons-PHASE.data) and on every collector
# (WORK/perf-col-PHASE/), PostgreSQL's log of every statement of the run's
# database with its duration (WORK/pgstmt-PHASE.log, from the server log
# PG_DIR/pg.log that scripts/pg.sh writes) and the aggregator's uow lines
# (WORK/uows-PHASE.log).  e2e_notes.py summarizes them.
perf_run() {
        local kind pids bk perf_pid wrap=$WORK/perf-collector.sh pglog=${PG_DIR:-}/pg.log
        printf '#!/bin/sh\nexec perf record -q -g -o "$EDUSTAT_OUTBOX.perf" -- "%s" "$@"\n' \
                "$BIN_collector" >"$wrap"
        chmod +x "$wrap"
        [ -r "$pglog" ] || pglog=
        e2e_start "e2e_${$}_perf" "$WORK/perf" profile || return 1
        bk=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'edustat-sink' LIMIT 1")
        pids="$AGG_PID,$SINK_PID${bk:+,$bk}"
        echo "$bk" >"$WORK/pgstmt-sink.pid"
        for kind in fresh unchanged correct latency; do
                [ "$kind" = latency ] && [ -z "$LAT_BIN" ] && continue
                local l0=0 a0
                [ -n "$pglog" ] && l0=$(wc -l <"$pglog")
                a0=$(wc -l <"$WORK/perf/aggregator.log")
                perf record -q -g -p "$pids" -o "$WORK/perf-daemons-$kind.data" >/dev/null 2>&1 &
                perf_pid=$!
                sleep 0.5
                case $kind in
                unchanged) phase "$LANES" fresh "$wrap" ;;
                latency) latency_phase "$WORK/perf" ;;
                *) phase "$LANES" "$kind" "$wrap" ;;
                esac
                kill -INT "$perf_pid" 2>/dev/null
                wait "$perf_pid" 2>/dev/null
                printf '%s\t%s\n' "$kind" "$WALL" >>"$WORK/perf-phases.tsv"
                mkdir -p "$WORK/perf-col-$kind"
                mv "$WORK"/perf/outbox.*.db.perf "$WORK/perf-col-$kind/" 2>/dev/null
                [ -n "$pglog" ] && tail -n +"$((l0 + 1))" "$pglog" >"$WORK/pgstmt-$kind.log"
                tail -n +"$((a0 + 1))" "$WORK/perf/aggregator.log" | grep 'uow .* sent' \
                        >"$WORK/uows-$kind.log"
        done
        e2e_stop
        dropdb --if-exists "$DB"
}

NOTES_ARGS=(--out "$OUT" --from-line "$TSV_FROM" --work "$WORK" --lanes "$LANES"
        --records "$N_FRESH" --corrections "$N_CORR" --rate "$RATE" --batch "$BATCH")
python3 "$SRC/bench/e2e_notes.py" check "${NOTES_ARGS[@]}"
missed=$?
if [ "$PERF_MODE" = force ] || { [ "$PERF_MODE" = 1 ] && [ "$missed" = 3 ]; }; then
        if command -v perf >/dev/null 2>&1; then
                note "a target is missed: one more run under perf for notes-e2e.md"
                perf_run || e2e_stop
        else
                note "a target is missed, but perf is not installed: notes without a profile"
        fi
fi
# A smoke run's sizes say nothing about the targets: no notes for it.
if { [ "$missed" = 3 ] && [ "$SMOKE" != 1 ]; } || [ "$PERF_MODE" = force ]; then
        python3 "$SRC/bench/e2e_notes.py" notes "${NOTES_ARGS[@]}" ||
                fail "cannot write notes-e2e.md"
fi
# The plots go to OUT; report.py copies them beside RESULTS.md.
if command -v gnuplot >/dev/null 2>&1 && [ "$SMOKE" != 1 ]; then
        python3 "$SRC/bench/e2e_notes.py" plot "${NOTES_ARGS[@]}" || note "no plot (gnuplot failed)"
fi

if [ "$FAILS" -ne 0 ]; then
        note "$FAILS check(s) failed; work directory $WORK"
        exit 1
fi
note "done in $(($(date +%s) - T0)) s"
exit 0
