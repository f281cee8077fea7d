#!/usr/bin/env bash
#
# run.sh [SOURCE_ROOT]: the Docker Compose test (docs/DOCKER.md).
#
# Runs the stack of docker-compose.yml the way a user does, under its own
# project name and with its published ports on free 127.0.0.1 ports:
#   1. makes sure debian:bookworm-slim exists (scripts/docker-base.sh), then
#      builds the images and brings the stack up; waits (bounded) until all
#      four services are healthy, the collector's health meaning that the
#      sample city's round is committed;
#   2. checks the published ports (127.0.0.1 only, the sink not at all) and
#      reads the database from the host through the published port with the
#      password the db generated, as a city office would;
#   3. inside the stack (docker compose exec db psql) recomputes every
#      district, town and city aggregate from unit_value (aggregates.sql) and
#      compares; checks that the rejections the collector reported are the
#      rows of edustat.rejected; runs `edustat-sink --check` in the sink
#      container when the sink has that option; drops a good file and one
#      with a bad row into the spool of the collector service (`run`) and
#      checks done/, failed/, the receipts and the stored rows;
#   4. kills the sink's process (SIGKILL, as a crash) and checks that the
#      restart policy brings it back healthy;
#   5. submits a bigger generated round (gen_round.awk, ~66,000 records in
#      19 files, one submission after the other) from the collector
#      container; once part of it is committed, pauses the sink so that a
#      submission is surely waiting for its acknowledgement, restarts the
#      aggregator container, lets the sink go on; then checks that every
#      submission still ends confirmed (exit 0), that every record is in
#      unit_value with the submitted value and in value_history exactly
#      once, and the aggregates again;
#   6. `down -v`: containers, network and volumes of the project go; the
#      images stay (they are what users run, and the layer cache for the
#      next run), except the ones this build replaced.
#
# Without Docker (no docker command, no engine answering, no compose) it
# prints "SKIPPED: <why>" and exits 77, meson's skip code; with
# EDUSTAT_COMPOSE_TEST=require (CI) that is a failure instead.  Start an
# engine with scripts/dockerd.sh start.
#
# Every wait is bounded; the whole test takes about 2-5 minutes with the
# images cached and within 10 minutes from an empty Docker.  Only the
# project's own containers, network and volumes are touched.
# EDUSTAT_COMPOSE_KEEP=1 leaves the stack up after a failure, for a look.

set -u -o pipefail

SRC=$(cd "${1:-$(dirname "$0")/../..}" && pwd) || exit 2
HERE=$SRC/tests/compose
REQUIRE=${EDUSTAT_COMPOSE_TEST:-auto}
T0=$(date +%s)

say() {
        printf 'compose [%3ds]: %s\n' "$(($(date +%s) - T0))" "$*"
}

skip() {
        if [ "$REQUIRE" = require ]; then
                echo "FAIL: Docker is required here (EDUSTAT_COMPOSE_TEST=require) but: $*"
                exit 1
        fi
        echo "SKIPPED: $*"
        exit 77
}

# --- is Docker here? ---------------------------------------------------------
command -v docker >/dev/null 2>&1 ||
    skip "no docker command; install and start Docker with scripts/dockerd.sh start"
docker info >/dev/null 2>&1 ||
    skip "no Docker engine answers (docker info failed); start one with scripts/dockerd.sh start"
if docker compose version >/dev/null 2>&1; then
        COMPOSE_CMD=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
        COMPOSE_CMD=(docker-compose)
else
        skip "neither docker compose nor docker-compose is installed; scripts/dockerd.sh start installs it"
fi
command -v python3 >/dev/null 2>&1 || skip "python3 is needed to pick free ports"

# --- set-up --------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edustat-compose.XXXXXX") || exit 1
PROJECT=edustat-test-$$-$(date +%s)
FAILS=0
PASSES=0
UP=0
PAUSED=0

# Two distinct loopback ports that nobody listens on right now, picked by the
# one harness (the daemons themselves run in Docker here).
read -r AGG_PORT DB_PORT <<<"$(
        # shellcheck source=../lib/stack.sh
        . "$SRC/tests/lib/stack.sh"
        stack_free_ports 2
)"

