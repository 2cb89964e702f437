import Foundation
import Logging
import ScutumCore
import ScutumRedis
import ServiceLifecycle
import Synchronization

/// This node's view of each active budget's current-period spend, read without a round trip.
///
/// A counter's value is the last total read from Redis plus this node's cost not yet flushed there:
/// - the spend recorder charges each finished request's cost here at once (`add`), and on each
///   flush replaces it with the total Redis answered (`INCRBYFLOAT` returns it), so a node sees
///   its own spend immediately;
/// - `run()` reads, every `refreshInterval`, the counters asked for in the last `retention` (one
///   pipeline of `MGET`s), so a node sees the other nodes' flushed spend within that interval.
///
/// **Overshoot bound.** A budget can be passed by at most the cost of requests that were already
/// admitted when it was reached (in flight: their cost is unknown until they finish) plus what the
/// other nodes spent and this node had not yet seen: their unflushed cost (at most one flush
/// interval of their spend, as the recorder flushes at least that often) plus one refresh interval.
/// So: over-spend <= in-flight cost + cluster spend rate x (flush interval + refresh interval),
/// 0.5 s with the defaults. A counter this node has never read is reported as unknown (nil) until
/// it is read, so a caller can `fetch` it rather than admit on a guess.
///
/// While Redis is unreachable the last values read are kept, with this node's own cost still added
/// on top, so enforcement degrades to "what we knew, plus what we spent since".
///
/// **Rebuilt counters.** Given the spend log (`history`), a counter Redis lost (restart without
/// persistence, failover, eviction) is rebuilt off the request path: the refresh that finds it
/// missing creates it (at 0, `SpendLedger.establish`; or a flush did) and adds what the log holds
/// for its period before that moment (`SpendLedger.topUp`), again with a growing delay until the
/// seeding window ends (records still on their way to PostgreSQL). Meanwhile this node keeps the
/// last total it read: a counter never goes down within its period while it is being rebuilt.
///
/// The set of counters kept is bounded: a counter not asked for (nor charged) within `retention`
/// is forgotten, and beyond `capacity` the least recently asked are forgotten first.
public final class LiveSpend: Service, Sendable {
    struct Counter {
        /// The last total read from Redis; nil until one was.
        var remote: Double?
        /// This node's cost not yet acknowledged by Redis.
        var unflushed: Double = 0
        /// The refresh generation the counter was last asked for or charged in.
        var lastUsed: UInt64
        /// The budget it counts, once this node asked for it: what a missing counter is created with.
        var budget: BudgetRecord?
        /// Redis has no such counter: the next refresh creates it and seeds it from the log.
        var missing = false
        /// In its seeding window: when the log is read again.
        var seed: Seeding?
    }

    /// A counter whose period's spend before `base` is being taken from the spend log.
    struct Seeding {
        /// Milliseconds since 1970.
        var base: Int64
        var due: ContinuousClock.Instant
        /// The wait after the next reading; doubles each time.
        var delay: Duration
    }

    struct State {
        var counters: [String: Counter] = [:]
        /// Advances once per refresh: the clock `retention` is counted in, free to read.
        var generation: UInt64 = 0
        /// Advances once per settled flush, so a refresh can tell a reply it raced with.
        var flushes: UInt64 = 0
    }

    public let ledger: SpendLedger
    public let refreshInterval: Duration
    /// The spend log missing counters are rebuilt from; nil: a missing counter reads as 0.
    let history: (any BudgetSpendHistory)?
    /// The first wait between two readings of the log for a counter being rebuilt.
    let seedDelay: Duration
    /// The most log readings (and counter creations) one refresh does.
    let seedsPerRefresh: Int
    private let retainedGenerations: UInt64
    private let capacity: Int
    let logger: Logger
    let state = Mutex(State())
    let warnings = Mutex(LogGate())

