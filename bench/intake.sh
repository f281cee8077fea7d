#!/usr/bin/env bash
#
# intake.sh: the collector's reading of a workbook (make bench, piece
# "intake"): bench_intake_read writes the same round as a wide .xlsx, a
# long CSV and a wide CSV, on bench/gen.py's catalogue, and reads each
# EDUSTAT_BENCH_RUNS times through submit_file().  Figures, appended to
# OUT/intake.tsv: intake_xlsx_cells_per_s (target >= 100,000 cells/s, on the
# median), intake_long_csv_rps (the baseline: the same values as long CSV,
# in the same run), info_intake_wide_csv_cells_per_s.  10,000 schools x
# every submitted indicator (50 by default: 500,000 cells, under the
# workbook reader's cap of a million); --smoke: 200 schools.  No database.
#
# Environment: bench/run.sh's contract (see its header).

set -u
: "${EDUSTAT_BENCH_BUILD:?}" "${EDUSTAT_BENCH_WORK:?}" "${EDUSTAT_BENCH_DATA:?}"
: "${EDUSTAT_BENCH_OUT:?}"
BIN=$EDUSTAT_BENCH_BUILD/bench/bench_intake_read
WORK=$EDUSTAT_BENCH_WORK/intake
if [ "${EDUSTAT_BENCH_SMOKE:-0}" = 1 ]; then SCHOOLS=200; else SCHOOLS=10000; fi

[ -x "$BIN" ] || {
        echo "intake.sh: $BIN is not built" >&2
        exit 1
}
mkdir -p "$WORK" || exit 1
"$BIN" --config "$EDUSTAT_BENCH_DATA/config" --work "$WORK" --schools "$SCHOOLS" \
        --runs "${EDUSTAT_BENCH_RUNS:-3}" >"$WORK/figures.tsv" || exit 1
cat "$WORK/figures.tsv" >>"$EDUSTAT_BENCH_OUT/intake.tsv"
cat "$WORK/figures.tsv"
# The generated files are large; the figures are what is kept.
rm -f "$WORK"/*.csv "$WORK"/*.xlsx