# The stack's settings: published ports, the sample round on, nothing from
# the caller's environment changing what is tested.
export EDUSTAT_AGGREGATOR_PORT=$AGG_PORT EDUSTAT_DB_PORT=$DB_PORT
export EDUSTAT_DEMO_ROUND=1 EDUSTAT_LOG_LEVEL=info
unset POSTGRES_PASSWORD COMPOSE_PROJECT_NAME COMPOSE_FILE
# docker-compose 1.x builds through the Engine API unless told to run the
# docker CLI, which may lack the buildx plugin newer CLIs want.
export COMPOSE_DOCKER_CLI_BUILD=0

COMPOSE_ARGS=(-p "$PROJECT" -f "$SRC/docker-compose.yml" --project-directory "$SRC")

# The round of step 5 submits periods of every kind (2026, 2026S1, 2026Q1,
# 202601...) and the spool check 2027, which the sample city's periods.csv
# does not list; and
# periods.csv is the aggregator's list of accepted periods.  So the
# aggregator gets a copy of the config that also lists the round's periods
# (an override file, as an operator would add a round), and the image's
# own config stays the sample's.
mkdir -p "$WORK/config" || exit 1
cp "$SRC"/config/*.csv "$WORK/config/" || exit 1
for p in 2026 2026S1 2026S2 2026Q1 2026Q2 2026Q3 2026Q4 \
        202601 202602 202603 202604 202605 202606 202607 202608 202609 202610 202611 202612 \
        2027; do
        echo "$p,2026-01-01,2027-12-31" >>"$WORK/config/periods.csv"
done
cat >"$WORK/compose.override.yml" <<YML
services:
  aggregator:
    volumes:
      - $WORK/config:/etc/edustat/config:ro
YML
COMPOSE_ARGS+=(-f "$WORK/compose.override.yml")

compose() {
        "${COMPOSE_CMD[@]}" "${COMPOSE_ARGS[@]}" "$@"
}

# tcompose SECONDS ARGS...: compose, bounded in time.
tcompose() {
        local limit=$1
        shift
        timeout "$limit" "${COMPOSE_CMD[@]}" "${COMPOSE_ARGS[@]}" "$@"
}

# In a running service, bounded.  -T: no terminal, stdin passes through.
cexec() {
        local svc=$1
        shift
        tcompose 300 exec -T "$svc" "$@"
}

psql_db() {
        cexec db psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 "$@"
}

# Output of the stack, set off from the test's own lines.
indent() {
        sed 's/^/    /'
}

pass() {
        PASSES=$((PASSES + 1))
        say "ok: $*"
}

fail() {
        FAILS=$((FAILS + 1))
        echo "FAIL: $*"
}

logs() {
        echo "----- docker compose ps -----"
        compose ps 2>&1
        echo "----- service logs (last 60 lines each) -----"
        compose logs --no-color --tail=60 2>&1
        echo "----- end of logs -----"
}

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
        local rc=$? id
        trap - EXIT INT TERM
        if [ "$PAUSED" = 1 ]; then
                tcompose 60 unpause sink >/dev/null 2>&1
        fi
        if [ "$UP" = 1 ]; then
                if [ "$FAILS" -gt 0 ] && [ "${EDUSTAT_COMPOSE_KEEP:-0}" = 1 ]; then
                        say "EDUSTAT_COMPOSE_KEEP=1: project $PROJECT left up; remove it with:"
                        say "  ${COMPOSE_CMD[*]} -p $PROJECT down -v"
                else
                        say "down -v"
                        tcompose 120 down -v --remove-orphans -t 20 >"$WORK/down.log" 2>&1 ||
                            { echo "FAIL: docker compose down -v"; cat "$WORK/down.log"; rc=1; }
                        # Anything of the project that down did not remove.
                        for id in $(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"); do
                                echo "FAIL: container $id of $PROJECT survived down"
                                docker rm -f "$id" >/dev/null 2>&1
                                rc=1
                        done
                        for id in $(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"); do
                                echo "FAIL: volume $id of $PROJECT survived down -v"
                                docker volume rm "$id" >/dev/null 2>&1
                                rc=1
                        done
                fi
        fi
        rm -rf "$WORK"
        exit "$rc"
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted"; FAILS=$((FAILS + 1)); exit 1' INT TERM

# finish: the verdict line and the exit code.
finish() {
        if [ "$FAILS" -gt 0 ]; then
                say "$FAILS check(s) FAILED, $PASSES passed"
                exit 1
        fi
        say "all $PASSES checks passed in $(($(date +%s) - T0)) s"
        exit 0
}

# abort WHY: a step the rest depends on failed.
abort() {
        fail "$*"
        logs
        finish
}

# The id of a service's container (remembered: a restart keeps it, and
# docker-compose 1.x takes most of a second per call).
declare -A CID=()
cid() {
        if [ -z "${CID[$1]:-}" ]; then
                CID[$1]=$(compose ps -q "$1" 2>/dev/null | head -n 1)
        fi
        printf '%s\n' "${CID[$1]}"
}

# health SERVICE: healthy, starting, unhealthy, or the container state.
health() {
        local id
        id=$(cid "$1")
        [ -n "$id" ] || { echo absent; return; }
        docker inspect --format \
            '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' \
            "$id" 2>/dev/null || echo absent
}

# wait_healthy SECONDS SERVICE...: all healthy within the bound; fails at
# once when a container has exited.
wait_healthy() {
        local limit=$1 end svc h all
        shift
        end=$(($(date +%s) + limit))
        while :; do
                all=1
                for svc in "$@"; do
                        h=$(health "$svc")
                        case $h in
                        healthy) ;;
                        # Unhealthy is not final: Docker reports it for a
                        # paused container until the next probe after
                        # unpause, and a service may recover.
                        starting | unhealthy | running | created | restarting) all=0 ;;
                        *)
                                fail "service $svc is $h"
                                return 1
                                ;;
                        esac
                done
                [ "$all" = 1 ] && return 0
                if [ "$(date +%s)" -ge "$end" ]; then
                        for svc in "$@"; do
                                echo "  $svc: $(health "$svc")"
                        done
                        fail "services not healthy within ${limit}s"
                        return 1
                fi
                sleep 1
        done
}

# check_aggregates WHEN: aggregates.sql inside the db; all rows must match.
check_aggregates() {
        local when=$1 out
        if ! out=$(psql_db -f - <"$HERE/aggregates.sql" 2>&1); then
                fail "aggregates ($when): psql failed: $out"
                return
        fi
        echo "$out" | awk '$1 == "check" { printf "    %-10s %-9s %6d rows, %d wrong\n", $2, $3, $4, $5 }'
        echo "$out" | awk '$1 == "bad"' | sed 's/^/    /'
        # Every check line with 0 wrong, and rows for the city and districts.
        if echo "$out" | awk '
                $1 == "check" && $5 != 0 { bad = 1 }
                $1 == "check" && $2 == "sum" && $3 == "city" && $4 > 0 { city = 1 }
                $1 == "check" && $2 == "sum" && $3 == "district" && $4 > 0 { district = 1 }
                $1 == "check" && $2 == "ratio" && $3 == "city" && $4 > 0 { ratio = 1 }
                END { exit !(city && district && ratio && !bad) }'; then
                pass "aggregates ($when) equal a recomputation from unit_value"
        else
                fail "aggregates ($when) differ from a recomputation from unit_value (or none found)"
        fi
}

# Projects of earlier runs of this test that were killed before their
# clean-up (a meson timeout sends SIGKILL): their run.sh, whose PID is in
# the name, is gone.  With restart policies they would come back with
# every engine start.
stale_projects() {
        {
                docker ps -a --format '{{.Label "com.docker.compose.project"}}'
                docker volume ls --format '{{.Label "com.docker.compose.project"}}'
        } 2>/dev/null | sort -u | while read -r p; do
                case $p in
                edustat-test-[0-9]*-[0-9]*) ;;
                *) continue ;;
                esac
                pid=${p#edustat-test-}
                pid=${pid%%-*}
                kill -0 "$pid" 2>/dev/null || echo "$p"
        done
}
for p in $(stale_projects); do
        say "removing $p, left behind by an earlier run"
        docker ps -aq --filter "label=com.docker.compose.project=$p" | xargs -r docker rm -f >/dev/null
        docker volume ls -q --filter "label=com.docker.compose.project=$p" | xargs -r docker volume rm >/dev/null
        docker network ls -q --filter "label=com.docker.compose.project=$p" | xargs -r docker network rm >/dev/null
done

say "project $PROJECT, aggregator on 127.0.0.1:$AGG_PORT, PostgreSQL on 127.0.0.1:$DB_PORT"
say "using ${COMPOSE_CMD[*]} ($("${COMPOSE_CMD[@]}" version --short 2>/dev/null || echo '?')), engine $(docker version --format '{{.Server.Version}}' 2>/dev/null)"

# --- 1. images and start-up ----------------------------------------------------
if ! "$SRC/scripts/docker-base.sh"; then
        fail "debian:bookworm-slim is missing and could not be made (scripts/docker-base.sh)"
        finish
fi
image_ids() {
        docker image inspect --format '{{.Id}}' edustat:latest edustat-db:latest 2>/dev/null |
            tr '\n' ' '
}
OLD_IMAGES=$(image_ids)
say "building the images"
# docker-compose 1.x leaves the container of a failed build step behind
# unless told otherwise (BuildKit, under Compose v2, leaves none).
BUILD_ARGS=()
[ "${COMPOSE_CMD[0]}" = docker-compose ] && BUILD_ARGS=(--force-rm)
if ! tcompose 600 build "${BUILD_ARGS[@]}" >"$WORK/build.log" 2>&1; then
        tail -n 40 "$WORK/build.log"
        fail "docker compose build"
        finish
fi
pass "images built"
say "runtime image edustat:latest: $(docker image inspect --format '{{.Size}}' edustat:latest |
    awk '{ printf "%.1f MB", $1 / 1e6 }'), edustat-db:latest: $(docker image inspect \
    --format '{{.Size}}' edustat-db:latest | awk '{ printf "%.1f MB", $1 / 1e6 }')"
# The images this build replaced: untagged now, and nothing else uses them.
NEW_IMAGES=$(image_ids)
for id in $OLD_IMAGES; do
        case " $NEW_IMAGES " in
        *" $id "*) ;;
        *) docker rmi "$id" >/dev/null 2>&1 && say "removed the replaced image ${id#sha256:}" ;;
        esac
done

say "up -d"
UP=1
if ! tcompose 300 up -d >"$WORK/up.log" 2>&1; then
        cat "$WORK/up.log"
        abort "docker compose up -d"
fi
# The collector is healthy once the sample round is committed.
wait_healthy 300 db sink aggregator collector || abort "the stack did not come up"
pass "all four services healthy; the sample round is committed"

# --- 2. ports --------------------------------------------------------------------
agg_pub=$(docker port "$(cid aggregator)" 5560/tcp 2>/dev/null)
db_pub=$(docker port "$(cid db)" 5432/tcp 2>/dev/null)
sink_pub=$(docker port "$(cid sink)" 2>/dev/null)
if [ "$agg_pub" = "127.0.0.1:$AGG_PORT" ] && [ "$db_pub" = "127.0.0.1:$DB_PORT" ] &&
    [ -z "$sink_pub" ]; then
        pass "published: aggregator $agg_pub, PostgreSQL $db_pub, the sink nowhere"
else
        fail "published ports: aggregator '$agg_pub', db '$db_pub', sink '$sink_pub'" \
            "(want 127.0.0.1:$AGG_PORT, 127.0.0.1:$DB_PORT and none)"
fi

# An office's SQL client on this machine: the published port and the
# password the db generated into the secrets volume.
if command -v psql >/dev/null 2>&1; then
        cexec db cat /etc/edustat/secrets/pgpass >"$WORK/pgpass" 2>/dev/null
        chmod 600 "$WORK/pgpass"
        n=$(PGPASSFILE=$WORK/pgpass timeout 30 psql -X -A -t -h 127.0.0.1 -p "$DB_PORT" \
            -U edustat -d edustat -c "SELECT count(*) FROM edustat.agg_value WHERE unit = '211100'" 2>&1)
        wrong=$(PGPASSWORD=not-the-password timeout 30 psql -X -A -t -h 127.0.0.1 -p "$DB_PORT" \
            -U edustat -d edustat -c "SELECT 1" 2>&1)
        if [[ $n =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] && [[ $wrong == *"password authentication failed"* ]]; then
                pass "host psql through 127.0.0.1:$DB_PORT with the generated password ($n city rows); a wrong password is refused"
        else
                fail "host psql through 127.0.0.1:$DB_PORT: '$n'; with a wrong password: '$wrong'"
        fi
else
        say "no psql on the host: the published database port is not tried from outside"
fi

# --- 3. the sample round, checked inside the stack -------------------------------
compose logs --no-color collector >"$WORK/collector.log" 2>&1
grep -E 'demo-round: .*(files|round done)' "$WORK/collector.log" | sed 's/^[^|]*| */    /'
reported=$(awk '/demo-round: .* files, .* rejected \(exit/ {
                for (i = 1; i <= NF; i++) if ($(i) ~ /^rejected/) n += $(i - 1) }
            END { print n + 0 }' "$WORK/collector.log")
