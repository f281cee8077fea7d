#!/usr/bin/env bash
#
# pg_baseline.sh: PostgreSQL's own figures on the same rows, for the benchmarks.
# Run by bench/run.sh, which sets the environment (see its header).
#
#   (1)  baseline_copy_rps     COPY text of DATA/rows/fresh.copy into an empty
#                              table LIKE edustat.unit_value INCLUDING ALL
#                              (same columns, primary key, defaults), one
#                              transaction, timed until COMMIT returned.
#        info_copy_text_noindex_rps, info_copy_binary_noindex_rps
#                              the same rows into a table without the
#                              primary key, as text and as COPY binary.
#   (3') staging_upsert_rps    the table holds the fresh rows; in one
#                              transaction COPY DATA/rows/correct.copy into a
#                              temp table, then INSERT ... SELECT ... ON
#                              CONFLICT DO UPDATE (every row an update), timed
#                              until COMMIT returned.
#        info_staging_upsert_fresh_rps
#                              the same with fresh.copy into an empty table
#                              (every row an insert); one run only.
#   (9a) naive_rps             BUILD/bench/bench_naive_upsert: the first
#                              EDUSTAT_BENCH_NAIVE_ROWS rows of fresh.copy,
#                              one prepared INSERT ... ON CONFLICT per row,
#                              autocommit, into an empty table.
#   (9b) matview_refresh_s     raw rows (fresh.copy) plus a materialized view
#                              with GROUP BY ROLLUP (city, district): sums,
#                              counts, min, max per (unit, period, indicator)
#                              and every ratio as multiplier * Σnum / Σden.
#                              Per run: UPDATE one raw row (a correction),
#                              then REFRESH MATERIALIZED VIEW; the figure is
#                              the time of both, i.e. correction to visible.
#
# The schema comes from the real edustat-sink: it is started once against
# database bench_pg with DATA/config (it migrates and loads orgunit and
# indicator), then stopped.  Times are psql's \timing of each statement
# (the server round trip, without psql's start-up), summed over the
# statements of the transaction.  Every timed run starts after CHECKPOINT.
# Results: OUT/pg_baseline.tsv.

set -u

for v in EDUSTAT_BENCH_SRC EDUSTAT_BENCH_BUILD EDUSTAT_BENCH_WORK EDUSTAT_BENCH_DATA \
        EDUSTAT_BENCH_OUT EDUSTAT_BENCH_RUNS PGHOST PGPORT GEN_RECORDS GEN_CORRECTIONS; do
        if [ -z "${!v:-}" ]; then
                echo "pg_baseline.sh: $v is not set; run it through bench/run.sh" >&2
                exit 2
        fi
done

DB=bench_pg
W=$EDUSTAT_BENCH_WORK/pg_baseline
TSV=$EDUSTAT_BENCH_OUT/pg_baseline.tsv
FRESH=$EDUSTAT_BENCH_DATA/rows/fresh.copy
CORRECT=$EDUSTAT_BENCH_DATA/rows/correct.copy
RUNS=$EDUSTAT_BENCH_RUNS
NAIVE_ROWS=${EDUSTAT_BENCH_NAIVE_ROWS:-20000}
export PGDATABASE=$DB
mkdir -p "$W"
# shellcheck source=../tests/lib/stack.sh
. "$EDUSTAT_BENCH_SRC/tests/lib/stack.sh"
STACK_NAME=pg_baseline.sh
BUILD=$EDUSTAT_BENCH_BUILD
STACK_READY_SECONDS=60
STACK_SINK_LOG=$W/sink.log

cleanup() {
        stack_stop_pid "$SINK_PID" 5
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
        echo "pg_baseline.sh: $*" >&2
        exit 1
}

# emit METRIC VALUE UNIT NOTE
emit() { stack_metric "$TSV" "$@"; }

sql() {
        psql -X -q -v ON_ERROR_STOP=1 "$@" >>"$W/psql.log" 2>&1 ||
                die "psql $* failed; see $W/psql.log: $(tail -n 3 "$W/psql.log")"
}

# timed: run the psql script on stdin with \timing and print the sum of its
# statements' times in seconds.  Untimed preparation belongs in sql().
timed() {
        local log=$W/timed.out
        { printf '%s\n' '\timing on'; cat; } | psql -X -v ON_ERROR_STOP=1 >"$log" 2>&1 ||
                die "timed psql script failed: $(tail -n 5 "$log")"
        awk '/^Time: [0-9.]+ ms/ { t += $2 } END { printf "%.6f\n", t / 1000 }' "$log"
}

# rate N SECONDS
rate() {
        awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f\n", (s > 0 ? n / s : 0) }'
}

SINK_BIN=$(stack_find_bin edustat-sink) || exit 1
NAIVE_BIN=$(stack_find_bin bench_naive_upsert) || exit 1

createdb "$DB" || die "createdb $DB failed"

