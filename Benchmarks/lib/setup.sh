# Starting what the benchmark measures, sourced by bench.sh: tools, PostgreSQL and Redis, the nginx
# upstream, and one gateway per configuration. Everything started is recorded in STARTED_PIDS and
# stopped by stop_everything.

STARTED_PIDS=()

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# wrk and nginx from Debian (and the small tools the bench calls). Installing nginx starts
# Debian's own server: stop that one at once.
install_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    command -v python3 >/dev/null || missing+=(python3)
    command -v redis-cli >/dev/null || missing+=(redis-tools)
    command -v curl >/dev/null || missing+=(curl)
    command -v pgrep >/dev/null || missing+=(procps)
    [ ${#missing[@]} -eq 0 ] && return
    echo "==> installing ${missing[*]}"
    local had_system_nginx=no
    [ -s /run/nginx.pid ] && had_system_nginx=yes
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    if [ "$had_system_nginx" = no ] && [ -s /run/nginx.pid ]; then
        as_root kill -QUIT "$(cat /run/nginx.pid)" 2>/dev/null || true
    fi
}

# Enough file descriptors for the concurrent-streams test (each stream holds several).
raise_file_limit() {
    local want=$((4 * STREAMS + 1024)) hard
    hard=$(ulimit -Hn)
    [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ] && want=$hard
    ulimit -n "$want" 2>/dev/null || true
    if [ "$(ulimit -n)" -lt $((2 * STREAMS + 256)) ]; then
        echo "warning: only $(ulimit -n) file descriptors (hard limit $hard); the $STREAMS-stream test may fail" >&2
    fi
}

# PostgreSQL and Redis through deploy/local/services.sh, with pg_stat_statements loaded when the
# server has it (one restart of the bench's own cluster, the first time).
start_services() {
    deploy/local/services.sh start "$SERVICES" "$PG_PORT" "$REDIS_PORT" >/dev/null
    PG_PASSWORD=$(cat ".data/$SERVICES/pg-password")
    PG_DATA="$(readlink -f ".data/$SERVICES/pg")/data"
    PG_COUNTER=transactions
    if ! bench_psql -d scutum -tAc "SHOW shared_preload_libraries" | grep -q pg_stat_statements \
        && ls /usr/lib/postgresql/*/lib/pg_stat_statements.so >/dev/null 2>&1; then
        bench_psql -d scutum -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
        deploy/local/services.sh stop "$SERVICES" "$PG_PORT" "$REDIS_PORT" >/dev/null 2>&1
        deploy/local/services.sh start "$SERVICES" "$PG_PORT" "$REDIS_PORT" >/dev/null
    fi
    if bench_psql -d scutum -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1 \
        && bench_psql -d scutum -tAc "SELECT count(*) FROM pg_stat_statements" >/dev/null 2>&1; then
        PG_COUNTER=statements
    fi
    redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
}

# run_nginx NAME PORT TEMPLATE [SED_ARGS...]: nginx in the foreground, as our child, from
# Benchmarks/upstream/TEMPLATE with @PREFIX@ and @PORT@ filled in (and SED_ARGS); waits until it
# answers and leaves its pid in NGINX_STARTED.
run_nginx() {
    local name=$1 port=$2 template=$3 prefix="$RUN_DIR/$1"
    shift 3
    require_free_port "$port"
    rm -rf "$prefix"
    mkdir -p "$prefix"
    sed -e "s#@PREFIX@#$prefix#g" -e "s#@PORT@#$port#g" "$@" "Benchmarks/upstream/$template" > "$prefix/nginx.conf"
    local nginx
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    "$nginx" -p "$prefix" -c "$prefix/nginx.conf" > "$LOGS/$name.log" 2>&1 &
    NGINX_STARTED=$!
    STARTED_PIDS+=("$NGINX_STARTED")
    for _ in $(seq 1 50); do
        curl -fs -X POST "http://127.0.0.1:$port/json/v1/chat/completions" >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "$name did not start:" >&2; cat "$LOGS/$name.log" "$prefix/error.log" >&2 2>/dev/null; exit 1
}

# The upstream: nginx.conf.template.
start_upstream() {
    local slow_bytes=3456
    run_nginx nginx "$UPSTREAM_PORT" nginx.conf.template -e "s#@HOLD@#$HOLD_SECONDS#g" \
        -e "s#@SLOW_RATE@#$(( (slow_bytes + HOLD_SECONDS - 1) / HOLD_SECONDS ))#g"
    NGINX_PID=$NGINX_STARTED
}

# nginx as a plain reverse proxy in front of the upstream (the C reference row).
start_reference_proxy() {
    run_nginx nginx-proxy "$PROXY_PORT" nginx-proxy.conf.template -e "s#@UPSTREAM_PORT@#$UPSTREAM_PORT#g"
    PROXY_PID=$NGINX_STARTED
}

# The environment of one gateway configuration, for `env -i`.
gateway_env() {
    local name=$1
    GATEWAY_ENV=(PATH="$PATH" HOME="$HOME"
        DATABASE_URL="postgres://scutum:$PG_PASSWORD@127.0.0.1:$PG_PORT/${GATEWAY_DB[$name]}"
        REDIS_URL="$([ "$name" = cluster ] && echo "$REDIS_CLUSTER_URL" || echo "redis://127.0.0.1:$REDIS_PORT/${GATEWAY_REDIS_DB[$name]}")"
        SCUTUM_REDIS_NAMESPACE="bench-$name" SCUTUM_HOST=127.0.0.1 SCUTUM_PROXY_PORT="${GATEWAY_PORT[$name]}"
        SCUTUM_ADMIN_PORT=0 SCUTUM_CONSOLE_PORT=0 SCUTUM_API_KEY="$MASTER_KEY" SCUTUM_LOG_LEVEL=error
        SCUTUM_SHUTDOWN_GRACE_SECONDS=3
        SCUTUM_MODELS_FILE="$ROOT/Benchmarks/models.yaml" SCUTUM_SQL_DIR="${GATEWAY_SQL[$name]}"
        BENCH_UPSTREAM_PORT="$UPSTREAM_PORT")
}

# Settings of each configuration. "on" is the real configuration: a virtual key in a team, key
# RPM/TPM limits no run reaches, a global limit, deployment limits (model_overrides), a key and a
# team budget far from spent, cost tracking and spend logs. "off" is the proxy floor: the master
# key, no global limit, budgets and cost tracking off (BENCH_FLOOR_SETTINGS adds switches, e.g.
# ones a later build gains).
seed_on() {
    local name=$1 database=$2
    bench_psql -d "$database" <<SQL
UPDATE settings SET value = value || '{"global_rate_limit": 2000000000, "enable_budget_enforcement": true,
    "enable_cost_tracking": true}'::jsonb;
INSERT INTO teams (team_id, team_alias) VALUES ('bench-team', 'bench');
UPDATE api_keys SET team_id = 'bench-team', rpm_limit = 2000000000, tpm_limit = 2000000000
    WHERE key_alias = 'bench-$name';
INSERT INTO budgets (scope, scope_id, max_budget, budget_duration) VALUES
    ('team', 'bench-team', 1000000, '30d'),
    ('key', (SELECT id::text FROM api_keys WHERE key_alias = 'bench-$name'), 1000000, '30d');
INSERT INTO model_overrides (model_name, rpm, tpm) VALUES
    ('gpt-5-mini', 2000000000, 2000000000), ('gpt-5-mini-stream', 2000000000, 2000000000),
    ('gpt-5-mini-slow', 2000000000, 2000000000);
SQL
}

# "cluster": "on" against the Redis Cluster.
seed_cluster() { seed_on "$@"; }

# A Redis Cluster of 3 masters on loopback (deploy/local/redis-cluster.sh), for the "cluster" gateway.
start_redis_cluster() {
    REDIS_CLUSTER_URL=$(deploy/local/redis-cluster.sh start "$RUN_DIR/redis-cluster" "$REDIS_CLUSTER_PORT" 2>>"$LOGS/redis-cluster.log") \
        || { echo "the Redis Cluster did not start:" >&2; cat "$LOGS/redis-cluster.log" >&2; exit 1; }
    REDIS_CLUSTER_PORTS="$REDIS_CLUSTER_PORT $((REDIS_CLUSTER_PORT + 1)) $((REDIS_CLUSTER_PORT + 2))"
}

# "cache": "on" plus the response cache (default scope, default TTL). The bench's requests carry no
# temperature and n = 1, so after the first each one is a hit.
seed_cache() {
    local database=$2
    seed_on "$@"
    bench_psql -d "$database" -c "UPDATE settings SET value = value || '{\"enable_response_cache\": true}'::jsonb"
}

seed_off() {
    local database=$2
    bench_psql -d "$database" -c "UPDATE settings SET value = value || '{\"global_rate_limit\": 0,
        \"enable_budget_enforcement\": false, \"enable_cost_tracking\": false, \"enable_guardrails\": false,
        \"enable_routing_policies\": false}'::jsonb || '${FLOOR_SETTINGS}'::jsonb"
}

# Fails when something already listens on a port the bench needs (a gateway left from an earlier run).
require_free_port() {
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
        echo "port $1 is in use (by: $(ss -ltnpH "sport = :$1" 2>/dev/null | sed 's/.*users://')); stop it or choose other BENCH_*_PORT" >&2
        exit 1
    fi
}

# Creates the configuration's database, migrates it, seeds it, starts the gateway, and checks a
# plain and a streamed request both answer 200.
start_gateway() {
    local name=$1 binary=$2 mode=$3
    local database=${GATEWAY_DB[$name]}
    require_free_port "${GATEWAY_PORT[$name]}"
    bench_psql -d scutum -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database"
    [ "$name" = cluster ] || redis-cli -p "$REDIS_PORT" -n "${GATEWAY_REDIS_DB[$name]}" FLUSHDB >/dev/null
    gateway_env "$name"
    env -i "${GATEWAY_ENV[@]}" "$binary/scutum" migrate --env-file /dev/null > "$LOGS/migrate-$name.log" 2>&1 \
        || { cat "$LOGS/migrate-$name.log" >&2; exit 1; }
    if [ "$mode" = on ] || [ "$mode" = cache ] || [ "$mode" = cluster ]; then
        GATEWAY_KEY[$name]=$(env -i "${GATEWAY_ENV[@]}" "$binary/scutum" keys create --alias "bench-$name" --env-file /dev/null)
        "seed_$mode" "$name" "$database" >/dev/null
    else
        GATEWAY_KEY[$name]=$MASTER_KEY
        seed_off "$name" "$database" >/dev/null
    fi
    # env execs the gateway: $! is the gateway's own pid, whose CPU and RSS are read.
    env -i "${GATEWAY_ENV[@]}" "$binary/scutum" serve --env-file /dev/null > "$LOGS/gateway-$name.log" 2>&1 &
    GATEWAY_PID[$name]=$!
    STARTED_PIDS+=("$!")
    local url="http://127.0.0.1:${GATEWAY_PORT[$name]}"
    for _ in $(seq 1 300); do
        curl -fs "$url/health/readiness" >/dev/null 2>&1 && break
        kill -0 "${GATEWAY_PID[$name]}" 2>/dev/null || { echo "gateway $name exited:" >&2; cat "$LOGS/gateway-$name.log" >&2; exit 1; }
        sleep 0.1
    done
    local model stream
    for model in gpt-5-mini gpt-5-mini-stream; do
        stream=$([ "$model" = gpt-5-mini ] && echo false || echo true)
        if ! curl -fsS -o "$LOGS/smoke-$name-$model.out" -H "Authorization: Bearer ${GATEWAY_KEY[$name]}" \
            -H 'Content-Type: application/json' "$url/v1/chat/completions" \
            -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":$stream}"; then
            echo "gateway $name does not answer $model:" >&2; cat "$LOGS/gateway-$name.log" >&2; exit 1
        fi
    done
    [ "$mode" = cache ] && require_cache_hits "$name" "$url"
    return 0
}

# The body chat.lua sends (and streamprobe.py's), so the smoke check primes the entries the rows hit.
bench_body() {
    local model=$1 stream=$2
    printf '{"model":"%s","messages":[{"role":"user","content":"Say hello in one short sentence."}]%s}' \
        "$model" "$([ "$stream" = true ] && echo ',"stream":true')"
}

# Sends the bench's own requests twice each; the second must answer `x-scutum-cache: hit`, or the
# cache row would measure the miss path under a wrong name: stop the bench loudly instead.
require_cache_hits() {
    local name=$1 url=$2 model stream attempt verdict
    for model in gpt-5-mini gpt-5-mini-stream; do
        stream=$([ "$model" = gpt-5-mini ] && echo false || echo true)
        for attempt in first second; do
            verdict=$(curl -fsS -o "$LOGS/smoke-$name-$model-$attempt.out" -D - \
                -H "Authorization: Bearer ${GATEWAY_KEY[$name]}" -H 'Content-Type: application/json' \
                "$url/v1/chat/completions" -d "$(bench_body "$model" "$stream")" \
                | tr -d '\r' | awk -F': *' 'tolower($1) == "x-scutum-cache" { print tolower($2) }') || verdict=""
        done
        if [ "$verdict" != hit ]; then
            echo "gateway $name: a repeated $model request answered x-scutum-cache: '${verdict:-<no header>}', not 'hit';" >&2
            echo "the cache-hit row cannot be measured (a build without the response cache? BENCH_CACHE_ROW=0 skips it)" >&2
            exit 1
        fi
    done
}

stop_everything() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${STARTED_PIDS[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [ -n "${REDIS_CLUSTER_URL:-}" ] && deploy/local/redis-cluster.sh stop "$RUN_DIR/redis-cluster" "$REDIS_CLUSTER_PORT" >/dev/null 2>&1
    [ -n "${SERVICES:-}" ] && deploy/local/services.sh stop "$SERVICES" "$PG_PORT" "$REDIS_PORT" >/dev/null 2>&1 || true
}
