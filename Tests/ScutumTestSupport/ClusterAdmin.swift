import Foundation
@testable import ScutumRedis
import Testing

/// Direct access to the nodes of a Redis Cluster, bypassing routing (what a stale client would hit): slot
/// migrations and failovers for the tests that run through them.
public struct ClusterAdmin: Sendable {
    public let configuration: RedisConfiguration

    /// Access to the masters and replicas of the cluster `configuration` names.
    public init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    public func node(_ endpoint: RedisEndpoint) -> RedisClient {
        RedisClient(configuration: configuration.node(endpoint), logger: TestEnvironment.logger)
    }

    @discardableResult
    public func run<T>(_ endpoint: RedisEndpoint, _ body: (RedisClient) async throws -> T) async throws -> T {
        let client = node(endpoint)
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await body(client))
        } catch {
            outcome = .failure(error)
        }
        await client.close()
        return try outcome.get()
    }

    /// The shards as a fresh `CLUSTER SLOTS` has them.
    func shards() async throws -> [RedisCluster.Shard] {
        let seed = configuration.clusterSeeds[0]
        let reply = try await run(seed) { try await $0.send(["CLUSTER", "SLOTS"]) }
        return try RedisCluster.shards(fromClusterSlots: reply, askedAt: seed)
    }

    public func owner(of slot: Int) async throws -> RedisEndpoint {
        try #require(try await shards().first { shard in shard.slots.contains { $0.contains(slot) } }).master
    }

    public func id(_ endpoint: RedisEndpoint) async throws -> String {
        try #require(try await run(endpoint) { try await $0.send(["CLUSTER", "MYID"]) }.string)
    }

    /// Starts moving `slot` from `source` to `target` (IMPORTING on the target, MIGRATING on the source).
    public func beginMigration(slot: Int, from source: RedisEndpoint, to target: RedisEndpoint) async throws {
        let (sourceID, targetID) = (try await id(source), try await id(target))
        try await run(target) { try await $0.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "IMPORTING", RedisArgument(sourceID)]) }
        try await run(source) { try await $0.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "MIGRATING", RedisArgument(targetID)]) }
    }

    /// Moves these keys of a migrating slot from `source` to `target` (`MIGRATE`).
    public func migrate(keys: [String], from source: RedisEndpoint, to target: RedisEndpoint) async throws {
        guard !keys.isEmpty else { return }
        let reply = try await run(source) {
            try await $0.send(["MIGRATE", RedisArgument(target.host), RedisArgument(target.port), "", 0, 5000, "KEYS"]
                + keys.map { RedisArgument($0) })
        }
        #expect(reply.string == "OK" || reply.string == "NOKEY")
    }

    /// Moves every key left in `slot` on `source`, then gives the slot to `target` on every master.
    public func finishMigration(slot: Int, from source: RedisEndpoint, to target: RedisEndpoint) async throws {
        while true {
            let keys = try await run(source) {
                try await $0.send(["CLUSTER", "GETKEYSINSLOT", RedisArgument(slot), 100]).array?.compactMap(\.string) ?? []
            }
            if keys.isEmpty { break }
            try await migrate(keys: keys, from: source, to: target)
        }
        let targetID = try await id(target)
        // The target first, then the source, then everyone else (as redis-cli --cluster does).
        var masters = [target, source]
        for shard in try await shards() where !masters.contains(shard.master) { masters.append(shard.master) }
        for master in masters {
            try await run(master) { try await $0.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "NODE", RedisArgument(targetID)]) }
        }
    }

    /// Moves `slot` with its keys from its owner to another master; returns (from, to).
    @discardableResult
    public func move(slot: Int) async throws -> (RedisEndpoint, RedisEndpoint) {
        let source = try await owner(of: slot)
        let target = try #require(try await shards().map(\.master).first { $0 != source })
        try await beginMigration(slot: slot, from: source, to: target)
        try await finishMigration(slot: slot, from: source, to: target)
        return (source, target)
    }

    /// `CLUSTER FAILOVER` on a replica of the slot's master; waits until the replica is the master.
    public func failOver(slot: Int) async throws {
        let current = try await shards()
        let shard = try #require(current.first { shard in shard.slots.contains { $0.contains(slot) } })
        let replica = try #require(shard.replicas.first,
            "the failover test needs replicas: REPLICAS=1 deploy/local/redis-cluster.sh start DIR PORT")
        try await run(replica) { try await $0.send(["CLUSTER", "FAILOVER"]) }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if try await owner(of: slot) == replica { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("\(replica) never became the master of slot \(slot)")
    }
}
