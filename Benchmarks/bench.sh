#!/usr/bin/env bash
# `make bench`: what the gateway costs a request, against Debian's nginx serving the same fixed
# OpenAI answer (the floor), as issue 14 asks. README "Benchmark" says how to read the output.
#
#   rows        nginx direct; nginx as a reverse proxy in front of it (a C proxy's cost on this
#               machine, for reference); the gateway with everything on (virtual key, rate limits, budgets,
#               spend logging); the same with the response cache on, every request a cache hit; the
#               gateway with everything off (the proxy floor); non-streaming and
#               streaming, c=1 and c=BENCH_CONNECTIONS; a warm-up, then BENCH_RUNS runs of
#               BENCH_SECONDS, medians; CPU µs per request of every process; Redis commands and
#               PostgreSQL statements per request from the servers' own counters
#   then        streaming time to first byte, a 400 KB prompt, RSS idle and holding 1,000 streams,
#               2,000 concurrent streams to one upstream host, a verdict per target, and the cost of
#               a full guardrail profile (scutum-guardrail-bench)
#
# BENCH_CACHE_ROW=0 leaves the cache-hit gateway out (a build without the response cache).
# BENCH_REDIS_CLUSTER=0 leaves out the gateway with everything on against a local 3-master Redis Cluster
# (ports from BENCH_REDIS_CLUSTER_PORT, default 27100; its rows count the cluster's commands and CPU).
# BENCH_BASELINE_BIN=/dir (holding a `scutum` binary, and optionally its sql/ folder) measures every
# gateway row for that build too, in the same run, side by side. BENCH_BIN=/dir skips the release
# build and measures the binaries in /dir.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SERVICES=${BENCH_SERVICES_NAME:-bench}
PG_PORT=${BENCH_PG_PORT:-25434}
REDIS_PORT=${BENCH_REDIS_PORT:-26381}
UPSTREAM_PORT=${BENCH_UPSTREAM_PORT:-29200}
GATEWAY_BASE_PORT=${BENCH_GATEWAY_PORT:-24000}
RUNS=${BENCH_RUNS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-15}
WARMUP=${BENCH_WARMUP:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
SIDE_SECONDS=${BENCH_SIDE_SECONDS:-10}
TTFB_REQUESTS=${BENCH_TTFB_REQUESTS:-2000}
PROMPT_BYTES=${BENCH_PROMPT_BYTES:-409600}
STREAMS=${BENCH_STREAMS:-2000}
RSS_STREAMS=${BENCH_RSS_STREAMS:-1000}
HOLD_SECONDS=${BENCH_HOLD_SECONDS:-3}
STREAMS_TIMEOUT=${BENCH_STREAMS_TIMEOUT:-15}
BASELINE=${BENCH_BASELINE_BIN:-}
FLOOR_SETTINGS=${BENCH_FLOOR_SETTINGS:-"{}"}
CACHE_ROW=${BENCH_CACHE_ROW:-1}
REDIS_CLUSTER=${BENCH_REDIS_CLUSTER:-1}
REDIS_CLUSTER_PORT=${BENCH_REDIS_CLUSTER_PORT:-27100}
REDIS_CLUSTER_URL=""
LOGS="$ROOT/.data/bench/logs"
RUN_DIR="$ROOT/.data/bench/run"
PROXY_PORT=${BENCH_PROXY_PORT:-29201}
UPSTREAM="http://127.0.0.1:$UPSTREAM_PORT"
REFERENCE_PROXY="http://127.0.0.1:$PROXY_PORT"
MASTER_KEY="sk-bench-master-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

. Benchmarks/lib/counters.sh
. Benchmarks/lib/setup.sh
. Benchmarks/lib/measure.sh
. Benchmarks/lib/report.sh

trap stop_everything EXIT
trap 'exit 130' INT TERM
mkdir -p "$LOGS" "$RUN_DIR"
: > "$LOGS/wrk.log"

if [ -n "$BASELINE" ] && [ ! -x "$BASELINE/scutum" ]; then
    echo "BENCH_BASELINE_BIN=$BASELINE holds no scutum binary" >&2; exit 2
fi
install_tools
raise_file_limit
if [ -n "${BENCH_BIN:-}" ]; then
    BIN=$BENCH_BIN
else
    echo "==> release build"
    swift build -c release --product scutum 2>&1 | grep -E "error|warning: |Compiling scutum|Build" || true
    swift build -c release --product scutum-guardrail-bench 2>&1 | grep -E "error|warning: |Build" || true
    BIN=$(swift build -c release --show-bin-path)
fi

echo "==> PostgreSQL and Redis ($SERVICES: $PG_PORT, $REDIS_PORT), nginx on $UPSTREAM_PORT"
start_services
[ "$REDIS_CLUSTER" = 1 ] && start_redis_cluster
PG_UNIT=$([ "$PG_COUNTER" = statements ] && echo "stmt" || echo "xact")
start_upstream
start_reference_proxy

# One gateway per configuration (and per build), all running, each with its own database, Redis
# database and port, so every row is measured at the same time of the same run.
declare -A GATEWAY_PORT GATEWAY_DB GATEWAY_REDIS_DB GATEWAY_SQL GATEWAY_BIN GATEWAY_MODE GATEWAY_PID GATEWAY_KEY
# "cache" is "on" with the response cache enabled: the baseline build is not expected to have one.
GATEWAYS=(on)
[ -n "$BASELINE" ] && GATEWAYS+=(base-on)
[ "$CACHE_ROW" = 1 ] && GATEWAYS+=(cache)
[ "$REDIS_CLUSTER" = 1 ] && GATEWAYS+=(cluster)
GATEWAYS+=(off)
[ -n "$BASELINE" ] && GATEWAYS+=(base-off)
index=0
for name in "${GATEWAYS[@]}"; do
    GATEWAY_PORT[$name]=$((GATEWAY_BASE_PORT + index))
    GATEWAY_DB[$name]="scutum_bench_${name//-/_}"
    GATEWAY_REDIS_DB[$name]=$((index + 1))
    GATEWAY_MODE[$name]=${name#base-}
    if [[ $name == base-* ]]; then
        GATEWAY_BIN[$name]=$BASELINE
        GATEWAY_SQL[$name]=$([ -d "$BASELINE/sql" ] && echo "$BASELINE/sql" || echo "$ROOT/sql")
    else
        GATEWAY_BIN[$name]=$BIN
        GATEWAY_SQL[$name]="$ROOT/sql"
    fi
    index=$((index + 1))
done
echo "==> gateways: ${GATEWAYS[*]}"
declare -A RSS_IDLE
for name in "${GATEWAYS[@]}"; do
    start_gateway "$name" "${GATEWAY_BIN[$name]}" "${GATEWAY_MODE[$name]}"
done
sleep 2
for name in "${GATEWAYS[@]}"; do RSS_IDLE[$name]=$(rss_kb "${GATEWAY_PID[$name]}"); done

gateway_url() { echo "http://127.0.0.1:${GATEWAY_PORT[$1]}/v1/chat/completions"; }
REDIS_MEMORY_BEFORE=$(redis_used_memory)

echo
echo "==> rows: ${WARMUP} s warm-up, then the median of $RUNS runs of $SECONDS_PER_RUN s (wrk, closed loop:"
echo "    each connection sends its next request when the last one ends). Load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "    (anything else running on the machine shows up in p99 first)"
print_table_head
for kind in json sse; do
    stream=$([ "$kind" = sse ] && echo 1 || echo 0)
    model=$([ "$kind" = sse ] && echo gpt-5-mini-stream || echo gpt-5-mini)
    for connections in 1 "$CONNECTIONS"; do
        measure "$kind-$connections-direct" "$UPSTREAM/$kind/v1/chat/completions" bench gpt-5-mini "$stream" \
            "$connections" "" ""
        measure "$kind-$connections-proxy" "$REFERENCE_PROXY/$kind/v1/chat/completions" bench gpt-5-mini "$stream" \
            "$connections" "$PROXY_PID" ""
        for name in "${GATEWAYS[@]}"; do
            EXPECT_CACHE_HIT=$([ "${GATEWAY_MODE[$name]}" = cache ] && echo 1 || echo 0)
            # The cluster's rows count the cluster's commands and CPU; every other row the one Redis.
            COUNTED_REDIS_PORTS=$([ "$name" = cluster ] && echo "$REDIS_CLUSTER_PORTS" || echo "$REDIS_PORT")
            measure "$kind-$connections-$name" "$(gateway_url "$name")" "${GATEWAY_KEY[$name]}" "$model" "$stream" \
                "$connections" "${GATEWAY_PID[$name]}" "${GATEWAY_DB[$name]}"
        done
        EXPECT_CACHE_HIT=0
        COUNTED_REDIS_PORTS=$REDIS_PORT
        print_group "$kind" "$connections"
    done
done
echo "(2 cores shared by wrk, nginx, the gateways, PostgreSQL and Redis. CPU columns: per request over"
echo " all runs of the row, from /proc; redis: commands executed (Lua's included) from INFO commandstats;"
echo " pg: $([ "$PG_COUNTER" = statements ] && echo "statements from pg_stat_statements" || echo "transactions from pg_stat_database (pg_stat_statements unavailable)")."
echo " Idle gateways of the other rows share Redis and PostgreSQL and add their background work.)"

echo
echo "==> Redis memory (used_memory $(( REDIS_MEMORY_BEFORE / 1024 )) KiB before the rows, $(( $(redis_used_memory) / 1024 )) KiB after)"
declare -A REDIS_LARGEST
for name in "${GATEWAYS[@]}"; do
    [ "${GATEWAY_MODE[$name]}" = on ] || [ "${GATEWAY_MODE[$name]}" = cache ] || continue
    read -r count largest largest_name < <(redis_keys_summary "${GATEWAY_REDIS_DB[$name]}")
    REDIS_LARGEST[$name]=$largest
    printf '  %-26s %6s keys, largest %8s bytes (%s)\n' "$(gateway_label "$name"):" "$count" "$largest" "$largest_name"
done

if command -v wrk2 >/dev/null; then
    echo
    echo "==> open loop cross-check (wrk2 at 80% of the closed-loop rate, c=$CONNECTIONS, non-streaming)"
    for name in "${GATEWAYS[@]}"; do
        [ "${GATEWAY_MODE[$name]}" = on ] || continue
        rate=$(( ROW_RPS[json-$CONNECTIONS-$name] * 8 / 10 ))
        BENCH_KEY=${GATEWAY_KEY[$name]} wrk2 -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -R"$rate" --latency \
            -s Benchmarks/chat.lua "$(gateway_url "$name")" 2>&1 | grep -E '^ +(50|99)\.000%' \
            | sed "s/^/  $(gateway_label "$name") at $rate req\/s: /"
    done
else
    echo
    echo "(wrk2 is not installed: the open-loop cross-check is skipped; wrk's numbers are closed loop)"
fi

echo
echo "==> streaming: time to the first data: line, $TTFB_REQUESTS requests one after another (p50 / p99 µs)"
declare -A TTFB_ADDED
read -r _ direct50 direct99 < <(python3 Benchmarks/streamprobe.py ttfb "$UPSTREAM/sse/v1/chat/completions" --count "$TTFB_REQUESTS")
printf '  %-28s %7s %7s\n' "nginx direct" "$direct50" "$direct99"
for name in "${GATEWAYS[@]}"; do
    read -r _ p50 p99 < <(python3 Benchmarks/streamprobe.py ttfb "$(gateway_url "$name")" \
        --key "${GATEWAY_KEY[$name]}" --model gpt-5-mini-stream --count "$TTFB_REQUESTS")
    TTFB_ADDED[$name]=$((p50 - direct50))
    printf '  %-28s %7s %7s   added p50 +%s\n' "$(gateway_label "$name")" "$p50" "$p99" "${TTFB_ADDED[$name]}"
done

echo
echo "==> a $((PROMPT_BYTES / 1024)) KB prompt (one long user message), c=1, $SIDE_SECONDS s after a warm-up"
declare -A LARGE_ADDED
measure large-direct "$UPSTREAM/json/v1/chat/completions" bench gpt-5-mini 0 1 "" "" 1 "$SIDE_SECONDS" "$PROMPT_BYTES"
printf '  %-28s %7s req/s  p50 %6s µs  p99 %6s µs\n' "nginx direct" "${ROW_RPS[large-direct]}" "${ROW_P50[large-direct]}" "${ROW_P99[large-direct]}"
for name in "${GATEWAYS[@]}"; do
    [ "${GATEWAY_MODE[$name]}" = on ] || continue
    measure "large-$name" "$(gateway_url "$name")" "${GATEWAY_KEY[$name]}" gpt-5-mini 0 1 "${GATEWAY_PID[$name]}" \
        "${GATEWAY_DB[$name]}" 1 "$SIDE_SECONDS" "$PROMPT_BYTES"
    LARGE_ADDED[$name]=$(( ROW_P50[large-$name] - ROW_P50[large-direct] ))
    printf '  %-28s %7s req/s  p50 %6s µs  p99 %6s µs  added p50 +%s µs, gateway CPU %s µs/req\n' "$(gateway_label "$name")" \
        "${ROW_RPS[large-$name]}" "${ROW_P50[large-$name]}" "${ROW_P99[large-$name]}" "${LARGE_ADDED[$name]}" "${ROW_CPU_GATEWAY[large-$name]}"
done

# concurrent_streams LABEL URL KEY COUNT [PID]: runs streamprobe.py concurrent; its line is left in
# STREAM_LINE and printed unless QUIET=1.
concurrent_streams() {
    local label=$1 url=$2 key=$3 count=$4 pid=${5:-}
    STREAM_LINE=$(python3 Benchmarks/streamprobe.py concurrent "$url" --key "$key" --model gpt-5-mini-slow \
        --streams "$count" --timeout "$STREAMS_TIMEOUT" ${pid:+--pid "$pid"})
    [ "${QUIET:-0}" = 1 ] || printf '  %-28s %s\n' "$label" "$STREAM_LINE"
    sleep $((HOLD_SECONDS + 2))  # let what is still open finish before the next test
}
field() { tr ' ' '\n' <<< "$2" | awk -F= -v name="$1" '$1 == name { print $2 }'; }

echo
echo "==> RSS (VmRSS) of the gateway: idle, and holding $RSS_STREAMS streams of about $HOLD_SECONDS s"
declare -A RSS_STREAMS_PEAK RSS_STREAMS_HEADS
for name in "${GATEWAYS[@]}"; do
    [ "${GATEWAY_MODE[$name]}" = on ] || continue
    QUIET=1 concurrent_streams "$(gateway_label "$name")" "$(gateway_url "$name")" "${GATEWAY_KEY[$name]}" \
        "$RSS_STREAMS" "${GATEWAY_PID[$name]}"
    echo "$STREAM_LINE" >> "$LOGS/streams.log"
    RSS_STREAMS_PEAK[$name]=$(field peak_rss_kb "$STREAM_LINE")
    RSS_STREAMS_HEADS[$name]=$(field within_1s "$STREAM_LINE")
    printf '  %-28s idle %4s MB, peak %4s MB while %s streams were open at once\n' "$(gateway_label "$name")" \
        "$(( RSS_IDLE[$name] / 1024 ))" "$(( RSS_STREAMS_PEAK[$name] / 1024 ))" "${RSS_STREAMS_HEADS[$name]}"
done

echo
echo "==> $STREAMS concurrent streams through one node to one upstream host (each open about $HOLD_SECONDS s;"
echo "    time from sending the request to its response head; given up after $STREAMS_TIMEOUT s)"
declare -A STREAMS_WITHIN STREAMS_MAX_MS
concurrent_streams "nginx direct" "$UPSTREAM/slow/v1/chat/completions" bench "$STREAMS"
for name in "${GATEWAYS[@]}"; do
    [ "${GATEWAY_MODE[$name]}" = on ] || continue
    concurrent_streams "$(gateway_label "$name")" "$(gateway_url "$name")" "${GATEWAY_KEY[$name]}" "$STREAMS"
    STREAMS_WITHIN[$name]=$(field within_1s "$STREAM_LINE")
    STREAMS_MAX_MS[$name]=$(( $(field head_max_us "$STREAM_LINE") / 1000 ))
done

print_verdicts
echo "  (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"

echo
echo "==> guardrails: one full profile on a 4 KB prompt (in process, no network)"
if [ -x "$BIN/scutum-guardrail-bench" ]; then
    "$BIN/scutum-guardrail-bench"
else
    echo "  (no scutum-guardrail-bench in $BIN)"
fi
