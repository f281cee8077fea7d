#!/bin/sh
#
# edustat-db-entrypoint: start PostgreSQL for edustat in a container.
#
# On the first start (PGDATA empty) it runs initdb as "postgres" (UTF-8,
# C.UTF-8), creates the superuser POSTGRES_USER and the database POSTGRES_DB.
# Whenever the password file $SECRETS/pgpass is missing (first start, or its
# volume was removed) it sets POSTGRES_USER's password, from POSTGRES_PASSWORD
# when given, else a random one, and writes it there in libpq's pgpass format,
# owned by EDUSTAT_UID (the sink's user), mode 0600; the sink reads it with
# libpq's "passfile" parameter.  Then it execs postgres, listening on every
# interface of the container; extra arguments go to postgres.
#
# Authentication: TCP connections need the password (scram-sha-256); on the
# Unix socket inside the container the OS users postgres and root are
# POSTGRES_USER (peer), so `docker compose exec db psql` just works.
#
# Environment: PGDATA (/var/lib/postgresql/data), POSTGRES_USER (edustat),
# POSTGRES_DB (edustat), POSTGRES_PASSWORD (unset: random),
# EDUSTAT_SECRETS (/etc/edustat/secrets), EDUSTAT_UID (10001).
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
POSTGRES_USER=${POSTGRES_USER:-edustat}
POSTGRES_DB=${POSTGRES_DB:-edustat}
SECRETS=${EDUSTAT_SECRETS:-/etc/edustat/secrets}
EDUSTAT_UID=${EDUSTAT_UID:-10001}
export PGDATA

say() {
        echo "edustat-db: $*" >&2
}

# Run a command as postgres: the server refuses to run as root.
as_pg() {
        if [ "$(id -u)" = 0 ]; then
                HOME=/var/lib/postgresql setpriv --reuid=postgres --regid=postgres \
                    --init-groups -- "$@"
        else
                "$@"
        fi
}

# A server on the Unix socket only, for set-up: no client can reach it over
# the network before the password is set, and the healthcheck (TCP) stays
# red until the real server runs.
setup_start() {
        as_pg pg_ctl -D "$PGDATA" -w -t 60 \
            -o "-c listen_addresses='' -c unix_socket_directories=/run/postgresql" start
}

setup_stop() {
        as_pg pg_ctl -D "$PGDATA" -w -t 60 -m fast stop
}

setup_psql() {
        as_pg psql -X -q -v ON_ERROR_STOP=1 -h /run/postgresql -U "$POSTGRES_USER" "$@"
}

if [ "$(id -u)" = 0 ]; then
        # A bind mount or a fresh volume may belong to someone else.
        mkdir -p "$PGDATA" /run/postgresql
        chown postgres:postgres "$PGDATA" /run/postgresql
        chmod 0700 "$PGDATA"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
        say "initialising $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
        as_pg initdb -D "$PGDATA" -U "$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256
        # initdb's host lines cover loopback only; the sink and the offices
        # come over the compose network or a published port.
        cat >"$PGDATA/pg_hba.conf" <<HBA
# Written by edustat-db-entrypoint on the first start.
# TYPE  DATABASE  USER  ADDRESS  METHOD
local   all       all            peer map=container
host    all       all   all      scram-sha-256
HBA
        cat >>"$PGDATA/pg_ident.conf" <<IDENT
# Written by edustat-db-entrypoint: in the container, postgres and root
# (docker exec) may connect on the socket as $POSTGRES_USER.
container  postgres  $POSTGRES_USER
container  root      $POSTGRES_USER
IDENT
        chown postgres:postgres "$PGDATA/pg_hba.conf" "$PGDATA/pg_ident.conf" 2>/dev/null || true
        setup_start
        if [ "$POSTGRES_DB" != postgres ]; then
                setup_psql -d postgres -v db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
        fi
        setup_stop
fi

if [ ! -s "$SECRETS/pgpass" ]; then
        if [ -n "${POSTGRES_PASSWORD:-}" ]; then
                password=$POSTGRES_PASSWORD
                say "setting the password of $POSTGRES_USER from POSTGRES_PASSWORD"
        else
                # 32 characters from [A-Za-z0-9], about 190 bits.
                password=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)
                say "setting a random password for $POSTGRES_USER; it is in $SECRETS/pgpass"
        fi
        setup_start
        # Through the environment, not the command line that ps shows.
        EDUSTAT_NEW_PASSWORD=$password
        export EDUSTAT_NEW_PASSWORD
        setup_psql -d postgres -v user="$POSTGRES_USER" <<'SQL'
\getenv pw EDUSTAT_NEW_PASSWORD
ALTER ROLE :"user" PASSWORD :'pw';
SQL
        unset EDUSTAT_NEW_PASSWORD
        setup_stop
        # pgpass escapes ':' and '\' with a backslash.
        escaped=$(printf '%s' "$password" | sed 's/[\\:]/\\&/g')
        # The directory is shared with the sink (its uid must get through);
        # the file is for its owner only, or libpq ignores it.
        mkdir -p "$SECRETS"
        chmod 0755 "$SECRETS"
        umask 077
        printf '*:*:*:%s:%s\n' "$POSTGRES_USER" "$escaped" >"$SECRETS/pgpass.new"
        if [ "$(id -u)" = 0 ]; then
                chown "$EDUSTAT_UID:$EDUSTAT_UID" "$SECRETS/pgpass.new"
        else
                say "not root: $SECRETS/pgpass belongs to $(id -un), the sink may not read it"
        fi
        mv "$SECRETS/pgpass.new" "$SECRETS/pgpass"
        unset password escaped
elif [ -n "${POSTGRES_PASSWORD:-}" ]; then
        say "$SECRETS/pgpass exists, so POSTGRES_PASSWORD is ignored (remove the file to apply it)"
fi

say "starting PostgreSQL on port 5432"
if [ "$(id -u)" = 0 ]; then
        exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
            postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
