#!/usr/bin/env bash
# Local PostgreSQL and Redis for Scutum, on loopback, with data in the repository's git-ignored .data/.
#
#   deploy/local/services.sh start  NAME PG_PORT REDIS_PORT   # install what is missing, start, print URLs
#   deploy/local/services.sh stop   NAME PG_PORT REDIS_PORT
#   deploy/local/services.sh status NAME PG_PORT REDIS_PORT
#   deploy/local/services.sh stop-postgres|stop-redis NAME PG_PORT REDIS_PORT   # one of them (fault drills);
#                                                      `start` brings it back (Redis empty, as a real restart)
#
# After `start`, .data/NAME/urls.env holds DATABASE_URL (role and database "scutum", superuser, so
# tests may create databases) and REDIS_URL. Idempotent: starting twice reuses what runs.
# Set SCUTUM_PG_PASSWORD to choose the password of a cluster created now.
set -euo pipefail

ACTION=${1:?usage: services.sh start|stop|status NAME PG_PORT REDIS_PORT}
NAME=${2:?name}
PG_PORT=${3:?postgres port}
REDIS_PORT=${4:?redis port}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE="$ROOT/.data/$NAME"
mkdir -p "$STATE"

log() { printf '[services:%s] %s\n' "$NAME" "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_missing() {
    local missing=()
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    [ -f /usr/include/hiredis/hiredis.h ] || missing+=(libhiredis-dev)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }

# The PostgreSQL cluster lives in .data/NAME/pg when the postgres user can reach it; a checkout
# under a private home (mode 700) cannot be, so then it lives in /var/tmp and .data/NAME/pg links to it.
pg_dir() {
    if [ -L "$STATE/pg" ] || [ -d "$STATE/pg" ]; then
        readlink -f "$STATE/pg"
        return
    fi
    if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$STATE" 2>/dev/null; then
        mkdir -p "$STATE/pg"
        echo "$STATE/pg"
    else
        local outside
        outside="/var/tmp/scutum-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)-$NAME"
        # Left by an earlier checkout at this path (this one has no link to it): its password went
        # with that checkout, so start over.
        if [ -d "$outside" ]; then
            [ -f "$outside/data/PG_VERSION" ] && as_pg "$(pg_bin)/pg_ctl" -D "$outside/data" -m immediate stop >/dev/null 2>&1
            rm -rf "$outside"
        fi
        mkdir -p "$outside"
        ln -sfn "$outside" "$STATE/pg"
        echo "$outside"
    fi
}

# Runs a PostgreSQL server binary as its owner (the postgres user when we are root: initdb refuses root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_password() {
    local file="$STATE/pg-password"
    if [ ! -s "$file" ]; then
        (umask 077; printf '%s' "${SCUTUM_PG_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')}" > "$file")
    fi
    cat "$file"
}

start_postgres() {
    local bin dir data password
    bin=$(pg_bin)
    dir=$(pg_dir)
    data="$dir/data"
    password=$(pg_password)
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
        log "creating a PostgreSQL cluster in $data"
        local pwfile="$dir/pwfile"
        (umask 077; printf '%s\n' "$password" > "$pwfile")
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pwfile"
        as_pg "$bin/initdb" -D "$data" -U scutum --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8 --locale=C >/dev/null
        rm -f "$pwfile"
    fi
    if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        log "PostgreSQL already running"
    else
        log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
        as_pg "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
            -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c max_connections=1000 -c fsync=off" start >/dev/null \
            || { cat "$dir/postgres.log" >&2; exit 1; }
    fi
    for _ in $(seq 1 100); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
        sleep 0.1
    done
    if ! PGPASSWORD="$password" "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U scutum -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'scutum'" | grep -q 1; then
        PGPASSWORD="$password" "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U scutum scutum
    fi
}

start_redis() {
    if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        log "Redis already running"
        return
    fi
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --daemonize yes --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$STATE" --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log"
    for _ in $(seq 1 100); do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return
        sleep 0.1
    done
    log "Redis did not answer on port $REDIS_PORT"; cat "$STATE/redis.log" >&2; exit 1
}

case "$ACTION" in
start)
    install_missing
    start_postgres
    start_redis
    password=$(pg_password)
    cat > "$STATE/urls.env" <<URLS
DATABASE_URL=postgres://scutum:$password@127.0.0.1:$PG_PORT/scutum
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
URLS
    cat "$STATE/urls.env"
    ;;
stop|stop-postgres|stop-redis)
    [ "$ACTION" = stop-redis ] || if [ -e "$STATE/pg" ] && [ -n "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null)" ]; then
        data="$(readlink -f "$STATE/pg")/data"
        as_pg "$(pg_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1 && as_pg "$(pg_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null && log "PostgreSQL stopped"
    fi
    [ "$ACTION" = stop-postgres ] || if command -v redis-cli >/dev/null && redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        log "Redis stopped"
    fi
    ;;
status)
    bin=$(pg_bin)
    "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" || true
    redis-cli -p "$REDIS_PORT" ping || true
    ;;
*)
    echo "unknown action $ACTION" >&2; exit 2 ;;
esac
