#!/usr/bin/env bash
# A local Redis Cluster for tests: 3 masters on loopback (6 nodes: 3 masters + 3 replicas with REPLICAS=1),
# on FIRST_PORT .. FIRST_PORT+2 (+5), each node's files in DIR/PORT.
#
#   deploy/local/redis-cluster.sh start DIR FIRST_PORT    # start the nodes, create the cluster, wait for cluster_state:ok
#   deploy/local/redis-cluster.sh stop  DIR FIRST_PORT    # stop every node, remove DIR's node files
#
#   REPLICAS=1 deploy/local/redis-cluster.sh start .data/redis-cluster 27000
#
# Each node's cluster bus listens on PORT-10000 (not Redis's default PORT+10000, which for ports above
# 22768 lands in the range the kernel hands out to outgoing connections, where a busy machine's client
# socket can hold it and the node fails to start). A start that fails is tried once more from empty nodes.
#
# After `start`, DIR/url holds the client URL: redis+cluster://127.0.0.1:FIRST_PORT,...,127.0.0.1:FIRST_PORT+2/
# (what REDIS_URL or SCUTUM_TEST_REDIS_URL take). No persistence: a stopped cluster starts empty.
set -euo pipefail

ACTION=${1:?usage: redis-cluster.sh start|stop DIR FIRST_PORT}
DIR=${2:?directory for the node files}
FIRST_PORT=${3:?first port}
REPLICAS=${REPLICAS:-0}

NODES=3
[ "$REPLICAS" = 1 ] && NODES=6
log() { printf '[redis-cluster] %s\n' "$*" >&2; }

# The bus port option for a node on $1 (see the header); Redis's default below 11024.
bus_port() { [ "$1" -ge 11024 ] && echo "--cluster-port $(($1 - 10000))"; true; }

ports() { seq "$FIRST_PORT" $((FIRST_PORT + ${1:-$NODES} - 1)); }

stop() {
    # Every port a start may have used (with or without replicas).
    for port in $(ports 6); do
        if [ -f "$DIR/$port/redis.pid" ] && kill -0 "$(cat "$DIR/$port/redis.pid")" 2>/dev/null; then
            redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$DIR/$port/redis.pid")" 2>/dev/null || true
        fi
    done
    for port in $(ports 6); do
        for _ in $(seq 50); do
            [ -f "$DIR/$port/redis.pid" ] && kill -0 "$(cat "$DIR/$port/redis.pid")" 2>/dev/null || break
            sleep 0.1
        done
        rm -rf "${DIR:?}/$port"
    done
}

start_once() {
    command -v redis-server >/dev/null || { log "redis-server is not installed (apt-get install -y redis-server)"; exit 1; }
    # Whatever an earlier run left: a cluster is created from empty nodes only.
    stop
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    for port in $(ports); do
        mkdir -p "$DIR/$port"
        redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-config-file "$DIR/$port/nodes.conf" --cluster-node-timeout 2000 $(bus_port "$port") \
            --save '' --appendonly no --daemonize yes --dir "$DIR/$port" \
            --pidfile "$DIR/$port/redis.pid" --logfile "$DIR/$port/redis.log"
    done
    # redis-server exits 0 even when the bind fails: wait for every node to answer.
    for port in $(ports); do
        for attempt in $(seq 100); do
            redis-cli -p "$port" ping >/dev/null 2>&1 && break
            [ "$attempt" = 100 ] && { log "node $port did not start: $(tail -3 "$DIR/$port/redis.log")"; exit 1; }
            sleep 0.1
        done
    done
    local addresses=()
    for port in $(ports); do addresses+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas "$REPLICAS" --cluster-yes >"$DIR/create.log" 2>&1 \
        || { log "cluster create failed:"; cat "$DIR/create.log" >&2; exit 1; }
    for port in $(ports); do
        for attempt in $(seq 200); do
            redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
            [ "$attempt" = 200 ] && { log "node $port never reached cluster_state:ok"; exit 1; }
            sleep 0.1
        done
    done
    # Replicas must have synced before a failover test may promote one.
    if [ "$REPLICAS" = 1 ]; then
        for port in $(ports); do
            for attempt in $(seq 200); do
                role=$(redis-cli -p "$port" role | head -1)
                [ "$role" = master ] && break
                redis-cli -p "$port" info replication | grep -q 'master_link_status:up' && break
                [ "$attempt" = 200 ] && { log "replica $port never synced"; exit 1; }
                sleep 0.1
            done
        done
    fi
    local url="redis+cluster://127.0.0.1:$FIRST_PORT,127.0.0.1:$((FIRST_PORT + 1)),127.0.0.1:$((FIRST_PORT + 2))/"
    echo "$url" >"$DIR/url"
    log "cluster_state:ok on ports $FIRST_PORT-$((FIRST_PORT + NODES - 1)): $url"
    echo "$url"
}

start() {
    if ! (start_once); then
        log "retrying once from empty nodes"
        start_once
    fi
}

case "$ACTION" in
    start) start ;;
    stop) stop; log "stopped" ;;
    *) echo "usage: redis-cluster.sh start|stop DIR FIRST_PORT" >&2; exit 2 ;;
esac
