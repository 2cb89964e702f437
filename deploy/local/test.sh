#!/usr/bin/env bash
# `make test`: install and start PostgreSQL and Redis, run the Swift suites against them, then run the
# user guide's examples verbatim (curl and the OpenAI Python SDK) against a demo gateway on :4000, and
# the admin console's browser tests (headless Chromium + Selenium) against the same gateway's :5173.
# Then a fault drill: a gateway under load while PostgreSQL, then Redis, are stopped (Tests/drill).
# Stops everything it started; exits non-zero if anything failed.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PG_PORT=25432
REDIS_PORT=26379
GATEWAY_PORT=${SCUTUM_E2E_PORT:-4000}
ADMIN_PORT=8086
CONSOLE_PORT=5173
REDIS_CLUSTER_PORT=27000
LOGS="$ROOT/.data/test/logs"
GATEWAY_PID=""
SCALE_BOUNCER_PORT=26431
SCALE_TLS_PG_PORT=25531

cleanup() {
    if [ -n "$GATEWAY_PID" ] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
        kill -TERM "$GATEWAY_PID"; wait "$GATEWAY_PID" 2>/dev/null
    fi
    # Scale-out, PostgreSQL: PgBouncer and the TLS PostgreSQL (stopped here too if a step was cut short).
    deploy/local/pgbouncer.sh stop .data/test "$PG_PORT" "$SCALE_BOUNCER_PORT" >/dev/null 2>&1 || true
    deploy/local/pg-tls.sh stop .data/pgtls "$SCALE_TLS_PG_PORT" >/dev/null 2>&1 || true
    deploy/local/services.sh stop test "$PG_PORT" "$REDIS_PORT" || true
    deploy/local/redis-tls.sh stop "$ROOT/.data/test/redis-tls" 26480 2>/dev/null || true
    deploy/local/redis-sentinel.sh stop "$ROOT/.data/test/redis-sentinel" 26481 26482 26483 2>/dev/null || true
    deploy/local/redis-cluster.sh stop "$ROOT/.data/redis-cluster" "$REDIS_CLUSTER_PORT" >/dev/null 2>&1 || true
}
trap cleanup EXIT
step() { printf '\n==> %s\n' "$*"; }

command -v swift >/dev/null || { echo "The Swift toolchain (6.x) is required" >&2; exit 1; }
need=()
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3 python3-venv python3-pip)
# nginx terminates TLS in front of three nodes in the cluster test; openssl makes its certificate.
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx)
command -v openssl >/dev/null || need+=(openssl)
# The console's browser tests: headless Chromium driven through chromedriver.
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
    step "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    # Debian's package starts a system nginx on :80 where it can; the tests run their own.
    if [[ " ${need[*]} " == *" nginx "* ]]; then nginx -s quit 2>/dev/null || true; fi
fi

step "starting PostgreSQL and Redis"
deploy/local/services.sh start test "$PG_PORT" "$REDIS_PORT" >/dev/null || exit 1
# shellcheck disable=SC1091
. .data/test/urls.env
mkdir -p "$LOGS"
export SCUTUM_TEST_DATABASE_URL="$DATABASE_URL" SCUTUM_TEST_REDIS_URL="$REDIS_URL"

step "building"
swift build --build-tests 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\] (Compiling|Write|Emitting)" | tail -40
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build failed" >&2; exit 1; }

step "swift test (real PostgreSQL and Redis)"
# At most this many tests at once: every multi-node test runs several gateways, and on two cores an
# unbounded run starves them (timeouts) and can exhaust PostgreSQL's connections.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=${SCUTUM_TEST_PARALLELISM:-8}
# A hung test must fail the run, not stall CI: after the limit the test process is killed.
( sleep "${SCUTUM_TEST_TIME_LIMIT_SECONDS:-2400}"
  if pkill -KILL -f ScutumPackageTests.xctest; then echo "swift test ran out of time and was killed" >&2; fi ) &
watchdog=$!
# No `|| true` here: with pipefail it would run on a failing `swift test` and hide its status.
# Line-buffered, so the log shows where a run stopped.
stdbuf -oL -eL swift test --skip-build 2>&1 | tee "$LOGS/swift-test.log" | grep -E "Suite \"|Test run with|recorded an issue|[Ff]ail"
swift_status=${PIPESTATUS[0]}
kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null

