import Foundation
import ScutumRedis
import ScutumTestSupport
import Testing

@Suite("Response cache entries in Redis", .timeLimit(.minutes(1)))
struct ResponseCacheStoreTests {
    /// Stores one entry per (scope, model) pair and answers the keys.
    private static func fill(_ store: ResponseCacheStore, scopes: [ResponseCacheStore.Scope], models: [String])
        async throws -> [String]
    {
        var keys: [String] = []
        for scope in scopes {
            for model in models {
                let key = store.key(scope: scope, model: model, hash: "ab12cd")
                try await store.set(key, Array("\(scope)/\(model)".utf8), ttl: .seconds(60))
                keys.append(key)
            }
        }
        return keys
    }

    /// How many of `keys` still exist.
    private static func remaining(_ keys: [String], _ redis: RedisClient) async throws -> Int {
        var count = 0
        for key in keys where try await redis.send(["EXISTS", RedisArgument(key)]) == .integer(1) { count += 1 }
        return count
    }

    @Test("SET with a TTL, GET back the same bytes, nothing for a missing entry")
    func roundTrip() async throws {
        try await withTestRedisKeys { redis, prefix in
            let store = ResponseCacheStore(redis: redis, namespace: prefix + "ns")
            let key = store.key(scope: .team("team-a"), model: "gpt-4o", hash: "0f0f")
            #expect(key == prefix + "ns:rcache:t.team-a:gpt-4o:0f0f")
            let bytes: [UInt8] = [0, 1, 2, 255] + Array("{\"id\":\"x\"}".utf8)
            try await store.set(key, bytes, ttl: .milliseconds(30_500))
            #expect(try await store.get(key) == bytes)
            let ttl = try #require(try await redis.send(["PTTL", RedisArgument(key)]).int)
            #expect((20_000...30_500).contains(ttl))
            #expect(try await store.get(store.key(scope: .global, model: "gpt-4o", hash: "0f0f")) == nil)
        }
    }

    @Test("delete with no scope and no model removes every entry of the namespace and nothing else")
    func deleteAll() async throws {
        try await withTestRedisKeys { redis, prefix in
            let store = ResponseCacheStore(redis: redis, namespace: prefix + "ns")
            let other = ResponseCacheStore(redis: redis, namespace: prefix + "other")
            let keys = try await Self.fill(store, scopes: [.global, .team("t1"), .key("k1")], models: ["a", "b"])
            let kept = try await Self.fill(other, scopes: [.global], models: ["a"])
            let unrelated = prefix + "ns:rl:a"
            _ = try await redis.send(["SET", RedisArgument(unrelated), "1"])
            #expect(try await store.delete(scopes: nil, model: nil) == keys.count)
            #expect(try await Self.remaining(keys, redis) == 0)
            #expect(try await Self.remaining(kept + [unrelated], redis) == 2)
            #expect(try await store.delete(scopes: nil, model: nil) == 0)
        }
    }

    @Test("delete per scope, per several scopes, per model, and per scope and model")
    func deleteSelected() async throws {
        try await withTestRedisKeys { redis, prefix in
            let store = ResponseCacheStore(redis: redis, namespace: prefix + "ns")
            let scopes: [ResponseCacheStore.Scope] = [.global, .team("t1"), .team("t10"), .key("k1"), .key("k2")]
            let keys = try await Self.fill(store, scopes: scopes, models: ["gpt", "gpt-mini"])
            #expect(try await store.delete(scopes: [.team("t1")], model: nil) == 2)
            #expect(try await Self.remaining(keys, redis) == 8)
            #expect(try await store.delete(scopes: [.key("k1"), .key("k2"), .team("none")], model: "gpt") == 2)
            #expect(try await Self.remaining(keys, redis) == 6)
            #expect(try await store.delete(scopes: nil, model: "gpt-mini") == 4)
            #expect(try await Self.remaining(keys, redis) == 2)
            #expect(try await store.get(store.key(scope: .global, model: "gpt", hash: "ab12cd")) != nil)
            #expect(try await store.get(store.key(scope: .team("t10"), model: "gpt", hash: "ab12cd")) != nil)
            #expect(try await store.delete(scopes: [], model: nil) == 0)
        }
    }

    @Test("glob characters and colons in names match only themselves")
    func globAndColons() async throws {
        try await withTestRedisKeys { redis, prefix in
            let store = ResponseCacheStore(redis: redis, namespace: prefix + "n[s]*")
            let neighbour = ResponseCacheStore(redis: redis, namespace: prefix + "nsX")
            let scopes: [ResponseCacheStore.Scope] = [.team("*"), .team("a"), .team("a:b"), .key("k?")]
            let keys = try await Self.fill(store, scopes: scopes, models: ["m*", "m", "m:latest", "50%"])
            let kept = try await Self.fill(neighbour, scopes: [.team("a")], models: ["m"])
            #expect(store.key(scope: .team("a:b"), model: "m:latest", hash: "h").hasSuffix(":t.a%3Ab:m%3Alatest:h"))
            #expect(try await store.delete(scopes: [.team("*")], model: nil) == 4)
            #expect(try await store.delete(scopes: [.team("a")], model: "m") == 1)
            #expect(try await store.delete(scopes: nil, model: "m*") == 3)
            #expect(try await Self.remaining(keys, redis) == 8)
            #expect(try await store.delete(scopes: [.key("k?")], model: "50%") == 1)
            #expect(try await store.delete(scopes: nil, model: nil) == 7)
            #expect(try await Self.remaining(kept, redis) == 1)
        }
    }

    @Test("more entries than one SCAN batch are all deleted")
    func manyEntries() async throws {
        try await withTestRedisKeys { redis, prefix in
            let store = ResponseCacheStore(redis: redis, namespace: prefix + "ns")
            let commands: [[RedisArgument]] = (0..<2500).map { index in
                ["SET", RedisArgument(store.key(scope: .key("k\(index % 7)"), model: "m", hash: String(index, radix: 16))),
                 "x", "PX", 60_000]
            }
            _ = try await redis.pipeline(commands)
            let sevenths = (0..<2500).filter { $0 % 7 == 3 }.count
            #expect(try await store.delete(scopes: [.key("k3")], model: "m") == sevenths)
            #expect(try await store.delete(scopes: nil, model: nil) == 2500 - sevenths)
        }
    }

    @Test("an unreachable Redis is an error, not zero entries")
    func unreachable() async throws {
        var configuration = TestEnvironment.redisConfiguration(port: 1)
        configuration.connectTimeout = .milliseconds(200)
        let redis = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
        let store = ResponseCacheStore(redis: redis, namespace: "x")
        await #expect(throws: RedisClientError.self) { try await store.delete(scopes: nil, model: nil) }
        await redis.close()
    }
}