read -r nvalues nrejected nperiods <<<"$(psql_db -c "SELECT (SELECT count(*) FROM edustat.unit_value),
        (SELECT count(*) FROM edustat.rejected),
        (SELECT count(DISTINCT period) FROM edustat.unit_value)")"
say "unit_value: ${nvalues:-?} rows over ${nperiods:-?} periods; rejected: ${nrejected:-?} rows"
if grep -q 'demo-round: round done' "$WORK/collector.log" && [ "${nvalues:-0}" -gt 0 ] &&
    [ "${nperiods:-0}" -ge 2 ]; then
        pass "the collector's round is done and its values are in unit_value"
else
        fail "the sample round: 'round done' not logged, or unit_value empty"
fi
if [ "${nrejected:-x}" = "$reported" ] && [ "$reported" -gt 0 ]; then
        pass "edustat.rejected holds the $reported rejections the collector reported"
else
        fail "the collector reported $reported rejections, edustat.rejected has ${nrejected:-?}"
fi
check_aggregates "sample round"

if cexec sink grep -q -e '--check' /usr/local/bin/edustat-sink 2>/dev/null; then
        if out=$(cexec sink edustat-sink --check 2>&1); then
                echo "$out" | tail -n 10 | sed 's/^/    /'
                pass "edustat-sink --check in the sink container"
        else
                echo "$out" | tail -n 20 | sed 's/^/    /'
                fail "edustat-sink --check in the sink container"
        fi
