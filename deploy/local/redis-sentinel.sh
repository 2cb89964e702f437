#!/usr/bin/env bash
# Redis behind Sentinel, for the failover tests: a master, one replica and one sentinel (quorum 1,
# down-after-milliseconds 1000), all on 127.0.0.1, run by Debian's redis-server (`--sentinel`; no
# redis-sentinel package needed). The servers have an ACL user `scutum` for clients and a password on
# the `default` user for replication and the sentinel's monitoring; the sentinel has a password of its own.
#
#   deploy/local/redis-sentinel.sh start DIR MASTER_PORT REPLICA_PORT SENTINEL_PORT
#   deploy/local/redis-sentinel.sh stop  DIR MASTER_PORT REPLICA_PORT SENTINEL_PORT
#
# Start begins afresh (the first port is the master) and waits until the sentinel knows the replica, so
# a failover can be asked for at once. DIR/urls.env holds REDIS_SENTINEL_URL:
# redis+sentinel://scutum:<password>@127.0.0.1:SENTINEL_PORT/scutum-master/0?sentinel_password=<password>
set -euo pipefail

ACTION=${1:?usage: redis-sentinel.sh start|stop DIR MASTER_PORT REPLICA_PORT SENTINEL_PORT}
DIR=${2:?directory}
MASTER_PORT=${3:?master port}
REPLICA_PORT=${4:?replica port}
SENTINEL_PORT=${5:?sentinel port}
MASTER_NAME=scutum-master
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

log() { printf '[redis-sentinel] %s\n' "$*" >&2; }
secret() { [ -s "$DIR/$1" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' > "$DIR/$1"); cat "$DIR/$1"; }
node_cli() { REDISCLI_AUTH=$(cat "$DIR/node-password") redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }
sentinel_cli() { REDISCLI_AUTH=$(cat "$DIR/sentinel-password") redis-cli -h 127.0.0.1 -p "$SENTINEL_PORT" "$@"; }

stop_all() {
    local port name pid
    for port in "$SENTINEL_PORT" "$MASTER_PORT" "$REPLICA_PORT"; do
        name=node-$port
        [ "$port" = "$SENTINEL_PORT" ] && name=sentinel
        pid=$(cat "$DIR/$name.pid" 2>/dev/null) || pid=""
        if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$DIR/$name.pid"
    done
}

start_node() {
    local port=$1; shift
    local password client
    password=$(secret node-password)
    client=$(secret client-password)
    # Users and masterauth in files: no password on a command line.
    (umask 077; printf 'user default on >%s ~* &* +@all\nuser scutum on >%s ~* &* +@all\n' "$password" "$client" > "$DIR/users-$port.acl"
     printf 'masterauth %s\n' "$password" > "$DIR/node-$port.conf")
    redis-server "$DIR/node-$port.conf" --daemonize yes --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --aclfile "$DIR/users-$port.acl" --dir "$DIR" \
        --pidfile "$DIR/node-$port.pid" --logfile "$DIR/node-$port.log" "$@"
    for _ in $(seq 1 100); do node_cli "$port" ping 2>/dev/null | grep -q PONG && return; sleep 0.1; done
    log "Redis did not answer on port $port"; cat "$DIR/node-$port.log" >&2; exit 1
}

case "$ACTION" in
start)
    command -v redis-server >/dev/null || { log "redis-server is required (apt-get install redis-server)"; exit 1; }
    stop_all
    rm -f "$DIR"/*.log "$DIR/sentinel.conf"
    start_node "$MASTER_PORT"
    start_node "$REPLICA_PORT" --replicaof 127.0.0.1 "$MASTER_PORT"
    # The sentinel rewrites its configuration file, so it gets a fresh one each start.
    (umask 077; cat > "$DIR/sentinel.conf" <<CONF
port $SENTINEL_PORT
bind 127.0.0.1
daemonize yes
pidfile $DIR/sentinel.pid
logfile $DIR/sentinel.log
dir $DIR
requirepass $(secret sentinel-password)
sentinel monitor $MASTER_NAME 127.0.0.1 $MASTER_PORT 1
sentinel auth-pass $MASTER_NAME $(secret node-password)
sentinel down-after-milliseconds $MASTER_NAME 1000
sentinel failover-timeout $MASTER_NAME 10000
sentinel parallel-syncs $MASTER_NAME 1
CONF
    )
    redis-server "$DIR/sentinel.conf" --sentinel
    known=""
    for _ in $(seq 1 300); do
        if node_cli "$REPLICA_PORT" info replication 2>/dev/null | grep -q "master_link_status:up" \
            && sentinel_cli sentinel master "$MASTER_NAME" 2>/dev/null | grep -A1 -x "num-slaves" | tail -1 | grep -qx 1; then
            known=1; break
        fi
        sleep 0.1
    done
    [ -n "$known" ] || { log "the sentinel did not find the replica"; cat "$DIR/sentinel.log" >&2; exit 1; }
    log "master 127.0.0.1:$MASTER_PORT, replica :$REPLICA_PORT, sentinel :$SENTINEL_PORT (master name $MASTER_NAME)"
    (umask 077; cat > "$DIR/urls.env" <<URLS
REDIS_SENTINEL_URL=redis+sentinel://scutum:$(secret client-password)@127.0.0.1:$SENTINEL_PORT/$MASTER_NAME/0?sentinel_password=$(secret sentinel-password)
URLS
    )
    ;;
stop)
    stop_all
    log "stopped"
    ;;
*)
    echo "unknown action $ACTION" >&2; exit 2 ;;
esac
