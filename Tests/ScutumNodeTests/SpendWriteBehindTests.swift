import Foundation
import PostgresNIO
import ScutumCluster
import ScutumCore
import ScutumProxy
import ScutumRedis
import ScutumStore
import ScutumTestSupport
import Synchronization
import Testing

/// Spend on its way from a finished request to PostgreSQL: the recorder's batched flushes to
/// Redis, the node's live view of spend, and the writer that moves the stream into PostgreSQL.
@Suite("Spend write-behind")
struct SpendWriteBehindTests {
    static let origin = Date(timeIntervalSince1970: 1_600_000_000)
    static let monthly = BudgetRecord(id: UUID(), subject: .team("team-a"), maxBudget: 10, softBudget: nil,
        duration: BudgetDuration(parsing: "monthly"), periodStart: origin)
    static let daily = BudgetRecord(id: UUID(), subject: .key("key-a"), maxBudget: 1, softBudget: nil,
        duration: BudgetDuration(parsing: "1d"), periodStart: origin)
    static let lifetime = BudgetRecord(id: UUID(), subject: .global, maxBudget: 100, softBudget: nil, duration: nil,
        periodStart: origin)

    static func record(_ id: String, cost: Double, at: Date = Date()) -> SpendRecord {
        SpendRecord(requestID: id, at: at, keyID: "key-a", keyAlias: nil, teamID: "team-a", userID: nil,
            modelRequested: "gpt-test", modelServed: "gpt-test", provider: "openai", promptTokens: 10,
            completionTokens: 5, cachedTokens: 0, cost: cost, latencyMilliseconds: 3, status: 200, stream: false)
    }

    /// A record PostgreSQL refuses whatever is done to its text: `latency_ms` is an int4 column.
    static func refused(_ id: String = "refused") -> SpendRecord {
        var record = record(id, cost: 0.01)
        record.latencyMilliseconds = Int(Int32.max) + 1
        return record
    }

    static func rows(_ client: PostgresClient) async throws -> (count: Int, cost: Double) {
        try await PlatformTests.count(client, "SELECT count(*)::int8, coalesce(sum(cost), 0)::float8 FROM spend_logs")
    }

    static func streamLength(_ ledger: SpendLedger) async throws -> Int {
        Int(try await ledger.redis.send(["XLEN", RedisArgument(ledger.stream)]).int ?? -1)
    }

