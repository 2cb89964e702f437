# One row of the table, sourced by bench.sh: a wrk warm-up, then RUNS runs of SECONDS each; the
# medians of req/s, p50 and p99, and per request over all runs: CPU of each process, Redis
# commands and PostgreSQL statements. Results land in the ROW_* arrays under the row's id.

declare -A ROW_RPS ROW_P50 ROW_P99 ROW_REQUESTS ROW_CPU_GATEWAY ROW_CPU_REDIS ROW_CPU_POSTGRES ROW_CPU_NGINX \
    ROW_REDIS_COMMANDS ROW_PG_STATEMENTS ROW_ERRORS

# One wrk run; prints "req/s p50_us p99_us requests non_2xx_or_errors". With EXPECT_CACHE_HIT=1
# (the cache row) an answer that is not a cache hit counts as a failure too.
wrk_run() {
    local url=$1 key=$2 model=$3 stream=$4 connections=$5 seconds=$6 prompt_bytes=${7:-0}
    local threads=$(( connections < 2 ? 1 : 2 )) out="$LOGS/wrk.out"
    BENCH_KEY=$key BENCH_MODEL=$model BENCH_STREAM=$stream BENCH_PROMPT_BYTES=$prompt_bytes \
        BENCH_EXPECT_CACHE_HIT=${EXPECT_CACHE_HIT:-0} \
        wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s Benchmarks/chat.lua "$url" > "$out" 2>&1 || true
    cat "$out" >> "$LOGS/wrk.log"
    awk '
        function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1000000; return v }
        /^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) } /^Requests\/sec:/ { rps = $2 }
        / requests in / { requests = $1 }
        /Non-2xx/ { bad += $NF } /Socket errors/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
        /^not a cache hit: [0-9]+ answers/ { bad += $5 }
        END { printf "%.0f %.0f %.0f %d %d\n", rps, p50, p99, requests, bad }
    ' "$out"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# measure ID URL KEY MODEL STREAM CONNECTIONS GATEWAY_PID DATABASE [RUNS SECONDS PROMPT_BYTES]
measure() {
    local id=$1 url=$2 key=$3 model=$4 stream=$5 connections=$6 gateway_pid=$7 database=$8
    local runs=${9:-$RUNS} seconds=${10:-$SECONDS_PER_RUN} prompt_bytes=${11:-0}
    local rps=() p50=() p99=() requests=0 errors=0 r p q n e before after
    [ "$WARMUP" -gt 0 ] && wrk_run "$url" "$key" "$model" "$stream" "$connections" "$WARMUP" "$prompt_bytes" >/dev/null
    before=$(counters_snapshot "$gateway_pid" "$database")
    for _ in $(seq 1 "$runs"); do
        read -r r p q n e < <(wrk_run "$url" "$key" "$model" "$stream" "$connections" "$seconds" "$prompt_bytes")
        rps+=("$r"); p50+=("$p"); p99+=("$q")
        requests=$((requests + n)); errors=$((errors + e))
    done
    after=$(counters_snapshot "$gateway_pid" "$database")
    ROW_RPS[$id]=$(median "${rps[@]}")
    ROW_P50[$id]=$(median "${p50[@]}")
    ROW_P99[$id]=$(median "${p99[@]}")
    ROW_REQUESTS[$id]=$requests
    ROW_ERRORS[$id]=$errors
    read -r ROW_CPU_GATEWAY[$id] ROW_CPU_REDIS[$id] ROW_CPU_POSTGRES[$id] ROW_CPU_NGINX[$id] \
        ROW_REDIS_COMMANDS[$id] ROW_PG_STATEMENTS[$id] < <(
        awk -v b="$before" -v a="$after" -v n="$requests" -v tick="$CLK_TCK" 'BEGIN {
            split(b, x, " "); split(a, y, " "); if (n < 1) n = 1
            for (i = 1; i <= 4; i++) printf "%.0f ", (y[i] - x[i]) * 1000000 / tick / n
            printf "%.3f %.3f\n", (y[5] - x[5]) / n, (y[6] - x[6]) / n }')
    if [ "$errors" -gt 0 ]; then
        echo "warning: $id: $errors failed requests (see $LOGS/wrk.log)" >&2
    fi
}
