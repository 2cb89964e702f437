#!/usr/bin/env bash
# PgBouncer in transaction pooling in front of a local PostgreSQL made by services.sh, on loopback,
# for the scale-out tests (and to try Scutum through a pooler by hand).
#
#   deploy/local/pgbouncer.sh start  DIR PG_PORT BOUNCER_PORT   # install if missing, configure, start
#   deploy/local/pgbouncer.sh stop   DIR PG_PORT BOUNCER_PORT
#   deploy/local/pgbouncer.sh status DIR PG_PORT BOUNCER_PORT
#
# DIR is the state folder of services.sh (.data/NAME): its pg-password is the `scutum` role's password,
# which PgBouncer uses towards PostgreSQL and asks of clients (SCRAM). After `start`,
# DIR/pgbouncer.env holds PGBOUNCER_URL (database `scutum`; any database of the server can be named).
# Runs in the background as the postgres user (PgBouncer refuses root), not as a system service.
set -euo pipefail

ACTION=${1:?usage: pgbouncer.sh start|stop|status DIR PG_PORT BOUNCER_PORT}
DIR=${2:?state folder of services.sh, e.g. .data/test}
PG_PORT=${3:?postgres port}
BOUNCER_PORT=${4:?pgbouncer port}

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
log() { printf '[pgbouncer:%s] %s\n' "$BOUNCER_PORT" "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# PgBouncer's own files: where the postgres user can read them (a checkout under a private home
# cannot be), one folder per port.
run_dir() {
    if [ "$(id -u)" -eq 0 ]; then
        echo "/var/tmp/scutum-pgbouncer-$BOUNCER_PORT"
    else
        echo "$DIR/pgbouncer-$BOUNCER_PORT"
    fi
}
RUN=$(run_dir)

as_bouncer() {
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

running() { [ -f "$RUN/pgbouncer.pid" ] && kill -0 "$(cat "$RUN/pgbouncer.pid")" 2>/dev/null; }

start() {
    if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then
        log "installing pgbouncer"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
        # Debian's package may start a system instance on :6432 where services can start; ours is separate.
    fi
    local bin password
    bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    [ -s "$DIR/pg-password" ] || { log "no $DIR/pg-password: start PostgreSQL with services.sh first"; exit 1; }
    password=$(cat "$DIR/pg-password")
    if running; then
        log "already running"
    else
        mkdir -p "$RUN"
        (umask 077
         printf '"scutum" "%s"\n' "$password" > "$RUN/userlist.txt"
         cat > "$RUN/pgbouncer.ini" <<INI
; Written by deploy/local/pgbouncer.sh: transaction pooling, as a production PgBouncer in front of Scutum.
[databases]
; Any database name is passed through to the same-named database on the server.
* = host=127.0.0.1 port=$PG_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
pool_mode = transaction
auth_type = scram-sha-256
auth_file = $RUN/userlist.txt
; Server connections per (database, user): what PostgreSQL's max_connections must cover.
default_pool_size = 40
max_client_conn = 2000
; psql and JDBC send extra_float_digits at start-up; postgres-nio sends only user and database.
ignore_startup_parameters = extra_float_digits
; The tests read SHOW POOLS and SHOW CLIENTS in the admin console (database pgbouncer).
admin_users = scutum
logfile = $RUN/pgbouncer.log
pidfile = $RUN/pgbouncer.pid
INI
        )
        if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$RUN"; fi
        rm -f "$RUN/pgbouncer.log"
        log "starting on 127.0.0.1:$BOUNCER_PORT (transaction pooling) in front of 127.0.0.1:$PG_PORT"
        as_bouncer "$bin" -d "$RUN/pgbouncer.ini" || { cat "$RUN/pgbouncer.log" >&2 2>/dev/null; exit 1; }
    fi
    local psql
    psql=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql
    for _ in $(seq 1 100); do
        if PGPASSWORD="$password" "$psql" -X -q -tA -h 127.0.0.1 -p "$BOUNCER_PORT" -U scutum -d scutum \
            -c "SELECT 1" >/dev/null 2>&1; then
            (umask 077; printf 'PGBOUNCER_URL=postgres://scutum:%s@127.0.0.1:%s/scutum\n' "$password" "$BOUNCER_PORT" \
                > "$DIR/pgbouncer.env")
            return
        fi
        sleep 0.1
    done
    log "PgBouncer did not answer on port $BOUNCER_PORT"
    cat "$RUN/pgbouncer.log" >&2 2>/dev/null || true
    exit 1
}

stop() {
    if running; then
        kill -INT "$(cat "$RUN/pgbouncer.pid")"
        for _ in $(seq 1 50); do running || break; sleep 0.1; done
        running && kill -KILL "$(cat "$RUN/pgbouncer.pid")"
        log "stopped"
    fi
    # Its files hold the password: gone with it.
    rm -rf "$RUN"
    rm -f "$DIR/pgbouncer.env"
}

case "$ACTION" in
start) start ;;
stop) stop ;;
status) if running; then echo "running (pid $(cat "$RUN/pgbouncer.pid"))"; else echo "not running"; fi ;;
*) echo "unknown action $ACTION" >&2; exit 2 ;;
esac
