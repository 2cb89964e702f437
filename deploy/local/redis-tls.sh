#!/usr/bin/env bash
# A Redis speaking only TLS, for the TLS tests: a throwaway CA, a server certificate for 127.0.0.1 and
# localhost (listening on ::1 too where there is IPv6, an address the certificate does not name), a client certificate (the server requires one: tls-auth-clients yes), and an ACL user
# `scutum` (the `default` user is off). Certificates are made with openssl at start.
#
#   deploy/local/redis-tls.sh start DIR PORT   # writes DIR/urls.env (below), prints nothing secret
#   deploy/local/redis-tls.sh stop  DIR PORT
#
# DIR/urls.env: REDIS_TLS_URL (rediss://scutum:<password>@127.0.0.1:PORT/0), REDIS_TLS_CA_FILE,
# REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE, and REDIS_TLS_OTHER_CA_FILE (a CA that signed nothing here).
set -euo pipefail

ACTION=${1:?usage: redis-tls.sh start|stop DIR PORT}
DIR=${2:?directory}
PORT=${3:?port}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

log() { printf '[redis-tls] %s\n' "$*" >&2; }

cli() {
    REDISCLI_AUTH=$(cat "$DIR/password") redis-cli --tls --cacert "$DIR/ca.crt" --cert "$DIR/client.crt" \
        --key "$DIR/client.key" --user scutum -h 127.0.0.1 -p "$PORT" "$@"
}

make_certificates() {
    (
        cd "$DIR"
        umask 077
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=Scutum test Redis CA" 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.crt -days 2 -subj "/CN=Some other CA" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 \
            -extfile server.ext 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=scutum" 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\n' > client.ext
        openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 \
            -extfile client.ext 2>/dev/null
        rm -f server.csr client.csr server.ext client.ext
        chmod 644 ca.crt other-ca.crt server.crt client.crt
    )
}

case "$ACTION" in
start)
    command -v openssl >/dev/null || { log "openssl is required"; exit 1; }
    command -v redis-server >/dev/null || { log "redis-server is required (apt-get install redis-server)"; exit 1; }
    if [ -s "$DIR/password" ] && cli ping 2>/dev/null | grep -q PONG; then
        log "already running on 127.0.0.1:$PORT"
    else
        make_certificates
        (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' > "$DIR/password")
        rm -f "$DIR/redis.log"
        # The ACL rules are given through a file so the password is not on the command line.
        (umask 077; printf 'user default off\nuser scutum on >%s ~* &* +@all\n' "$(cat "$DIR/password")" > "$DIR/users.acl")
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 0 --tls-port "$PORT" \
            --tls-cert-file "$DIR/server.crt" --tls-key-file "$DIR/server.key" --tls-ca-cert-file "$DIR/ca.crt" \
            --tls-auth-clients yes --aclfile "$DIR/users.acl" --save '' --appendonly no \
            --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
        ready=""
        for _ in $(seq 1 100); do
            if cli ping 2>/dev/null | grep -q PONG; then ready=1; break; fi
            sleep 0.1
        done
        [ -n "$ready" ] || { log "Redis did not answer over TLS on port $PORT"; cat "$DIR/redis.log" >&2; exit 1; }
        log "Redis (TLS only, ACL user scutum) on 127.0.0.1:$PORT"
    fi
    (umask 077; cat > "$DIR/urls.env" <<URLS
REDIS_TLS_URL=rediss://scutum:$(cat "$DIR/password")@127.0.0.1:$PORT/0
REDIS_TLS_CA_FILE=$DIR/ca.crt
REDIS_TLS_CERT_FILE=$DIR/client.crt
REDIS_TLS_KEY_FILE=$DIR/client.key
REDIS_TLS_OTHER_CA_FILE=$DIR/other-ca.crt
URLS
    )
    ;;
stop)
    if [ -s "$DIR/password" ] && cli shutdown nosave >/dev/null 2>&1; then
        log "stopped"
    elif [ -s "$DIR/redis.pid" ] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null; then
        log "stopped (by its pid)"
    fi
    rm -f "$DIR/redis.pid"
    ;;
*)
    echo "unknown action $ACTION" >&2; exit 2 ;;
esac
