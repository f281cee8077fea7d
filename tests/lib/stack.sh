# shellcheck shell=bash
#
# stack.sh: start and stop a whole edustat stack on loopback for a test.
# Source it after setting BUILD (the build directory) and SRC (the source
# tree); then:
#
#   stack_init NAME             work dir $WORK, traps, binaries, pg.sh, devkeys.sh
#   stack_up CONFIG_DIR         PostgreSQL, CURVE keys for CONFIG_DIR, sink, aggregator
#                               (= stack_prepare CONFIG_DIR, then stack_start)
#   fail MSG / abort MSG        count a failure / give up with the daemons' logs
#   stack_finish                print the verdict and exit 0 or 1
#
# Everything started is stopped by PID on exit; the work directory is kept
# when something failed, or with EDUSTAT_KEEP_WORK=1.

set -u
FAILS=0
SINK_PID=
AGG_PID=

fail() {
        echo "FAIL: $*"
        FAILS=$((FAILS + 1))
}

stack_logs() {
        local f
        for f in "$WORK"/*.log; do
                [ -f "$f" ] || continue
                echo "----- $(basename "$f") (last 100 lines) -----"
                tail -n 100 "$f"
        done
}

abort() {
        fail "$*"
        stack_logs
        exit 1
}

stack_find_bin() {
        local b
        for b in "$BUILD/$1" "$BUILD/bin/$1"; do
                [ -x "$b" ] && { printf '%s\n' "$b"; return 0; }
        done
        echo "$STACK_NAME: $1 not found under $BUILD" >&2
        return 1
}

stack_cleanup() {
        local pid
        for pid in $AGG_PID $SINK_PID; do
                kill -TERM "$pid" 2>/dev/null
                for _ in $(seq 1 50); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$pid" 2>/dev/null
        done
        pg_stop >/dev/null 2>&1
        if [ "$FAILS" -ne 0 ] || [ "${EDUSTAT_KEEP_WORK:-0}" = 1 ]; then
                echo "$STACK_NAME: work directory kept: $WORK"
        else
                rm -rf "$WORK"
        fi
}

stack_init() {
        STACK_NAME=$1
        # shellcheck source=../../scripts/pg.sh
        . "$SRC/scripts/pg.sh"
        # shellcheck source=../../scripts/devkeys.sh
        . "$SRC/scripts/devkeys.sh"
        SINK_BIN=$(stack_find_bin edustat-sink) || exit 1
        AGG_BIN=$(stack_find_bin edustat-aggregator) || exit 1
        COLLECTOR_BIN=$(stack_find_bin edustat-collector) || exit 1
        KEYGEN_BIN=$(stack_find_bin edustat-keygen) || exit 1
        WORK=$(mktemp -d "${TMPDIR:-/tmp}/edustat-$STACK_NAME.XXXXXX") || exit 1
        chmod 755 "$WORK" # the postgres user reaches WORK/db when we are root
        export EDUSTAT_OUTBOX=$WORK/outbox.db
        trap stack_cleanup EXIT
        trap 'exit 130' INT TERM
}

# A free loopback port, twice distinct.
stack_ports() {
        python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))'
}

# stack_wait NAME PID LOG: until LOG says "ready" (30 s).
stack_wait() {
        for _ in $(seq 1 300); do
                grep -q ready "$3" 2>/dev/null && return 0
                kill -0 "$2" 2>/dev/null || abort "$1 exited before it was ready"
                sleep 0.1
        done
        abort "$1 did not log 'ready' within 30 s"
}

# stack_prepare CONFIG_DIR [UNIT...]: PostgreSQL, a copy of the config with
# CURVE keys (the collector key registered for UNITs, default the root) and
# the ports.  Then stack_start starts the daemons; stack_up does both.
stack_prepare() {
        local config=$1
        shift
        pg_start "$WORK/db" >/dev/null || abort "cannot start PostgreSQL"
        devkeys "$KEYGEN_BIN" "$config" "$WORK" "$@" || abort "cannot make CURVE keys"
        read -r SINK_PORT AGG_PORT <<<"$(stack_ports)"
        export EDUSTAT_SINK_BIND=tcp://127.0.0.1:$SINK_PORT EDUSTAT_SINK=tcp://127.0.0.1:$SINK_PORT
        export EDUSTAT_AGGREGATOR_BIND=tcp://127.0.0.1:$AGG_PORT
        export EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$AGG_PORT
}

stack_up() {
        stack_prepare "$@"
        stack_start
}

stack_start() {
        "$SINK_BIN" >"$WORK/sink.log" 2>&1 &
        SINK_PID=$!
        stack_wait sink "$SINK_PID" "$WORK/sink.log"
        "$AGG_BIN" >"$WORK/aggregator.log" 2>&1 &
        AGG_PID=$!
        stack_wait aggregator "$AGG_PID" "$WORK/aggregator.log"
}

stack_finish() {
        if [ "$FAILS" -ne 0 ]; then
                echo "$STACK_NAME: $FAILS failure(s)"
                stack_logs
                exit 1
        fi
        echo "$STACK_NAME: all checks passed"
        exit 0
}

# ---------------------------------------------------------------------------
# More than one aggregator, more collector keys, a protocol-level client
# (protocol 2: identity, fencing, versions).  A script that uses
# stack_spawn_aggregator sets `trap stack_exit EXIT` after stack_init, so the
# extra processes are stopped (by PID) before the rest.
#
#   stack_collector_key NAME UNIT...    a key pair NAME registered in
#                                       collectors.csv as NAME (before the
#                                       aggregator starts)
#   stack_spawn_aggregator VAR PORT LOG [nowait] [VAR=VALUE...]
#                                       another aggregator on 127.0.0.1:PORT,
#                                       same keys and sink; its PID in VAR
#   stack_wait_exit PID SECONDS         until PID exits; its status in STACK_RC
#                                       (255 when it is still running)
#   stack_python / stack_client ARGS... tests/lib/edustat_client.py with an
#                                       interpreter that has pyzmq and msgpack

STACK_EXTRA_PIDS=
STACK_PY=
STACK_RC=

stack_exit() {
        local pid
        for pid in $STACK_EXTRA_PIDS; do
                kill -TERM "$pid" 2>/dev/null || continue
                for _ in $(seq 1 50); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$pid" 2>/dev/null
        done
        stack_cleanup
}

stack_collector_key() {
        local name=$1 pub
        shift
        pub=$("$KEYGEN_BIN" "$name" "$WORK/keys" | awk '{print $NF}') ||
                abort "cannot make the key pair $name"
        echo "$pub,$name,$*" >>"$EDUSTAT_CONFIG/collectors.csv"
}

stack_spawn_aggregator() {
        local var=$1 port=$2 log=$3 wait=1 pid
        shift 3
        if [ "${1:-}" = nowait ]; then
                wait=0
                shift
        fi
        env "$@" EDUSTAT_AGGREGATOR_BIND="tcp://127.0.0.1:$port" "$AGG_BIN" >"$log" 2>&1 &
        pid=$!
        STACK_EXTRA_PIDS="$STACK_EXTRA_PIDS $pid"
        printf -v "$var" '%s' "$pid"
        if [ "$wait" = 1 ]; then
                stack_wait "aggregator on port $port" "$pid" "$log"
        fi
}

stack_wait_exit() {
        local pid=$1 n=$(($2 * 10))
        for _ in $(seq 1 "$n"); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
                STACK_RC=255
                return 1
        fi
        wait "$pid" 2>/dev/null
        STACK_RC=$?
        return 0
}

stack_python() {
        local py
        for py in python3 /usr/bin/python3; do
                if "$py" -c 'import zmq, msgpack' 2>/dev/null; then
                        STACK_PY=$py
                        return 0
                fi
        done
        abort "no python3 with the zmq and msgpack modules" \
                "(Debian: python3-zmq python3-msgpack; scripts/deps.sh installs them)"
}

stack_client() {
        [ -n "$STACK_PY" ] || stack_python
        "$STACK_PY" "$SRC/tests/lib/edustat_client.py" "$@"
}
