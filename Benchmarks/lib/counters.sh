# Counters read from the processes and servers themselves, sourced by bench.sh: CPU time from
# /proc, Redis commands from INFO commandstats, PostgreSQL statements from pg_stat_statements
# (transactions from pg_stat_database where that extension cannot be loaded), memory from INFO
# memory and /proc/PID/status.

CLK_TCK=$(getconf CLK_TCK)

# CPU time (user + system) of the given processes, in clock ticks.
cpu_ticks() {
    local pid
    for pid in "$@"; do
        sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null || true
    done | awk '{ total += $12 + $13 } END { print total + 0 }'
}

# A process and its children (PostgreSQL's backends, nginx's workers).
process_tree() {
    local parent=$1
    [ -n "$parent" ] || return 0
    echo "$parent"
    pgrep -P "$parent" || true
}

postgres_pids() { process_tree "$(head -1 "$PG_DATA/postmaster.pid" 2>/dev/null)"; }
# The Redis servers a row counts: the bench's own, or the Redis Cluster's masters (COUNTED_REDIS_PORTS).
redis_pid() {
    local port
    for port in ${COUNTED_REDIS_PORTS:-$REDIS_PORT}; do
        if [ "$port" = "$REDIS_PORT" ]; then cat "$ROOT/.data/$SERVICES/redis.pid" 2>/dev/null
        else cat "$RUN_DIR/redis-cluster/$port/redis.pid" 2>/dev/null; fi
    done
}
nginx_pids() { process_tree "$NGINX_PID"; }

# Commands Redis executed (those Lua scripts call included), leaving out the bench's own INFO.
redis_commands() {
    local port
    for port in ${COUNTED_REDIS_PORTS:-$REDIS_PORT}; do redis-cli -p "$port" INFO commandstats; done | tr -d '\r' \
        | awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" { total += $3 } END { printf "%.0f\n", total }'
}

redis_used_memory() {
    redis-cli -p "$REDIS_PORT" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'
}

# "keys bytes_of_the_largest_key name_of_the_largest_key" of one Redis database.
redis_keys_summary() {
    local db=$1 key size count=0 largest=0 name=-
    while IFS= read -r key; do
        [ -n "$key" ] || continue
        count=$((count + 1))
        size=$(redis-cli -p "$REDIS_PORT" -n "$db" MEMORY USAGE "$key" SAMPLES 0 2>/dev/null || echo 0)
        if [ "${size:-0}" -gt "$largest" ]; then largest=$size; name=$key; fi
    done < <(redis-cli -p "$REDIS_PORT" -n "$db" --scan)
    echo "$count $largest $name"
}

bench_psql() { PGPASSWORD=$PG_PASSWORD psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U scutum "$@"; }

# Statements (or transactions, see PG_COUNTER) PostgreSQL ran for one database.
postgres_statements() {
    local database=$1
    if [ "$PG_COUNTER" = statements ]; then
        bench_psql -d scutum -tAc "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s
            JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$database'"
    else
        bench_psql -d scutum -tAc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$database'"
    fi
}

# Resident memory of a process, in kB.
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# A snapshot of every counter, as "gateway redis postgres nginx redis_commands pg_statements"
# ("gateway": the measured proxy's process and its children, nginx's workers for the reference proxy).
counters_snapshot() {
    local gateway_pid=$1 database=$2
    local gateway=0 statements=0
    # shellcheck disable=SC2046
    [ -n "$gateway_pid" ] && gateway=$(cpu_ticks $(process_tree "$gateway_pid"))
    [ -n "$database" ] && statements=$(postgres_statements "$database")
    # shellcheck disable=SC2046
    echo "$gateway $(cpu_ticks $(redis_pid)) $(cpu_ticks $(postgres_pids)) $(cpu_ticks $(nginx_pids)) $(redis_commands) $statements"
}