step "end-to-end: the guide's examples against a demo gateway on :$GATEWAY_PORT"
e2e_status=1
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv || exit 1; fi
.venv/bin/pip install -q --disable-pip-version-check openai openai-agents anthropic pytest prometheus-client opentelemetry-proto \
    kubernetes-validate pyyaml selenium || exit 1
E2E_URL="postgres://scutum:$(cat .data/test/pg-password)@127.0.0.1:$PG_PORT/scutum_e2e"
PGPASSWORD=$(cat .data/test/pg-password) psql -q -h 127.0.0.1 -p "$PG_PORT" -U scutum -d scutum \
    -c "DROP DATABASE IF EXISTS scutum_e2e WITH (FORCE)" -c "CREATE DATABASE scutum_e2e" \
    -c "DROP DATABASE IF EXISTS scutum_cluster WITH (FORCE)" -c "CREATE DATABASE scutum_cluster" \
    -c "DROP DATABASE IF EXISTS scutum_workflows WITH (FORCE)" -c "CREATE DATABASE scutum_workflows" \
    -c "DROP DATABASE IF EXISTS scutum_tls WITH (FORCE)" -c "CREATE DATABASE scutum_tls" \
    -c "DROP DATABASE IF EXISTS scutum_tracing WITH (FORCE)" -c "CREATE DATABASE scutum_tracing" || exit 1
CLUSTER_URL="postgres://scutum:$(cat .data/test/pg-password)@127.0.0.1:$PG_PORT/scutum_cluster"
WORKFLOW_URL="postgres://scutum:$(cat .data/test/pg-password)@127.0.0.1:$PG_PORT/scutum_workflows"
TLS_URL="postgres://scutum:$(cat .data/test/pg-password)@127.0.0.1:$PG_PORT/scutum_tls"
TRACING_URL="postgres://scutum:$(cat .data/test/pg-password)@127.0.0.1:$PG_PORT/scutum_tracing"
E2E_KEY="sk-e2e-$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40)"
MOCK_PORT=29100
# Single sign-on for the console against the mock upstream's OpenID Connect provider; only
# e-mails of SSO_DOMAINS may sign in (the browser tests check that another domain is refused).
SSO_DOMAINS=example.com
gateway_env=(env -i PATH="$PATH" HOME="$HOME" SCUTUM_API_KEY="$E2E_KEY" DATABASE_URL="$E2E_URL" REDIS_URL="$REDIS_URL"
    SCUTUM_HOST=127.0.0.1 SCUTUM_PROXY_PORT="$GATEWAY_PORT" SCUTUM_ADMIN_PORT="$ADMIN_PORT"
    SCUTUM_CONSOLE_PORT="$CONSOLE_PORT" SCUTUM_MOCK_UPSTREAM_PORT="$MOCK_PORT" SCUTUM_LOG_LEVEL=info
    SCUTUM_OIDC_ISSUER="http://127.0.0.1:$MOCK_PORT/oidc" SCUTUM_OIDC_CLIENT_ID=scutum-console
    SCUTUM_OIDC_CLIENT_SECRET=scutum-console-secret SCUTUM_OIDC_REDIRECT_URI="http://127.0.0.1:$CONSOLE_PORT/auth/sso/callback"
    SCUTUM_OIDC_ALLOWED_DOMAINS="$SSO_DOMAINS" GATEWAY_CONFIG_PATH="$LOGS/agentgateway.yaml")
"${gateway_env[@]}" .build/debug/scutum migrate --env-file /dev/null || exit 1
"${gateway_env[@]}" .build/debug/scutum serve --env-file /dev/null > "$LOGS/gateway.log" 2>&1 &
GATEWAY_PID=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$GATEWAY_PORT/health/readiness" >/dev/null && break
    sleep 0.2
done
if curl -fs "http://127.0.0.1:$GATEWAY_PORT/health/readiness" >/dev/null; then
    SCUTUM_API_KEY="$E2E_KEY" SCUTUM_BASE_URL="http://localhost:$GATEWAY_PORT" \
        DATABASE_URL="$E2E_URL" SCUTUM_BIN="$ROOT/.build/debug/scutum" SCUTUM_MOCK_BIN="$ROOT/.build/debug/scutum-mock" \
        CLUSTER_DATABASE_URL="$CLUSTER_URL" WORKFLOW_DATABASE_URL="$WORKFLOW_URL" TLS_DATABASE_URL="$TLS_URL" TRACING_DATABASE_URL="$TRACING_URL" REDIS_URL="$REDIS_URL" SCUTUM_E2E_LOGS="$LOGS" \
        .venv/bin/python -m pytest -q Tests/e2e 2>&1 | tee "$LOGS/pytest.log"
    e2e_status=${PIPESTATUS[0]}
