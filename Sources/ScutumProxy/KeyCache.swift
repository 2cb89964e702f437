import Synchronization

/// The in-memory auth cache: key hash to what the store said, with an expiry.
/// Entries for unknown keys are kept briefly so floods of bad keys do not reach PostgreSQL.
public final class KeyCache: Sendable {
    /// A cached answer: the key, or nil for "no such usable key".
    struct Entry {
        var key: CachedKey?
        var expires: ContinuousClock.Instant
    }

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

    private let entries = Mutex<[String: Entry]>([:])
    private let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// The cached answer: `.some(nil)` is a cached miss, `nil` means ask the store.
    func lookup(_ hash: String, now: ContinuousClock.Instant) -> CachedKey?? {
        entries.withLock { entries -> CachedKey?? in
            guard let entry = entries[hash] else { return nil }
            guard entry.expires > now else {
                entries[hash] = nil
                return nil
            }
            return .some(entry.key)
        }
    }

    func store(_ hash: String, key: CachedKey?, until expires: ContinuousClock.Instant) {
        entries.withLock { entries in
            if entries.count >= capacity && entries[hash] == nil {
                // Bounded memory: drop expired entries, and if that is not enough, everything.
                let now = ContinuousClock.now
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[hash] = Entry(key: key, expires: expires)
        }
    }

    /// Forgets one key (it changed in the store).
    public func invalidate(hash: String) {
        _ = entries.withLock { $0.removeValue(forKey: hash) }
    }

    /// Forgets everything (after a lost invalidation channel, changes may have been missed).
    public func invalidateAll() {
        entries.withLock { $0.removeAll() }
    }

    public var count: Int { entries.withLock { $0.count } }
}
