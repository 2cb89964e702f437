#!/usr/bin/env bash
# `make bench`: requests/s and the latency the gateway adds over calling the mock upstream directly,
# non-streaming and streaming, with auth (a key from the key store) and usage counting on; then the
# cost of a full guardrail profile on a 4 KB prompt (scutum-guardrail-bench).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PG_PORT=25434
REDIS_PORT=26381
MOCK_PORT=29200
GATEWAY_PORT=24000
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
LOGS="$ROOT/.data/bench/logs"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    deploy/local/services.sh stop bench "$PG_PORT" "$REDIS_PORT" >/dev/null 2>&1 || true
}
trap cleanup EXIT

command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
echo "==> release build"
swift build -c release --product scutum 2>&1 | grep -E "error|warning: |Compiling scutum|Build" || true
swift build -c release --product scutum-mock 2>&1 | grep -E "error|warning: |Build" || true
BIN=$(swift build -c release --show-bin-path)

deploy/local/services.sh start bench "$PG_PORT" "$REDIS_PORT" >/dev/null
mkdir -p "$LOGS"
PASSWORD=$(cat .data/bench/pg-password)
PGPASSWORD=$PASSWORD psql -q -h 127.0.0.1 -p "$PG_PORT" -U scutum -d scutum \
    -c "DROP DATABASE IF EXISTS scutum_bench WITH (FORCE)" -c "CREATE DATABASE scutum_bench"
export DATABASE_URL="postgres://scutum:$PASSWORD@127.0.0.1:$PG_PORT/scutum_bench"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"

"$BIN/scutum-mock" --port "$MOCK_PORT" > "$LOGS/mock.log" 2>&1 &
PIDS+=($!)
env -i PATH="$PATH" HOME="$HOME" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" SCUTUM_HOST=127.0.0.1 \
    SCUTUM_PROXY_PORT="$GATEWAY_PORT" SCUTUM_DEMO_MOCK_URL="http://127.0.0.1:$MOCK_PORT" SCUTUM_LOG_LEVEL=error \
    "$BIN/scutum" serve --env-file /dev/null > "$LOGS/gateway.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$GATEWAY_PORT/health/readiness" >/dev/null && break; sleep 0.2; done
KEY=$("$BIN/scutum" keys create --alias bench --env-file /dev/null)
# Rate limiting stays on (one Redis round trip per request is part of what is measured), with limits
# no benchmark reaches: the defaults (100 RPM per key, 1000 RPM global) would throttle it.
PGPASSWORD=$PASSWORD psql -q -h 127.0.0.1 -p "$PG_PORT" -U scutum -d scutum_bench \
    -c "UPDATE api_keys SET rpm_limit = 100000000, tpm_limit = 2000000000" \
    -c "UPDATE settings SET value = value || '{\"global_rate_limit\": 100000000}'::jsonb" \
    -c "INSERT INTO model_overrides (model_name, rpm, tpm) VALUES ('gpt-5-mini', 100000000, 2000000000)"
sleep 1

# Runs wrk and prints "rps p50_us p99_us".
measure() {
    local url=$1 key=$2 stream=$3 connections=$4
    local threads=$(( connections < 2 ? 1 : 2 ))
    BENCH_KEY=$key BENCH_STREAM=$stream wrk -t"$threads" -c"$connections" -d"$DURATION" --latency -s Benchmarks/chat.lua "$url" \
        > "$LOGS/wrk.out" 2>&1
    awk '
        function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1000000; return v }
        /^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) } /^Requests\/sec:/ { rps = $2 }
        /Non-2xx/ { bad = $NF }
        END { if (bad > 0) { print "non-2xx responses: " bad > "/dev/stderr" }; printf "%.0f %.0f %.0f\n", rps, p50, p99 }
    ' "$LOGS/wrk.out"
}

printf '\n%-34s %10s %10s %10s\n' "run" "req/s" "p50 (us)" "p99 (us)"
declare -A P50 P99
for stream in 0 1; do
    kind=$([ "$stream" = 1 ] && echo "streaming" || echo "non-streaming")
    for connections in 1 "$CONNECTIONS"; do
        read -r drps dp50 dp99 < <(measure "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" mock "$stream" "$connections")
        read -r grps gp50 gp99 < <(measure "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" "$KEY" "$stream" "$connections")
        printf '%-34s %10s %10s %10s\n' "mock direct, $kind, c=$connections" "$drps" "$dp50" "$dp99"
        printf '%-34s %10s %10s %10s\n' "gateway, $kind, c=$connections" "$grps" "$gp50" "$gp99"
        printf '%-34s %10s %10s %10s\n' "  added by the gateway" "" "$((gp50 - dp50))" "$((gp99 - dp99))"
    done
done
echo
echo "(2 cores shared by wrk, the mock, the gateway, PostgreSQL and Redis; auth via a stored key, usage counters on)"

echo
echo "==> guardrails: one full profile on a 4 KB prompt (in process, no network)"
swift build -c release --product scutum-guardrail-bench 2>&1 | grep -E "error|warning: " || true
"$BIN/scutum-guardrail-bench"
