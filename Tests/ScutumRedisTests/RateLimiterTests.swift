import Foundation
import ScutumRedis
import ScutumTestSupport
import Testing

@Suite("Sliding-window rate limits in Redis")
struct RateLimiterTests {
    static func limiter(_ redis: RedisClient) -> RateLimiter {
        RateLimiter(redis: redis, namespace: "test-rl-\(UUID().uuidString.prefix(8))")
    }

    @Test("exactly the limit within the window, then refused with the time until the oldest request leaves it")
    func window() async throws {
        try await withTestRedisKeys { redis, _ in
            let limiter = Self.limiter(redis)
            let limit = RateLimit(name: "k:rpm", limit: 3, window: .seconds(20))
            for index in 0..<3 {
                let outcome = try await limiter.acquire([limit], member: "r\(index)")
                #expect(outcome.first?.allowed == true)
                #expect(outcome.first?.used == index + 1)
            }
            let refused = try #require(try await limiter.acquire([limit], member: "r3").first)
            #expect(!refused.allowed)
            #expect(refused.remaining == 0)
            #expect(refused.retryAfterMilliseconds > 0 && refused.retryAfterMilliseconds <= 20_000)
        }
    }

    @Test("requests leave the window when it has passed")
    func expiry() async throws {
        try await withTestRedisKeys { redis, _ in
            let limiter = Self.limiter(redis)
            let limit = RateLimit(name: "k:rpm", limit: 1, window: .milliseconds(300))
            #expect(try await limiter.acquire([limit], member: "a").first?.allowed == true)
            try await Task.sleep(for: .milliseconds(400))
            let later = try #require(try await limiter.acquire([limit], member: "b").first)
            #expect(later.allowed)
            #expect(later.used == 1)
        }
    }

    @Test("weights: estimates reserved and reconciled; a refusal by one limit takes nothing from the others")
    func weightsAndRollback() async throws {
        try await withTestRedisKeys { redis, _ in
            let limiter = Self.limiter(redis)
            let tokens = RateLimit(name: "k:tpm", limit: 100, cost: 60)
            let requests = RateLimit(name: "k:rpm", limit: 10)
            #expect(try await limiter.acquire([requests, tokens], member: "a").allSatisfy(\.allowed))
            // 60 + 60 > 100: refused, and the request limit gives its unit back.
            let second = try await limiter.acquire([requests, tokens], member: "b")
            #expect(second.map(\.allowed) == [true, false])
            // The real use of "a" was 10 tokens: now 60 more fit.
            try await limiter.reconcile([tokens], member: "a", actual: 10)
            let third = try await limiter.acquire([requests, tokens], member: "c")
            #expect(third.map(\.allowed) == [true, true])
            #expect(third.map(\.used) == [2, 70])
        }
    }

    @Test("parallel slots are taken and given back")
    func parallel() async throws {
        try await withTestRedisKeys { redis, _ in
            let limiter = Self.limiter(redis)
            #expect(try await limiter.enter("k", limit: 2))
            #expect(try await limiter.enter("k", limit: 2))
            #expect(try await !limiter.enter("k", limit: 2))
            try await limiter.leave("k")
            #expect(try await limiter.enter("k", limit: 2))
        }
    }
}
