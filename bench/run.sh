#!/usr/bin/env bash
#
# run.sh: the benchmarks (`make bench`).  bench/README.md says
# what each figure means.
#
#   bench/run.sh [--build DIR] [--schools N] [--indicators K] [--periods P]
#                [--lanes L] [--runs R] [--seed S] [--naive-rows N]
#                [--smoke] [--only LIST] [--keep]
#
# Generates the data (bench/gen.py) into a work directory under $TMPDIR,
# starts ONE throwaway PostgreSQL (tests/lib/stack.sh) with the bench settings
# below, then runs the pieces that exist, in this order:
#
#   agg           bench/agg.sh           6, 7 (bench_agg_inproc), 8 (restart.sh)
#   pg_baseline   bench/pg_baseline.sh   1, staging upsert, 9a, 9b
#   e2e           bench/e2e.sh           2, 3, 4, 5
#   intake        bench/intake.sh        10: the collector reading a workbook
#
# The aggregator's one-core figures come first, while PostgreSQL is idle:
# after the pieces that load millions of rows, its autovacuum and
# checkpoints keep the other core busy for minutes, and on this kind of
# virtual machine the two cores share one physical core's resources (the
# in-process rate then fell by a third, its cold first run alike).
#
# and finally bench/report.py, which writes bench/RESULTS.md (with --smoke:
# WORK/RESULTS.md, printed, the repository is left alone).  --only takes a
# comma-separated subset of the names above.  A piece that does not exist
# yet is skipped with a note.
#
# CONTRACT for the pieces (bench/pg_baseline.sh, bench/e2e.sh, bench/agg.sh,
# bench/intake.sh):
#   environment
#     EDUSTAT_BENCH_SRC    the repository root
#     EDUSTAT_BENCH_BUILD  the Meson build directory (absolute)
#     EDUSTAT_BENCH_WORK   the work directory; make your own subdirectory
#     EDUSTAT_BENCH_DATA   bench/gen.py's output (see its docstring), and
#                          DATA/config/rules.csv (bench_agg_inproc --print-rules)
#     EDUSTAT_BENCH_OUT    where results go
#     EDUSTAT_BENCH_RUNS   runs per measurement (>= 3 unless smoke)
#     EDUSTAT_BENCH_SMOKE  1 in --smoke mode (tiny sizes, be quick), else 0
#     PGHOST PGPORT PGUSER PGDATABASE EDUSTAT_DB_URL PG_DIR PG_DATA PG_PID
#     PG_BINDIR            from scripts/pg.sh: the one PostgreSQL.  Make your
#                          own database (createdb NAME) so pieces don't
#                          collide; CHECKPOINT before a timed run.
#     GEN_*                bench/gen.py's DATA/meta.env (counts)
#   results: append `metric TAB value TAB unit TAB note` lines, one per run
#     and metric, to OUT/<piece>.tsv.  Profiles and explanations
#     of missed targets go to OUT/notes-<piece>.md; the report includes them.
#   exit status: 0 when every measurement ran.  A piece that fails, or (in
#     --smoke mode) writes no figure, makes run.sh exit 1.
#
# PostgreSQL settings, the same for the baseline and the pipeline: fsync,
# synchronous_commit and full_page_writes stay on (a committed row is on
# disk); shared_buffers 1GB so the 2M-row tables and their indexes stay in
# memory; max_wal_size 16GB and checkpoint_timeout 1h so no checkpoint
# starts in the middle of a timed run (pieces CHECKPOINT before each run);
# wal_buffers 64MB; work_mem 64MB, maintenance_work_mem 512MB.  Everything
# else, autovacuum and JIT included, is PostgreSQL's default.
#
# Everything started here is stopped by PID on exit.  --keep (or
# EDUSTAT_KEEP_WORK=1) keeps the work directory; it is also kept when
# something failed.

set -u

SRC=$(cd "$(dirname "$0")/.." && pwd) || exit 2
BUILD=build
SMOKE=0
ONLY=
KEEP=${EDUSTAT_KEEP_WORK:-0}
ALL_PIECES="agg pg_baseline e2e intake"
# Explicit flags win over the --smoke sizes whatever their order.
declare -A SET=()

usage() {
        sed -n '5,9p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
}

need_arg() {
        if [ $# -lt 2 ] || [ -z "$2" ]; then
                echo "run.sh: $1 needs a value" >&2
                usage
        fi
}

need_int() {
        case $2 in
        '' | *[!0-9]*)
                echo "run.sh: $1 $2: want a positive integer" >&2
                exit 2
                ;;
        esac
        if [ "$2" -lt 1 ]; then
                echo "run.sh: $1 $2: want a positive integer" >&2
                exit 2
        fi
}

while [ $# -gt 0 ]; do
        case $1 in
        --build)
                need_arg "$@"
                BUILD=$2
                shift 2
                ;;
        --schools | --indicators | --periods | --lanes | --runs | --seed | --naive-rows)
                need_arg "$@"
                need_int "$1" "$2"
                SET[${1#--}]=$2
                shift 2
                ;;
        --smoke)
                SMOKE=1
                shift
                ;;
        --only)
                need_arg "$@"
                ONLY=$2
                shift 2
                ;;
        --keep)
                KEEP=1
                shift
                ;;
        -h | --help)
                usage
                ;;
        *)
                echo "run.sh: unknown argument $1" >&2
                usage
                ;;
        esac
