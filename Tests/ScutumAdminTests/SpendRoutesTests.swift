import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

@Suite("Admin API: spend")
struct SpendRoutesTests {
    static func record(_ id: String, at: String, key: String, team: String?, user: String?, model: String,
        cost: Double, endpoint: String? = FrontDoor.chat) -> SpendRecord
    {
        SpendRecord(requestID: id, at: ISOTime.parse(at)?.date ?? Date(), keyID: key, keyAlias: nil, teamID: team,
            userID: user, modelRequested: model, modelServed: model, provider: "openai", promptTokens: 10,
            completionTokens: 5, cachedTokens: 0, cost: cost, latencyMilliseconds: 12, status: 200, stream: false,
            endpoint: endpoint)
    }

    static let records = [
        record("r1", at: "2025-01-10T10:00:00Z", key: "k1", team: "t1", user: "ada", model: "gpt-5-mini", cost: 1,
            endpoint: nil),
        record("r2", at: "2025-01-20T10:00:00.250Z", key: "k1", team: "t1", user: "ada", model: "claude-sonnet-4.5", cost: 2,
            endpoint: FrontDoor.messages),
        record("r3", at: "2025-01-31T23:00:00Z", key: "k2", team: nil, user: "alan", model: "gpt-5-mini", cost: 4),
        record("r4", at: "2025-02-05T10:00:00Z", key: "k2", team: nil, user: nil, model: "gpt-5-mini", cost: 8),
    ]

    @Test("logs: filters, date ranges (ISO-8601 or YYYY-MM-DD, end date inclusive), limit; 422 for bad parameters")
    func logs() async throws {
        try await AdminFixture.withAPI { api, client in
            try await SpendLogStore(client: client, logger: TestEnvironment.logger).insert(Self.records)
            func ids(_ query: String) async throws -> [String] {
                try await api.ok(.get, "/api/v1/spend/logs\(query)")["logs"]?.arrayValue?
                    .compactMap { $0["request_id"]?.stringValue } ?? []
            }
            #expect(try await ids("") == ["r4", "r3", "r2", "r1"])
            #expect(try await ids("?key_id=k1") == ["r2", "r1"])
            #expect(try await ids("?team_id=t1&model=claude-sonnet-4.5") == ["r2"])
            #expect(try await ids("?user_id=alan") == ["r3"])
            #expect(try await ids("?start=2025-01-15&end=2025-01-31") == ["r3", "r2"])
            #expect(try await ids("?start=2025-01-20T10:00:00Z&end=2025-02-01T00:00:00%2B00:00") == ["r3", "r2"])
            #expect(try await ids("?limit=1") == ["r4"])

            let first = try #require(try await api.ok(.get, "/api/v1/spend/logs?key_id=k1")["logs"]?.arrayValue?.last)
            #expect(first["at"] == "2025-01-10T10:00:00.000Z")
            #expect(first["cost"]?.doubleValue == 1 && first["prompt_tokens"] == 10 && first["status"] == 200)

            expectValidationError(try await api.call(.get, "/api/v1/spend/logs?limit=0"), at: "query.limit")
            expectValidationError(try await api.call(.get, "/api/v1/spend/logs?limit=1001"), at: "query.limit")
            expectValidationError(try await api.call(.get, "/api/v1/spend/logs?limit=ten"), at: "query.limit")
            expectValidationError(try await api.call(.get, "/api/v1/spend/logs?start=yesterday"), at: "query.start")
        }
    }

    @Test("logs: each row has its deployment, cache writes, reasoning tokens and cost parts (null parts when unknown)")
    func costParts() async throws {
        try await AdminFixture.withAPI { api, client in
            var priced = Self.record("p1", at: "2025-03-01T10:00:00Z", key: "k9", team: nil, user: nil,
                model: "claude-sonnet-4.5", cost: 0.0453)
            priced.cachedTokens = 1_000
            priced.cacheWriteTokens = 5_000
            priced.reasoningTokens = 3
            priced.costParts = SpendRecord.CostParts(input: 0.012, output: 0.0075, cacheRead: 0.0003, cacheWrite: 0.0255)
            priced.deploymentID = "claude-sonnet-4.5#eu"
            let older = Self.record("p0", at: "2025-03-01T09:00:00Z", key: "k9", team: nil, user: nil, model: "gpt-5-mini",
                cost: 1)
            try await SpendLogStore(client: client, logger: TestEnvironment.logger).insert([priced, older])
            let logs = try await api.ok(.get, "/api/v1/spend/logs?key_id=k9")["logs"]?.arrayValue ?? []
            #expect(logs.count == 2)
            let first = try #require(logs.first)
            #expect(first["deployment_id"] == "claude-sonnet-4.5#eu")
            #expect(first["cached_tokens"] == 1000 && first["cache_write_tokens"] == 5000 && first["reasoning_tokens"] == 3)
            #expect(first["cost_parts"] == ["input": 0.012, "output": 0.0075, "cache_read": 0.0003, "cache_write": 0.0255])
            #expect(first["cost"]?.doubleValue == 0.0453)
            let second = try #require(logs.last)
            #expect(second["cost_parts"] == .null && second["deployment_id"] == .null)
            #expect(second["cache_write_tokens"] == 0 && second["reasoning_tokens"] == 0)
        }
    }

