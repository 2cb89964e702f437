/// The Lua scripts behind budget counters. Every key one script touches is the counter itself or a
/// key hash-tagged with the counter's name (`SpendLedger.appliedKey`, `seedKey`), so each script
/// stays within the counter's hash slot (Redis Cluster).
///
/// A counter may have a *seeding hash* (`SpendLedger.seedKey`, fields `b`, `s`, `e`, `t`), made when
/// the counter is (re)created and living as long as the counter (a day for one without expiry) until
/// the first `topUp`, then the ledger's `seedWindow`. While it lives, the counter holds
/// - the cost of records whose time is at or after `b` (the counter's *base*, ms since 1970),
/// - plus `s`, the cost the spend log holds for the period before the base (set by `topUp`),
/// - where `e` is the cost of records before the base that reached the counter anyway (a late
///   flush): they are also in the log, so `topUp` subtracts them from the log's sum.
enum SpendScripts {
    /// Charges a batch's records to one counter, the batch at most once. Each writer (one per
    /// recorder) numbers its batches in the order it sends them and sends a batch only once every
    /// earlier one was applied (a batch whose reply was lost goes again, as it was, first), so the
    /// counter's applied hash keeps one field per writer, the last number applied: a batch numbered
    /// no higher was applied before. One field per writer, living as long as the counter, whatever
    /// the traffic or however long a retry takes.
    ///
    /// KEYS[1]: the counter; KEYS[2]: its seeding hash; KEYS[3]: its applied hash.
    /// ARGV[1]: counter TTL in seconds (0: none); ARGV[2]: the writer; ARGV[3]: the seeding hash's
    /// TTL until its first top-up, in ms; ARGV[4]: the batch's number;
    /// ARGV[3 + 2j], ARGV[4 + 2j]: record j's cost and time (ms).
    ///
    /// A missing counter is created with its base now (Redis time) and a seeding hash, so that what
    /// its period spent before comes from the log; this chunk's records count in full, as late ones
    /// (`e`), since the log will hold them too. Returns {total, base or nil, records applied now}.
    static let charge = RedisScript("""
        local ttl, writer, hold, seq = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
        local n = (#ARGV - 4) / 2
        if redis.call('EXISTS', KEYS[1]) == 0 then
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            redis.call('SET', KEYS[1], '0')
            redis.call('DEL', KEYS[2])
            redis.call('HSET', KEYS[2], 'b', string.format('%d', now), 's', '0', 'e', '0')
            redis.call('PEXPIRE', KEYS[2], hold)
        end
        local base = tonumber(redis.call('HGET', KEYS[2], 'b') or '')
        local add, early, applied = 0, 0, 0
        if seq > tonumber(redis.call('HGET', KEYS[3], writer) or '-1') then
            redis.call('HSET', KEYS[3], writer, ARGV[4])
            for j = 1, n do
                local cost = tonumber(ARGV[3 + 2 * j])
                add = add + cost
                if base and tonumber(ARGV[4 + 2 * j]) < base then early = early + cost end
            end
            applied = n
        end
        if ttl > 0 then redis.call('EXPIRE', KEYS[3], ttl) else redis.call('EXPIRE', KEYS[3], 604800) end
        if add > 0 then redis.call('INCRBYFLOAT', KEYS[1], string.format('%.17g', add)) end
        if early > 0 then redis.call('HINCRBYFLOAT', KEYS[2], 'e', string.format('%.17g', early)) end
        if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
        local b = false
        if base then b = string.format('%d', base) end
        return {redis.call('GET', KEYS[1]), b, applied}
        """)

    /// Creates a missing counter at 0 with its base now (Redis time) and a seeding hash; leaves an
    /// existing one alone. KEYS[1]: the counter; KEYS[2]: its seeding hash. ARGV[1]: counter TTL in
    /// seconds (0: none); ARGV[2]: the seeding hash's TTL until its first top-up, in ms.
    /// Returns {total, base or nil}.
    static let establish = RedisScript("""
        if redis.call('EXISTS', KEYS[1]) == 1 then
            return {redis.call('GET', KEYS[1]), redis.call('HGET', KEYS[2], 'b')}
        end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('SET', KEYS[1], '0')
        if tonumber(ARGV[1]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
        redis.call('DEL', KEYS[2])
        redis.call('HSET', KEYS[2], 'b', string.format('%d', now), 's', '0', 'e', '0')
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        return {'0', string.format('%d', now)}
        """)

    /// Brings the seeded part of a counter to what the log now holds for the time before its base
    /// (less the late records the counter already has); the last call wins, each is atomic.
    /// The first top-up starts the seeding window (ARGV[2], ms): a spend log that cannot be read
    /// does not shorten it. KEYS[1]: the counter; KEYS[2]: its seeding hash. ARGV[1]: the log's spend
    /// before the base. Returns {total, 1 while the seeding window lasts else 0}.
    static let topUp = RedisScript("""
        if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then
            return {redis.call('GET', KEYS[1]), 0}
        end
        local target = tonumber(ARGV[1]) - tonumber(redis.call('HGET', KEYS[2], 'e') or '0')
        if target < 0 then target = 0 end
        local seeded = tonumber(redis.call('HGET', KEYS[2], 's') or '0')
        if target ~= seeded then
            redis.call('INCRBYFLOAT', KEYS[1], string.format('%.17g', target - seeded))
            redis.call('HSET', KEYS[2], 's', string.format('%.17g', target))
        end
        if redis.call('HSETNX', KEYS[2], 't', '1') == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
        return {redis.call('GET', KEYS[1]), 1}
        """)
}
