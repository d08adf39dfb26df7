#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and development, without systemd.
#
#   scripts/pg.sh start DIR PORT   create a cluster in DIR (once), start it on
#                                  127.0.0.1:PORT (unix socket in DIR), create
#                                  database "hotline", print its SQLAlchemy URL
#   scripts/pg.sh stop DIR         stop the server (no-op when not running)
#
# Both are idempotent: "start" on a running DIR only prints the URL (with the
# port the server really listens on). Only the URL goes to stdout, so
#   url=$(scripts/pg.sh start /tmp/hotline-pg 55432)
# works. Auth is "trust": anyone on this host can connect. The server runs with
# fsync off: it is for tests, never for data that matters.
#
# As root the cluster belongs to the "postgres" OS user (PostgreSQL refuses to
# run as root): DIR is chowned to it, so DIR must not be below a directory that
# user cannot enter (e.g. pytest's 0700 /tmp/pytest-of-root). Keep DIR short:
# the socket path DIR/.s.PGSQL.PORT must fit in 107 bytes.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }
usage() { die "usage: pg.sh start DIR PORT | pg.sh stop DIR"; }

bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$dir" && -x "$dir/postgres" ]] || die "no PostgreSQL binaries in /usr/lib/postgresql/*/bin"
    echo "$dir"
}

# Run a PostgreSQL binary as the cluster owner.
as_owner() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running_port() {  # the port of the server running in $data, or nothing
    as_owner "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1 || return 0
    sed -n 4p "$data/postmaster.pid"
}

start() {
    local port=$1 actual
    [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, not '$port'"
    mkdir -p "$dir"
    [[ $(id -u) == 0 ]] && chown postgres: "$dir"
    as_owner test -w "$dir" || die "$dir is not writable by the cluster owner (is a parent directory private?)"

    actual=$(running_port)
    if [[ -n "$actual" ]]; then
        [[ "$actual" == "$port" ]] || echo "pg.sh: already running on port $actual, not $port" >&2
        port=$actual
    else
        if [[ ! -f "$data/PG_VERSION" ]]; then
            as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
                --no-sync >"$dir/initdb.log" 2>&1 || die "initdb failed, see $dir/initdb.log"
        fi
        as_owner "$bin/pg_ctl" start -D "$data" -l "$dir/postgres.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off" \
            >/dev/null || die "server did not start, see $dir/postgres.log"
    fi

    for _ in $(seq 1 60); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
        sleep 0.5
    done
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || die "server on port $port is not ready, see $dir/postgres.log"

    if [[ -z $("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
               "SELECT 1 FROM pg_database WHERE datname = 'hotline'") ]]; then
        "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres hotline
    fi
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/hotline"
}

stop() {
    if [[ -n $(running_port) ]]; then
        as_owner "$bin/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
    fi
}

[[ $# -ge 2 ]] || usage
cmd=$1
dir=$(realpath -m "$2")
data=$dir/data
bin=$(bindir)
case "$cmd" in
    start) [[ $# -eq 3 ]] || usage; start "$3" ;;
    stop) [[ $# -eq 2 ]] || usage; stop ;;
    *) usage ;;
esac
