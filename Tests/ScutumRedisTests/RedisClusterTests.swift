import Foundation
import ScutumCore
import Synchronization
@testable import ScutumTestSupport
import Testing

@testable import ScutumRedis

#if canImport(Glibc)
import Glibc
#endif

@Suite("Redis Cluster: hash slots, key positions, URLs")
struct RedisHashSlotTests {
    @Test("CRC16 and slots match Redis Cluster's published vectors and hash-tag rules")
    func vectors() {
        // The CRC16-XMODEM check value, and the Redis Cluster specification's examples.
        #expect(RedisHashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(RedisHashSlot.slot(of: "123456789") == 12739)
        #expect(RedisHashSlot.slot(of: "foo") == 12182)
        #expect(RedisHashSlot.slot(of: "bar") == 5061)
        #expect(RedisHashSlot.slot(of: "") == 0)
        #expect(RedisHashSlot.slot(of: "{user1000}.following") == RedisHashSlot.slot(of: "{user1000}.followers"))
        #expect(RedisHashSlot.slot(of: "{user1000}.following") == RedisHashSlot.slot(of: "user1000"))
        // Only the first {...} counts; an empty one makes the whole key hashed.
        #expect(RedisHashSlot.slot(of: "foo{bar}{zap}") == RedisHashSlot.slot(of: "bar"))
        #expect(RedisHashSlot.slot(of: "foo{{bar}}zap") == RedisHashSlot.slot(of: "{bar"))
        #expect(RedisHashSlot.slot(of: "foo{}{bar}") != RedisHashSlot.slot(of: "bar"))
        #expect(RedisHashSlot.slot(of: "foo{}{bar}") == Int(RedisHashSlot.crc16(Array("foo{}{bar}".utf8))) % 16384)
        #expect(RedisHashSlot.slot(of: "{open") == Int(RedisHashSlot.crc16(Array("{open".utf8))) % 16384)
    }

    @Test("the key-position table finds the keys of every command Scutum sends")
    func keyPositions() {
        func keys(_ command: [RedisArgument]) -> RedisCommandKeys { RedisCommandKeys.of(command) }
        #expect(keys(["GET", "k"]) == .keys([1]))
        #expect(keys(["set", "k", "v", "PX", 10]) == .keys([1]))
        #expect(keys(["PEXPIRE", "k", 10]) == .keys([1]))
        #expect(keys(["EVALSHA", "abc", 2, "a", "b", "x"]) == .keys([3, 4]))
        #expect(keys(["EVAL", "return 1", 0]) == .keyless)
        #expect(keys(["XADD", "s", "*", "p", "v"]) == .keys([1]))
        #expect(keys(["XREADGROUP", "GROUP", "g", "c", "COUNT", 5, "STREAMS", "s", ">"]) == .keys([7]))
        #expect(keys(["XREAD", "STREAMS", "a", "b", "0", "0"]) == .keys([2, 3]))
        #expect(keys(["XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"]) == .keys([2]))
        #expect(keys(["XINFO", "GROUPS", "s"]) == .keys([2]))
        #expect(keys(["XAUTOCLAIM", "s", "g", "c", 0, "0-0"]) == .keys([1]))
        #expect(keys(["MGET", "a", "b"]) == .splittable(.concatenate))
        #expect(keys(["UNLINK", "a", "b"]) == .splittable(.sum))
        #expect(keys(["SCRIPT", "LOAD", "return 1"]) == .everyMaster)
        #expect(keys(["SCRIPT", "EXISTS", "abc"]) == .keyless)
        #expect(keys(["FLUSHDB"]) == .everyMaster)
        #expect(keys(["PING"]) == .keyless)
        #expect(keys(["PUBLISH", "channel", "message"]) == .keyless)
        #expect(keys(["ZADD", "z", 1, "m"]) == .keys([1]))
    }

