import ServiceLifecycle
import Synchronization

/// Cluster-wide concurrency (`max_parallel_requests`) without a round trip per request: each node
/// holds slots taken from Redis and hands them to its requests locally; a request that finds none
/// free takes one (plus a few spare, where the limit is large enough) in one round trip. Finished
/// requests free their slot locally; the loop (`run`) gives surplus slots back within a tick.
///
/// In Redis, one hash per name holds each node's slots and when it last confirmed them; a node
/// that stops confirming (it died) loses its slots after `staleAfter`. Keys are hash-tagged per name
/// (`{scutum:par:<name>}`), so each script touches a single slot.
public final class ParallelSlots: Service, Sendable {
    public let redis: RedisClient
    public let namespace: String
    /// This node's field in each hash.
    public let node: String
    let tick: Duration
    let staleAfter: Duration
    let liveNodes: @Sendable () -> Int
    private let pools = Mutex<[String: Pool]>([:])

    struct Pool {
        var limit: Int
        /// Slots this node holds in Redis, and how many its requests use.
        var held = 0
        var inUse = 0
        var lastConfirmed = ContinuousClock.Instant.now
        var lastUse = ContinuousClock.Instant.now
    }

    public init(redis: RedisClient, namespace: String = "scutum", node: String, tick: Duration = .milliseconds(20),
        staleAfter: Duration = .seconds(30), liveNodes: @escaping @Sendable () -> Int = { 1 })
    {
        self.redis = redis
        self.namespace = namespace
        self.node = node
        self.tick = tick
        self.staleAfter = staleAfter
        self.liveNodes = liveNodes
    }

    /// KEYS[1]: the name's hash (`<node>` = slots, `<node>:t` = ms when confirmed). ARGV: node,
    /// change, limit, stale ms, minimum change. Takes `change` slots if they fit (at least `minimum`),
    /// gives back a negative change; returns {slots now held by the node, slots taken in all}.
    static let script = RedisScript("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local node, change, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
        local stale, minimum = tonumber(ARGV[4]), tonumber(ARGV[5])
        local all = redis.call('HGETALL', KEYS[1])
        local seen, counts = {}, {}
        for i = 1, #all, 2 do
            local f = all[i]
            if string.sub(f, -2) == ':t' then seen[string.sub(f, 1, -3)] = tonumber(all[i + 1])
            else counts[f] = tonumber(all[i + 1]) end
        end
        local total = 0
        for n, c in pairs(counts) do
            if n ~= node and (seen[n] or 0) < now - stale then
                redis.call('HDEL', KEYS[1], n, n .. ':t')
            else
                total = total + c
            end
        end
        local mine = counts[node] or 0
        if change > 0 then
            local room = limit - total
            if room < minimum then return {mine, total} end
            if change > room then change = room end
        elseif -change > mine then
            change = -mine
        end
        mine = mine + change
        redis.call('HSET', KEYS[1], node, mine, node .. ':t', now)
        redis.call('PEXPIRE', KEYS[1], stale * 2)
        return {mine, total + change}
        """)

    func key(_ name: String) -> String { "{\(namespace):par:\(name)}" }

    /// Takes a slot of `name` (at most `limit` in the cluster) from this node's pool: true at once
    /// when one is free here, nil when Redis must be asked (`acquire`).
    public func enter(_ name: String, limit: Int, now: ContinuousClock.Instant = .now) -> Bool? {
        pools.withLock { pools in
            var pool = pools[name] ?? Pool(limit: limit)
            pool.limit = limit
            pool.lastUse = now
            defer { pools[name] = pool }
            guard pool.inUse < pool.held else { return nil }
            pool.inUse += 1
            return true
        }
    }

    /// Takes a slot in Redis (with spare ones where the limit allows); false when the cluster's
    /// `limit` slots are all taken. Throws when Redis cannot answer.
    public func acquire(_ name: String, limit: Int) async throws -> Bool {
        let share = limit / max(1, liveNodes())
        let spare = share >= 8 ? share / 4 : 0
        let reply = try await run(name, change: 1 + spare, limit: limit, minimum: 1)
        return pools.withLock { pools in
            var pool = pools[name] ?? Pool(limit: limit)
            defer { pools[name] = pool }
            let gained = reply.held - pool.held
            pool.held = reply.held
            pool.lastConfirmed = .now
            guard gained > 0, pool.inUse < pool.held else { return false }
            pool.inUse += 1
            return true
        }
    }

    /// Frees a slot taken with `enter` or `acquire` (locally; the loop returns surplus to Redis).
    public func leave(_ name: String) {
        pools.withLock { pools in
            if var pool = pools[name] {
                pool.inUse = max(0, pool.inUse - 1)
                pools[name] = pool
            }
        }
    }

    private func run(_ name: String, change: Int, limit: Int, minimum: Int) async throws -> (held: Int, total: Int) {
        let command: [RedisArgument] = ["EVALSHA", RedisArgument(Self.script.sha1), 1, RedisArgument(key(name)),
            RedisArgument(node), RedisArgument(change), RedisArgument(limit),
            RedisArgument(Int(staleAfter.wholeMilliseconds)), RedisArgument(minimum)]
        let replies = try await redis.pipeline([command], loading: [Self.script])
        if case .error(let message) = replies[0] { throw RedisClientError.server(message) }
        guard let values = replies[0].array, values.count == 2, let held = values[0].int, let total = values[1].int else {
            throw RedisClientError.protocolError("unexpected slots reply \(replies[0])")
        }
        return (Int(held), Int(total))
    }

    /// Gives back slots no request uses (keeping the spare of a busy pool) and confirms held ones.
    public func pass(now: ContinuousClock.Instant = .now, releasing: Bool = false) async {
        let confirmEvery = staleAfter / 3
        let work: [(String, Int, Int)] = pools.withLock { pools in
            var work: [(String, Int, Int)] = []
            for (name, pool) in pools {
                let busy = !releasing && now - pool.lastUse < .seconds(1)
                let share = pool.limit / max(1, liveNodes())
                let keep = busy && share >= 8 ? pool.inUse + share / 4 : pool.inUse
                if pool.held > keep {
                    work.append((name, keep - pool.held, pool.limit))
                } else if pool.held > 0 && now - pool.lastConfirmed > confirmEvery {
                    work.append((name, 0, pool.limit))
                } else if pool.held == 0 && pool.inUse == 0 && now - pool.lastUse > staleAfter {
                    pools[name] = nil
                }
            }
            return work
        }
        for (name, change, limit) in work {
            guard let reply = try? await run(name, change: change, limit: limit, minimum: 0) else { continue }
            pools.withLock { pools in
                guard var pool = pools[name] else { return }
                pool.held = reply.held
                pool.lastConfirmed = now
                pools[name] = pool
            }
        }
    }

    /// Runs the loop until graceful shutdown, then gives back every unused slot.
    public func run() async throws {
        let tick = self.tick
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: tick)
                await self.pass()
            }
        }
        await pass(releasing: true)
    }
}
