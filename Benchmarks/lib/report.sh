# Printing, sourced by bench.sh: the table's groups, the side measurements, and one verdict line
# per target of issue 14.

TABLE_FORMAT='%-34s %9s %9s %9s %7s | %8s %6s %8s %6s | %9s %9s\n'

print_table_head() {
    printf "\n$TABLE_FORMAT" "" "req/s" "p50 us" "p99 us" "x base" "gateway" "redis" "postgres" "nginx" "redis" "pg"
    printf "$TABLE_FORMAT" "" "" "" "" "req/s" "CPU us" "per" "request" "" "cmd/req" "$PG_UNIT/req"
}

# label, row id, and optionally the baseline row id for the ×base column.
print_row() {
    local label=$1 id=$2 base=${3:-} ratio=""
    if [ -n "$base" ] && [ -n "${ROW_RPS[$base]:-}" ] && [ "${ROW_RPS[$base]}" -gt 0 ]; then
        ratio=$(awk -v a="${ROW_RPS[$id]}" -v b="${ROW_RPS[$base]}" 'BEGIN { printf "%.2f", a / b }')
    fi
    local gateway=${ROW_CPU_GATEWAY[$id]}
    [[ $id == *-direct ]] && gateway=-
    printf "$TABLE_FORMAT" "  $label" "${ROW_RPS[$id]}" "${ROW_P50[$id]}" "${ROW_P99[$id]}" "$ratio" \
        "$gateway" "${ROW_CPU_REDIS[$id]}" "${ROW_CPU_POSTGRES[$id]}" "${ROW_CPU_NGINX[$id]}" \
        "${ROW_REDIS_COMMANDS[$id]}" "${ROW_PG_STATEMENTS[$id]}"
    [ "${ROW_ERRORS[$id]}" -gt 0 ] && printf '    (%s requests failed: these numbers do not count)\n' "${ROW_ERRORS[$id]}"
    return 0
}

signed() { if [ "$1" -ge 0 ]; then echo "+$1"; else echo "$1"; fi; }

print_added() {
    local label=$1 id=$2 direct=$3
    printf "$TABLE_FORMAT" "  $label" "" "$(signed $(( ROW_P50[$id] - ROW_P50[$direct] )))" \
        "$(signed $(( ROW_P99[$id] - ROW_P99[$direct] )))" "" "" "" "" "" "" ""
}

GATEWAY_LABEL_on="gateway, everything on"
GATEWAY_LABEL_cache="gateway, on + cache hits"
GATEWAY_LABEL_off="gateway, proxy floor"
GATEWAY_LABEL_cluster="gateway, on a Redis Cluster"
GATEWAY_LABEL_base_on="baseline, everything on"
GATEWAY_LABEL_base_off="baseline, proxy floor"
gateway_label() { local var="GATEWAY_LABEL_${1//-/_}"; echo "${!var}"; }
baseline_of() { [ -n "$BASELINE" ] && [[ $1 != base-* ]] && echo "base-$1"; return 0; }

print_group() {
    local kind=$1 connections=$2 title name
    title=$([ "$kind" = json ] && echo "non-streaming" || echo "streaming")
    printf '%s, c=%s\n' "$title" "$connections"
    print_row "nginx direct (the floor)" "$kind-$connections-direct"
    print_row "nginx as a proxy (reference)" "$kind-$connections-proxy"
    for name in "${GATEWAYS[@]}"; do
        local base
        base=$(baseline_of "$name")
        print_row "$(gateway_label "$name")" "$kind-$connections-$name" "${base:+$kind-$connections-$base}"
    done
    print_added "added, nginx as a proxy" "$kind-$connections-proxy" "$kind-$connections-direct"
    for name in on base-on cache cluster; do
        [ -n "${ROW_RPS[$kind-$connections-$name]:-}" ] || continue
        print_added "added, $(gateway_label "$name" | sed 's/, everything on//')" "$kind-$connections-$name" "$kind-$connections-direct"
    done
}

# verdict PASS_CONDITION_AWK_EXPRESSION TEXT: prints PASS or FAIL and the text.
verdict() {
    local condition=$1 text=$2 result
    result=$(awk "BEGIN { print ($condition) ? \"PASS\" : \"FAIL\" }")
    VERDICTS+=("$result")
    printf '  %-4s %s\n' "$result" "$text"
}

# "value (baseline value)" when a baseline was measured.
with_baseline() {
    local value=$1 base=${2:-}
    if [ -n "$BASELINE" ] && [ -n "$base" ]; then echo "$value (baseline $base)"; else echo "$value"; fi
}