    @Test("redis+cluster:// URLs name seed nodes; a database other than 0 or several hosts without it are refused")
    func urls() throws {
        let cluster = try RedisConfiguration(url: "redis+cluster://:s%40cret@10.0.0.1:7000,10.0.0.2:7001,redis-2/")
        #expect(cluster.isCluster)
        #expect(cluster.clusterSeeds == [RedisEndpoint(host: "10.0.0.1", port: 7000),
            RedisEndpoint(host: "10.0.0.2", port: 7001), RedisEndpoint(host: "redis-2", port: 6379)])
        #expect(cluster.password == "s@cret")
        #expect(cluster.host == "10.0.0.1" && cluster.port == 7000)
        #expect(cluster.node(cluster.clusterSeeds[1]).isCluster == false)
        #expect(cluster.node(cluster.clusterSeeds[1]).port == 7001)
        #expect(try RedisConfiguration(url: "redis+cluster://127.0.0.1:7000").clusterSeeds.count == 1)
        #expect(try RedisConfiguration(url: "redis://127.0.0.1:6379/3").isCluster == false)
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: "redis+cluster://127.0.0.1:7000/2") }
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: "redis://a:1,b:2/0") }
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: "redis+cluster://a:1,:2") }
        // Over TLS, with an ACL user and a CA file: every node gets them.
        let secure = try RedisConfiguration(url: "rediss+cluster://app:pw@a:1,b:2/?ca_file=/etc/ca.pem")
        #expect(secure.isCluster && secure.tls?.caFile == "/etc/ca.pem" && secure.username == "app")
        let node = secure.node(secure.clusterSeeds[1])
        #expect(node.tls == secure.tls && node.username == "app" && node.password == "pw" && node.port == 2)
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: "redis+cluster://a:1?ca_file=/etc/ca.pem") }
    }

    @Test("the spend epoch lives in the spend stream's slot (lost with it, on one shard), hash-tagged namespace or not")
    func epochBesideStream() async {
        let redis = RedisClient(configuration: RedisConfiguration())
        for namespace in ["scutum", "{tenant}", "a{b", "x{y}z", "{tenant}:{other}", "scutum-test:3f2a:ns"] {
            let ledger = SpendLedger(redis: redis, namespace: namespace)
            #expect(RedisHashSlot.slot(of: ledger.epochKey) == RedisHashSlot.slot(of: ledger.stream), "\(namespace)")
            #expect(ledger.epochKey != ledger.stream)
        }
        await redis.close()
    }

    @Test("CLUSTER SLOTS replies become shards, an empty host meaning the node asked")
    func clusterSlotsParsing() throws {
        let node = { (host: String, port: Int) -> RedisValue in .array([.bulk(host), .integer(Int64(port)), .bulk("id")]) }
        let reply = RedisValue.array([
            .array([.integer(5461), .integer(10922), node("", 7001), node("10.0.0.4", 7004)]),
            .array([.integer(0), .integer(5460), node("10.0.0.1", 7000)]),
            .array([.integer(10923), .integer(16383), node("10.0.0.1", 7000)]),
        ])
        let shards = try RedisCluster.shards(fromClusterSlots: reply, askedAt: RedisEndpoint(host: "seed", port: 7001))
        #expect(shards == [
            RedisCluster.Shard(master: RedisEndpoint(host: "10.0.0.1", port: 7000), replicas: [],
                slots: [0...5460, 10923...16383]),
            RedisCluster.Shard(master: RedisEndpoint(host: "seed", port: 7001),
                replicas: [RedisEndpoint(host: "10.0.0.4", port: 7004)], slots: [5461...10922]),
        ])
        #expect(throws: RedisClientError.self) {
            try RedisCluster.shards(fromClusterSlots: .array([.array([.integer(0), .integer(99_999), node("a", 1)])]),
                askedAt: RedisEndpoint(host: "seed", port: 1))
        }
    }
}

