import Foundation
import Logging
import ScutumCore
import ScutumProxy
import Synchronization
import Testing

/// The authenticator against a key store it can count, break and hold: what reaches the store, what
/// the cache keeps, and what it serves when the store cannot answer.
@Suite("Key cache")
struct KeyCacheTests {
    /// A key store in memory: counts look-ups per hash, fails them on demand, and can hold one
    /// look-up after it read its answer (a revoke landing while the answer travels back).
    final class CountingStore: Sendable {
        struct State {
            var keys: [String: KeyCache.CachedKey] = [:]
            var lookups: [String: Int] = [:]
            var failing = false
            var hold: Gate?
        }
        let state = Mutex(State())

        func add(_ key: String, blocked: Bool = false) {
            let hash = APIKey.hash(key)
            state.withLock {
                $0.keys[hash] = KeyCache.CachedKey(
                    key: AuthenticatedKey(id: UUID().uuidString.lowercased(), hash: hash, alias: nil, role: .user),
                    blocked: blocked, expiresAt: nil)
            }
        }

        func block(_ key: String) { state.withLock { $0.keys[APIKey.hash(key)]?.blocked = true } }
        func lookups(_ key: String) -> Int { state.withLock { $0.lookups[APIKey.hash(key)] ?? 0 } }
        var totalLookups: Int { state.withLock { $0.lookups.values.reduce(0, +) } }
        func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

        func lookup(_ hash: String) async throws -> KeyCache.CachedKey? {
            struct Down: Error {}
            let (answer, failing, hold) = state.withLock { state in
                state.lookups[hash, default: 0] += 1
                let hold = state.hold
                state.hold = nil
                return (state.keys[hash], state.failing, hold)
            }
            if failing { throw Down() }
            if let hold { await hold.pass() }
            return answer
        }
    }

    /// One task waits in `pass()` until another calls `open()`; `entered()` waits for the first.
    final class Gate: Sendable {
        let arrivals = AsyncStream<Void>.makeStream()
        let openings = AsyncStream<Void>.makeStream()

        func pass() async {
            arrivals.continuation.yield()
            for await _ in openings.stream { return }
        }

        func entered() async {
            for await _ in arrivals.stream { return }
        }

        func open() { openings.continuation.yield() }
    }

    static func authenticator(_ store: CountingStore, cache: KeyCache = KeyCache(), ttl: Duration = .seconds(300))
        -> Authenticator
    {
        var logger = Logger(label: "test.auth")
        logger.logLevel = .critical
        return Authenticator(masterKey: "sk-test-master-key-0123456789abcdef", cache: cache, ttl: ttl,
            negativeTTL: .seconds(30), timeout: .seconds(5), logger: logger) { hash in try await store.lookup(hash) }
    }

    /// The error `authenticate` throws, nil when it lets the caller in.
    static func refusal(_ authenticator: Authenticator, _ token: String) async -> GatewayError? {
        do {
            _ = try await authenticator.authenticate(authorization: "Bearer " + token)
            return nil
        } catch {
            return error
        }
    }

    @Test("tokens that cannot be keys get the same 401 as unknown keys and cost no look-up")
    func malformedTokensCostNothing() async throws {
        let store = CountingStore()
        let authenticator = Self.authenticator(store)
        let key = APIKey.generate()
        let tokens = ["sk-wrong", "sk-not-a-real-key-000000000000", key + "x", String(key.dropLast()),
            "pk-" + key.dropFirst(3), String(key.dropLast()) + "%", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
            String(repeating: "a", count: 51), UUID().uuidString]
        for token in tokens {
            #expect(await Self.refusal(authenticator, token) == .invalidAPIKey(), "\(token)")
        }
        #expect(store.totalLookups == 0)
        // The master key is compared on its own, whatever its shape.
        #expect(try await authenticator.authenticate(authorization: "Bearer sk-test-master-key-0123456789abcdef") == .master)
        #expect(store.totalLookups == 0)
    }