else
        say "this edustat-sink has no --check; skipped that check"
fi

# The spool collector that runs in the collector service after the round:
# one good file goes to done/, one with a bad row to failed/, each with its
# receipt, and the good rows are stored.  Written as dot-files and renamed,
# as the spool wants writers to do.
spool=/var/lib/edustat/spool
printf 'unit,period,indicator,value\n2121025167,2027,pupils,777\n2121025167,2027,teachers,55\n' |
    cexec collector sh -c "mkdir -p $spool/incoming && cat >$spool/incoming/.good.csv.tmp &&
        mv $spool/incoming/.good.csv.tmp $spool/incoming/spool-good.csv" ||
    fail "could not write into the collector's spool"
printf 'unit,period,indicator,value\n2121025167,2027,classes,21\n9999999999,2027,pupils,1\n' |
    cexec collector sh -c "cat >$spool/incoming/.bad.csv.tmp &&
        mv $spool/incoming/.bad.csv.tmp $spool/incoming/spool-bad.csv" ||
    fail "could not write into the collector's spool"
end=$(($(date +%s) + 90))
until docker exec "$(cid collector)" test -e "$spool/done/spool-good.csv.receipt" \
    -a -e "$spool/failed/spool-bad.csv.receipt" 2>/dev/null || [ "$(date +%s)" -ge "$end" ]; do
        sleep 0.5