done

if [ "$SMOKE" = 1 ]; then
        SCHOOLS=200 INDICATORS=10 PERIODS=2 LANES=2 RUNS=1 NAIVE_ROWS=500
else
        SCHOOLS=20000 INDICATORS=50 PERIODS=2 LANES=4 RUNS=3 NAIVE_ROWS=20000
fi
SEED=1
SCHOOLS=${SET[schools]:-$SCHOOLS}
INDICATORS=${SET[indicators]:-$INDICATORS}
PERIODS=${SET[periods]:-$PERIODS}
LANES=${SET[lanes]:-$LANES}
RUNS=${SET[runs]:-$RUNS}
SEED=${SET[seed]:-$SEED}
NAIVE_ROWS=${SET[naive-rows]:-$NAIVE_ROWS}

PIECES=$ALL_PIECES
if [ -n "$ONLY" ]; then
        PIECES=
        for p in ${ONLY//,/ }; do
                case " $ALL_PIECES " in
                *" $p "*)
                        case " $PIECES " in
                        *" $p "*) ;;
                        *) PIECES="$PIECES $p" ;;
                        esac
                        ;;
                *)
                        echo "run.sh: --only: unknown piece '$p' (pieces: $ALL_PIECES)" >&2
                        exit 2
                        ;;
                esac
        done
fi

if [ ! -d "$BUILD" ]; then
        echo "run.sh: build directory $BUILD does not exist (meson setup $BUILD && ninja -C $BUILD)" >&2
        exit 2
fi
BUILD=$(cd "$BUILD" && pwd) || exit 2

# PostgreSQL through the one harness (tests/lib/stack.sh, scripts/pg.sh).
# shellcheck source=../tests/lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_lib
STACK_NAME=run.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/edustat-bench.XXXXXX") || exit 1
# The postgres user must be able to reach WORK/db when we run as root.
chmod 755 "$WORK"
OUT=$WORK/out
DATA=$WORK/data
mkdir -p "$OUT"
FAILS=0

cleanup() {
        pg_stop
        if [ "$FAILS" -ne 0 ] || [ "$KEEP" = 1 ]; then
                echo "run.sh: work directory kept: $WORK"
        else
                rm -rf "$WORK"
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
        echo "run.sh: FAIL: $*" >&2
        FAILS=$((FAILS + 1))
}

setting() {
        printf '%s\t%s\n' "$1" "$2" >>"$OUT/settings.tsv"
}

# Plotting is optional: gnuplot is installed for a full run only, never for
# the smoke test, and its absence only costs the picture.
if [ "$SMOKE" = 0 ] && ! command -v gnuplot >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        echo "run.sh: installing gnuplot-nox for the plot"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >"$WORK/apt.log" 2>&1 ||
                echo "run.sh: gnuplot-nox not installed (see $WORK/apt.log); no plot"
fi

echo "run.sh: generating $SCHOOLS schools x $INDICATORS indicators x $PERIODS periods," \
        "$LANES lanes, seed $SEED into $DATA"
if ! python3 "$SRC/bench/gen.py" --out "$DATA" --schools "$SCHOOLS" --indicators "$INDICATORS" \
        --periods "$PERIODS" --lanes "$LANES" --seed "$SEED"; then
        fail "bench/gen.py failed"
        exit 1
fi
# Validation rules shaped like the sample city's (5 error rules, 4 school
# warnings, 1 district rule over gen.py's indicators; the data passes every
# error rule): every piece measures the product as a bureau runs it, with
# its 审核.  (6) also runs without them (agg.sh), for their cost.
if ! "$BUILD/bench/bench_agg_inproc" --print-rules >"$DATA/config/rules.csv"; then
        fail "cannot write DATA/config/rules.csv"
        exit 1
fi
# shellcheck disable=SC1091
. "$DATA/meta.env"
export GEN_SCHOOLS GEN_DISTRICTS GEN_CITIES GEN_INDICATORS GEN_RATIOS GEN_PERIODS GEN_LANES \
        GEN_RECORDS GEN_CORRECTIONS GEN_SEED GEN_PERIOD_LIST

if ! pg_start "$WORK/db"; then
        fail "cannot start PostgreSQL"
        exit 1
fi
PG_SETTINGS="shared_buffers=1GB max_wal_size=16GB checkpoint_timeout=1h wal_buffers=64MB
work_mem=64MB maintenance_work_mem=512MB fsync=on synchronous_commit=on full_page_writes=on"
for kv in $PG_SETTINGS; do
        if ! psql -X -q -d postgres -v ON_ERROR_STOP=1 \
                -c "ALTER SYSTEM SET ${kv%%=*} = '${kv#*=}'" >/dev/null; then
                fail "cannot set $kv"
                exit 1
        fi
