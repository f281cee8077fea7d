#!/usr/bin/env bash
#
# Fault scenario 3: PostgreSQL stopped (pg_ctl stop -m fast, then -m
# immediate, alternating) for a while, then started again.
#
#   pg_stop.sh BUILD_ROOT SOURCE_ROOT
#
# "fast" aborts the open transactions and shuts down cleanly; "immediate"
# is a crash (recovery from the WAL at the next start).  The sink must
# reconnect with back-off, never acknowledge what was not committed, and the
# aggregator must stop acknowledging while the sink cannot commit and catch
# up by itself.  See lib.sh for the checks.
export EDUSTAT_FLUSH_MS=100
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# pg_halt MODE: pg_ctl stop -m MODE (pg.sh's pg_stop is always fast).
pg_halt() {
        _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -w -t 30 -m "$1" stop \
                >>"$PG_DIR/pg_ctl.out" 2>&1 || abort "pg_ctl stop -m $1 failed"
        PG_PID=
}

fault_init pg_stop "$@"
fault_start
for it in $(seq 1 "$ITER"); do
        lanes_start
        rand 200 1500
        sleep_ms "$R"
        if [ $((it % 2)) = 1 ]; then mode=fast; else mode=immediate; fi
        pg_halt "$mode"
        FAULTS=$((FAULTS + 1))
        rand 500 3000
        note "iteration $it: PostgreSQL stopped -m $mode; down for $R ms"
        sleep_ms "$R"
        pg_resume || abort "PostgreSQL did not start again"
        rand 500 1500
        sleep_ms "$R"
        lanes_stop
        iteration_end "$it"
done
fault_finish