print_verdicts() {
    VERDICTS=()
    local a50 a99 b50 b99 on floor base ratio
    echo
    echo "==> targets (issue 14), for this build"
    a50=$(( ROW_P50[json-1-on] - ROW_P50[json-1-direct] )); a99=$(( ROW_P99[json-1-on] - ROW_P99[json-1-direct] ))
    [ -n "$BASELINE" ] && { b50=$(( ROW_P50[json-1-base-on] - ROW_P50[json-1-direct] )); b99=$(( ROW_P99[json-1-base-on] - ROW_P99[json-1-direct] )); }
    verdict "$a50 <= 100" "added latency c=1 p50 <= 100 µs: $(with_baseline "+$a50 µs" "${b50:+$b50 µs}")"
    verdict "$a99 <= 500" "added latency c=1 p99 <= 500 µs: $(with_baseline "+$a99 µs" "${b99:+$b99 µs}")"
    on=${ROW_RPS[json-$CONNECTIONS-on]}; floor=${ROW_RPS[json-$CONNECTIONS-off]}
    verdict "$on >= 0.9 * $floor" "c=$CONNECTIONS everything on >= 90% of the proxy floor: $on of $floor req/s ($(awk -v a="$on" -v b="$floor" 'BEGIN { printf "%.0f%%", 100 * a / b }'))"
    if [ -n "$BASELINE" ]; then
        base=${ROW_RPS[json-$CONNECTIONS-base-on]}
        ratio=$(awk -v a="$on" -v b="$base" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }')
        verdict "$ratio >= 5" "c=$CONNECTIONS everything on >= 5x the baseline: $on vs $base req/s (${ratio}x)"
    else
        printf '  %-4s %s\n' "n/a" "c=$CONNECTIONS everything on >= 5x the baseline: no baseline (set BENCH_BASELINE_BIN)"
    fi
    verdict "$on >= 10000 || ${ROW_RPS[json-$CONNECTIONS-direct]} < 11000" \
        "c=$CONNECTIONS everything on >= 10,000 req/s (if the floor allows it): $on req/s"
    verdict "${TTFB_ADDED[on]} <= 200" "streaming time to first byte added <= 200 µs: $(with_baseline "+${TTFB_ADDED[on]} µs" "${TTFB_ADDED[base-on]:+${TTFB_ADDED[base-on]} µs}")"
    verdict "${LARGE_ADDED[on]} <= 500" "$((PROMPT_BYTES / 1024)) KB prompt added p50 <= 500 µs: $(with_baseline "+${LARGE_ADDED[on]} µs" "${LARGE_ADDED[base-on]:+${LARGE_ADDED[base-on]} µs}")"
    verdict "${STREAMS_WITHIN[on]} == $STREAMS" "$STREAMS concurrent streams, every head within 1 s: $(with_baseline "${STREAMS_WITHIN[on]} of $STREAMS, slowest ${STREAMS_MAX_MS[on]} ms" "${STREAMS_WITHIN[base-on]:+${STREAMS_WITHIN[base-on]} of $STREAMS, slowest ${STREAMS_MAX_MS[base-on]} ms}")"
    local id="json-$CONNECTIONS-on" base_id="json-$CONNECTIONS-base-on"
    verdict "${ROW_REDIS_COMMANDS[$id]} <= 0.05" "<= 0.05 Redis commands per request (everything on, c=$CONNECTIONS): $(with_baseline "${ROW_REDIS_COMMANDS[$id]}" "${ROW_REDIS_COMMANDS[$base_id]:-}")"
    verdict "${ROW_PG_STATEMENTS[$id]} <= 0.01" "<= 0.01 PostgreSQL $PG_UNIT per request (everything on, c=$CONNECTIONS): $(with_baseline "${ROW_PG_STATEMENTS[$id]}" "${ROW_PG_STATEMENTS[$base_id]:-}")"
    verdict "${REDIS_LARGEST[on]} <= 65536" "Redis memory per limit bounded (largest key <= 64 KiB after the load): $(with_baseline "$(( REDIS_LARGEST[on] / 1024 )) KiB" "${REDIS_LARGEST[base-on]:+$(( REDIS_LARGEST[base-on] / 1024 )) KiB}")"
    verdict "${RSS_IDLE[on]} <= 65536" "gateway RSS idle <= 64 MB: $(with_baseline "$(( RSS_IDLE[on] / 1024 )) MB" "${RSS_IDLE[base-on]:+$(( RSS_IDLE[base-on] / 1024 )) MB}")"
    verdict "${RSS_STREAMS_PEAK[on]} <= 262144 && ${RSS_STREAMS_HEADS[on]} == $RSS_STREAMS" \
        "gateway RSS holding $RSS_STREAMS streams <= 256 MB: $(with_baseline "$(( RSS_STREAMS_PEAK[on] / 1024 )) MB with ${RSS_STREAMS_HEADS[on]} open" "${RSS_STREAMS_PEAK[base-on]:+$(( RSS_STREAMS_PEAK[base-on] / 1024 )) MB with ${RSS_STREAMS_HEADS[base-on]} open}")"
    local failed=0 v
    for v in "${VERDICTS[@]}"; do [ "$v" = FAIL ] && failed=$((failed + 1)); done
    echo "  $failed of ${#VERDICTS[@]} targets missed"
}
