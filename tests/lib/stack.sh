# shellcheck shell=bash
#
# stack.sh: the one harness that starts and stops an edustat stack on
# loopback: PostgreSQL (scripts/pg.sh), CURVE keys (scripts/devkeys.sh), the
# sink and the aggregator.  It picks the free ports, waits for each daemon's
# readiness line, stops everything it started by PID and prints the logs on
# failure.  The integration tests, the fault scenarios, the bench scripts and
# the demo use it, so a script holds only its own intent.
#
# A test sources it after setting BUILD (the build directory) and SRC (the
# source tree); then:
#
#   stack_init NAME             work dir $WORK, traps, binaries, pg.sh, devkeys.sh
#   stack_up CONFIG_DIR         PostgreSQL, CURVE keys for CONFIG_DIR, sink, aggregator
#                               (= stack_prepare CONFIG_DIR, then stack_start)
#   fail MSG / abort MSG        count a failure / give up with the daemons' logs
#   stack_finish                print the verdict and exit 0 or 1
#
# The pieces, for a script that needs another order:
#
#   stack_lib                   pg.sh and devkeys.sh only (a script with its
#                               own work directory and traps: bench, demo)
#   stack_free_ports N          N distinct loopback ports nobody listens on
#   stack_endpoints             export the daemons' endpoints for SINK_PORT
#                               and AGG_PORT
#   stack_ready NAME PID LOG [FROM]
#                               until LOG, after line FROM, has the readiness
#                               line STACK_READY; 1 with the reason on stderr
#                               when PID exits first or STACK_READY_SECONDS pass
#   stack_wait_ready NAME PID LOG [FROM]
#                               the same; abort on failure
#   stack_start_sink [nowait], stack_start_aggregator [nowait]
#                               start a daemon (its PID in SINK_PID, AGG_PID),
#                               output appended to STACK_SINK_LOG, STACK_AGG_LOG,
#                               and wait for the readiness line it writes.
#                               The environment (EDUSTAT_CONFIG, EDUSTAT_KEYS,
#                               the endpoints) says the rest; a prefix
#                               assignment changes it for one start.
#   stack_stop_daemon NAME PID  SIGTERM; a failure unless it exits 0 within 15 s
#   stack_stop_pid PID [SECONDS]
#                               SIGTERM, SIGKILL after SECONDS (15), reaped
#   stack_kill9 PID             SIGKILL, reaped
#   stack_log_lines LOG         the lines LOG has now (0 when it does not exist)
#   stack_sample_rss PID OUT [LIMIT_KB]
#                               a process's memory every 100 ms (in the background)
#   stack_logs                  the last STACK_LOG_TAIL lines of each log
#   stack_find_bin PROGRAM      its path under BUILD (BUILD, BUILD/bin, BUILD/bench)
#   stack_metric TSV METRIC VALUE UNIT NOTE
#                               a bench figure: one "metric value unit note"
#                               line (tab-separated) appended to TSV, and said
#                               on stderr
#
# Settings a script may change after stack_init: STACK_READY_SECONDS (30),
# STACK_READY_POLL (how often stack_ready looks, 0.05 s),
# STACK_SINK_LOG and STACK_AGG_LOG ($WORK/sink.log, $WORK/aggregator.log),
# STACK_LOG_FILES (the logs stack_logs prints, default $WORK/*.log),
# STACK_LOG_TAIL (100), STACK_LAUNCH (a command the daemons are started
# under, e.g. setsid so that Ctrl-C reaches only the script), STACK_EXTRA_PIDS (more processes to stop at exit)
# and STACK_CLEANUP_HOOK (a function run first at exit).
#
# Everything started is stopped by PID on exit; the work directory is kept
# when something failed, or with EDUSTAT_KEEP_WORK=1.

set -u
FAILS=0
SINK_PID=
AGG_PID=
STACK_NAME=${STACK_NAME:-stack}
STACK_EXTRA_PIDS=
STACK_CLEANUP_HOOK=
STACK_READY_SECONDS=30
STACK_READY_POLL=0.05
STACK_LOG_TAIL=100
STACK_LOG_FILES=
STACK_LAUNCH=

# The line a daemon logs once it serves: "PROGRAM[PID]: info: ready ..."
# (sink/main.c, aggregator/main.c).  Every script waits for this one.
STACK_READY=': info: ready'

