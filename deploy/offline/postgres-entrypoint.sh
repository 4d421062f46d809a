#!/bin/sh
# What the official image's entrypoint does for POSTGRES_USER / POSTGRES_DB / POSTGRES_PASSWORD:
# on first start create the cluster, the user with its password and the database; later starts
# find PGDATA populated and just serve. UTF8 as there: in SQL_ASCII psycopg hands back bytes.
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
        pg_ctl -w -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start >/dev/null
        createdb --username="$user" "$db"
        pg_ctl -w stop >/dev/null
    fi
fi
exec "$@" -c listen_addresses='*' -c unix_socket_directories=/tmp