/// Runs `body` with a client of the test cluster (`SCUTUM_TEST_REDIS_CLUSTER_URL`) and a fresh key
/// prefix, deleting the prefix's keys afterwards.
func withCluster<T>(commandTimeoutMilliseconds: Int64 = 5000,
    _ body: (RedisClient, RedisConfiguration, String) async throws -> T) async throws -> T
{
    var configuration = try #require(TestEnvironment.redisClusterConfiguration)
    configuration.commandTimeout = .milliseconds(commandTimeoutMilliseconds)
    let redis = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
    let prefix = uniqueKeyPrefix()
    let outcome: Result<T, any Error>
    do {
        outcome = .success(try await body(redis, configuration, prefix))
    } catch {
        outcome = .failure(error)
    }
    await redis.close()
    let cleaner = RedisClient(configuration: TestEnvironment.redisClusterConfiguration!, logger: TestEnvironment.logger)
    try? await deleteKeys(withPrefix: prefix, using: cleaner)
    await cleaner.close()
    return try outcome.get()
}

@Suite("Redis Cluster against a real cluster", .serialized, .timeLimit(.minutes(3)),
    .enabled(if: TestEnvironment.redisClusterConfiguration != nil, "SCUTUM_TEST_REDIS_CLUSTER_URL is not set"))
struct RedisClusterTests {
    @Test("slots computed here are the server's CLUSTER KEYSLOT, for 500 keys with and without hash tags")
    func slotsMatchServer() async throws {
        try await withCluster { redis, _, prefix in
            var keys = (0..<400).map { "\(prefix)\($0)" }
            keys += (0..<50).map { "{\(prefix)tenant-\($0 % 7)}:limit:\($0)" }
            keys += ["{}", "{}x", "x{}", "a{b}c{d}", "{{a}}", "{a", "a}", "}{a}", "", "ü{ñ}", "\u{0}\u{1}"]
            keys += (0..<39).map { "scutum:spend:key:\($0):1700000000" }
            let replies = try await redis.pipeline(keys.map { ["CLUSTER", "KEYSLOT", RedisArgument($0)] })
            for (key, reply) in zip(keys, replies) {
                #expect(reply.int.map(Int.init) == RedisHashSlot.slot(of: key), "key \(key)")
            }
        }
    }

    @Test("commands reach the master owning their slot: each key lives on exactly that node; pipelines keep their order")
    func routing() async throws {
        try await withCluster { redis, configuration, prefix in
            let admin = ClusterAdmin(configuration: configuration)
            let keys = (0..<300).map { "\(prefix)k\($0)" }
            let sets = try await redis.pipeline(keys.enumerated().map { ["SET", RedisArgument($1), RedisArgument($0)] })
            #expect(sets.allSatisfy { $0 == .simpleString("OK") })
            let gets = try await redis.pipeline(keys.map { ["GET", RedisArgument($0)] })
            #expect(gets.map(\.int) == (0..<300).map { Int64?(Int64($0)) })
            let shards = try await admin.shards()
            #expect(shards.count >= 3)
            var perNode: [RedisEndpoint: Int] = [:]
            for shard in shards {
                let here = try await admin.run(shard.master) { node in
                    try await node.pipeline(keys.map { ["EXISTS", RedisArgument($0)] })
                }
                for (key, exists) in zip(keys, here) where exists == .integer(1) {
                    let slot = RedisHashSlot.slot(of: key)
                    #expect(shard.slots.contains { $0.contains(slot) }, "\(key) found on \(shard.master)")
                    perNode[shard.master, default: 0] += 1
                }
            }
            #expect(perNode.values.reduce(0, +) == keys.count)
            #expect(perNode.count == shards.count, "300 keys spread over every master")
            // Multi-key commands over several slots are split and merged.
            let mget = try await redis.send(["MGET"] + keys.prefix(50).map { RedisArgument($0) } + [RedisArgument(prefix + "none")])
            let expected: [Int64?] = (0..<50).map { Int64($0) } + [nil]
            #expect(mget.array?.map(\.int) == expected)
            #expect(try await redis.send(["EXISTS"] + keys.map { RedisArgument($0) }) == .integer(300))
            #expect(try await redis.send(["UNLINK"] + keys.prefix(100).map { RedisArgument($0) }) == .integer(100))
            // A multi-key command that is not split still needs one slot: the server's CROSSSLOT surfaces.
            let crossSlot = await redisError {
                try await redis.send(["RENAME", RedisArgument(keys[200]), RedisArgument(keys[201] + "x")])
            }
            if RedisHashSlot.slot(of: keys[200]) != RedisHashSlot.slot(of: keys[201] + "x") {
                #expect(crossSlot.map { "\($0)".contains("CROSSSLOT") } == true)
            }
            // Every master answers, the readiness way.
            let status = await redis.nodeStatus()
            #expect(status.count == shards.count && status.allSatisfy { $0.error == nil })
            #expect(status.flatMap(\.slots).map(\.count).reduce(0, +) == RedisHashSlot.count)
        }
    }