    /// - Parameters:
    ///   - history: The spend log, to rebuild counters Redis lost; nil: a missing counter reads as 0.
    ///   - refreshInterval: How often the counters in use are read from Redis.
    ///   - retention: How long a counter stays refreshed after it was last asked for.
    ///   - capacity: How many counters are kept at most (checked at each refresh).
    ///   - seedDelay: The first wait between two readings of the log for a counter being rebuilt.
    ///   - seedsPerRefresh: The most log readings one refresh does (the rest wait for the next).
    public init(ledger: SpendLedger, history: (any BudgetSpendHistory)? = nil,
        refreshInterval: Duration = .milliseconds(250), retention: Duration = .seconds(300),
        capacity: Int = 10_000, seedDelay: Duration = .seconds(1), seedsPerRefresh: Int = 16, logger: Logger)
    {
        self.ledger = ledger
        self.history = history
        self.seedDelay = seedDelay
        self.seedsPerRefresh = max(1, seedsPerRefresh)
        self.refreshInterval = refreshInterval
        retainedGenerations = UInt64(max(1, (retention / refreshInterval).rounded(.up)))
        self.capacity = capacity
        self.logger = logger
    }

    // MARK: Reading (synchronous)

    /// Current-period spend of each budget at `date`, in order: the last total read from Redis plus
    /// this node's unflushed cost; nil for a counter this node has not read from Redis yet (see
    /// `fetch`). Marks the counters as in use, so the refresher keeps them current.
    public func current(_ budgets: [BudgetRecord], at date: Date = Date()) -> [Double?] {
        let keys = budgets.map { ledger.counterKey($0, at: date) }
        return state.withLock { state in
            zip(keys, budgets).map { key, budget in Self.read(key, budget: budget, in: &state) }
        }
    }

    /// The spend of one counter (`SpendLedger.counterKey`), as `current` reads it.
    public func spend(counterKey: String) -> Double? {
        state.withLock { state in Self.read(counterKey, in: &state) }
    }

    private static func read(_ key: String, budget: BudgetRecord? = nil, in state: inout State) -> Double? {
        let generation = state.generation
        guard let index = state.counters.index(forKey: key) else {
            state.counters[key] = Counter(remote: nil, lastUsed: generation, budget: budget)
            return nil
        }
        state.counters.values[index].lastUsed = generation
        if state.counters.values[index].budget == nil { state.counters.values[index].budget = budget }
        let counter = state.counters.values[index]
        return counter.remote.map { $0 + counter.unflushed }
    }

    /// How many counters are kept.
    public var trackedCount: Int { state.withLock { $0.counters.count } }

    // MARK: Charging

    /// Adds a finished request's cost to `budgets`' counters at `date`, until a flush brings it to
    /// Redis. `SpendRecorder` calls this for each record it queues; call it only for cost that
    /// does not go through a recorder attached to this view.
    public func add(cost: Double, budgets: [BudgetRecord], at date: Date) {
        add(cost: cost, counterKeys: budgets.map { ledger.counterKey($0, at: date) })
    }

    func add(cost: Double, counterKeys: [String]) {
        guard cost > 0, !counterKeys.isEmpty else { return }
        state.withLock { state in
            for key in counterKeys {
                state.counters[key, default: Counter(remote: nil, lastUsed: state.generation)].unflushed += cost
            }
        }
    }

    /// Takes a flush's outcome: its amounts are in Redis now (or were refused there), and Redis
    /// answered each counter's new total.
    func settle(_ batch: SpendBatch, outcome: SpendLedger.WriteOutcome) {
        state.withLock { state in
            state.flushes &+= 1
            for increment in batch.increments {
                guard var counter = state.counters[increment.key] else { continue }
                let left = counter.unflushed - increment.amount
                // Summed in another order than they were added: a rounding residue is not spend.
                counter.unflushed = left > 1e-12 ? left : 0
                if let total = outcome.totals[increment.key] {
                    // Totals only grow within a period; a reply older than a refresh must not lower it.
                    counter.remote = max(counter.remote ?? 0, total)
                    counter.missing = false
                }
                if let base = outcome.seeding[increment.key], counter.seed == nil {
                    counter.seed = Seeding(base: base, due: .now, delay: seedDelay)
                }
                state.counters[increment.key] = counter
            }
        }
    }