    @Test("an unknown well-formed key is looked up once, then remembered as unknown")
    func unknownKeysAreRemembered() async throws {
        let store = CountingStore()
        let authenticator = Self.authenticator(store)
        let stranger = APIKey.generate()
        for _ in 0..<20 { #expect(await Self.refusal(authenticator, stranger) == .invalidAPIKey()) }
        #expect(store.lookups(stranger) == 1)
    }

    @Test("a flood of random well-formed keys does not evict a real key")
    func floodDoesNotEvictRealKeys() async throws {
        let store = CountingStore()
        let cache = KeyCache(capacity: 64, negativeCapacity: 64)
        let authenticator = Self.authenticator(store, cache: cache)
        let real = APIKey.generate()
        store.add(real)
        _ = try await authenticator.authenticate(authorization: "Bearer " + real)
        for _ in 0..<1_000 { _ = await Self.refusal(authenticator, APIKey.generate()) }
        #expect(cache.negativeCount <= 64)
        #expect(await Self.refusal(authenticator, real) == nil)
        #expect(store.lookups(real) == 1, "the real key was evicted and looked up again")
    }

    @Test("known keys beyond the capacity: the least recently used go first, a key in use stays")
    func knownKeysAreBounded() async throws {
        let store = CountingStore()
        let cache = KeyCache(capacity: 16)
        let authenticator = Self.authenticator(store, cache: cache)
        let busy = APIKey.generate()
        store.add(busy)
        for _ in 0..<200 {
            let other = APIKey.generate()
            store.add(other)
            _ = try await authenticator.authenticate(authorization: "Bearer " + other)
            _ = try await authenticator.authenticate(authorization: "Bearer " + busy)
        }
        #expect(cache.count <= 16)
        #expect(store.lookups(busy) == 1)
    }

    @Test("the store failing past the time to live: cached keys still serve, unknown keys get 503")
    func staleKeysServeThroughAnOutage() async throws {
        let store = CountingStore()
        let authenticator = Self.authenticator(store, ttl: .milliseconds(500))
        let key = APIKey.generate()
        store.add(key)
        #expect(await Self.refusal(authenticator, key) == nil)
        store.setFailing(true)
        try await Task.sleep(for: .milliseconds(700))
        for _ in 0..<10 { #expect(await Self.refusal(authenticator, key) == nil) }
        // The first stale use asked the store; the next ones did not wait on it again.
        #expect(store.lookups(key) == 2)
        #expect(await Self.refusal(authenticator, APIKey.generate())?.code == "key_store_unavailable")
        // Back: the key is asked for again and what the store says now applies.
        store.setFailing(false)
        store.block(key)
        try await Task.sleep(for: .milliseconds(600))
        #expect(await Self.refusal(authenticator, key) == .invalidAPIKey("This API key has been revoked."))
    }

    /// Sends a request for `key` whose look-up is held once it has read its answer, runs `meanwhile`,
    /// lets the look-up finish, and returns what that request got.
    static func heldLookup(_ store: CountingStore, _ authenticator: Authenticator, key: String,
        meanwhile: () async -> Void) async -> GatewayError?
    {
        let gate = Gate()
        store.state.withLock { $0.hold = gate }
        async let first = refusal(authenticator, key)
        await gate.entered()
        await meanwhile()
        gate.open()
        return await first
    }

    @Test("a look-up in flight when its key is invalidated does not cache the old answer")
    func invalidationDuringLookup() async throws {
        let store = CountingStore()
        let cache = KeyCache()
        let authenticator = Self.authenticator(store, cache: cache)
        let key = APIKey.generate()
        store.add(key)
        // This request reads the key as usable; before its answer is cached the key is revoked and
        // the NOTIFY reaches this node. It began before the revoke and may pass; nothing after it may.
        _ = await Self.heldLookup(store, authenticator, key: key) {
            store.block(key)
            cache.invalidate(hash: APIKey.hash(key))
        }
        #expect(await Self.refusal(authenticator, key) == .invalidAPIKey("This API key has been revoked."))
        #expect(store.lookups(key) == 2)
    }

    @Test("an invalidation of another key, during a look-up, does not keep its answer from being cached")
    func otherInvalidationsDoNotBlockCaching() async throws {
        let store = CountingStore()
        let cache = KeyCache()
        let authenticator = Self.authenticator(store, cache: cache)
        let key = APIKey.generate()
        store.add(key)
        let first = await Self.heldLookup(store, authenticator, key: key) {
            cache.invalidate(hash: APIKey.hash(APIKey.generate()))
        }
        #expect(first == nil)
        #expect(await Self.refusal(authenticator, key) == nil)
        #expect(store.lookups(key) == 1)
    }

    @Test("a stale key being looked up again is served at once to every other request, which do not ask too")
    func staleKeyRefreshedOnce() async throws {
        let store = CountingStore()
        let authenticator = Self.authenticator(store, ttl: .milliseconds(100))
        let key = APIKey.generate()
        store.add(key)
        #expect(await Self.refusal(authenticator, key) == nil)
        try await Task.sleep(for: .milliseconds(200))
        let first = await Self.heldLookup(store, authenticator, key: key) {
            for _ in 0..<5 { #expect(await Self.refusal(authenticator, key) == nil) }
        }
        #expect(first == nil)
        #expect(store.lookups(key) == 2)
    }
}
