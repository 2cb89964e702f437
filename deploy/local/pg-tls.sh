#!/usr/bin/env bash
# A small PostgreSQL that speaks only TLS, on loopback, with a CA and server certificate made now,
# for the tests of `sslmode=verify-full&sslrootcert=...`.
#
#   deploy/local/pg-tls.sh start DIR PG_PORT    # install PostgreSQL if missing, make certificates, start
#   deploy/local/pg-tls.sh stop  DIR PG_PORT
#
# After `start`, DIR holds:
#   ca.pem        the CA that signed the server's certificate (names: DNS localhost, IP 127.0.0.1)
#   wrong-ca.pem  another CA, that signed nothing the server shows
#   urls.env      TLS_DATABASE_URL=postgres://scutum:...@127.0.0.1:PG_PORT/scutum (no sslmode: tests add it)
# The server listens on 127.0.0.1 and 127.0.0.2 (an address its certificate does not name) and
# refuses connections without TLS (pg_hba `hostnossl ... reject`).
set -euo pipefail

ACTION=${1:?usage: pg-tls.sh start|stop DIR PG_PORT}
DIR=${2:?state folder, e.g. .data/pgtls}
PG_PORT=${3:?postgres port}

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
log() { printf '[pg-tls:%s] %s\n' "$PG_PORT" "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
# The cluster and its key: where the postgres user can reach them (not under a private home).
if [ "$(id -u)" -eq 0 ]; then RUN="/var/tmp/scutum-pgtls-$PG_PORT"; else RUN="$DIR/cluster"; fi

start() {
    local missing=()
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
    command -v openssl >/dev/null || missing+=(openssl)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    local bin data password
    bin=$(pg_bin)
    data="$RUN/data"
    if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        log "already running"
        return
    fi
    # A fresh cluster and fresh certificates every start: nothing to go stale.
    rm -rf "$RUN"
    mkdir -p "$RUN"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$RUN"
    log "making a CA, a server certificate and a second (wrong) CA"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Scutum test CA" \
        -keyout "$DIR/ca.key" -out "$DIR/ca.pem" 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Scutum wrong CA" \
        -keyout "$DIR/wrong-ca.key" -out "$DIR/wrong-ca.pem" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$RUN/server.key" -out "$DIR/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
        > "$DIR/server.ext"
    openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial \
        -days 2 -extfile "$DIR/server.ext" -out "$RUN/server.pem" 2>/dev/null
    chmod 600 "$RUN/server.key"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$RUN/server.key" "$RUN/server.pem"

    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    (umask 077; printf '%s' "$password" > "$DIR/pg-password"; printf '%s\n' "$password" > "$RUN/pwfile")
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$RUN/pwfile"
    log "creating a PostgreSQL cluster in $data"
    as_pg "$bin/initdb" -D "$data" -U scutum --pwfile="$RUN/pwfile" --auth=scram-sha-256 -E UTF8 --locale=C >/dev/null
    rm -f "$RUN/pwfile"
    cat > "$data/pg_hba.conf" <<HBA
# Written by deploy/local/pg-tls.sh: TLS or nothing.
local     all all                scram-sha-256
hostssl   all all 127.0.0.0/8    scram-sha-256
hostnossl all all 0.0.0.0/0      reject
HBA
    log "starting PostgreSQL with TLS on 127.0.0.1:$PG_PORT and 127.0.0.2:$PG_PORT"
    as_pg "$bin/pg_ctl" -D "$data" -l "$RUN/postgres.log" -w -t 60 \
        -o "-p $PG_PORT -k $RUN -c listen_addresses=127.0.0.1,127.0.0.2 -c fsync=off -c max_connections=100 \
            -c ssl=on -c ssl_cert_file=$RUN/server.pem -c ssl_key_file=$RUN/server.key" start >/dev/null \
        || { cat "$RUN/postgres.log" >&2; exit 1; }
    PGPASSWORD="$password" PGSSLMODE=require "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U scutum scutum
    (umask 077; printf 'TLS_DATABASE_URL=postgres://scutum:%s@127.0.0.1:%s/scutum\n' "$password" "$PG_PORT" \
        > "$DIR/urls.env")
}

stop() {
    local bin
    bin=$(pg_bin)
    if [ -n "$bin" ] && [ -f "$RUN/data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$RUN/data" status >/dev/null 2>&1; then
        as_pg "$bin/pg_ctl" -D "$RUN/data" -m fast -w stop >/dev/null
        log "stopped"
    fi
    rm -rf "$RUN"
}

case "$ACTION" in
start) start ;;
stop) stop ;;
*) echo "unknown action $ACTION" >&2; exit 2 ;;
esac
