import Foundation
import ScutumRedis
import ScutumTestSupport
import Testing

@Suite("Parallel-request slots: held per node, exact across the cluster")
struct ParallelSlotTests {
    static func slots(_ redis: RedisClient, namespace: String, node: String, staleAfter: Duration = .seconds(30))
        -> ParallelSlots
    {
        ParallelSlots(redis: redis, namespace: namespace, node: node, staleAfter: staleAfter, liveNodes: { 2 })
    }

    @Test("two nodes never hold more than the limit; a freed slot is reused locally, surplus goes back")
    func exactAcrossNodes() async throws {
        try await withTestRedis { (redis: RedisClient) async throws in
            let namespace = "test-par-\(UUID().uuidString.prefix(8))"
            let a = Self.slots(redis, namespace: namespace, node: "a")
            let b = Self.slots(redis, namespace: namespace, node: "b")
            #expect(a.enter("k", limit: 2) == nil)
            #expect(try await a.acquire("k", limit: 2))
            #expect(try await b.acquire("k", limit: 2))
            #expect(try await !a.acquire("k", limit: 2))
            #expect(try await !b.acquire("k", limit: 2))
            // A finished request frees its slot on its node without a round trip...
            a.leave("k")
            #expect(a.enter("k", limit: 2) == true)
            a.leave("k")
            // ...and the loop gives it back to the cluster.
            await a.pass()
            #expect(try await b.acquire("k", limit: 2))
        }
    }

    @Test("a node that stops confirming its slots loses them after the stale time")
    func deadNode() async throws {
        try await withTestRedis { (redis: RedisClient) async throws in
            let namespace = "test-par-\(UUID().uuidString.prefix(8))"
            let staleAfter = Duration.seconds(1)
            let dead = Self.slots(redis, namespace: namespace, node: "dead", staleAfter: staleAfter)
            let live = Self.slots(redis, namespace: namespace, node: "live", staleAfter: staleAfter)
            let held = ContinuousClock.now
            #expect(try await dead.acquire("k", limit: 1))
            let refused = try await !live.acquire("k", limit: 1)
            // Refused while the dead node's slot is fresh (a loaded machine can take longer than that
            // between the two calls, and then the live node may rightly have it).
            if ContinuousClock.now - held < staleAfter {
                #expect(refused)
            }
            if refused {
                try await Task.sleep(for: staleAfter + .milliseconds(200))
                #expect(try await live.acquire("k", limit: 1))
            }
        }
    }

    @Test("slots cannot leak: nodes that die are dropped from the hash after the stale time, and an idle pool's key expires")
    func deadNodesLeaveNoTrace() async throws {
        try await withTestRedis { (redis: RedisClient) async throws in
            let namespace = "test-par-\(UUID().uuidString.prefix(8))"
            let key = RedisArgument("{\(namespace):par:k}")
            let stale = Duration.seconds(2)
            // Twenty nodes come and go, each taking a slot (no spare: a share of 1) and dying without
            // giving it back.
            func slots(_ node: String) -> ParallelSlots {
                ParallelSlots(redis: redis, namespace: namespace, node: node, staleAfter: stale, liveNodes: { 20 })
            }
            for index in 0..<20 {
                let node = slots("gone-\(index)")
                #expect(try await node.acquire("k", limit: 20))
            }
            // Two fields a node (fewer if a slow machine let the first ones go stale already).
            #expect((try await redis.send(["HLEN", key]).int ?? 0) <= 40)
            let live = slots("live")
            try await Task.sleep(for: .milliseconds(2_200))
            // The next call drops every stale node: the hash holds the live node only, its slot back.
            #expect(try await live.acquire("k", limit: 20))
            #expect(try await redis.send(["HLEN", key]).int == 2)
            let ttl = try await redis.send(["PTTL", key]).int ?? -2
            #expect(ttl > 0 && ttl <= 4_000)
            // Nobody confirms any more (the live node died too): the key itself goes.
            try await Task.sleep(for: .milliseconds(4_300))
            #expect(try await redis.send(["EXISTS", key]).int == 0)
        }
    }
}
