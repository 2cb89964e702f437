import Foundation
import ScutumCore

/// Live spend in Redis, shared by every node: one counter per budget per period, so a budget is
/// enforced cluster-wide the moment a request's cost is known; and the durable buffer of spend
/// records (a Redis stream) that the batch writer moves into PostgreSQL.
public struct SpendLedger: Sendable {
    /// The consumer group of the nodes that write spend records to PostgreSQL.
    public static let writers = "writers"

    public let redis: RedisClient
    /// Prefix of every key, so that clusters (or tests) sharing one Redis stay apart.
    public let namespace: String
    /// The stream spend records wait in until PostgreSQL has them.
    public var stream: String { "\(namespace):spend:log" }

    public init(redis: RedisClient, namespace: String = "scutum") {
        self.redis = redis
        self.namespace = namespace
    }

    /// The counter of a budget's period containing `date`.
    public func counterKey(_ budget: BudgetRecord, at date: Date) -> String {
        let start = Int64(budget.period(at: date).start.timeIntervalSince1970)
        return "\(namespace):spend:\(budget.subject.scope):\(budget.subject.id):\(start)"
    }

    /// Current-period spend of each budget, in order (0 for a counter not yet written); one round trip.
    public func current(_ budgets: [BudgetRecord], at date: Date = Date()) async throws -> [Double] {
        guard !budgets.isEmpty else { return [] }
        let reply = try await redis.send(["MGET"] + budgets.map { RedisArgument(counterKey($0, at: date)) })
        return (reply.array ?? []).map { value in value.string.flatMap(Double.init) ?? 0 }
    }

    /// The commands that add `cost` to each budget's current period and buffer `record` durably.
    public func commands(for record: SpendRecord, budgets: [BudgetRecord]) -> [[RedisArgument]] {
        var commands: [[RedisArgument]] = []
        if record.cost > 0 {
            for budget in budgets {
                let key = counterKey(budget, at: record.at)
                commands.append(["INCRBYFLOAT", RedisArgument(key), RedisArgument(String(record.cost))])
                // Counters outlive their period by a day, for reports; a budget without a duration keeps its own.
                if let end = budget.period(at: record.at).end {
                    let ttl = max(60, Int(end.timeIntervalSince(record.at)) + 86_400)
                    commands.append(["EXPIRE", RedisArgument(key), RedisArgument(ttl)])
                }
            }
        }
        commands.append(["XADD", RedisArgument(stream), "*", "r", RedisArgument(record.json.jsonString)])
        return commands
    }

    /// Creates the writers' group (and the stream) if missing.
    public func ensureGroup() async throws {
        let reply = try await redis.pipeline([["XGROUP", "CREATE", RedisArgument(stream), RedisArgument(Self.writers),
            "0", "MKSTREAM"]])
        if case .error(let message) = reply[0], !message.hasPrefix("BUSYGROUP") {
            throw RedisClientError.server(message)
        }
    }

    /// Up to `count` buffered records for `consumer`: first those it claimed earlier and has not
    /// acknowledged (or that idled longer than `staleAfter` under a consumer that died), then new ones.
    public func claim(consumer: String, count: Int, staleAfter: Duration) async throws -> [(id: String, record: SpendRecord?)] {
        let idle = RedisArgument(Int(staleAfter.components.seconds * 1000))
        let stale = try await redis.send(["XAUTOCLAIM", RedisArgument(stream), RedisArgument(Self.writers),
            RedisArgument(consumer), idle, "0-0", "COUNT", RedisArgument(count)])
        var entries = Self.entries(stale.array.flatMap { $0.count > 1 ? $0[1] : nil })
        let own = try await redis.send(["XREADGROUP", "GROUP", RedisArgument(Self.writers), RedisArgument(consumer),
            "COUNT", RedisArgument(count), "STREAMS", RedisArgument(stream), "0"])
        entries += Self.streamEntries(own)
        if entries.isEmpty {
            let fresh = try await redis.send(["XREADGROUP", "GROUP", RedisArgument(Self.writers), RedisArgument(consumer),
                "COUNT", RedisArgument(count), "STREAMS", RedisArgument(stream), ">"])
            entries += Self.streamEntries(fresh)
        }
        var seen = Set<String>()
        return entries.filter { seen.insert($0.id).inserted }
    }

    /// Acknowledges and removes records that PostgreSQL now holds.
    public func acknowledge(_ ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        let arguments = ids.map { RedisArgument($0) }
        _ = try await redis.pipeline([
            ["XACK", RedisArgument(stream), RedisArgument(Self.writers)] + arguments,
            ["XDEL", RedisArgument(stream)] + arguments,
        ])
    }

    /// Entries of an `XREADGROUP` reply: `[[stream, [[id, [field, value...]]...]]]`.
    static func streamEntries(_ reply: RedisValue) -> [(id: String, record: SpendRecord?)] {
        guard let streams = reply.array, let first = streams.first?.array, first.count > 1 else { return [] }
        return entries(first[1])
    }

    static func entries(_ list: RedisValue?) -> [(id: String, record: SpendRecord?)] {
        (list?.array ?? []).compactMap { entry in
            guard let parts = entry.array, let id = parts.first?.string else { return nil }
            // A deleted entry still pending comes back with nil fields.
            let fields = parts.count > 1 ? parts[1].array ?? [] : []
            var record: SpendRecord?
            var index = 0
            while index + 1 < fields.count {
                if fields[index].string == "r", let text = fields[index + 1].string,
                    let json = try? JSONParser.parse(Array(text.utf8))
                {
                    record = SpendRecord(json: json)
                }
                index += 2
            }
            return (id, record)
        }
    }
}