    @Test("SCRIPT LOAD reaches every master; EVALSHA falls back to EVAL on a node that never saw the script")
    func scriptsPerNode() async throws {
        try await withCluster { redis, configuration, prefix in
            let admin = ClusterAdmin(configuration: configuration)
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1]) -- \(prefix)")
            // Keys on every master: the script is new to each.
            let keys = (0..<30).map { "\(prefix)s\($0)" }
            for key in keys { #expect(try await redis.eval(script, keys: [key], arguments: [5]) == .integer(5)) }
            let shards = try await admin.shards()
            let loaded = RedisScript("return 'loaded' -- \(prefix)")
            #expect(try await redis.send(["SCRIPT", "LOAD", RedisArgument(loaded.source)]).string == loaded.sha1)
            for shard in shards {
                let exists = try await admin.run(shard.master) { try await $0.send(["SCRIPT", "EXISTS", RedisArgument(loaded.sha1)]) }
                #expect(exists == .array([.integer(1)]), "\(shard.master)")
            }
        }
    }

    @Test("MOVED after a slot migration: the client follows it, updates its map, and keeps answering")
    func movedAfterMigration() async throws {
        try await withCluster { redis, configuration, prefix in
            let admin = ClusterAdmin(configuration: configuration)
            let key = "{\(prefix)moved}:value"
            let slot = RedisHashSlot.slot(of: key)
            try await redis.send(["SET", RedisArgument(key), "before"])
            let (source, target) = try await admin.move(slot: slot)
            // The node the client's map still names refuses the key now.
            let refused = try await admin.run(source) { try await $0.pipeline([["GET", RedisArgument(key)]]) }[0]
            #expect(refused == .error("MOVED \(slot) \(target)"))
            #expect(try await redis.send(["GET", RedisArgument(key)]) == .bulk("before"))
            #expect(try await redis.send(["SET", RedisArgument(key), "after"]) == .simpleString("OK"))
            #expect(try await admin.run(target) { try await $0.send(["GET", RedisArgument(key)]) } == .bulk("after"))
            // A pipeline mixing the moved slot with others still answers in order.
            let replies = try await redis.pipeline([["GET", RedisArgument(key)], ["SET", RedisArgument(prefix + "x"), "1"],
                ["GET", RedisArgument(key)]])
            #expect(replies == [.bulk("after"), .simpleString("OK"), .bulk("after")])
            try await admin.move(slot: slot)
            #expect(try await redis.send(["GET", RedisArgument(key)]) == .bulk("after"))
        }
    }

    @Test("ASK during a migration: keys already moved are read from the target, the rest from the source, new ones land on the target")
    func askDuringMigration() async throws {
        try await withCluster { redis, configuration, prefix in
            let admin = ClusterAdmin(configuration: configuration)
            let tag = "{\(prefix)ask}"
            let (moved, stays, fresh) = ("\(tag):moved", "\(tag):stays", "\(tag):fresh")
            let slot = RedisHashSlot.slot(of: moved)
            _ = try await redis.pipeline([["SET", RedisArgument(moved), "m"], ["SET", RedisArgument(stays), "s"]])
            let source = try await admin.owner(of: slot)
            let target = try #require(try await admin.shards().map(\.master).first { $0 != source })
            try await admin.beginMigration(slot: slot, from: source, to: target)
            do {
                try await admin.migrate(keys: [moved], from: source, to: target)
                let asked = try await admin.run(source) { try await $0.pipeline([["GET", RedisArgument(moved)]]) }[0]
                #expect(asked == .error("ASK \(slot) \(target)"))
                #expect(try await redis.send(["GET", RedisArgument(moved)]) == .bulk("m"))
                #expect(try await redis.send(["GET", RedisArgument(stays)]) == .bulk("s"))
                #expect(try await redis.send(["SET", RedisArgument(fresh), "f"]) == .simpleString("OK"))
                // ASKING holds for the next command on its connection: both in one pipeline.
                let onTarget = try await admin.run(target) { try await $0.pipeline([["ASKING"], ["GET", RedisArgument(fresh)]]) }
                #expect(onTarget.last == .bulk("f"))
                // The slot still belongs to the source: the client did not move it in its map.
                #expect(try await redis.send(["INCR", RedisArgument("\(tag):counter")]) == .integer(1))
            } catch {
                try await admin.finishMigration(slot: slot, from: source, to: target)
                throw error
            }
            try await admin.finishMigration(slot: slot, from: source, to: target)
            let values = try await redis.send(["MGET", RedisArgument(moved), RedisArgument(stays), RedisArgument(fresh),
                RedisArgument("\(tag):counter")])
            #expect(values == .array([.bulk("m"), .bulk("s"), .bulk("f"), .bulk("1")]))
        }
    }

    @Test("spend records written while the stream's slot is resharded and its master fails over: none lost, none charged twice")
    func spendUnderReshardAndFailover() async throws {
        try await withCluster { redis, configuration, prefix in
            let admin = ClusterAdmin(configuration: configuration)
            let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
            try await ledger.ensureGroup()
            let budget = BudgetRecord(id: UUID(), subject: .global, maxBudget: 1_000_000, softBudget: nil, duration: nil,
                periodStart: Date(timeIntervalSince1970: 1_700_000_000))
            let streamSlot = RedisHashSlot.slot(of: ledger.stream)
            let counterSlot = RedisHashSlot.slot(of: ledger.counterKey(budget, at: Date()))
            // Writers go on until the slots have moved and the master failed over (and for 40 batches at least).
            let (writers, minimumBatches, perBatch) = (4, 40, 10)
            let surfaced = ErrorCount()
            let written = ErrorCount()
            let chaos = ErrorCount()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var number = 0
                        while number < minimumBatches || chaos.value == 0 {
                            var batch = SpendBatch()
                            for index in 0..<perBatch {
                                let record = SpendRecord(requestID: "w\(writer)-b\(number)-r\(index)", at: Date(),
                                    keyID: "key", keyAlias: nil, teamID: nil, userID: nil, modelRequested: "m",
                                    modelServed: "m", provider: "openai", promptTokens: 1, completionTokens: 1,
                                    cachedTokens: 0, cost: 0.5, latencyMilliseconds: 1, status: 200, stream: false)
                                batch.add(record, counters: ledger.counters(for: [budget], at: record.at))
                            }
                            // What SpendRecorder does: a batch that failed is sent again, by the same writer.
                            try await Self.writeWithBoundedRetry(batch, ledger: ledger, writer: "writer-\(writer)",
                                surfaced: surfaced)
                            for _ in 0..<perBatch { written.add() }
                            number += 1
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
                group.addTask {
                    defer { chaos.add() }
                    try await Task.sleep(for: .milliseconds(100))
                    try await admin.move(slot: streamSlot)
                    try await Task.sleep(for: .milliseconds(100))
                    // The counter with its seeding and applied keys: a script may find them split (TRYAGAIN).
                    try await admin.move(slot: counterSlot)
                    try await Task.sleep(for: .milliseconds(100))
                    try await admin.move(slot: streamSlot)
                    try await Task.sleep(for: .milliseconds(100))
                    try await admin.failOver(slot: streamSlot)
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await group.waitForAll()
            }
            #expect(surfaced.value == 0, "errors surfaced beyond the bounded retry")
            #expect(written.value >= writers * minimumBatches * perBatch)
            var seen = Set<String>()
            while true {
                let entries = try await ledger.claim(consumer: "reader", count: 500, staleAfter: .seconds(60))
                if entries.isEmpty { break }
                for entry in entries { for record in entry.records { seen.insert(record.requestID) } }
                try await ledger.acknowledge(entries.map(\.id))
            }
            #expect(seen.count == written.value, "every record reached the stream")
            let total = try await ledger.totals([ledger.counterKey(budget, at: Date())])[0]
            #expect(total == Double(written.value) * 0.5, "each batch charged exactly once")
        }
    }

    /// A count shared by concurrent tasks.
    final class ErrorCount: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func add() { count.withLock { $0 += 1 } }
    }

    static func writeWithBoundedRetry(_ batch: SpendBatch, ledger: SpendLedger, writer: String, surfaced: ErrorCount)
        async throws
    {
        var pending = batch
        for attempt in 0..<6 {
            do {
                let outcome = try await ledger.write(pending, recordsPerEntry: 100, writer: writer)
                if outcome.failedCounters.isEmpty, outcome.unsent.isEmpty { return }
                if outcome.failedCounters.isEmpty {
                    // The counters took their charge: only the records Redis refused go again.
                    var again = SpendBatch()
                    for record in outcome.unsent { again.add(record, counters: []) }
                    pending = again
                }
                // A refused counter: the same batch again (its number keeps its cost from counting twice).
            } catch {
                // Unreachable: the same batch again, by the same writer.
            }
            try await Task.sleep(for: .milliseconds(50 << min(attempt, 4)))
        }
        surfaced.add()
    }

    @Test("a master that stops answering: its slots fail within the command timeout, the others keep answering, readiness names it; after its replica takes over, its slots answer again")
    func frozenMaster() async throws {
        try await withCluster(commandTimeoutMilliseconds: 300) { redis, configuration, prefix in
            let admin = ClusterAdmin(configuration: configuration)
            let shards = try await admin.shards()
            // Not a seed's shard when possible, so the map can still be read from a seed.
            let victim = try #require(shards.last)
            try #require(!victim.replicas.isEmpty, "needs replicas: REPLICAS=1 deploy/local/redis-cluster.sh")
            let key = try #require((0..<10_000).lazy.map { "\(prefix)v\($0)" }.first { key in
                victim.slots.contains { $0.contains(RedisHashSlot.slot(of: key)) }
            })
            let other = try #require((0..<10_000).lazy.map { "\(prefix)o\($0)" }.first { key in
                !victim.slots.contains { $0.contains(RedisHashSlot.slot(of: key)) }
            })
            _ = try await redis.pipeline([["SET", RedisArgument(key), "v"], ["SET", RedisArgument(other), "o"]])
            let info = try await admin.run(victim.master) { try await $0.send(["INFO", "server"]) }.string ?? ""
            let pid = try #require(info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") }
                .flatMap { Int32($0.dropFirst("process_id:".count)) })
            #expect(kill(pid, SIGSTOP) == 0)
            do {
                let started = ContinuousClock.now
                let error = await redisError { try await redis.send(["GET", RedisArgument(key)]) }
                #expect(error != nil)
                #expect(ContinuousClock.now - started < .seconds(2), "failed within about the command timeout")
                #expect(try await redis.send(["GET", RedisArgument(other)]) == .bulk("o"))
                let status = await redis.nodeStatus()
                let failing = status.filter { $0.error != nil }.map(\.node)
                #expect(failing == [victim.master])
                // The replica is promoted after the cluster's node timeout (2 s in redis-cluster.sh).
                let deadline = ContinuousClock.now + .seconds(30)
                var answered: RedisValue?
                while ContinuousClock.now < deadline, answered == nil {
                    answered = try? await redis.send(["GET", RedisArgument(key)])
                    if answered == nil { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(answered == .bulk("v"))
                #expect(await redis.nodeStatus().allSatisfy { $0.error == nil })
            } catch {
                kill(pid, SIGCONT)
                throw error
            }
            kill(pid, SIGCONT)
            // The old master rejoins as a replica.
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                let role = try? await admin.run(victim.master) { try await $0.send(["ROLE"]) }.array?.first?.string
                if role == "slave" { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("\(victim.master) did not rejoin as a replica")
        }
    }
}
