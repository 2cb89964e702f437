/// What a node asks of one limit in one exchange with Redis: units to take now (at least
/// `minimum`, up to `want`), and units to give back to (or add to) the buckets they were counted in.
public struct QuotaRequest: Sendable {
    public var limit: RateLimit
    public var want: Int
    public var minimum: Int
    /// Adjustments by bucket: negative gives units back (a lease's unused rest, a token estimate
    /// above the real count), positive adds units (tokens used beyond the estimate).
    public var adjustments: [Int64: Int]

    public init(limit: RateLimit, want: Int, minimum: Int, adjustments: [Int64: Int] = [:]) {
        self.limit = limit
        self.want = want
        self.minimum = minimum
        self.adjustments = adjustments
    }
}

/// What Redis granted for one `QuotaRequest`.
public struct QuotaGrant: Sendable, Equatable {
    /// Units taken: 0 (refused: fewer than `minimum` were free) or between `minimum` and `want`.
    public var granted: Int
    /// The bucket the units were counted in (Redis time / bucket width).
    public var bucket: Int64
    /// Units counted in the window after this exchange.
    public var used: Int
    /// When refused: milliseconds until units leave the window.
    public var retryAfterMilliseconds: Int
}

/// Rate-limit windows in Redis with O(1) state per limit: one hash of per-bucket counts
/// (`QuotaWindows.buckets` + 2 buckets of `window / buckets` each, by Redis's clock, so every node
/// agrees) that nodes take units from in batches. Units are counted when they are taken, so the
/// cluster never admits more than the limit in any window, however the units are spread over nodes:
/// a node may use units for one bucket width after it asked for them, and the window counts two
/// buckets more than it spans to cover that. Nothing is kept per request.
///
/// Keys are hash-tagged per limit (`{scutum:rl:<name>}:q`), so each script touches one slot.
public struct QuotaWindows: Sendable {
    /// Buckets per window: the window slides in steps of `window / buckets`.
    public static let buckets = 60

    public let redis: RedisClient
    public let namespace: String

    public init(redis: RedisClient, namespace: String = "scutum") {
        self.redis = redis
        self.namespace = namespace
    }

    /// One bucket's width for a window.
    public static func bucketWidth(_ window: Duration) -> Duration {
        max(.milliseconds(1), window / buckets)
    }

    /// KEYS[1]: the limit's hash (field = bucket number, value = units). ARGV: bucket width ms,
    /// buckets counted, limit, want, minimum, then pairs of (bucket, adjustment).
    /// Returns {granted, bucket, used, retry ms}.
    static let exchangeScript = RedisScript("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local width = tonumber(ARGV[1])
        local span = tonumber(ARGV[2])
        local limit = tonumber(ARGV[3])
        local want = tonumber(ARGV[4])
        local minimum = tonumber(ARGV[5])
        local cur = math.floor(now / width)
        local first = cur - span + 1
        local counts = {}
        local used = 0
        local stale = {}
        local all = redis.call('HGETALL', KEYS[1])
        for i = 1, #all, 2 do
            local b = tonumber(all[i])
            local v = tonumber(all[i + 1])
            if b < first then stale[#stale + 1] = all[i] else counts[b] = v; used = used + v end
        end
        if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
        for i = 6, #ARGV, 2 do
            local b = tonumber(ARGV[i])
            local d = tonumber(ARGV[i + 1])
            if b > cur then b = cur end
            if b < first then
                if d > 0 then b = cur else d = 0 end
            end
            if d < 0 and -d > (counts[b] or 0) then d = -(counts[b] or 0) end
            if d ~= 0 then
                counts[b] = (counts[b] or 0) + d
                used = used + d
                redis.call('HINCRBY', KEYS[1], b, d)
            end
        end
        local free = limit - used
        local granted = want
        if granted > free then granted = free end
        if granted < minimum or granted <= 0 then
            local retry = width
            local freed = 0
            for b = first, cur do
                freed = freed + (counts[b] or 0)
                if used - freed + minimum <= limit then
                    retry = (b + span) * width - now
                    break
                end
            end
            if used > 0 then redis.call('PEXPIRE', KEYS[1], (span + 1) * width) end
            return {0, cur, used, retry}
        end
        redis.call('HINCRBY', KEYS[1], cur, granted)
        redis.call('PEXPIRE', KEYS[1], (span + 1) * width)
        return {granted, cur, used + granted, 0}
        """)

    /// The Redis key of a limit's buckets.
    public func key(_ limit: RateLimit) -> String {
        "{\(namespace):rl:\(limit.name)}:q"
    }

    /// Runs every request in one pipelined round trip; grants in the same order.
    public func exchange(_ requests: [QuotaRequest]) async throws -> [QuotaGrant] {
        guard !requests.isEmpty else { return [] }
        let span = RedisArgument(Self.buckets + 2)
        let commands: [[RedisArgument]] = requests.map { request in
            var command: [RedisArgument] = ["EVALSHA", RedisArgument(Self.exchangeScript.sha1), 1,
                RedisArgument(key(request.limit)),
                RedisArgument(Int(Self.bucketWidth(request.limit.window).wholeMilliseconds)), span,
                RedisArgument(request.limit.limit), RedisArgument(max(0, request.want)),
                RedisArgument(max(0, request.minimum))]
            for (bucket, units) in request.adjustments where units != 0 {
                command.append(RedisArgument(String(bucket)))
                command.append(RedisArgument(units))
            }
            return command
        }
        let replies = try await redis.pipeline(commands, loading: [Self.exchangeScript])
        return try replies.map { reply in
            if case .error(let message) = reply { throw RedisClientError.server(message) }
            guard let values = reply.array, values.count == 4, let granted = values[0].int, let bucket = values[1].int,
                let used = values[2].int, let retry = values[3].int
            else { throw RedisClientError.protocolError("unexpected quota reply \(reply)") }
            return QuotaGrant(granted: Int(granted), bucket: bucket, used: Int(used), retryAfterMilliseconds: Int(retry))
        }
    }
}

extension RedisScript {
    /// A reply saying the server does not know the script.
    public static func isNoScript(_ reply: RedisValue) -> Bool {
        if case .error(let message) = reply { message.hasPrefix("NOSCRIPT") } else { false }
    }
}