# The schema exactly as the product makes it: run the sink until it is
# ready (migrated, config loaded), then stop it.
read -r port <<<"$(stack_free_ports 1)"
: >"$STACK_SINK_LOG"
EDUSTAT_INSECURE=1 EDUSTAT_CONFIG=$EDUSTAT_BENCH_DATA/config \
        EDUSTAT_SINK_BIND=tcp://127.0.0.1:$port \
        EDUSTAT_DB_URL="host=$PGHOST port=$PGPORT user=${PGUSER:-postgres} dbname=$DB" \
        stack_start_sink nowait
stack_ready edustat-sink "$SINK_PID" "$STACK_SINK_LOG" || die "edustat-sink did not get ready"
kill -TERM "$SINK_PID"
wait "$SINK_PID" || die "edustat-sink exited with status $? on SIGTERM"
SINK_PID=

sql <<'EOF'
CREATE TABLE public.base_pk (LIKE edustat.unit_value INCLUDING ALL);
CREATE TABLE public.base_noidx (LIKE edustat.unit_value INCLUDING DEFAULTS);
CREATE TABLE public.naive_t (LIKE edustat.unit_value INCLUDING ALL);
CREATE TABLE public.raw_v (LIKE edustat.unit_value INCLUDING ALL);
EOF
COLS="(unit, period, indicator, value, version, collector, batch_id)"

# ------------------------------------------------------------------ (1)
for run in $(seq 1 "$RUNS"); do
        sql -c 'TRUNCATE public.base_pk' -c 'CHECKPOINT'
        s=$(timed <<EOF
\copy public.base_pk $COLS FROM '$FRESH'
EOF
        ) || exit 1
        emit baseline_copy_rps "$(rate "$GEN_RECORDS" "$s")" records/s \
                "run $run: $GEN_RECORDS rows COPY text into LIKE unit_value INCLUDING ALL, $s s"
done

# The binary file once, from the table just loaded.
sql -c "\\copy public.base_pk $COLS TO '$W/fresh.bin' WITH (FORMAT binary)"
for run in $(seq 1 "$RUNS"); do
        sql -c 'TRUNCATE public.base_noidx' -c 'CHECKPOINT'
        s=$(timed <<EOF
\copy public.base_noidx $COLS FROM '$FRESH'
EOF
        ) || exit 1
        emit info_copy_text_noindex_rps "$(rate "$GEN_RECORDS" "$s")" records/s \
                "run $run: COPY text, no index, $s s"
        sql -c 'TRUNCATE public.base_noidx' -c 'CHECKPOINT'
        s=$(timed <<EOF
\copy public.base_noidx $COLS FROM '$W/fresh.bin' WITH (FORMAT binary)
EOF
        ) || exit 1
        emit info_copy_binary_noindex_rps "$(rate "$GEN_RECORDS" "$s")" records/s \
                "run $run: COPY binary, no index, $s s"
done
sql -c 'TRUNCATE public.base_noidx'

# ------------------------------------------------------ staging upsert
# upsert_script FILE: the statements a careful user writes for a batch.
upsert_script() {
        cat <<EOF
BEGIN;
CREATE TEMP TABLE stage (unit text, period text, indicator text, value numeric, version bigint,
  collector text, batch_id text) ON COMMIT DROP;
\copy stage $COLS FROM '$1'
INSERT INTO public.base_pk AS t $COLS
SELECT unit, period, indicator, value, version, collector, batch_id FROM stage
ON CONFLICT (unit, period, indicator) DO UPDATE
   SET value = EXCLUDED.value, version = EXCLUDED.version, collector = EXCLUDED.collector,
       batch_id = EXCLUDED.batch_id, received_at = now()
 WHERE t.version < EXCLUDED.version;
COMMIT;
EOF
}

for run in $(seq 1 "$RUNS"); do
        # The state the pipeline's corrections meet: the fresh rows, vacuumed.
        sql -c 'TRUNCATE public.base_pk' -c "\\copy public.base_pk $COLS FROM '$FRESH'" \
                -c 'VACUUM ANALYZE public.base_pk' -c 'CHECKPOINT'
        s=$(upsert_script "$CORRECT" | timed) || exit 1
        n=$(psql -AtX -c "SELECT count(*) FROM public.base_pk WHERE version > 1000000000000")
        [ "$n" = "$GEN_CORRECTIONS" ] ||
                die "staging upsert: $n rows updated, want $GEN_CORRECTIONS"
        emit staging_upsert_rps "$(rate "$GEN_CORRECTIONS" "$s")" records/s \
                "run $run: $GEN_CORRECTIONS corrections, COPY to temp + INSERT ON CONFLICT (all updates), $s s"
done

sql -c 'TRUNCATE public.base_pk' -c 'CHECKPOINT'
s=$(upsert_script "$FRESH" | timed) || exit 1
emit info_staging_upsert_fresh_rps "$(rate "$GEN_RECORDS" "$s")" records/s \
        "$GEN_RECORDS rows, COPY to temp + INSERT ON CONFLICT into an empty table (all inserts), $s s, one run"
