#!/bin/sh
#
# dockerd.sh start|stop|status: a Docker engine for the compose test and CI.
#
#   start   installs docker.io, docker-compose and debootstrap from Debian
#           when missing (apt-get, as root), then makes sure an engine
#           answers: if one already does, it is left alone and not recorded;
#           otherwise it starts dockerd in the background, records its PID in
#           $EDUSTAT_DOCKERD_DIR/dockerd.pid and waits until it serves
#           (at most EDUSTAT_DOCKERD_WAIT seconds, 60).
#   stop    stops the dockerd whose PID start recorded, and only that one
#           (SIGTERM, which also stops its containers and its containerd);
#           an engine this script did not start is never touched.
#   status  exit 0 when an engine answers, 1 when not.
#
# Machines without systemd (CI, containers) have no service to start, which
# is why this exists.  The engine's log is $EDUSTAT_DOCKERD_DIR/dockerd.log.
#
# Environment: EDUSTAT_DOCKERD_DIR (/var/tmp/edustat-dockerd),
# EDUSTAT_DOCKERD_WAIT (60).
set -eu

DIR=${EDUSTAT_DOCKERD_DIR:-/var/tmp/edustat-dockerd}
PIDFILE=$DIR/dockerd.pid
LOG=$DIR/dockerd.log
WAIT=${EDUSTAT_DOCKERD_WAIT:-60}
PKGS="docker.io docker-compose debootstrap"

say() {
        echo "dockerd.sh: $*" >&2
}

engine_up() {
        command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

compose_present() {
        command -v docker-compose >/dev/null 2>&1 ||
            docker compose version >/dev/null 2>&1
}

# The PID recorded by start, when that process is still a dockerd.
recorded_pid() {
        local_pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
        case $local_pid in
        '' | *[!0-9]*) return 1 ;;
        esac
        [ "$(cat "/proc/$local_pid/comm" 2>/dev/null)" = dockerd ] || return 1
        echo "$local_pid"
}

install_missing() {
        # Docker from elsewhere (docker-ce, Compose v2 as a CLI plugin) does
        # as well as Debian's.
        if command -v dockerd >/dev/null 2>&1 && compose_present &&
            command -v debootstrap >/dev/null 2>&1; then
                return 0
        fi
        # shellcheck disable=SC2086
        missing=$("$(dirname "$0")/deps.sh" --missing $PKGS)
        [ -z "$missing" ] && return 0
        if [ "$(id -u)" -ne 0 ]; then
                say "missing Debian packages:$missing; install them as root (apt-get install$missing)"
                return 1
        fi
        say "installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        # shellcheck disable=SC2086
        apt-get install -y -q $missing
}

start() {
        install_missing
        if engine_up; then
                say "a Docker engine is already running; leaving it alone"
                return 0
        fi
        if pid=$(recorded_pid); then
                say "dockerd $pid (started earlier) does not answer yet; waiting"
        else
                if [ "$(id -u)" -ne 0 ]; then
                        say "no Docker engine answers, and only root can start dockerd"
                        return 1
                fi
                # A dockerd not started here (its own pid file) that does not
                # answer is someone else's problem: starting a second one on
                # the same data root would corrupt it.
                other=$(cat /var/run/docker.pid 2>/dev/null || true)
                if [ -n "$other" ] && [ "$(cat "/proc/$other/comm" 2>/dev/null)" = dockerd ]; then
                        say "dockerd $other is running but does not answer; not starting another"
                        return 1
                fi
                mkdir -p "$DIR"
                say "starting dockerd (log $LOG)"
                # setsid: its own session, so the caller's terminal signals
                # and process-group kills do not reach it; stdin closed.
                setsid dockerd </dev/null >>"$LOG" 2>&1 &
                pid=$!
                echo "$pid" >"$PIDFILE"
        fi
        i=0
        while ! engine_up; do
                if ! kill -0 "$pid" 2>/dev/null; then
                        say "dockerd exited during start-up; the end of $LOG:"
                        tail -n 20 "$LOG" >&2
                        rm -f "$PIDFILE"
                        return 1
                fi
                i=$((i + 1))
                if [ "$i" -gt $((WAIT * 2)) ]; then
                        say "dockerd $pid does not answer after ${WAIT}s; the end of $LOG:"
                        tail -n 20 "$LOG" >&2
                        return 1
                fi
                sleep 0.5
        done
        say "dockerd $pid is up (stop it with: $0 stop)"
}

stop() {
        if ! pid=$(recorded_pid); then
                rm -f "$PIDFILE"
                say "no dockerd started by this script is running"
                return 0
        fi
        say "stopping dockerd $pid"
        kill -TERM "$pid"
        # dockerd gives running containers 10 s each (in parallel) to stop.
        i=0
        while kill -0 "$pid" 2>/dev/null; do
                i=$((i + 1))
                if [ "$i" -gt 120 ]; then
                        say "dockerd $pid still runs after 60 s; sending SIGKILL"
                        kill -KILL "$pid" 2>/dev/null || true
                        break
                fi
                sleep 0.5
        done
        rm -f "$PIDFILE"
        say "dockerd $pid stopped"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status)
        if engine_up; then
                say "a Docker engine answers"
        else
                say "no Docker engine answers"
                exit 1
        fi
        ;;
*)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
