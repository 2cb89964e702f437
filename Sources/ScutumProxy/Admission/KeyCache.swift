import Synchronization

/// The in-memory auth cache: key hash to what the store said.
///
/// Two bounded maps: keys the store knows, and hashes it does not know (negatives, kept briefly so
/// a repeated bad key does not reach PostgreSQL). A flood of unknown keys churns only the negatives;
/// the known keys are evicted least recently used first, and only beyond `capacity`.
///
/// A known key past its time to live is not dropped: it is asked for again, and kept and served
/// while the store cannot answer (`Answer.stale`), so cached keys keep working through a PostgreSQL
/// outage. Changes reach the cache through `invalidate(hash:)` (PostgreSQL NOTIFY), and a look-up
/// that was in flight when one arrived is not cached (see `Ticket`).
public final class KeyCache: Sendable {
    /// A usable key as cached, with its own expiry time if it has one.
    public struct CachedKey: Sendable, Equatable {
        public var key: AuthenticatedKey
        public var blocked: Bool
        /// Seconds since 1970 after which the key no longer works.
        public var expiresAt: Double?

        public init(key: AuthenticatedKey, blocked: Bool, expiresAt: Double?) {
            self.key = key
            self.blocked = blocked
            self.expiresAt = expiresAt
        }
    }

    /// What the cache knows of a hash.
    public enum Answer: Sendable, Equatable {
        /// Within its time to live: the key, or nil for "no such key".
        case fresh(CachedKey?)
        /// Past its time to live. `askStore`: ask the store, and use this if it cannot answer; false
        /// when another request is asking already or a look-up failed moments ago: use this at once.
        case stale(CachedKey, askStore: Bool)
        /// Nothing known: ask the store.
        case missing
    }

    /// Taken before asking the store about a hash and handed back with the answer (`store`, or
    /// `release` when there is none): the answer is cached only if no invalidation of that hash (or of
    /// everything) arrived in between, since it may have been read before the change it announces.
    public struct Ticket: Sendable, Equatable {
        let hash: String
        let epoch: UInt64
    }

    struct Entry {
        var key: CachedKey
        var freshUntil: ContinuousClock.Instant
    }

    struct State {
        var known: BoundedMap<Entry>
        var unknown: BoundedMap<ContinuousClock.Instant>
        /// Counts invalidations.
        var epoch: UInt64 = 0
        /// `epoch` at the last invalidation of everything.
        var allInvalidatedAt: UInt64 = 0
        /// Hashes being looked up: how many look-ups, and `epoch` at the last invalidation of the hash
        /// since the first of them began. Holds only look-ups in progress.
        var inFlight: [String: (lookups: Int, invalidatedAt: UInt64)] = [:]
        /// Until when stale keys are served without asking the store (after a failed look-up).
        var storeDownUntil: ContinuousClock.Instant?
    }

    private let state: Mutex<State>

    /// - Parameters:
    ///   - capacity: known keys kept at most.
    ///   - negativeCapacity: unknown hashes remembered at most.
    public init(capacity: Int = 100_000, negativeCapacity: Int = 10_000) {
        state = Mutex(State(known: BoundedMap(capacity: capacity), unknown: BoundedMap(capacity: negativeCapacity)))
    }

    /// What the cache knows of `hash` at `now`.
    public func lookup(_ hash: String, now: ContinuousClock.Instant) -> Answer {
        state.withLock { state -> Answer in
            if let entry = state.known.get(hash) {
                if entry.freshUntil > now { return .fresh(entry.key) }
                let storeDown = state.storeDownUntil.map { $0 > now } ?? false
                return .stale(entry.key, askStore: !storeDown && state.inFlight[hash] == nil)
            }
            if let expires = state.unknown.peek(hash) {
                if expires > now { return .fresh(nil) }
                state.unknown.remove(hash)
            }
            return .missing
        }
    }

    /// Take one before asking the store about `hash`; hand it to `store`, or to `release` when the
    /// store did not answer.
    public func ticket(for hash: String) -> Ticket {
        state.withLock { state in
            state.inFlight[hash, default: (0, 0)].lookups += 1
            return Ticket(hash: hash, epoch: state.epoch)
        }
    }

    /// Ends a look-up that brought no answer.
    public func release(_ ticket: Ticket) {
        state.withLock { state in _ = Self.finish(ticket, in: &state) }
    }

    /// Caches the store's answer for the ticket's hash until `freshUntil`, unless the hash was
    /// invalidated since the ticket was taken. Returns whether it was cached.
    @discardableResult
    public func store(key: CachedKey?, ticket: Ticket, freshUntil: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            guard Self.finish(ticket, in: &state) else { return false }
            let hash = ticket.hash
            state.storeDownUntil = nil
            if let key {
                state.unknown.remove(hash)
                state.known.insert(hash, Entry(key: key, freshUntil: freshUntil))
            } else {
                state.known.remove(hash)
                state.unknown.insert(hash, freshUntil)
            }
            return true
        }
    }

    /// Ends the ticket's look-up; whether no invalidation of its hash arrived since it began.
    private static func finish(_ ticket: Ticket, in state: inout State) -> Bool {
        guard let flight = state.inFlight[ticket.hash] else { return false }
        if flight.lookups > 1 {
            state.inFlight[ticket.hash]?.lookups -= 1
        } else {
            state.inFlight[ticket.hash] = nil
        }
        return flight.invalidatedAt <= ticket.epoch && state.allInvalidatedAt <= ticket.epoch
    }

    /// Notes that the store could not answer: stale keys are served without asking until `until`.
    public func storeFailed(until: ContinuousClock.Instant) {
        state.withLock { $0.storeDownUntil = until }
    }

    /// Forgets one key (it changed in the store).
    public func invalidate(hash: String) {
        state.withLock { state in
            state.epoch += 1
            state.inFlight[hash]?.invalidatedAt = state.epoch
            state.known.remove(hash)
            state.unknown.remove(hash)
        }
    }

    /// Forgets everything.
    public func invalidateAll() {
        state.withLock { state in
            state.epoch += 1
            state.allInvalidatedAt = state.epoch
            state.known.removeAll()
            state.unknown.removeAll()
        }
    }

    /// Makes every key stale (after a lost invalidation channel, changes may have been missed): each
    /// is asked for again on its next use, and still served if the store cannot answer.
    public func expireAll(now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.epoch += 1
            state.allInvalidatedAt = state.epoch
            state.known.updateAll { $0.freshUntil = min($0.freshUntil, now) }
            state.unknown.removeAll()
        }
    }

    /// Known keys held (fresh or stale).
    public var count: Int { state.withLock { $0.known.count } }

    /// Unknown hashes remembered.
    public var negativeCount: Int { state.withLock { $0.unknown.count } }
}