    @Test("logs: each row has its endpoint (null when unknown); ?endpoint= keeps one front door's rows; 422 for another value")
    func endpoints() async throws {
        try await AdminFixture.withAPI { api, client in
            try await SpendLogStore(client: client, logger: TestEnvironment.logger).insert(Self.records)
            let logs = try await api.ok(.get, "/api/v1/spend/logs")["logs"]?.arrayValue ?? []
            #expect(logs.map { $0["endpoint"] } == ["/v1/chat/completions", "/v1/chat/completions", "/v1/messages", .null])
            func ids(_ endpoint: String) async throws -> [String] {
                try await api.ok(.get, "/api/v1/spend/logs?endpoint=\(endpoint)")["logs"]?.arrayValue?
                    .compactMap { $0["request_id"]?.stringValue } ?? []
            }
            #expect(try await ids("/v1/chat/completions") == ["r4", "r3"])
            #expect(try await ids("%2Fv1%2Fmessages") == ["r2"])
            #expect(try await ids("/v1/messages&key_id=k2") == [])
            #expect(try await ids("workflow") == [])
            for bad in ["/v1/chat", "chat", "/V1/MESSAGES", "%2Fv1%2Fmessages%00"] {
                expectValidationError(try await api.call(.get, "/api/v1/spend/logs?endpoint=\(bad)"), at: "query.endpoint")
            }

            let totals = try await api.ok(.get, "/api/v1/spend/endpoints?end=2025-01-31")["totals"]?.arrayValue ?? []
            #expect(Set(totals.compactMap { $0["endpoint"] }) == [.null, "/v1/messages", "/v1/chat/completions"])
            #expect(totals.first { $0["endpoint"] == "/v1/chat/completions" }?["total_cost"]?.doubleValue == 4)
        }
    }

    @Test("dead letters: refused records newest first with their JSON and PostgreSQL's error; admin only; limit checked")
    func deadLetters() async throws {
        try await AdminFixture.withAPI { api, client in
            struct Refused: Error {}
            let store = SpendDeadLetterStore(client: client, logger: TestEnvironment.logger)
            try await store.keep(Self.records[0], refusedWith: Refused())
            let reply = try await api.ok(.get, "/api/v1/spend/dead-letters")
            let letters = reply["dead_letters"]?.arrayValue ?? []
            #expect(letters.map { $0["request_id"] } == ["r1"])
            #expect(letters.first?["record"]?["model_requested"] == "gpt-5-mini")
            #expect(letters.first?["error"]?.stringValue?.contains("Refused") == true)
            #expect(letters.first?["at"]?.stringValue != nil)
            expectError(try await api.call(.get, "/api/v1/spend/dead-letters", as: AdminFixture.token(role: .user)),
                .forbidden, "Admin role required")
            expectValidationError(try await api.call(.get, "/api/v1/spend/dead-letters?limit=0"), at: "query.limit")
        }
    }

    @Test("totals per key, team, user and model, within start/end")
    func totals() async throws {
        try await AdminFixture.withAPI { api, client in
            try await SpendLogStore(client: client, logger: TestEnvironment.logger).insert(Self.records)
            let keys = try await api.ok(.get, "/api/v1/spend/keys")["totals"]?.arrayValue ?? []
            #expect(keys == [
                ["key_id": "k2", "requests": 2, "prompt_tokens": 20, "completion_tokens": 10, "total_cost": 12],
                ["key_id": "k1", "requests": 2, "prompt_tokens": 20, "completion_tokens": 10, "total_cost": 3],
            ])
            let teams = try await api.ok(.get, "/api/v1/spend/teams?end=2025-01-31")["totals"]?.arrayValue ?? []
            #expect(Set(teams.compactMap { $0["team_id"] }) == [.null, "t1"])
            #expect(teams.first { $0["team_id"] == .null }?["total_cost"]?.doubleValue == 4)
            let users = try await api.ok(.get, "/api/v1/spend/users?start=2025-01-15")["totals"]?.arrayValue ?? []
            #expect(users.first { $0["user_id"] == "ada" }?["requests"] == 1)
            let models = try await api.ok(.get, "/api/v1/spend/models")["totals"]?.arrayValue ?? []
            #expect(models.first?["model"] == "gpt-5-mini" && models.first?["total_cost"]?.doubleValue == 13)
            expectValidationError(try await api.call(.get, "/api/v1/spend/models?end=2025-13-45"), at: "query.end")
        }
    }
}
