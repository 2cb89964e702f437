import Foundation
import Logging
import PostgresNIO
import ScutumCluster
import ScutumCore
import ScutumProxy
import ScutumRedis
import ScutumStore
import ScutumTestSupport
import ServiceLifecycle
import Testing

/// Nothing lost: spend while Redis is unreachable goes straight to PostgreSQL (once per request id,
/// also when it later reaches the stream too), its cost reaches the budget counters when Redis is
/// back, graceful shutdown writes what is buffered, and the buffer is bounded, drops counted. A
/// record even the dead-letter table refuses is counted and blocks nothing.
@Suite("Spend durability")
struct SpendDurabilityTests {
    typealias Spend = SpendWriteBehindTests

    /// Redis through a relay the test can cut, for one ledger and its recorder.
    struct CutRedis {
        let relay: TCPRelay
        let client: RedisClient
        let ledger: SpendLedger

        init(namespace: String) async throws {
            var configuration = TestEnvironment.redisConfiguration
            relay = try await TCPRelay.start(to: configuration.host, port: configuration.port)
            configuration.host = "127.0.0.1"
            configuration.port = relay.port
            configuration.reconnectBackoff = .milliseconds(20)
            client = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
            ledger = SpendLedger(redis: client, namespace: namespace)
        }

        func close() async {
            await client.close()
            await relay.stop()
        }
    }

    /// A recorder writing straight to `client`'s database, whose Redis is cut from the start.
    static func withRedisDown(_ client: PostgresClient, capacity: Int = SpendRecorder.defaultCapacity,
        directAfter: Duration, _ body: (SpendRecorder) async throws -> Void) async throws
    {
        try await withTestRedisKeys { _, prefix in
            let cut = try await CutRedis(namespace: prefix + "ns")
            cut.relay.cut()
            let recorder = SpendRecorder(ledger: cut.ledger,
                store: SpendLogStore(client: client, logger: TestEnvironment.logger), capacity: capacity,
                directAfter: directAfter, logger: TestEnvironment.logger)
            do {
                try await body(recorder)
            } catch {
                await cut.close()
                throw error
            }
            await cut.close()
        }
    }