else
    echo "the gateway did not become ready; its log:" >&2
    cat "$LOGS/gateway.log" >&2
fi

step "browser: the admin console on :$CONSOLE_PORT (headless Chromium)"
console_status=1
if curl -fs "http://127.0.0.1:$CONSOLE_PORT/" >/dev/null; then
    SCUTUM_API_KEY="$E2E_KEY" SCUTUM_CONSOLE_URL="http://127.0.0.1:$CONSOLE_PORT" \
        SCUTUM_BASE_URL="http://127.0.0.1:$GATEWAY_PORT" SCUTUM_E2E_LOGS="$LOGS" \
        SCUTUM_MOCK_MCP_URL="http://127.0.0.1:$MOCK_PORT/mcp" GATEWAY_CONFIG_PATH="$LOGS/agentgateway.yaml" \
        SCUTUM_MOCK_UPSTREAM_URL="http://127.0.0.1:$MOCK_PORT" SCUTUM_OIDC_ALLOWED_DOMAINS="$SSO_DOMAINS" \
        .venv/bin/python -m pytest -q Tests/console 2>&1 | tee "$LOGS/console-pytest.log"
    console_status=${PIPESTATUS[0]}
else
    echo "the console did not answer on :$CONSOLE_PORT" | tee "$LOGS/console-pytest.log" >&2
fi
kill -TERM "$GATEWAY_PID" 2>/dev/null; wait "$GATEWAY_PID" 2>/dev/null; GATEWAY_PID=""
grep -q "DEMO MODE" "$LOGS/gateway.log" || { echo "the gateway did not announce demo mode" >&2; e2e_status=1; }

step "deployment manifests: Kubernetes schemas (offline)"
.venv/bin/python -m pytest -q Tests/deploy 2>&1 | tee "$LOGS/pytest-deploy.log"
deploy_status=${PIPESTATUS[0]}

step "fault drill: PostgreSQL, then Redis, stopped for 20 s each under load (its own services)"
SCUTUM_BIN="$ROOT/.build/debug/scutum" SCUTUM_ROOT="$ROOT" SCUTUM_E2E_LOGS="$LOGS" \
    .venv/bin/python -m pytest -q -s Tests/drill 2>&1 | tee "$LOGS/pytest-drill.log"
drill_status=${PIPESTATUS[0]}

# ---- Redis over TLS (ACL user, client certificates) and behind Sentinel -------------------------------
step "Redis over TLS and behind Sentinel: the Redis suites over TLS as an ACL user; TLS and failover tests"
REDIS_TLS_DIR="$ROOT/.data/test/redis-tls"
REDIS_SENTINEL_DIR="$ROOT/.data/test/redis-sentinel"
redis_tls_status=1
if deploy/local/redis-tls.sh start "$REDIS_TLS_DIR" 26480 \
    && deploy/local/redis-sentinel.sh start "$REDIS_SENTINEL_DIR" 26481 26482 26483; then
    # In a subshell: the TLS URL replaces SCUTUM_TEST_REDIS_URL for these suites only.
    (
        # shellcheck disable=SC1091
        . "$REDIS_TLS_DIR/urls.env"
        # shellcheck disable=SC1091
        . "$REDIS_SENTINEL_DIR/urls.env"
        export SCUTUM_TEST_REDIS_URL="$REDIS_TLS_URL" SCUTUM_TEST_REDIS_TLS_URL="$REDIS_TLS_URL" \
            SCUTUM_TEST_REDIS_SENTINEL_URL="$REDIS_SENTINEL_URL" REDIS_TLS_CA_FILE REDIS_TLS_CERT_FILE \
            REDIS_TLS_KEY_FILE REDIS_TLS_OTHER_CA_FILE
        # The Redis suites (timing-sensitive ones among them) first, then the node suites using Redis most.
        timeout 300 stdbuf -oL -eL swift test --skip-build --filter \
            'ScutumRedisTests\.(RedisTLSTests|RedisSentinelTests|RedisURLTests|RedisClientTests|RedisConnectionTests|RedisScriptTests|RedisSubscriberTests|QuotaWindowTests|QuotaLeaseTests|ParallelSlotTests|BreakerSyncTests|ResponseCacheStoreTests)'
        redis_suites=$?
        timeout 300 stdbuf -oL -eL swift test --skip-build --filter 'ScutumNodeTests\.(RateLimitTests|SpendWriteBehindTests|RedisSentinelGatewayTests)'
        node_suites=$?
        [ "$redis_suites" -eq 0 ] && [ "$node_suites" -eq 0 ]
    ) 2>&1 | tee "$LOGS/swift-test-redis-tls.log" | grep -E "Suite \"|Test run with|recorded an issue|[Ff]ail|sentinel failover:"
    redis_tls_status=${PIPESTATUS[0]}
