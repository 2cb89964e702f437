import Foundation
import ScutumRedis
import ScutumTestSupport
import Testing

@Suite("Parallel-request slots in Redis")
struct RateLimiterTests {
    @Test("parallel slots are taken and given back")
    func parallel() async throws {
        try await withTestRedisKeys { redis, _ in
            let limiter = RateLimiter(redis: redis, namespace: "test-rl-\(UUID().uuidString.prefix(8))")
            #expect(try await limiter.enter("k", limit: 2))
            #expect(try await limiter.enter("k", limit: 2))
            #expect(try await !limiter.enter("k", limit: 2))
            try await limiter.leave("k")
            #expect(try await limiter.enter("k", limit: 2))
        }
    }
}