    /// Flushes until nothing is pending: on a loaded CI machine a connection attempt can time out
    /// now and then, and the recorder keeps its records for the next flush.
    static func flushAll(_ recorder: SpendRecorder) async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            await recorder.flush()
            if recorder.pendingCount == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("\(recorder.pendingCount) records still pending after 15 s")
    }

    /// Reads the live view from synchronous code: no await on the admission path.
    static func readNow(_ live: LiveSpend, _ budgets: [BudgetRecord]) -> [Double?] {
        live.current(budgets)
    }

    @Test("a batch sums each counter's cost, skips free records, and keeps the longest TTL")
    func batchAggregates() async throws {
        let redis = RedisClient(configuration: TestEnvironment.redisConfiguration)
        let ledger = SpendLedger(redis: redis, namespace: "batch")
        // Mid-period, so that an hour earlier is the same period.
        let now = Self.origin.addingTimeInterval(10 * 86_400 + 43_200)
        let earlier = now.addingTimeInterval(-3_600)
        var batch = SpendBatch()
        batch.add(Self.record("a", cost: 0.25, at: now), counters: ledger.counters(for: [Self.monthly, Self.daily], at: now))
        batch.add(Self.record("b", cost: 0, at: now), counters: ledger.counters(for: [Self.monthly], at: now))
        batch.add(Self.record("c", cost: 0.5, at: earlier), counters: ledger.counters(for: [Self.daily], at: earlier))
        #expect(batch.records.map(\.requestID) == ["a", "b", "c"])
        #expect(ledger.counterKey(Self.daily, at: earlier) == ledger.counterKey(Self.daily, at: now))
        #expect(batch.increments == [
            SpendBatch.Increment(key: ledger.counterKey(Self.monthly, at: now), amount: 0.25,
                ttl: ledger.counters(for: [Self.monthly], at: now)[0].ttl),
            SpendBatch.Increment(key: ledger.counterKey(Self.daily, at: now), amount: 0.75,
                ttl: ledger.counters(for: [Self.daily], at: earlier)[0].ttl),
        ])
        #expect(ledger.counters(for: [Self.daily], at: earlier)[0].ttl == 3_600 + ledger.counters(for: [Self.daily], at: now)[0].ttl!)
        #expect(ledger.counters(for: [Self.lifetime], at: now)[0].ttl == nil)
        await redis.close()
    }

    @Test("a flush of 2,500 records charging three budgets is five round trips of 500: one script per counter, one stream entry")
    func flushIsConstantCost() async throws {
        try await withTestRedisKeys { redis, prefix in
            let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
            try await ledger.ensureGroup()
            let recorder = SpendRecorder(ledger: ledger, recordsPerFlush: 500, logger: TestEnvironment.logger)
            let budgets = [Self.monthly, Self.daily, Self.lifetime]
            let now = Date()
            var batch = SpendBatch()
            for index in 0..<2_500 {
                let record = Self.record("r-\(index)", cost: 0.001, at: now)
                recorder.record(record, budgets: budgets)
                if index < 500 {
                    batch.add(record, counters: ledger.counters(for: budgets, at: now))
                }
            }
            let names = ledger.commands(for: batch, recordsPerEntry: SpendRecorder.defaultRecordsPerEntry)
                .map { String(decoding: $0[0].bytes, as: UTF8.self) }
            #expect(names == ["EVALSHA", "EVALSHA", "EVALSHA", "XADD"])

            try await Self.flushAll(recorder)
            #expect(recorder.pendingCount == 0)
            #expect(try await Self.streamLength(ledger) == 5)
            let keys = budgets.map { ledger.counterKey($0, at: now) }
            let totals = try await ledger.totals(keys)
            for total in totals { #expect(abs((total ?? 0) - 2.5) < 1e-9) }
            #expect(try await redis.send(["TTL", RedisArgument(keys[2])]).int == -1)
            #expect((try await redis.send(["TTL", RedisArgument(keys[0])]).int ?? 0) > 86_400)
            let entries = try await ledger.claim(consumer: "reader", count: 10, staleAfter: .seconds(30))
            #expect(entries.map(\.records.count) == [500, 500, 500, 500, 500])
            #expect(entries.flatMap(\.records).map(\.requestID) == (0..<2_500).map { "r-\($0)" })
        }
    }

    @Test("records Redis refused to stream are sent again, without charging their cost twice")
    func refusedRecordsRetry() async throws {
        try await withTestRedisKeys { redis, prefix in
            let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
            let recorder = SpendRecorder(ledger: ledger, logger: TestEnvironment.logger)
            // The stream's key holds a string: XADD answers WRONGTYPE.
            try await redis.send(["SET", RedisArgument(ledger.stream), "not a stream"])
            for index in 0..<3 { recorder.record(Self.record("r-\(index)", cost: 0.25), budgets: [Self.lifetime]) }
            let key = ledger.counterKey(Self.lifetime, at: Date())
            // (Flushed until Redis answered: a loaded machine may fail a connection attempt.)
            let charged = try await eventually(timeout: .seconds(15)) { () async throws -> Bool? in
                await recorder.flush()
                return try await ledger.totals([key]) == [0.75] ? true : nil
            }
            #expect(charged == true)
            #expect(recorder.pendingCount == 3)

            try await redis.send(["DEL", RedisArgument(ledger.stream)])
            try await Self.flushAll(recorder)
            #expect(recorder.pendingCount == 0)
            #expect(try await Self.streamLength(ledger) == 1)
            #expect(try await ledger.totals([key]) == [0.75])
        }
    }

    @Test("hostile text (NUL, a huge model name) is stored made safe, and a record PostgreSQL refuses moves alone to the dead letters (counted): the rest of its batch and the next batches are written")
    func oneBadRecordBlocksNothing() async throws {
        try await withMigratedDatabase { client, _ in
            try await withTestRedisKeys { redis, prefix in
                let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
                try await ledger.ensureGroup()
                let recorder = SpendRecorder(ledger: ledger, logger: TestEnvironment.logger)
                var nul = Self.record("nul", cost: 0.01)
                nul.modelRequested = "\u{0}gpt\u{0}"
                var huge = Self.record("huge", cost: 0.01)
                huge.modelRequested = String(repeating: "m", count: 100_000)
                let refused = Self.refused()
                for record in [Self.record("a", cost: 0.01), nul, refused, huge, Self.record("b", cost: 0.01)] {
                    recorder.record(record, budgets: [])
                }
                try await Self.flushAll(recorder)
                let counts = SpendCounts()
                let writer = SpendLogWriter(ledger: ledger, store: SpendLogStore(client: client,
                    logger: TestEnvironment.logger), consumer: "node-a", counts: counts, logger: TestEnvironment.logger)
                _ = try await writer.writeBatch()
                #expect(try await Self.rows(client).count == 4)
                #expect(try await Self.streamLength(ledger) == 0)
                let letters = try await SpendDeadLetterStore(client: client, logger: TestEnvironment.logger).list()
                #expect(letters.map(\.requestID) == ["refused"])
                #expect(letters.first?.error.hasPrefix("22003: integer out of range") == true)
                let kept = letters.first.flatMap { try? JSONParser.parse(Array($0.record.utf8)) }
                #expect(kept.flatMap(SpendRecord.init(json:))?.latencyMilliseconds == Int(Int32.max) + 1)
                #expect(counts.deadLettered == 1)
                #expect(counts.deadLetterFailures == 0)
                let metrics = ProxyMetrics()
                metrics.watchSpend(counts)
                #expect(String(decoding: metrics.exposition(), as: UTF8.self)
                    .contains("scutum_spend_dead_letters_total 1\n"))
                // The next normal record is written too.
                recorder.record(Self.record("after", cost: 0.01), budgets: [])
                try await Self.flushAll(recorder)
                _ = try await writer.writeBatch()
                #expect(try await Self.rows(client).count == 5)
                let stored = try await SpendLogStore(client: client, logger: TestEnvironment.logger).logs(.init())
                let models = Dictionary(uniqueKeysWithValues: stored.map { ($0.requestID, $0.modelRequested) })
                #expect(models[nul.requestID] == "gpt")
                #expect(models[huge.requestID]?.count == SpendLogStore.textLimit)
            }
        }
    }

    static func length(_ redis: RedisClient, _ stream: String) async throws -> Int {
        Int(try await redis.send(["XLEN", RedisArgument(stream)]).int ?? -1)
    }

    @Test("the writer writes older nodes' JSON entries (one record, batched, compact) and packed ones alike; unreadable ones are dropped and acknowledged")
    func bothFormats() async throws {
        try await withMigratedDatabase { client, _ in
            try await withTestRedisKeys { redis, prefix in
                let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
                try await ledger.ensureGroup()
                // Older nodes' stream and group, as they made them.
                let legacy = RedisArgument(ledger.legacyStream)
                try await redis.send(["XGROUP", "CREATE", legacy, RedisArgument(SpendLedger.writers), "0", "MKSTREAM"])
                for index in 0..<5 {
                    let json = Self.record("old-\(index)", cost: 0.01).json.jsonString
                    try await redis.send(["XADD", legacy, "*", "r", RedisArgument(json)])
                }
                try await redis.send(["XADD", legacy, "*", "r", "{not json"])
                let good = Self.record("mixed-good", cost: 0.01).json.jsonString
                try await redis.send(["XADD", legacy, "*", "b", RedisArgument("[{\"request_id\":\"no-model\"},\(good)]")])
                try await redis.send(["XADD", legacy, "*", "b", "{\"not\":\"an array\"}"])
                // The compact form: members at their defaults left out.
                var compact = try #require(Self.record("compact", cost: 0.01).json.objectValue)
                for name in ["cache_write_tokens", "reasoning_tokens", "cost_parts", "deployment_id", "cache_hit",
                    "saved_cost"]
                { compact[name] = nil }
                try await redis.send(["XADD", legacy, "*", "b", RedisArgument(JSONValue.array([.object(compact)]).jsonString)])
                // Packed entries cut short, or not packed at all.
                let stream = RedisArgument(ledger.stream)
                let packed = PackedSpendRecords.encode([Self.record("packed", cost: 0.01), Self.record("cut", cost: 0.01)])
                try await redis.send(["XADD", stream, "*", "p", RedisArgument(bytes: Array(packed.dropLast(3)))])
                try await redis.send(["XADD", stream, "*", "p", "{\"request_id\":\"json\"}"])
                let recorder = SpendRecorder(ledger: ledger, logger: TestEnvironment.logger)
                for index in 0..<20 { recorder.record(Self.record("new-\(index)", cost: 0.01), budgets: []) }
                try await Self.flushAll(recorder)
                // The recorder's entry is packed, and only in the current stream.
                #expect(try await Self.length(redis, ledger.legacyStream) == 9)
                #expect(try await Self.streamLength(ledger) == 3)
                let last = try await redis.send(["XREVRANGE", stream, "+", "-", "COUNT", "1"])
                let fields = last.array?.first?.array?.last?.array ?? []
                #expect(fields.first?.string == SpendLedger.packedField)
                #expect(fields.last?.bytes.map(PackedSpendRecords.decode)?.records.count == 20)

                let writer = SpendLogWriter(ledger: ledger, store: SpendLogStore(client: client,
                    logger: TestEnvironment.logger), consumer: "node-a", batchSize: 3, logger: TestEnvironment.logger)
                var written = 0
                for _ in 0..<10 { written += try await writer.writeBatch() }
                #expect(written == 28)
                let (count, cost) = try await Self.rows(client)
                #expect(count == 28)
                #expect(abs(cost - 0.28) < 1e-9)
                for name in [ledger.stream, ledger.legacyStream] {
                    #expect(try await Self.length(redis, name) == 0)
                    let pending = try await redis.send(["XPENDING", RedisArgument(name), RedisArgument(SpendLedger.writers)])
                    #expect(pending.array?.first?.int == 0)
                }
            }
        }
    }

    @Test("during a rolling upgrade the running writer finds older nodes' stream when it appears (with or without its group) and empties it, which is no loss of its own stream")
    func olderNodesStream() async throws {
        try await withMigratedDatabase { client, _ in
            try await withTestRedisKeys { redis, prefix in
                let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
                let lost = Mutex(0)
                let writer = SpendLogWriter(ledger: ledger, store: SpendLogStore(client: client,
                    logger: TestEnvironment.logger), consumer: "node-a", interval: .milliseconds(20),
                    legacyInterval: .milliseconds(100), onStreamLost: { lost.withLock { $0 += 1 } },
                    logger: TestEnvironment.logger)
                let running = Task { try await writer.run() }
                try await Task.sleep(for: .milliseconds(300))
                // No group: a Redis restarted empty that an older node wrote to first.
                let legacy = RedisArgument(ledger.legacyStream)
                try await redis.send(["XADD", legacy, "*", "r", RedisArgument(Self.record("old-a", cost: 0.01).json.jsonString)])
                let first = try await eventually(timeout: .seconds(15)) { try await Self.rows(client).count == 1 ? true : nil }
                #expect(first == true)
                try await redis.send(["XADD", legacy, "*", "r", RedisArgument(Self.record("old-b", cost: 0.01).json.jsonString)])
                let second = try await eventually(timeout: .seconds(15)) { try await Self.rows(client).count == 2 ? true : nil }
                #expect(second == true)
                // The entry is acknowledged (and deleted) just after its row is written.
                let emptied = try await eventually(timeout: .seconds(5)) {
                    try await Self.length(redis, ledger.legacyStream) == 0 ? true : nil
                }
                #expect(emptied == true)
                #expect(lost.withLock { $0 } == 0)
                running.cancel()
                try await running.value
            }
        }
    }

    @Test("older nodes' stream key unreadable (another type): the packed stream is written all the same")
    func unreadableOlderStream() async throws {
        try await withMigratedDatabase { client, _ in
            try await withTestRedisKeys { redis, prefix in
                let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
                // WRONGTYPE for every stream command on it, which must not hold back the current stream.
                try await redis.send(["SET", RedisArgument(ledger.legacyStream), "not a stream"])
                let writer = SpendLogWriter(ledger: ledger, store: SpendLogStore(client: client,
                    logger: TestEnvironment.logger), consumer: "node-a", interval: .milliseconds(20),
                    legacyInterval: .milliseconds(50), logger: TestEnvironment.logger)
                let running = Task { try await writer.run() }
                for id in ["p-a", "p-b"] {
                    var batch = SpendBatch()
                    batch.add(Self.record(id, cost: 0.01), counters: [])
                    _ = try await ledger.write(batch, recordsPerEntry: 100)
                }
                let written = try await eventually(timeout: .seconds(15)) { try await Self.rows(client).count == 2 ? true : nil }
                #expect(written == true)
                running.cancel()
                try await running.value
            }
        }
    }

    @Test("the live view: own cost at once, before and after its flush; another node's after a refresh or its own flush")
    func liveSpendAcrossNodes() async throws {
        try await withTestRedisKeys { redisA, prefix in
            try await withTestRedis { redisB in
                let ledgerA = SpendLedger(redis: redisA, namespace: prefix + "ns")
                let ledgerB = SpendLedger(redis: redisB, namespace: prefix + "ns")
                let liveA = LiveSpend(ledger: ledgerA, logger: TestEnvironment.logger)
                let liveB = LiveSpend(ledger: ledgerB, logger: TestEnvironment.logger)
                let recorderA = SpendRecorder(ledger: ledgerA, liveSpend: liveA, logger: TestEnvironment.logger)
                let recorderB = SpendRecorder(ledger: ledgerB, liveSpend: liveB, logger: TestEnvironment.logger)
                let budgets = [Self.monthly]

                // Never read: unknown, so a caller can fetch rather than guess.
                #expect(Self.readNow(liveA, budgets) == [nil])
                #expect(liveA.spend(counterKey: ledgerA.counterKey(Self.monthly, at: Date())) == nil)
                #expect(try await liveA.fetch(budgets) == [0])
                #expect(try await liveB.fetch(budgets) == [0])

                recorderA.record(Self.record("a-1", cost: 0.25), budgets: budgets)
                #expect(Self.readNow(liveA, budgets) == [0.25])
                try await Self.flushAll(recorderA)
                #expect(Self.readNow(liveA, budgets) == [0.25])
                #expect(Self.readNow(liveB, budgets) == [0])
                try await liveB.refresh()
                #expect(Self.readNow(liveB, budgets) == [0.25])

                // B's flush answers the cluster's total: B now sees A's spend and its own.
                recorderB.record(Self.record("b-1", cost: 0.5), budgets: budgets)
                #expect(Self.readNow(liveB, budgets) == [0.75])
                try await Self.flushAll(recorderB)
                #expect(Self.readNow(liveB, budgets) == [0.75])
                #expect(Self.readNow(liveA, budgets) == [0.25])
                recorderA.record(Self.record("a-2", cost: 0.25), budgets: budgets)
                try await Self.flushAll(recorderA)
                #expect(Self.readNow(liveA, budgets) == [1.0])
                // A counter reset in Redis (an operator's DEL) is seen at the next refresh.
                try await redisA.send(["DEL", RedisArgument(ledgerA.counterKey(Self.monthly, at: Date()))])
                try await liveA.refresh()
                #expect(Self.readNow(liveA, budgets) == [0])
            }
        }
    }

    @Test("the refresher brings another node's flushed spend within its interval, and stops at shutdown")
    func refresherRuns() async throws {
        try await withTestRedisKeys { redis, prefix in
            let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
            let watcher = LiveSpend(ledger: ledger, refreshInterval: .milliseconds(100), logger: TestEnvironment.logger)
            let spender = SpendRecorder(ledger: ledger, logger: TestEnvironment.logger)
            let budgets = [Self.daily]
            #expect(try await watcher.fetch(budgets) == [0])
            let refresher = Task { try await watcher.run() }
            spender.record(Self.record("x", cost: 0.125), budgets: budgets)
            try await Self.flushAll(spender)
            // `current` never reads Redis itself: only the refresher can bring the other node's spend.
            // (100 ms interval; the timeout is room for a loaded 2-core CI machine.)
            let seen = try await eventually(timeout: .seconds(10)) { watcher.current(budgets)[0] == 0.125 ? true : nil }
            #expect(seen == true)
            refresher.cancel()
            try await refresher.value
        }
    }

    @Test("with Redis unreachable the live view keeps the last totals plus this node's unflushed cost")
    func liveSpendWithoutRedis() async throws {
        try await withTestRedisKeys { (_: RedisClient, prefix: String) async throws in
            let redis = RedisClient(configuration: TestEnvironment.redisConfiguration, logger: TestEnvironment.logger)
            let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
            let live = LiveSpend(ledger: ledger, logger: TestEnvironment.logger)
            let recorder = SpendRecorder(ledger: ledger, liveSpend: live, logger: TestEnvironment.logger)
            let budgets = [Self.monthly, Self.lifetime]
            #expect(try await live.fetch(budgets) == [0, 0])
            recorder.record(Self.record("a", cost: 0.25), budgets: budgets)
            try await Self.flushAll(recorder)
            await redis.close()

            recorder.record(Self.record("b", cost: 0.5), budgets: budgets)
            await recorder.flush()
            #expect(recorder.pendingCount == 1)
            await #expect(throws: RedisClientError.self) { try await live.refresh() }
            await #expect(throws: RedisClientError.self) { try await live.fetch(budgets) }
            #expect(Self.readNow(live, budgets) == [0.75, 0.75])
        }
    }

    @Test("the live view keeps a bounded set: unused counters are forgotten, the least recently used first")
    func liveSpendIsBounded() async throws {
        try await withTestRedisKeys { redis, prefix in
            let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
            let live = LiveSpend(ledger: ledger, refreshInterval: .milliseconds(100), retention: .milliseconds(300),
                capacity: 5, logger: TestEnvironment.logger)
            let budgets = (0..<8).map { index in
                BudgetRecord(id: UUID(), subject: .team("team-\(index)"), maxBudget: 1, softBudget: nil,
                    duration: nil, periodStart: Self.origin)
            }
            for budget in budgets { _ = live.current([budget]) }
            #expect(live.trackedCount == 8)
            try await live.refresh()
            #expect(live.trackedCount == 5)
            // Unflushed cost is kept whatever its age; one counter stays in use.
            live.add(cost: 1, budgets: [budgets[0]], at: Date())
            for _ in 0..<4 {
                _ = live.current([budgets[7]])
                try await live.refresh()
            }
            #expect(live.trackedCount == 2)
            #expect(live.current([budgets[0]]) == [1])
            #expect(live.current([budgets[7]]) == [0])
        }
    }

    @Test("flushes are at least the minimum gap apart however often they are asked for")
    func minimumGap() async throws {
        let loop = FlushLoop(interval: .seconds(60), minimumGap: .milliseconds(200))
        let flushes = Mutex(0)
        let running = Task { await loop.run { flushes.withLock { $0 += 1 } } }
        let started = ContinuousClock.now
        for _ in 0..<60 {
            loop.poke()
            try await Task.sleep(for: .milliseconds(10))
        }
        let elapsed = ContinuousClock.now - started
        let count = flushes.withLock { $0 }
        #expect(count >= 2)
        #expect(count <= Int(elapsed / .milliseconds(200)) + 1, "\(count) flushes in \(elapsed)")
        running.cancel()
        await running.value
    }

    @Test("Must show: under a 10-second load from many tasks on two nodes, every record has exactly one row after a flush")
    func exactlyOnceUnderLoad() async throws {
        try await withMigratedDatabase { client, _ in
            try await withTestRedisKeys { redis, prefix in
                let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
                try await ledger.ensureGroup()
                let store = SpendLogStore(client: client, logger: TestEnvironment.logger)
                let nodes = (0..<2).map { index in
                    let live = LiveSpend(ledger: ledger, logger: TestEnvironment.logger)
                    return (live: live,
                        recorder: SpendRecorder(ledger: ledger, liveSpend: live, logger: TestEnvironment.logger),
                        writer: SpendLogWriter(ledger: ledger, store: store, consumer: "node-\(index)",
                            interval: .milliseconds(100), staleAfter: .seconds(2), logger: TestEnvironment.logger))
                }
                let budgets = [Self.monthly]
                let cost = 0.0001
                let recorded = try await withThrowingTaskGroup(of: Void.self) { services in
                    for node in nodes {
                        services.addTask { try await node.recorder.run() }
                        services.addTask { try await node.writer.run() }
                        services.addTask { try await node.live.run() }
                    }
                    let deadline = ContinuousClock.now + .seconds(10)
                    let recorded = await withTaskGroup(of: Int.self) { producers in
                        for task in 0..<16 {
                            producers.addTask {
                                let node = nodes[task % 2]
                                var count = 0
                                while ContinuousClock.now < deadline {
                                    node.recorder.record(Self.record("load-\(task)-\(count)", cost: cost), budgets: budgets)
                                    count += 1
                                    try? await Task.sleep(for: .milliseconds(5))
                                }
                                return count
                            }
                        }
                        return await producers.reduce(0, +)
                    }
                    // Shutdown: each recorder flushes what it still holds.
                    services.cancelAll()
                    try await services.waitForAll()
                    return recorded
                }
                // Alone on this machine the load records ~15,000; with every suite running, far fewer.
                #expect(recorded >= 16, "the load recorded only \(recorded) records")
                // The shutdown flush sent everything (or, if Redis failed it under load, a retry does).
                for node in nodes { try await Self.flushAll(node.recorder) }

                // What the stopped writers left (claimed or not) is taken over and written once.
                let drain = SpendLogWriter(ledger: ledger, store: store, consumer: "drain", staleAfter: .zero,
                    logger: TestEnvironment.logger)
                let drained = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < drained, try await Self.streamLength(ledger) > 0 {
                    // A failed attempt (a connection lost under load) is retried, as the service would.
                    if (try? await drain.writeBatch()) == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(try await Self.streamLength(ledger) == 0)
                let (count, total) = try await Self.rows(client)
                #expect(count == recorded)
                #expect(abs(total - Double(recorded) * cost) < 1e-6)
                let counter = try await ledger.totals([ledger.counterKey(Self.monthly, at: Date())])[0] ?? 0
                #expect(abs(counter - Double(recorded) * cost) < 1e-6)
                // Each node's view converges on the counter once it has read the other's last flush.
                for node in nodes {
                    try await node.live.refresh()
                    #expect(abs((node.live.current(budgets)[0] ?? 0) - counter) < 1e-6)
                }
            }
        }
    }

    @Test("the writer recovers when the stream and its group disappear (Redis emptied, the key deleted)")
    func recreatesGroup() async throws {
        try await withMigratedDatabase { client, _ in
            try await withTestRedisKeys { redis, prefix in
                let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
                let recorder = SpendRecorder(ledger: ledger, logger: TestEnvironment.logger)
                let writer = SpendLogWriter(ledger: ledger, store: SpendLogStore(client: client,
                    logger: TestEnvironment.logger), consumer: "node-a", interval: .milliseconds(50),
                    logger: TestEnvironment.logger)
                let running = Task { try await writer.run() }
                recorder.record(Self.record("before", cost: 0.01), budgets: [])
                try await Self.flushAll(recorder)
                let first = try await eventually(timeout: .seconds(15)) { try await Self.rows(client).count == 1 ? true : nil }
                #expect(first == true)

                try await redis.send(["DEL", RedisArgument(ledger.stream)])
                // The next XADD makes the stream again, without the writers' group.
                recorder.record(Self.record("after", cost: 0.01), budgets: [])
                try await Self.flushAll(recorder)
                let second = try await eventually(timeout: .seconds(15)) { try await Self.rows(client).count == 2 ? true : nil }
                #expect(second == true)
                running.cancel()
                try await running.value
            }
        }
    }

    @Test("a node that did not see the stream lost (another node's writer made its group again) sends what Redis took lately again")
    func epochNoticesLoss() async throws {
        try await withTestRedisKeys { redis, prefix in
            let (a, b) = (SpendLedger(redis: redis, namespace: prefix + "ns"), SpendLedger(redis: redis, namespace: prefix + "ns"))
            try await a.ensureGroup()
            let recorderA = SpendRecorder(ledger: a, logger: TestEnvironment.logger)
            let recorderB = SpendRecorder(ledger: b, logger: TestEnvironment.logger)
            recorderB.record(Self.record("b-before", cost: 0.01), budgets: [])
            try await Self.flushAll(recorderB)

            // Redis restarts empty; node A's writer makes the group again, node A flushes.
            try await redis.send(["DEL", RedisArgument(a.stream), RedisArgument(a.epochKey)])
            try await a.ensureGroup()
            recorderA.record(Self.record("a-after", cost: 0.01), budgets: [])
            try await Self.flushAll(recorderA)
            // Node B, idle, checks on its next flush and sends its recent records again.
            await recorderB.flush()
            try await Self.flushAll(recorderB)
            let entries = try await a.claim(consumer: "reader", count: 100, staleAfter: .seconds(30))
            #expect(Set(entries.flatMap(\.records).map(\.requestID)) == ["a-after", "b-before"])
        }
    }
}