fail() {
        echo "FAIL: $*"
        FAILS=$((FAILS + 1))
}

stack_logs() {
        local f files
        if [ -n "$STACK_LOG_FILES" ]; then
                files=$STACK_LOG_FILES
        else
                files=$(printf '%s ' "$WORK"/*.log)
        fi
        for f in $files; do
                [ -f "$f" ] || continue
                echo "----- $(basename "$f") (last $STACK_LOG_TAIL lines) -----"
                tail -n "$STACK_LOG_TAIL" "$f"
        done
        echo "----- end of logs -----"
}

abort() {
        fail "$*"
        stack_logs
        exit 1
}

# stack_find_bin PROGRAM: its path under BUILD, or 1 with a message.
stack_find_bin() {
        local b
        for b in "$BUILD/$1" "$BUILD/bin/$1" "$BUILD/bench/$1"; do
                [ -x "$b" ] && { printf '%s\n' "$b"; return 0; }
        done
        echo "$STACK_NAME: $1 not found under $BUILD" >&2
        return 1
}

stack_metric() {
        printf '%s\t%s\t%s\t%s\n' "$2" "$3" "$4" "$5" >>"$1"
        printf '%s: %s = %s %s (%s)\n' "$STACK_NAME" "$2" "$3" "$4" "$5" >&2
}

stack_stop_pid() {
        local pid=$1 n=$((${2:-15} * 10))
        [ -n "$pid" ] || return 0
        kill -TERM "$pid" 2>/dev/null || return 0
        for _ in $(seq 1 "$n"); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
}

stack_kill9() {
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
}

stack_stop_daemon() {
        local name=$1 pid=$2 st
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 150); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
                fail "$name (pid $pid) did not exit within 15 s of SIGTERM"
                kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid"
        st=$?
        [ "$st" -eq 0 ] || fail "$name exited with status $st on SIGTERM, want 0"
}

# The EXIT trap: the script's hook, its extra processes, the aggregator, the
# sink (continued first: a scenario may have stopped it), PostgreSQL.
stack_cleanup() {
        local pid
        [ -n "$STACK_CLEANUP_HOOK" ] && "$STACK_CLEANUP_HOOK"
        for pid in $STACK_EXTRA_PIDS; do
                stack_stop_pid "$pid"
        done
        [ -n "$SINK_PID" ] && kill -CONT "$SINK_PID" 2>/dev/null
        stack_stop_pid "$AGG_PID"
        stack_stop_pid "$SINK_PID"
        pg_stop >/dev/null 2>&1
        if [ "$FAILS" -ne 0 ] || [ "${EDUSTAT_KEEP_WORK:-0}" = 1 ]; then
                echo "$STACK_NAME: work directory kept: $WORK"
        else
                rm -rf "$WORK"
        fi
}

# The name of stack_cleanup that older scripts set as their EXIT trap.
stack_exit() {
        stack_cleanup
}

stack_lib() {
        # shellcheck source=../../scripts/pg.sh
        . "$SRC/scripts/pg.sh"
        # shellcheck source=../../scripts/devkeys.sh
        . "$SRC/scripts/devkeys.sh"
}

stack_init() {
        STACK_NAME=$1
        stack_lib
        SINK_BIN=$(stack_find_bin edustat-sink) || exit 1
        AGG_BIN=$(stack_find_bin edustat-aggregator) || exit 1
        COLLECTOR_BIN=$(stack_find_bin edustat-collector) || exit 1
        KEYGEN_BIN=$(stack_find_bin edustat-keygen) || exit 1
        WORK=$(mktemp -d "${TMPDIR:-/tmp}/edustat-$STACK_NAME.XXXXXX") || exit 1
        chmod 755 "$WORK" # the postgres user reaches WORK/db when we are root
        # The collector's durable outbox belongs to this run: leftovers of an
        # earlier run must never be delivered into this one's database.
        export EDUSTAT_OUTBOX=$WORK/outbox.db
        STACK_SINK_LOG=$WORK/sink.log
        STACK_AGG_LOG=$WORK/aggregator.log
        trap stack_cleanup EXIT
        trap 'exit 130' INT TERM
}

stack_free_ports() {
        python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

stack_ports() {
        stack_free_ports 2
}

stack_log_lines() {
        if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

stack_ready() {
        local name=$1 pid=$2 log=$3 from=${4:-0} deadline
        deadline=$(($(date +%s) + STACK_READY_SECONDS))
        while [ "$(date +%s)" -le "$deadline" ]; do
                if tail -n +"$((from + 1))" "$log" 2>/dev/null | grep -qF "$STACK_READY"; then
                        return 0
                fi
                if ! kill -0 "$pid" 2>/dev/null; then
                        echo "$STACK_NAME: $name exited before it was ready; its log ($log):" >&2
                        tail -n 20 "$log" >&2
                        return 1
                fi
                sleep "$STACK_READY_POLL"
        done
        echo "$STACK_NAME: $name did not log '$STACK_READY' within $STACK_READY_SECONDS s" >&2
        return 1
}

stack_wait_ready() {
        stack_ready "$@" || abort "$1 did not get ready (pid $2, log $3)"
}

# stack_wait NAME PID LOG: stack_wait_ready from the log's first line.
stack_wait() {
        stack_wait_ready "$1" "$2" "$3" 0
}

# stack_prepare CONFIG_DIR [UNIT...]: PostgreSQL, a copy of the config with
# CURVE keys (the collector key registered for UNITs, default the root) and
# the ports.  Then stack_start starts the daemons; stack_up does both.
stack_prepare() {
        local config=$1
        shift
        pg_start "$WORK/db" >/dev/null || abort "cannot start PostgreSQL"
        devkeys "$KEYGEN_BIN" "$config" "$WORK" "$@" || abort "cannot make CURVE keys"
        read -r SINK_PORT AGG_PORT <<<"$(stack_free_ports 2)"
        stack_endpoints
}

stack_endpoints() {
        export EDUSTAT_SINK_BIND=tcp://127.0.0.1:$SINK_PORT EDUSTAT_SINK=tcp://127.0.0.1:$SINK_PORT
        export EDUSTAT_AGGREGATOR_BIND=tcp://127.0.0.1:$AGG_PORT
        export EDUSTAT_AGGREGATOR=tcp://127.0.0.1:$AGG_PORT
}

stack_up() {
        stack_prepare "$@"
        stack_start
}

# stack_start_daemon NAME BIN LOG PID_VAR [nowait]: start BIN, output
# appended to LOG, its PID in PID_VAR; wait for the readiness line it writes.
stack_start_daemon() {
        local name=$1 bin=$2 log=$3 var=$4 from
        from=$(stack_log_lines "$log")
        $STACK_LAUNCH "$bin" >>"$log" 2>&1 &
        printf -v "$var" '%s' "$!"
        [ "${5:-}" = nowait ] || stack_wait_ready "$name" "${!var}" "$log" "$from"
}

stack_start_sink() {
        stack_start_daemon sink "$SINK_BIN" "$STACK_SINK_LOG" SINK_PID "$@"
}

stack_start_aggregator() {
        stack_start_daemon aggregator "$AGG_BIN" "$STACK_AGG_LOG" AGG_PID "$@"
}

# stack_sample_rss PID OUT [LIMIT_KB]: "MICROSECONDS RSS_KB HWM_KB" lines to
# OUT every 100 ms, until PID is gone, WORK/sampler.stop exists or 10
# minutes pass; with LIMIT_KB, WORK/rss.over is created once RSS passes it
# (a test stops its load then: a broken build must not take the machine).
# Run it in the background.
stack_sample_rss() {
        local pid=$1 out=$2 limit=${3:-} k v rss hwm n=0
        while [ ! -e "$WORK/sampler.stop" ] && [ $n -lt 6000 ]; do
                rss=
                hwm=
                while read -r k v _; do
                        case $k in
                        VmRSS:) rss=$v ;;
                        VmHWM:) hwm=$v ;;
                        esac
                done 2>/dev/null <"/proc/$pid/status"
                [ -n "$rss" ] || break
                echo "${EPOCHREALTIME/./} $rss $hwm" >>"$out"
                [ -n "$limit" ] && [ "$rss" -gt "$limit" ] && touch "$WORK/rss.over"
                n=$((n + 1))
                sleep 0.1
        done
}

stack_start() {
        stack_start_sink
        stack_start_aggregator
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
# stack_spawn_aggregator has them stopped by stack_cleanup (by PID) before
# the rest.
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

STACK_PY=
STACK_RC=

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
