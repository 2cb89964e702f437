import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Spend log batch insert")
struct SpendLogStoreTests {
    /// A record whose optional fields are nil for some indexes, so a batch mixes NULLs and values.
    static func record(_ index: Int, prefix: String = "r", cost: Double = 0.0015) -> SpendRecord {
        SpendRecord(requestID: "\(prefix)-\(index)", at: Date(timeIntervalSince1970: 1_700_000_000 + Double(index)),
            keyID: index % 2 == 0 ? "key-\(index % 7)" : nil, keyAlias: index % 3 == 0 ? nil : "alias ’\(index)",
            teamID: index % 5 == 0 ? nil : "team-\(index % 4)", userID: index % 4 == 0 ? "user-\(index)" : nil,
            modelRequested: "gpt-test", modelServed: index % 6 == 0 ? nil : "gpt-test-\(index % 2)",
            provider: index % 9 == 0 ? nil : "openai", promptTokens: index, completionTokens: 2 * index,
            cachedTokens: index % 3, cost: cost, latencyMilliseconds: index % 1000, status: index % 10 == 0 ? 500 : 200,
            stream: index % 2 == 1, endpoint: index % 8 == 0 ? nil : FrontDoor.all[index % FrontDoor.all.count])
    }

    static func scalar(_ client: PostgresClient, _ sql: PostgresQuery) async throws -> Int {
        for try await (value) in try await client.query(sql, logger: TestEnvironment.logger).decode(Int.self) {
            return value
        }
        return -1
    }

    @Test("2,000 records in one insert: every field, NULLs included, reads back as written")
    func batchRoundTrip() async throws {
        try await withMigratedDatabase { client, _ in
            let store = SpendLogStore(client: client, logger: TestEnvironment.logger)
            let records = (0..<2_000).map { Self.record($0) }
            try await store.insert(records)
            let stored = try await store.logs(.init(limit: 5_000))
            #expect(stored.count == 2_000)
            let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.requestID, $0) })
            for record in records {
                #expect(byID[record.requestID] == record)
            }
            // NULL, not an empty string, where a field was nil.
            let nullKeys = try await Self.scalar(client, "SELECT count(*)::int8 FROM spend_logs WHERE key_id IS NULL")
            #expect(nullKeys == records.filter { $0.keyID == nil }.count)
            let nullProviders = try await Self.scalar(client,
                "SELECT count(*)::int8 FROM spend_logs WHERE provider IS NULL")
            #expect(nullProviders == records.filter { $0.provider == nil }.count)
            let nullEndpoints = try await Self.scalar(client,
                "SELECT count(*)::int8 FROM spend_logs WHERE endpoint IS NULL")
            #expect(nullEndpoints == records.filter { $0.endpoint == nil }.count && nullEndpoints > 0)
            let totals = try await store.totals(by: .key)
            #expect(abs(totals.reduce(0) { $0 + $1.cost } - 2_000 * 0.0015) < 1e-9)
        }
    }

    @Test("a replayed batch adds nothing; an overlapping one adds only its new records; a repeat within a batch is one row")
    func exactlyOnce() async throws {
        try await withMigratedDatabase { client, _ in
            let store = SpendLogStore(client: client, logger: TestEnvironment.logger)
            let first = (0..<1_000).map { Self.record($0) }
            try await store.insert(first)
            try await store.insert(first)
            let overlapping = (500..<1_500).map { Self.record($0) }
            try await store.insert(overlapping)
            try await store.insert([Self.record(5_000), Self.record(5_000), Self.record(5_001)])
            #expect(try await Self.scalar(client, "SELECT count(*)::int8 FROM spend_logs") == 1_502)
            // The stored row is the first one written: a replay does not overwrite it.
            try await store.insert([Self.record(0, cost: 9)])
            #expect(try await store.logs(.init(limit: 5_000)).first { $0.requestID == "r-0" }?.cost == 0.0015)
        }
    }

    @Test("an empty batch sends nothing; a batch PostgreSQL refuses writes none of its rows")
    func emptyAndRefused() async throws {
        try await withMigratedDatabase { client, _ in
            let store = SpendLogStore(client: client, logger: TestEnvironment.logger)
            try await store.insert([])
            var tooSlow = Self.record(2)
            // latency_ms is an integer column: this does not fit, so the statement fails as a whole.
            tooSlow.latencyMilliseconds = Int(Int32.max) + 1
            await #expect(throws: PSQLError.self) {
                try await store.insert([Self.record(1), tooSlow, Self.record(3)])
            }
            #expect(try await Self.scalar(client, "SELECT count(*)::int8 FROM spend_logs") == 0)
        }
    }

    @Test("costs keep ten decimal places; NULL-only and value-only columns both encode")
    func precisionAndAllNull() async throws {
        try await withMigratedDatabase { client, _ in
            let store = SpendLogStore(client: client, logger: TestEnvironment.logger)
            var tiny = Self.record(1, cost: 0.000_000_123_4)
            tiny.keyID = nil
            var other = Self.record(3, cost: 12_345.678_901_234)
            other.keyID = nil
            try await store.insert([tiny, other])
            let stored = try await store.logs(.init(limit: 10))
            #expect(stored.first { $0.requestID == "r-1" }?.cost == 0.000_000_123_4)
            #expect(stored.first { $0.requestID == "r-3" }?.cost == 12_345.678_901_234)
            #expect(stored.allSatisfy { $0.keyID == nil })
        }
    }
}
