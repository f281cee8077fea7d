# shellcheck shell=bash
#
# pg.sh: a throwaway PostgreSQL cluster for tests and the demo.  Source it:
#
#   . scripts/pg.sh
#   pg_start "$WORKDIR"      # initdb into WORKDIR/pg, start on a free loopback port
#   psql -c 'select 1'       # PGHOST, PGPORT, PGUSER, PGDATABASE are exported
#   pg_stop                  # fast shutdown (immediate, then SIGKILL, if it hangs)
#
# After pg_start these are set and exported:
#   PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=edustat
#   EDUSTAT_DB_URL   the libpq string for the sink
#   PG_DIR           the working directory given to pg_start
#   PG_DATA          the cluster (PG_DIR/pg); the server log is PG_DIR/pg.log
#   PG_PID           the postmaster's PID
#   PG_BINDIR        where initdb, pg_ctl and postgres live
#
# The cluster trusts every loopback connection: it lives in a temporary
# directory, listens on 127.0.0.1 only and dies with the test.  fsync stays
# on so that crash tests (kill -9 of the postmaster) see real durability.
# As root, the server runs as the "postgres" user (PostgreSQL refuses to run
# as root) and PG_DIR is handed to that user; as anyone else it runs as the
# caller.  Functions return non-zero with a message on stderr on failure.

# Print the directory holding the server binaries (initdb, pg_ctl, postgres).
pg_bindir() {
        local d
        if command -v pg_config >/dev/null 2>&1; then
                d=$(pg_config --bindir 2>/dev/null)
                if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
                        printf '%s\n' "$d"
                        return 0
                fi
        fi
        # Debian installs the server outside PATH, one directory per major
        # version; take the newest.
        for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5nr); do
                if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
                        printf '%s\n' "$d"
                        return 0
                fi
        done
        if command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1; then
                dirname "$(command -v initdb)"
                return 0
        fi
        echo "pg.sh: no PostgreSQL server binaries (initdb, postgres) found;" \
                "install postgresql (Debian: apt-get install postgresql)" >&2
        return 1
}

# Run a command as the cluster's owner: postgres when we are root, else us.
_pg_as_owner() {
        if [ "$(id -u)" -eq 0 ]; then
                runuser -u postgres -- "$@"
        else
                "$@"
        fi
}

# Start the postmaster of PG_DATA on port $1; 0 when it accepts connections.
_pg_try_port() {
        local port=$1
        _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/pg.log" -w -t 30 \
                -o "-p $port -c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=on" \
                start >>"$PG_DIR/pg_ctl.out" 2>&1
}

# pg_start DIR: create and start a cluster in DIR/pg, create database edustat.
pg_start() {
        local dir=$1 port
        if [ -z "$dir" ]; then
                echo "pg_start: usage: pg_start DIR" >&2
                return 2
        fi
        mkdir -p "$dir" || return 1
        PG_DIR=$(cd "$dir" && pwd) || return 1
        PG_DATA=$PG_DIR/pg
        PG_BINDIR=$(pg_bindir) || return 1
        if [ "$(id -u)" -eq 0 ]; then
                if ! id postgres >/dev/null 2>&1; then
                        echo "pg_start: running as root needs a 'postgres' user" >&2
                        return 1
                fi
                chown postgres: "$PG_DIR" || return 1
                if ! runuser -u postgres -- test -w "$PG_DIR"; then
                        echo "pg_start: user postgres cannot write $PG_DIR" \
                                "(a parent directory is not searchable?)" >&2
                        return 1
                fi
        fi
        : >"$PG_DIR/pg_ctl.out"
        # -N: initdb's own fsync of the fresh files is not worth seconds for a
        # throwaway cluster; the server itself runs with fsync on.
        if ! _pg_as_owner "$PG_BINDIR/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 \
                --locale=C -N >"$PG_DIR/initdb.log" 2>&1; then
                echo "pg_start: initdb failed:" >&2
                cat "$PG_DIR/initdb.log" >&2
                return 1
        fi
        # A port can be taken between our pick and the server's bind, or by
        # something we cannot see; postgres then exits at once and we pick
        # another.
        for _ in $(seq 1 20); do
                port=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
                if _pg_try_port "$port"; then
                        break
                fi
                port=
        done
        if [ -z "$port" ]; then
                echo "pg_start: postgres did not start on any of 20 ports; log:" >&2
                tail -n 30 "$PG_DIR/pg.log" "$PG_DIR/pg_ctl.out" >&2
                return 1
        fi
        PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
        export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=edustat
        export EDUSTAT_DB_URL="host=127.0.0.1 port=$port user=postgres dbname=edustat"
        export PG_DIR PG_DATA PG_PID PG_BINDIR
        if ! "$PG_BINDIR/pg_isready" -h 127.0.0.1 -p "$port" -t 30 >/dev/null; then
                echo "pg_start: server on port $port is not ready" >&2
                return 1
        fi
        if ! psql -X -q -d postgres -v ON_ERROR_STOP=1 -c 'CREATE DATABASE edustat' >/dev/null; then
                echo "pg_start: cannot create database edustat" >&2
                return 1
        fi
        return 0
}

# pg_stop: stop the cluster started by pg_start.  Safe to call twice.
pg_stop() {
        [ -n "$PG_DATA" ] && [ -d "$PG_DATA" ] || return 0
        if [ -n "$PG_PID" ] && kill -0 "$PG_PID" 2>/dev/null; then
                _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -w -t 20 -m fast stop \
                        >>"$PG_DIR/pg_ctl.out" 2>&1 ||
                        _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -w -t 10 -m immediate \
                                stop >>"$PG_DIR/pg_ctl.out" 2>&1
                if kill -0 "$PG_PID" 2>/dev/null; then
                        kill -KILL "$PG_PID" 2>/dev/null
                fi
        fi
        PG_PID=
        return 0
}

# pg_kill: SIGKILL the postmaster (crash tests).  pg_resume starts it again.
pg_kill() {
        if [ -n "$PG_PID" ]; then
                kill -KILL "$PG_PID" 2>/dev/null
                # The backends notice the postmaster is gone and exit; wait
                # for them so the port and shared memory are free.
                for _ in $(seq 1 100); do
                        kill -0 "$PG_PID" 2>/dev/null || break
                        sleep 0.1
                done
        fi
        PG_PID=
}

# pg_resume: start the cluster again on the same port after pg_stop/pg_kill.
pg_resume() {
        for _ in $(seq 1 50); do
                if _pg_try_port "$PGPORT"; then
                        PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
                        export PG_PID
                        return 0
                fi
                sleep 0.2
        done
        echo "pg_resume: postgres did not start again on port $PGPORT" >&2
        tail -n 30 "$PG_DIR/pg.log" >&2
        return 1
}