sql -c 'TRUNCATE public.base_pk'

# ------------------------------------------------------------------ (9a)
for run in $(seq 1 "$RUNS"); do
        sql -c 'TRUNCATE public.naive_t' -c 'CHECKPOINT'
        line=$("$NAIVE_BIN" --file "$FRESH" --table public.naive_t --rows "$NAIVE_ROWS" \
                --db "host=$PGHOST port=$PGPORT user=${PGUSER:-postgres} dbname=$DB" 2>"$W/naive.err") ||
                die "bench_naive_upsert failed: $(cat "$W/naive.err")"
        printf '%s\n' "$line" | grep -qP '^naive_rps\t[0-9.]+\t' ||
                die "bench_naive_upsert printed '$line', want a naive_rps line"
        IFS=$'\t' read -r metric value unit note <<<"$line"
        emit "$metric" "$value" "$unit" "run $run: $note"
done
sql -c 'TRUNCATE public.naive_t'

# ------------------------------------------------------------------ (9b)
# What a user would build instead of the aggregator: the raw rows and a
# view that rolls them up.  The generated tree is school -> district ->
# city -> province, so two joins find a school's district and city.  It
# computes less than the pipeline (no mean/CV, no breakdowns), which only
# flatters it.
sql -c "\\copy public.raw_v $COLS FROM '$FRESH'"
sql <<'EOF'
CREATE MATERIALIZED VIEW public.mv_rollup AS
WITH leaf AS (
  SELECT d.parent AS city, s.parent AS district, v.period, v.indicator, v.value
    FROM public.raw_v v
    JOIN edustat.orgunit s ON s.code = v.unit
    JOIN edustat.orgunit d ON d.code = s.parent
), sums AS (
  SELECT city, district, period, indicator, sum(value) AS value,
         count(*) AS n_reporting, min(value) AS min, max(value) AS max
    FROM leaf
   GROUP BY period, indicator, ROLLUP (city, district)
)
SELECT city, district, period, indicator, value, NULL::numeric AS numerator,
       NULL::numeric AS denominator, n_reporting, min, max
  FROM sums
UNION ALL
SELECT n.city, n.district, n.period, r.code,
       CASE WHEN d.value = 0 THEN NULL ELSE r.multiplier * n.value / d.value END,
       n.value, d.value, least(n.n_reporting, d.n_reporting), NULL, NULL
  FROM edustat.indicator r
  JOIN sums n ON n.indicator = r.numerator
  JOIN sums d ON d.indicator = r.denominator AND d.period = n.period
   AND d.city IS NOT DISTINCT FROM n.city AND d.district IS NOT DISTINCT FROM n.district
 WHERE r.kind = 'ratio';
VACUUM ANALYZE public.raw_v;
EOF

# The city row of (city, period, ind) in the view.
read_city() {
        psql -AtX -c "SELECT value FROM public.mv_rollup WHERE city = '$city'
                AND district IS NULL AND period = '$period' AND indicator = '$ind'"
}

# The keys to correct: those of correct.copy (fresh.copy when --correct 0
# left it short); the new value is the file's plus the run number.
KEYS=$CORRECT
[ "$(head -n "$RUNS" "$CORRECT" | wc -l)" -ge "$RUNS" ] || KEYS=$FRESH
for run in $(seq 1 "$RUNS"); do
        IFS=$'\t' read -r unit period ind value _ < <(sed -n "${run}p" "$KEYS")
        [ -n "${unit:-}" ] || die "$KEYS has no row $run for the matview correction"
        city=$(psql -AtX -c "SELECT d.parent FROM edustat.orgunit s JOIN edustat.orgunit d
                ON d.code = s.parent WHERE s.code = '$unit'")
        before=$(read_city)
        old=$(psql -AtX -c "SELECT value FROM public.raw_v WHERE unit = '$unit'
                AND period = '$period' AND indicator = '$ind'")
        sql -c 'CHECKPOINT'
        s=$(timed <<EOF
UPDATE public.raw_v SET value = $value + $run, version = version + 1, received_at = now()
 WHERE unit = '$unit' AND period = '$period' AND indicator = '$ind';
REFRESH MATERIALIZED VIEW public.mv_rollup;
EOF
        ) || exit 1
        after=$(read_city)
        ok=$(psql -AtX -c "SELECT $after - $before = ($value + $run) - $old")
        [ "$ok" = t ] || die "matview: city $city $period $ind went $before -> $after," \
                "want a change of ($value + $run) - $old"
        emit matview_refresh_s "$s" s \
                "run $run: UPDATE of one school's value + REFRESH MATERIALIZED VIEW (ROLLUP over $GEN_RECORDS rows), city row checked"
done
echo "pg_baseline.sh: done"