    static func ids(_ client: PostgresClient) async throws -> [String] {
        let rows = try await client.query("SELECT request_id FROM spend_logs ORDER BY request_id",
            logger: TestEnvironment.logger)
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    static func metric(_ counts: SpendCounts, _ line: String) -> Bool {
        let metrics = ProxyMetrics()
        metrics.watchSpend(counts)
        return String(decoding: metrics.exposition(), as: UTF8.self).contains(line + "\n")
    }

    @Test("with Redis unreachable records reach spend_logs straight, exactly once; back, Redis gets their cost and the stream adds no duplicate",
        .disabled(if: TestEnvironment.redisIsCluster, "cuts one Redis server through a relay; a cluster client follows MOVED past it"))
    func redisDownStraightToPostgres() async throws {
        try await withMigratedDatabase { client, _ in
            try await withTestRedisKeys { redis, prefix in
                let cut = try await CutRedis(namespace: prefix + "ns")
                let direct = SpendLedger(redis: redis, namespace: prefix + "ns")
                try await direct.ensureGroup()
                let live = LiveSpend(ledger: cut.ledger, logger: TestEnvironment.logger)
                let recorder = SpendRecorder(ledger: cut.ledger, liveSpend: live,
                    store: SpendLogStore(client: client, logger: TestEnvironment.logger),
                    directAfter: .milliseconds(400), logger: TestEnvironment.logger)
                let budgets = [Spend.lifetime]
                #expect(try await live.fetch(budgets) == [0])
                cut.relay.cut()

                let down = (0..<50).map { Spend.record("down-\($0)", cost: 0.01) }
                for record in down { recorder.record(record, budgets: budgets) }
                await recorder.flush()
                // Within `directAfter`: still waiting for Redis.
                #expect(recorder.pendingCount == 50)
                #expect(try await Self.ids(client).isEmpty)
                let drained = try await eventually(timeout: .seconds(15)) { () async -> Bool? in
                    await recorder.flush()
                    return recorder.pendingCount == 0 ? true : nil
                }
                #expect(drained == true)
                #expect(try await Self.ids(client) == down.map(\.requestID).sorted())
                #expect(recorder.counts.writtenDirectly == 50)
                #expect(Self.metric(recorder.counts, "scutum_spend_direct_writes_total 50"))
                // The cost waits for Redis, and this node still sees it.
                #expect(recorder.heldCount == 50)
                #expect(abs((live.current(budgets)[0] ?? 0) - 0.5) < 1e-9)
                let key = direct.counterKey(Spend.lifetime, at: Date())
                #expect(try await direct.totals([key]) == [nil])

                // Redis is back: the held cost and new records go there.
                cut.relay.restore()
                let up = (0..<10).map { Spend.record("up-\($0)", cost: 0.01) }
                for record in up { recorder.record(record, budgets: budgets) }
                try await Spend.flushAll(recorder)
                #expect(recorder.heldCount == 0)
                #expect(abs((try await direct.totals([key])[0] ?? 0) - 0.6) < 1e-9)
                // A flush whose reply was lost may also have put records written straight into the
                // stream: replay some.
                var replay = SpendBatch()
                for record in down.prefix(20) { replay.add(record, counters: []) }
                _ = try await direct.write(replay, recordsPerEntry: 1_000)
                let writer = SpendLogWriter(ledger: direct, store: SpendLogStore(client: client,
                    logger: TestEnvironment.logger), consumer: "node-a", logger: TestEnvironment.logger)
                while try await writer.writeBatch() > 0 {}
                #expect(try await Self.ids(client) == (down + up).map(\.requestID).sorted())
                #expect(try await Spend.streamLength(direct) == 0)
                await cut.close()
            }
        }
    }

    @Test("a node whose Redis dies writes the spend of requests it serves meanwhile straight to PostgreSQL")
    func nodeWithoutRedis() async throws {
        let own = RedisOutageTests.OwnRedis()
        try await own.start()
        defer { own.kill() }
        try await Gateway.with(variables: ["SCUTUM_SPEND_DIRECT_AFTER_SECONDS": "0.5"],
            redisURL: "redis://127.0.0.1:\(own.port)/0") { gateway in
            let (key, record) = try await gateway.keys.create(alias: "outage")
            let client = gateway.node.postgres
            func rows() async throws -> Int {
                try await PlatformTests.count(client,
                    "SELECT count(*)::int8, 0::float8 FROM spend_logs WHERE key_id = \(record.keyID) AND status = 200").0
            }
            #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)
            // Through Redis and the stream writer first.
            _ = try await eventually(timeout: .seconds(15)) { try await rows() == 1 ? true : nil }

            own.kill()
            for _ in 0..<3 {
                #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)
            }
            let written = try await eventually(timeout: .seconds(20)) { try await rows() == 4 ? true : nil }
            #expect(written == true)
            let metrics = try await gateway.request("/metrics", method: .GET, key: nil).body
            #expect((MetricsTests.sample(metrics, "scutum_spend_direct_writes_total") ?? 0) >= 3)
            #expect(MetricsTests.sample(metrics, "scutum_spend_records_dropped_total") == 0)
        }
    }

    @Test("on graceful shutdown with Redis unreachable, the buffered records go straight to PostgreSQL",
        .disabled(if: TestEnvironment.redisIsCluster, "cuts one Redis server through a relay; a cluster client follows MOVED past it"))
    func shutdownWritesStraight() async throws {
        try await withMigratedDatabase { client, _ in
            // Never straight on its own within the test: only the shutdown does it.
            try await Self.withRedisDown(client, directAfter: .seconds(3_600)) { recorder in
                let group = ServiceGroup(services: [recorder], logger: TestEnvironment.logger)
                let running = Task { try await group.run() }
                let records = (0..<30).map { Spend.record("term-\($0)", cost: 0.01) }
                for record in records { recorder.record(record, budgets: [Spend.lifetime]) }
                // A few flushes fail meanwhile; nothing is written yet.
                try await Task.sleep(for: .milliseconds(600))
                #expect(try await Self.ids(client).isEmpty)
                await group.triggerGracefulShutdown()
                try await running.value
                #expect(recorder.pendingCount == 0)
                #expect(try await Self.ids(client) == records.map(\.requestID).sorted())
            }
        }
    }

    @Test("on graceful shutdown with Redis up, the last records go to the stream")
    func shutdownFlushesToRedis() async throws {
        try await withTestRedisKeys { redis, prefix in
            let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
            try await ledger.ensureGroup()
            // A long gap: the records queued after the first flush wait for the shutdown's.
            let recorder = SpendRecorder(ledger: ledger, interval: .seconds(3_600), minimumGap: .seconds(3_600),
                logger: TestEnvironment.logger)
            let group = ServiceGroup(services: [recorder], logger: TestEnvironment.logger)
            let running = Task { try await group.run() }
            recorder.record(Spend.record("first", cost: 0.01), budgets: [])
            _ = try await eventually(timeout: .seconds(10)) { recorder.pendingCount == 0 ? true : nil }
            for index in 0..<5 { recorder.record(Spend.record("last-\(index)", cost: 0.01), budgets: []) }
            #expect(recorder.pendingCount == 5)
            await group.triggerGracefulShutdown()
            try await running.value
            #expect(recorder.pendingCount == 0)
            let entries = try await ledger.claim(consumer: "reader", count: 10, staleAfter: .seconds(30))
            #expect(entries.flatMap(\.records).map(\.requestID) == ["first"] + (0..<5).map { "last-\($0)" })
        }
    }

    @Test("the buffer is bounded: beyond it records go straight to PostgreSQL, and while that fails too the oldest are dropped and counted",
        .disabled(if: TestEnvironment.redisIsCluster, "cuts one Redis server through a relay; a cluster client follows MOVED past it"))
    func boundedBuffer() async throws {
        try await withMigratedDatabase { client, _ in
            try await Self.withRedisDown(client, capacity: 10, directAfter: .seconds(3_600)) { recorder in
                // PostgreSQL takes them: a full buffer goes straight there before `directAfter`.
                for index in 0..<12 { recorder.record(Spend.record("a-\(index)", cost: 0.01), budgets: []) }
                await recorder.flush()
                #expect(recorder.pendingCount == 0)
                #expect(try await Self.ids(client).count == 12)

                // PostgreSQL refuses too (its table is away): the newest `capacity` records are kept.
                try await client.query("ALTER TABLE spend_logs RENAME TO spend_logs_away", logger: TestEnvironment.logger)
                for index in 0..<25 { recorder.record(Spend.record("b-\(index)", cost: 0.01), budgets: []) }
                // Up to twice the bound while no write has failed yet; the flush learns PostgreSQL is down.
                #expect(recorder.pendingCount == 20)
                #expect(recorder.counts.dropped == 5)
                await recorder.flush()
                #expect(recorder.pendingCount == 10)
                #expect(recorder.counts.dropped == 15)
                // Now each new record pushes the oldest out at once.
                for index in 25..<30 { recorder.record(Spend.record("b-\(index)", cost: 0.01), budgets: []) }
                #expect(recorder.pendingCount == 10)
                #expect(recorder.counts.dropped == 20)
                #expect(Self.metric(recorder.counts, "scutum_spend_records_dropped_total 20"))

                try await client.query("ALTER TABLE spend_logs_away RENAME TO spend_logs", logger: TestEnvironment.logger)
                await recorder.flush()
                #expect(recorder.pendingCount == 0)
                let stored = try await Self.ids(client).filter { $0.hasPrefix("b-") }
                #expect(stored == (20..<30).map { "b-\($0)" }.sorted())
            }
        }
    }

    @Test("a refused record whose dead letter is refused too is logged and counted; the others are written and the batch acknowledged")
    func deadLetterRefused() async throws {
        try await withMigratedDatabase { client, _ in
            try await withTestRedisKeys { redis, prefix in
                let ledger = SpendLedger(redis: redis, namespace: prefix + "ns")
                try await ledger.ensureGroup()
                try await client.query("DROP TABLE spend_dead_letters", logger: TestEnvironment.logger)
                let recorder = SpendRecorder(ledger: ledger, logger: TestEnvironment.logger)
                let refused = Spend.refused()
                for record in [Spend.record("a", cost: 0.01), refused, Spend.record("b", cost: 0.01)] {
                    recorder.record(record, budgets: [])
                }
                try await Spend.flushAll(recorder)
                let counts = SpendCounts()
                let writer = SpendLogWriter(ledger: ledger, store: SpendLogStore(client: client,
                    logger: TestEnvironment.logger), consumer: "node-a", counts: counts, logger: TestEnvironment.logger)
                #expect(try await writer.writeBatch() == 3)
                #expect(try await Self.ids(client) == ["a", "b"])
                #expect(try await Spend.streamLength(ledger) == 0)
                #expect(counts.deadLettered == 0)
                #expect(counts.deadLetterFailures == 1)
                #expect(Self.metric(counts, "scutum_spend_dead_letter_failures_total 1"))
            }
        }
    }

    @Test("a record written straight that PostgreSQL refuses moves to the dead letters too",
        .disabled(if: TestEnvironment.redisIsCluster, "cuts one Redis server through a relay; a cluster client follows MOVED past it"))
    func straightWriteDeadLetters() async throws {
        try await withMigratedDatabase { client, _ in
            try await Self.withRedisDown(client, directAfter: .zero) { recorder in
                let refused = Spend.refused()
                var nul = Spend.record("nul\u{0}", cost: 0.01)
                nul.keyAlias = "alias\u{0}"
                for record in [Spend.record("a", cost: 0.01), refused, nul] { recorder.record(record, budgets: []) }
                await recorder.flush()
                #expect(recorder.pendingCount == 0)
                #expect(try await Self.ids(client) == ["a", "nul"])
                let letters = try await SpendDeadLetterStore(client: client, logger: TestEnvironment.logger).list()
                #expect(letters.map(\.requestID) == ["refused"])
                #expect(recorder.counts.deadLettered == 1)
            }
        }
    }
}