done
# shared_buffers and wal_buffers need a restart.
pg_stop
if ! pg_resume; then
        fail "PostgreSQL did not restart with the bench settings"
        exit 1
fi
echo "run.sh: PostgreSQL on port $PGPORT (pid $PG_PID), work dir $WORK"

setting schools "$GEN_SCHOOLS"
setting districts "$GEN_DISTRICTS"
setting cities "$GEN_CITIES"
setting indicators "$GEN_INDICATORS"
setting ratios "$GEN_RATIOS"
setting periods "$GEN_PERIODS"
setting lanes "$GEN_LANES"
setting records "$GEN_RECORDS"
setting corrections "$GEN_CORRECTIONS"
setting seed "$SEED"
setting runs "$RUNS"
setting smoke "$SMOKE"
setting naive_rows "$NAIVE_ROWS"
setting pg_version "$(psql -AtX -d postgres -c 'SHOW server_version')"
for k in shared_buffers max_wal_size checkpoint_timeout wal_buffers work_mem \
        maintenance_work_mem fsync synchronous_commit full_page_writes wal_level autovacuum jit; do
        setting "pg_$k" "$(psql -AtX -d postgres -c "SHOW $k")"
done
setting data_fs "$(df -PT "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')"
setting build "$BUILD"
setting started "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"

export EDUSTAT_BENCH_SRC=$SRC EDUSTAT_BENCH_BUILD=$BUILD EDUSTAT_BENCH_WORK=$WORK
export EDUSTAT_BENCH_DATA=$DATA EDUSTAT_BENCH_OUT=$OUT EDUSTAT_BENCH_RUNS=$RUNS
export EDUSTAT_BENCH_SMOKE=$SMOKE EDUSTAT_BENCH_NAIVE_ROWS=$NAIVE_ROWS

# A piece that hangs must not hang `make test`; a full run may take long.
if [ "$SMOKE" = 1 ]; then LIMIT=300; else LIMIT=14400; fi

figures() {
        if [ -f "$1" ]; then grep -c . "$1"; else echo 0; fi
}

# run_piece NAME COMMAND...: run it with the contract's environment, log
# to OUT/NAME.log, record the outcome in OUT/pieces.tsv.
run_piece() {
        local name=$1 tsv before after st t0 t1
        shift
        tsv=$OUT/$name.tsv
        before=$(figures "$tsv")
        echo "run.sh: --- $name ($*)"
        t0=$(date +%s)
        # The piece's own output goes to the terminal too, for progress.
        timeout --foreground -k 20 "$LIMIT" "$@" 2>&1 | tee -a "$OUT/$name.log"
        st=${PIPESTATUS[0]}
        t1=$(date +%s)
        after=$(figures "$tsv")
        if [ "$st" -ne 0 ]; then
                fail "$name exited with status $st (log: $OUT/$name.log)"
                printf '%s\tfailed\t%s\texit status %s\n' "$name" "$((t1 - t0))" "$st" >>"$OUT/pieces.tsv"
        elif [ "$after" -le "$before" ]; then
                if [ "$SMOKE" = 1 ]; then
                        fail "$name wrote no figures to $tsv"
                fi
                printf '%s\tno figures\t%s\t\n' "$name" "$((t1 - t0))" >>"$OUT/pieces.tsv"
        else
                printf '%s\tok\t%s\t%s figures\n' "$name" "$((t1 - t0))" "$((after - before))" \
                        >>"$OUT/pieces.tsv"
        fi
}

skip_piece() {
        echo "run.sh: --- $1: skipped, $2"
        printf '%s\tskipped\t0\t%s\n' "$1" "$2" >>"$OUT/pieces.tsv"
}

for piece in $PIECES; do
        case $piece in
        pg_baseline | e2e | intake)
                if [ -f "$SRC/bench/$piece.sh" ]; then
                        run_piece "$piece" bash "$SRC/bench/$piece.sh"
                else
                        skip_piece "$piece" "bench/$piece.sh does not exist yet"
                fi
                ;;
        agg)
                if [ -f "$SRC/bench/agg.sh" ]; then
                        run_piece "$piece" bash "$SRC/bench/agg.sh"
                else
                        skip_piece "$piece" "bench/agg.sh does not exist yet"
                fi
                ;;
        esac
done
setting finished "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"

if [ "$SMOKE" = 1 ]; then
        RESULTS=$WORK/RESULTS.md
        PLOTDIR=$WORK
else
        RESULTS=$SRC/bench/RESULTS.md
        PLOTDIR=$SRC/bench
fi
if ! python3 "$SRC/bench/report.py" --out "$OUT" --results "$RESULTS" --plot-dir "$PLOTDIR"; then
        fail "bench/report.py failed"
fi
if [ "$SMOKE" = 1 ] && [ -f "$RESULTS" ]; then
        cat "$RESULTS"
fi
echo "run.sh: results in $RESULTS"
if [ "$FAILS" -ne 0 ]; then
        echo "run.sh: $FAILS failure(s)" >&2
        exit 1
fi
exit 0