else
    echo "the TLS Redis or the Sentinel setup did not start" | tee "$LOGS/swift-test-redis-tls.log" >&2
fi
deploy/local/redis-sentinel.sh stop "$REDIS_SENTINEL_DIR" 26481 26482 26483 || true
deploy/local/redis-tls.sh stop "$REDIS_TLS_DIR" 26480 || true
# ---- end of Redis over TLS and Sentinel -----------------------------------------------------------------
# --- Redis Cluster: the Redis suites against a 3-master cluster (with replicas), then the cluster's own tests.
step "Redis Cluster: Redis suites and cluster tests against 3 masters + 3 replicas on :$REDIS_CLUSTER_PORT"
redis_cluster_status=1
rm -f "$LOGS"/swift-test-redis-cluster*.log
if cluster_url=$(REPLICAS=1 deploy/local/redis-cluster.sh start "$ROOT/.data/redis-cluster" "$REDIS_CLUSTER_PORT" \
    2> >(tee "$LOGS/redis-cluster-start.log" >&2)); then
    # Suites whose Redis keys or scripts a CROSSSLOT or an unfollowed MOVED would fail (connection-level,
    # relay and outage suites stay single-server: they cut one server on purpose).
    cluster_suites='ScutumRedisTests\.(BreakerSyncTests|ParallelSlotTests|QuotaWindowTests|QuotaLeaseTests|RedisClientTests|RedisScriptTests|RedisSubscriberTests|ResponseCacheStoreTests|RedisHashSlotTests)|ScutumNodeTests\.(RateLimitTests|DeploymentLimitTests|BudgetCounterTests|SpendWriteBehindTests|ResponseCacheTests|ResponseCacheAdminTests|RealtimeTests|FallbackTests|ClusterBudgetTests|PlatformTests|AdminClusterTests|MetricsTests|HealthAndModelsTests|HotPathTests|SpendEndpointTests|AbandonedStreamTests)'
    SCUTUM_TEST_REDIS_URL="$cluster_url" stdbuf -oL -eL swift test --skip-build --filter "$cluster_suites" 2>&1 \
        | tee "$LOGS/swift-test-redis-cluster.log" | grep -E "Test run with|recorded an issue|✘"
    suites_status=${PIPESTATUS[0]}
    # Slot migrations, ASK, failovers and frozen masters (a gateway's readiness and /metrics naming the
    # failing node): one test at a time, so they disturb no other.
    SCUTUM_TEST_REDIS_CLUSTER_URL="$cluster_url" SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=1 \
        stdbuf -oL -eL swift test --skip-build --filter 'ScutumRedisTests\.RedisClusterTests|ScutumNodeTests\.RedisClusterGatewayTests' 2>&1 \
        | tee "$LOGS/swift-test-redis-cluster-own.log" | grep -E "Test run with|recorded an issue|✘"
    own_status=${PIPESTATUS[0]}
    # A run that ends without its summary (a crash) says so in the summary below.
    for log in "$LOGS/swift-test-redis-cluster.log" "$LOGS/swift-test-redis-cluster-own.log"; do
        grep -qE "Test run with [0-9]+ tests" "$log" \
            || echo "Test run with 0 tests: $(basename "$log") ended without a summary: $(tail -2 "$log" | tr '\n' ' ')" >>"$log"
    done
    [ "$suites_status" -eq 0 ] && [ "$own_status" -eq 0 ] && redis_cluster_status=0
else
    echo "Test run with 0 tests: the Redis Cluster did not start: $(tail -4 "$LOGS/redis-cluster-start.log" | tr '\n' ' ')" \
        >"$LOGS/swift-test-redis-cluster.log"
fi
deploy/local/redis-cluster.sh stop "$ROOT/.data/redis-cluster" "$REDIS_CLUSTER_PORT" >/dev/null 2>&1
# --- end Redis Cluster