    // MARK: Reading from Redis

    /// Reads `budgets`' counters from Redis now (one round trip) and returns their spend as
    /// `current` would; for a counter `current` reported as unknown.
    public func fetch(_ budgets: [BudgetRecord], at date: Date = Date()) async throws -> [Double] {
        let keys = budgets.map { ledger.counterKey($0, at: date) }
        let flushes = state.withLock { $0.flushes }
        let values = try await ledger.totals(keys)
        return state.withLock { state in
            for (key, budget) in zip(keys, budgets) where state.counters[key]?.budget == nil {
                state.counters[key, default: Counter(remote: nil, lastUsed: state.generation)].budget = budget
            }
            apply(keys: keys, values: values, readAfter: flushes, to: &state)
            return keys.map { key in state.counters[key].map { ($0.remote ?? 0) + $0.unflushed } ?? 0 }
        }
    }

    /// One refresh: forgets counters out of use, then reads the others from Redis; with a spend
    /// log, then creates missing counters and seeds rebuilt ones from it (`seedsPerRefresh` at most).
    public func refresh() async throws {
        let (keys, flushes) = state.withLock { state in
            state.generation &+= 1
            forgetUnused(in: &state)
            return (Array(state.counters.keys), state.flushes)
        }
        guard !keys.isEmpty else { return }
        let values = try await ledger.totals(keys)
        state.withLock { state in apply(keys: keys, values: values, readAfter: flushes, to: &state) }
        if let history { await seed(from: history) }
    }

    func apply(keys: [String], values: [Double?], readAfter flushes: UInt64, to state: inout State) {
        // If a flush settled while the read was on its way, the read may predate that flush's
        // increment: keep the larger. Otherwise the read is the newest total (even a lower one,
        // after a counter was reset), except for a counter being rebuilt: it cannot have spent less
        // in its period than this node saw before Redis lost it.
        let raced = state.flushes != flushes
        for (key, value) in zip(keys, values) {
            var counter = state.counters[key] ?? Counter(remote: nil, lastUsed: state.generation)
            if let value {
                let rebuilding = history != nil && (counter.missing || counter.seed != nil)
                counter.remote = raced || rebuilding ? max(counter.remote ?? 0, value) : value
                counter.missing = false
            } else if history != nil {
                counter.remote = counter.remote ?? 0
                counter.missing = true
            } else {
                counter.remote = raced ? max(counter.remote ?? 0, 0) : 0
            }
            state.counters[key] = counter
        }
    }

    private func forgetUnused(in state: inout State) {
        let oldest = state.generation > retainedGenerations ? state.generation - retainedGenerations : 0
        state.counters = state.counters.filter { $0.value.lastUsed >= oldest || $0.value.unflushed > 0 }
        let excess = state.counters.count - capacity
        guard excess > 0 else { return }
        let idle = state.counters.filter { $0.value.unflushed == 0 }.sorted { $0.value.lastUsed < $1.value.lastUsed }
        for (key, _) in idle.prefix(excess) { state.counters[key] = nil }
    }

    /// Refreshes every `refreshInterval` until graceful shutdown; Redis failures keep the last values.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.refreshInterval)
                if Task.isCancelled { break }
                do {
                    try await self.refresh()
                } catch {
                    self.warnQuietly("live spend not refreshed; keeping the last values", error: error)
                }
            }
        }
    }

    /// Logs a warning at most every 10 seconds.
    func warnQuietly(_ message: Logger.Message, error: any Error) {
        if warnings.withLock({ $0.opens() }) { logger.warning(message, metadata: ["error": "\(error)"]) }
    }
}
