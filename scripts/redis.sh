#!/usr/bin/env bash
# A throwaway Redis server for tests and development, without systemd.
#
#   scripts/redis.sh start DIR PORT   start redis-server on 127.0.0.1:PORT, pid,
#                                     log and port files in DIR; print its URL
#   scripts/redis.sh stop DIR         stop it (no-op when not running)
#
# Both are idempotent: "start" on a running DIR only prints the URL (with the
# port it really listens on). Only the URL goes to stdout:
#   url=$(scripts/redis.sh start /tmp/hotline-redis 56379)
# Nothing is persisted (no RDB, no AOF): this server is for tests.
set -euo pipefail

die() { echo "redis.sh: $*" >&2; exit 1; }
usage() { die "usage: redis.sh start DIR PORT | redis.sh stop DIR"; }

running_pid() {  # the pid of the server started in $dir, or nothing
    local pid
    [[ -f "$dir/redis.pid" ]] || return 0
    pid=$(cat "$dir/redis.pid")
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid"
    fi
}

start() {
    local port=$1
    [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, not '$port'"
    command -v redis-server >/dev/null || die "redis-server is not installed"
    mkdir -p "$dir"
    if [[ -n $(running_pid) ]]; then
        local actual
        actual=$(cat "$dir/port")
        [[ "$actual" == "$port" ]] || echo "redis.sh: already running on port $actual, not $port" >&2
        port=$actual
    else
        redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" \
            --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" --appendonly no \
            || die "redis-server did not start, see $dir/redis.log"
        echo "$port" >"$dir/port"
    fi
    for _ in $(seq 1 50); do
        [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]] && break
        sleep 0.1
    done
    # The server answering must be ours, not another one already on that port.
    local answering
    answering=$(redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')
    [[ -n "$answering" && "$answering" == "$(running_pid)" ]] \
        || die "redis on port $port is not the one started in $dir, see $dir/redis.log"
    echo "redis://127.0.0.1:$port/0"
}

stop() {
    local pid
    pid=$(running_pid)
    [[ -n "$pid" ]] || return 0
    kill "$pid"
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    die "redis (pid $pid) did not stop"
}

[[ $# -ge 2 ]] || usage
cmd=$1
dir=$(realpath -m "$2")
case "$cmd" in
    start) [[ $# -eq 3 ]] || usage; start "$3" ;;
    stop) [[ $# -eq 2 ]] || usage; stop ;;
    *) usage ;;
esac