step "scale-out, PostgreSQL: three nodes through PgBouncer (transaction pooling); TLS verify-full (Tests/scale)"
pg_scale_status=1
if deploy/local/pgbouncer.sh start .data/test "$PG_PORT" "$SCALE_BOUNCER_PORT" >/dev/null \
    && deploy/local/pg-tls.sh start .data/pgtls "$SCALE_TLS_PG_PORT" >/dev/null; then
    # shellcheck disable=SC1091
    . .data/test/pgbouncer.env
    SCUTUM_BIN="$ROOT/.build/debug/scutum" SCALE_DATABASE_URL="$DATABASE_URL" PGBOUNCER_URL="$PGBOUNCER_URL" \
        PG_TLS_DIR="$ROOT/.data/pgtls" REDIS_URL="$REDIS_URL" SCUTUM_E2E_LOGS="$LOGS" \
        .venv/bin/python -m pytest -q Tests/scale/test_pgbouncer.py Tests/scale/test_postgres_tls.py 2>&1 \
        | tee "$LOGS/pytest-pg-scale.log"
    pg_scale_status=${PIPESTATUS[0]}
    # The Admin API and spend suites with their databases (and nodes' pools) behind PgBouncer; the
    # nodes' LISTEN goes to the server directly (DATABASE_LISTEN_URL).
    SCUTUM_TEST_DATABASE_URL="$PGBOUNCER_URL" SCUTUM_TEST_LISTEN_DATABASE_URL="$DATABASE_URL" \
        timeout 900 stdbuf -oL -eL swift test --skip-build \
        --filter "ScutumAdminTests|SpendDurabilityTests|SpendEndpointTests|SpendWriteBehindTests|BudgetCounterTests" \
        2>&1 | tee "$LOGS/swift-test-pgbouncer.log" | grep -E "Test run with|recorded an issue|[Ff]ail"
    [ "${PIPESTATUS[0]}" -eq 0 ] || pg_scale_status=1
else
    echo "PgBouncer or the TLS PostgreSQL did not start" | tee "$LOGS/pytest-pg-scale.log" >&2
fi
deploy/local/pgbouncer.sh stop .data/test "$PG_PORT" "$SCALE_BOUNCER_PORT" >/dev/null 2>&1
deploy/local/pg-tls.sh stop .data/pgtls "$SCALE_TLS_PG_PORT" >/dev/null 2>&1

step "summary"
grep -E "Test run with [0-9]+ tests" "$LOGS/swift-test.log" | tail -1
grep -E "[0-9]+ (passed|failed)" "$LOGS/pytest.log" | tail -1
grep -E "[0-9]+ (passed|failed)" "$LOGS/pytest-deploy.log" | tail -1
echo "fault drill: $(grep -E "^drill:" "$LOGS/pytest-drill.log" | tail -1); $(grep -E "[0-9]+ (passed|failed)" "$LOGS/pytest-drill.log" | tail -1)"
echo "console (browser): $(grep -E "[0-9]+ (passed|failed)|did not answer" "$LOGS/console-pytest.log" | tail -1)"
echo "redis over TLS and Sentinel: $(grep -E "Test run with [0-9]+ tests|did not start" "$LOGS/swift-test-redis-tls.log" | tr '\n' ' ')"
grep -E "^console screenshots:" "$LOGS/console-pytest.log" | tail -1
echo "redis cluster: $(grep -hE "Test run with [0-9]+ tests" "$LOGS"/swift-test-redis-cluster*.log 2>/dev/null | tr '\n' ' ')"
echo "scale-out, PostgreSQL (PgBouncer, TLS): $(grep -E "[0-9]+ (passed|failed)|did not start" "$LOGS/pytest-pg-scale.log" | tail -1); Admin API and spend suites through PgBouncer: $(grep -E "Test run with [0-9]+ tests" "$LOGS/swift-test-pgbouncer.log" 2>/dev/null | tail -1)"
[ "$swift_status" -eq 0 ] && [ "$e2e_status" -eq 0 ] && [ "$deploy_status" -eq 0 ] && [ "$console_status" -eq 0 ] \
    && [ "$drill_status" -eq 0 ] && [ "$redis_tls_status" -eq 0 ] && [ "$redis_cluster_status" -eq 0 ] \
    && [ "$pg_scale_status" -eq 0 ]
