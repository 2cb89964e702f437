import Synchronization

/// This node's view of every deployment's circuit breaker, read without a round trip.
///
/// Redis stays the truth (`ProviderHealth`); the board follows it from three sources: what other
/// nodes publish (`BreakerSync`), this node's own failures and probes (at once), and a periodic
/// reconcile that catches whatever a lost message or connection hid. An open breaker turns
/// half-open here when its cooldown passes; who probes it is then Redis's call
/// (`ProviderHealth.admitHalfOpen`). Deployments are closed until something says otherwise.
public final class BreakerBoard: Sendable {
    /// What a deployment's breaker lets a caller do, as far as this node knows.
    public enum Reading: Sendable, Equatable {
        case closed
        case open
        /// Cooldown over: ask Redis for the probe.
        case halfOpen
    }

    /// A deployment's reading, and how many times this board has seen its breaker open after being
    /// closed: a reader that polls can tell an opening (and closing) that happened between two looks.
    public struct Status: Sendable, Equatable {
        public var reading: Reading
        public var openings: UInt64

        public init(reading: Reading, openings: UInt64) {
            self.reading = reading
            self.openings = openings
        }
    }

    private enum Entry {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen

        var isClosed: Bool {
            if case .closed = self { true } else { false }
        }
    }

    private struct Table {
        var entries: [String: (entry: Entry, changed: UInt64)] = [:]
        var openings: [String: UInt64] = [:]
        var version: UInt64 = 0

        mutating func set(_ deployment: String, _ entry: Entry) {
            version &+= 1
            if !entry.isClosed, entries[deployment]?.entry.isClosed ?? true { openings[deployment, default: 0] += 1 }
            entries[deployment] = (entry, version)
        }
    }

    private let table = Mutex(Table())
    private let changes = Atomic<UInt64>(0)
    private let reconciled = Atomic<UInt64>(0)

    public init() {}

    /// How many times Redis's states have been taken (`reconcile(_:_:readAfter:)`).
    public var reconciliations: UInt64 { reconciled.load(ordering: .acquiring) }

    /// Grows with every change to the board (a state, a deployment first seen): a reader that saw
    /// the same value has nothing new to learn.
    public var version: UInt64 { changes.load(ordering: .acquiring) }

    /// Each deployment's breaker now. Names never seen before are added, closed, and reconciled
    /// from then on.
    public func read(_ deployments: [String]) -> [Reading] {
        table.withLock { table in
            let before = table.version
            var now: ContinuousClock.Instant?
            let readings = deployments.map { name -> Reading in
                guard let known = table.entries[name] else {
                    table.set(name, .closed)
                    return .closed
                }
                switch known.entry {
                case .closed: return .closed
                case .halfOpen: return .halfOpen
                case .open(let until):
                    let instant = now ?? ContinuousClock.now
                    now = instant
                    return until > instant ? .open : .halfOpen
                }
            }
            if table.version != before { changes.store(table.version, ordering: .releasing) }
            return readings
        }
    }

    /// One deployment's breaker now (see `read(_:)`).
    public func reading(_ deployment: String) -> Reading {
        read([deployment])[0]
    }

    /// Every deployment on the board with its reading.
    public func readings() -> [String: Reading] {
        let names = table.withLock { Array($0.entries.keys) }
        return Dictionary(uniqueKeysWithValues: zip(names, read(names)))
    }

    /// Every deployment on the board with its reading and openings.
    public func statuses() -> [String: Status] {
        let (names, openings) = table.withLock { (Array($0.entries.keys), $0.openings) }
        return Dictionary(uniqueKeysWithValues: zip(names, read(names)).map { name, reading in
            (name, Status(reading: reading, openings: openings[name] ?? 0))
        })
    }

    /// Records what is known of a deployment now (a message, this node's own result).
    public func set(_ deployment: String, _ state: BreakerState) {
        let entry = Self.entry(state, now: .now)
        table.withLock { table in
            table.set(deployment, entry)
            changes.store(table.version, ordering: .releasing)
        }
    }

    /// Records a published change.
    public func apply(_ message: BreakerMessage) {
        set(message.deployment, message.state)
    }

    /// The deployments to reconcile, and the board's version as they were taken.
    public func known() -> (deployments: [String], version: UInt64) {
        table.withLock { (Array($0.entries.keys), $0.version) }
    }

    /// Takes Redis's states, read after `known()` returned `version`, for every deployment that has
    /// not changed since (a message or result that came meanwhile is newer than the read).
    public func reconcile(_ deployments: [String], _ states: [BreakerState], readAfter version: UInt64) {
        let now = ContinuousClock.now
        table.withLock { table in
            for (name, state) in zip(deployments, states) where (table.entries[name]?.changed ?? 0) <= version {
                let entry = Self.entry(state, now: now)
                if let current = table.entries[name]?.entry, Self.same(current, entry) { continue }
                table.set(name, entry)
            }
            changes.store(table.version, ordering: .releasing)
        }
        reconciled.add(1, ordering: .releasing)
    }

    private static func entry(_ state: BreakerState, now: ContinuousClock.Instant) -> Entry {
        switch state {
        case .closed: .closed
        case .halfOpen: .halfOpen
        case .open(let remaining): .open(until: now + remaining)
        }
    }

    /// Whether a reconciled entry changes nothing a reader would see (an open breaker's end moves
    /// with each read's round trip; within a second it is the same breaker).
    private static func same(_ current: Entry, _ new: Entry) -> Bool {
        switch (current, new) {
        case (.closed, .closed), (.halfOpen, .halfOpen): true
        case (.open(let a), .open(let b)): abs((a - b) / .milliseconds(1)) < 1000
        default: false
        }
    }
}