done
receipts=$(docker exec "$(cid collector)" sh -c "cat $spool/done/spool-good.csv.receipt \
    $spool/failed/spool-bad.csv.receipt" 2>&1)
indent <<<"$receipts"
stored=$(psql_db -c "SELECT string_agg(indicator || '=' || value, ',' ORDER BY indicator)
        FROM edustat.unit_value WHERE period = '2027'")
if docker exec "$(cid collector)" test -e "$spool/done/spool-good.csv" \
    -a -e "$spool/failed/spool-bad.csv" 2>/dev/null &&
    [[ $receipts == *"unknown unit"* ]] && [ "$stored" = "classes=21,pupils=777,teachers=55" ]; then
        pass "the collector's spool: good file in done/, bad row's file in failed/ with its reason, rows stored"
else
        fail "the collector's spool: receipts or stored rows are not as expected (stored: '$stored')"
        compose logs --no-color --tail=20 collector
fi

# --- 4. a crash: Docker's restart policy brings the sink back ---------------------
# SIGKILL to the sink's process (by its PID on this host): not a `docker
# stop`, so the policy (unless-stopped) applies; the aggregator reconnects,
# which the round below needs.
sink_pid=$(docker inspect --format '{{.State.Pid}}' "$(cid sink)")
restarts=$(docker inspect --format '{{.RestartCount}}' "$(cid sink)")
say "killing the sink (pid $sink_pid on this host) with SIGKILL"
kill -KILL "$sink_pid"
end=$(($(date +%s) + 60))
while [ "$(docker inspect --format '{{.RestartCount}}' "$(cid sink)")" = "$restarts" ] &&
    [ "$(date +%s)" -lt "$end" ]; do
        sleep 0.5
done
sleep 1
if [ "$(docker inspect --format '{{.RestartCount}}' "$(cid sink)")" != "$restarts" ] &&
    wait_healthy 120 sink aggregator; then
        pass "the killed sink was restarted by its restart policy and is healthy"
else
        fail "the killed sink did not come back ($(health sink))"
fi

# --- 5. the aggregator restarted in the middle of a round -------------------------
# The round: one submission per period file, one after the other with a
# pause between, as schools trickle in; ~66,000 records in all.  Once the
# first files are committed, the sink is paused (a slow database), so that
# a submission is surely in flight, waiting for its acknowledgement, when
# the aggregator is restarted; then the sink goes on.
mkdir -p "$WORK/round"
total=$(awk -v out="$WORK/round" -f "$HERE/gen_round.awk" "$SRC/config/orgunits.csv")
files=$(find "$WORK/round" -name '*.csv' | wc -l)
say "generated round: $total records in $files files (periods 2026*)"
cexec collector mkdir -p /tmp/round || abort "mkdir in the collector container"
docker cp "$WORK/round/." "$(cid collector):/tmp/round/" || abort "docker cp into the collector"
# Submitted from inside the stack, over the compose network, with an
# outbox of its own, as a school's own collector would: the resends across
# the restart are then this collector's, not rescued by the collector
# service's `run`, which shares the service's outbox.
# shellcheck disable=SC2016  # expanded by the container's shell
tcompose 400 exec -T collector sh -c 'for f in /tmp/round/*.csv; do
        edustat-collector submit --timeout 90 --outbox /tmp/round-outbox.db "$f"
        echo "submitted $f: exit $?"
        sleep 0.5
done' >"$WORK/submit.out" 2>&1 &
submit_pid=$!

committed() {
        # docker exec: what compose exec does, without its start-up time.
        docker exec "$(cid db)" psql -X -A -t -c \
            "SELECT count(*) FROM edustat.unit_value WHERE period LIKE '2026%'" 2>/dev/null
}
n0=0
end=$(($(date +%s) + 120))
while [ "$(date +%s)" -lt "$end" ] && kill -0 "$submit_pid" 2>/dev/null; do
        n0=$(committed)
        [ "${n0:-0}" -gt 0 ] && break
        sleep 0.1
done
PAUSED=1
tcompose 60 pause sink >"$WORK/pause.log" 2>&1 || { cat "$WORK/pause.log"; fail "pause sink"; }
n0=$(committed)
done0=$(grep -c '^submitted ' "$WORK/submit.out")
sleep 2
n1=$(committed)
say "sink paused: $n0 of $total records committed, $done0 of $files files done; restarting the aggregator"
if ! tcompose 120 restart -t 20 aggregator >"$WORK/restart.log" 2>&1; then
        cat "$WORK/restart.log"
        fail "docker compose restart aggregator"
fi
tcompose 60 unpause sink >"$WORK/pause.log" 2>&1 || { cat "$WORK/pause.log"; fail "unpause sink"; }
PAUSED=0
if [ "${n0:-0}" -gt 0 ] && [ "$n0" -lt "$total" ] && [ "$n0" = "$n1" ] && [ "$done0" -lt "$files" ]; then
        pass "the aggregator was restarted mid-round ($n0 of $total records committed)"
else
        fail "the restart was not mid-round: $n0 (then $n1) of $total records committed," \
            "$done0 of $files files done"
fi
compose logs --no-color aggregator 2>/dev/null | grep -E 'stopping|state loaded' |
    sed 's/^[^|]*| */    /'
wait_healthy 180 sink aggregator || abort "the aggregator did not come back"

# Each submission resends what was not acknowledged; its timeout bounds this.
waited=0
while kill -0 "$submit_pid" 2>/dev/null && [ "$waited" -lt 360 ]; do
        sleep 1
        waited=$((waited + 1))
done
if kill -0 "$submit_pid" 2>/dev/null; then
        kill "$submit_pid" 2>/dev/null
        fail "the round did not end within 360 s of the restart"
fi
wait "$submit_pid"
ok_files=$(grep -c '^submitted .*: exit 0$' "$WORK/submit.out")
say "the round ended: $ok_files of $files submissions confirmed with exit 0"
grep -v -E '^submitted .*: exit 0$|: [0-9]+ records, [0-9]+ accepted \([0-9]+ changed\), 0 rejected(, [0-9]+ warnings?)?$|: warning: unit ' \
    "$WORK/submit.out" | head -n 20 | sed 's/^/    /'
if [ "$ok_files" = "$files" ]; then
        pass "every submission of the round ended confirmed (exit 0) across the restart"
else
        fail "$((files - ok_files)) of $files submissions did not exit 0"
fi

# Every record in unit_value with its value, and in value_history once.
{
        cat <<'SQL'
\set ON_ERROR_STOP 1
CREATE TEMP TABLE sent (unit text, period text, indicator text, value numeric);
COPY sent FROM STDIN (FORMAT csv);
SQL
        for f in "$WORK"/round/*.csv; do
                tail -n +2 "$f"
        done
        cat <<'SQL'
\.
ANALYZE sent;
-- Hash joins whatever the statistics of the fresh tables say: a nested loop
-- over 66,000 x 66,000 rows takes minutes.
SET enable_nestloop = off;
SELECT (SELECT count(*) FROM sent),
       (SELECT count(*) FROM sent s LEFT JOIN edustat.unit_value v USING (unit, period, indicator)
         WHERE v.value IS DISTINCT FROM s.value),
       (SELECT count(*) FROM edustat.unit_value v
         WHERE v.period LIKE '2026%'
           AND NOT EXISTS (SELECT 1 FROM sent s WHERE (s.unit, s.period, s.indicator) =
                                                      (v.unit, v.period, v.indicator))),
       (SELECT count(*) FROM (SELECT s.unit FROM sent s
                                JOIN edustat.value_history h USING (unit, period, indicator)
                               GROUP BY s.unit, s.period, s.indicator
                              HAVING count(*) <> 1 OR bool_or(h.value <> s.value)) x),
       (SELECT count(*) FROM edustat.value_history WHERE period LIKE '2026%');
SQL
} >"$WORK/round.sql"
if out=$(psql_db -f - <"$WORK/round.sql" 2>&1); then
        read -r nsent nlost nextra nhist_bad nhist <<<"$(echo "$out" | tail -n 1)"
        say "round: $nsent sent; $nlost missing or wrong in unit_value, $nextra unexpected;" \
            "value_history $nhist rows, $nhist_bad keys not exactly once"
        if [ "$nsent" = "$total" ] && [ "$nlost" = 0 ] && [ "$nextra" = 0 ] &&
            [ "$nhist_bad" = 0 ] && [ "$nhist" = "$total" ]; then
                pass "nothing lost or doubled: all $total records in unit_value, each once in value_history"
        else
                fail "records lost, wrong or doubled after the restart (see above)"
        fi
else
        fail "round check: psql failed: $out"
fi
check_aggregates "after the restart"

# All still healthy (restart policies did not have to act on a crash).
wait_healthy 60 db sink aggregator collector && pass "all four services still healthy"

finish
