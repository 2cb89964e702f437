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
            let dead = Self.slots(redis, namespace: namespace, node: "dead", staleAfter: .milliseconds(300))
            let live = Self.slots(redis, namespace: namespace, node: "live", staleAfter: .milliseconds(300))
            #expect(try await dead.acquire("k", limit: 1))
            #expect(try await !live.acquire("k", limit: 1))
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await live.acquire("k", limit: 1))
        }
    }

    @Test("slots cannot leak: nodes that die are dropped from the hash after the stale time, and an idle pool's key expires")
    func deadNodesLeaveNoTrace() async throws {
        try await withTestRedis { (redis: RedisClient) async throws in
            let namespace = "test-par-\(UUID().uuidString.prefix(8))"
            let key = RedisArgument("{\(namespace):par:k}")
            let stale = Duration.milliseconds(300)
            // Twenty nodes come and go, each taking a slot and dying without giving it back.
            for index in 0..<20 {
                let node = Self.slots(redis, namespace: namespace, node: "gone-\(index)", staleAfter: stale)
                #expect(try await node.acquire("k", limit: 20))
            }
            #expect(try await redis.send(["HLEN", key]).int == 40)
            let live = Self.slots(redis, namespace: namespace, node: "live", staleAfter: stale)
            #expect(try await !live.acquire("k", limit: 20))
            try await Task.sleep(for: .milliseconds(400))
            // The next call drops every stale node: the hash holds the live node only, its slot back.
            #expect(try await live.acquire("k", limit: 20))
            #expect(try await redis.send(["HLEN", key]).int == 2)
            let ttl = try await redis.send(["PTTL", key]).int ?? -2
            #expect(ttl > 0 && ttl <= 600)
            // Nobody confirms any more (the live node died too): the key itself goes.
            try await Task.sleep(for: .milliseconds(700))
            #expect(try await redis.send(["EXISTS", key]).int == 0)
        }
    }
}
