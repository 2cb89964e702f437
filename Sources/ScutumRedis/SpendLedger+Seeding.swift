import Foundation
import ScutumCore

/// Budget counters rebuilt from the spend log: a counter that is missing (Redis restarted empty,
/// failed over, evicted it, or a new period began) is created with a *base* time, and the cost of
/// its period before the base is taken from the spend log (PostgreSQL) during the seeding window.
/// See `SpendScripts` for what a counter holds meanwhile.
extension SpendLedger {
    /// A counter as Redis holds it, with its seeding state.
    public struct CounterState: Sendable, Equatable {
        /// Its value (nil: Redis has no such counter).
        public var total: Double?
        /// While it is in its seeding window: its base (ms since 1970); the spend log's cost of its
        /// period before this time belongs in it.
        public var seedBase: Int64?

        public init(total: Double?, seedBase: Int64?) {
            self.total = total
            self.seedBase = seedBase
        }
    }

    /// The hash of the last batch number (`SpendBatch.sequence`) each writer applied to `counter`;
    /// in the counter's hash slot, living as long as the counter (a week for one without expiry).
    public func appliedKey(counter: String) -> String {
        "\(namespace):applied:{\(counter)}"
    }

    /// The seeding hash of `counter` (`SpendScripts`); in the counter's hash slot.
    public func seedKey(counter: String) -> String {
        "\(namespace):seed:{\(counter)}"
    }

    /// A record time as the scripts compare it: whole milliseconds since 1970.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// How long (ms) a seeding hash waits for its first top-up: as long as its counter lives, a day
    /// for a counter without expiry.
    static func seedHold(ttl: Int?) -> Int {
        (ttl ?? 86_400) * 1000
    }

    /// The date of a base in milliseconds since 1970.
    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// Creates `key` at 0 with its base now if it is missing (and returns it in its seeding window);
    /// returns an existing counter as it is. `ttl`: seconds it lives (nil: no expiry).
    public func establish(_ key: String, ttl: Int?) async throws -> CounterState {
        let reply = try await redis.eval(SpendScripts.establish, keys: [key, seedKey(counter: key)],
            arguments: [RedisArgument(ttl ?? 0), RedisArgument(Self.seedHold(ttl: ttl))])
        let values = reply.array ?? []
        return CounterState(total: values.first?.string.flatMap(Double.init),
            seedBase: values.count > 1 ? values[1].int : nil)
    }

    /// Sets the seeded part of `key` from `logged`, the spend log's cost of its period before its
    /// base. Returns the counter; `seedBase` nil once its seeding window is over (nothing was changed).
    public func topUp(_ key: String, base: Int64, logged: Double) async throws -> CounterState {
        let reply = try await redis.eval(SpendScripts.topUp, keys: [key, seedKey(counter: key)],
            arguments: [RedisArgument(String(logged)), RedisArgument(Int(seedWindow.wholeMilliseconds))])
        let values = reply.array ?? []
        let seeding = values.count > 1 && values[1].int == 1
        return CounterState(total: values.first?.string.flatMap(Double.init), seedBase: seeding ? base : nil)
    }

    /// What a counter key (`counterKey`) counts: the budget's subject and the start of its period.
    public func counterScope(_ key: String) -> (subject: BudgetSubject, periodStart: Date)? {
        let prefix = "\(namespace):spend:"
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        guard let firstColon = rest.firstIndex(of: ":"), let lastColon = rest.lastIndex(of: ":"),
            firstColon < lastColon, let start = Int64(rest[rest.index(after: lastColon)...])
        else { return nil }
        let scope = String(rest[..<firstColon])
        let id = String(rest[rest.index(after: firstColon)..<lastColon])
        guard let subject = BudgetSubject(scope: scope, id: id) else { return nil }
        return (subject, Date(timeIntervalSince1970: Double(start)))
    }
}
