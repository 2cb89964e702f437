import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

@Suite("Admin API: keys")
struct KeyRoutesTests {
    @Test("the guide's flow: generate {key_alias, max_budget 100, duration 90d} -> sk- key, 90-day expiry, budget row")
    func seedFlow() async throws {
        try await AdminFixture.withAPI { api, client in
            let generated = try await api.ok(.post, "/api/v1/keys/generate",
                ["key_alias": "my-service", "max_budget": 100, "duration": "90d"])
            let key = try #require(generated["key"]?.stringValue)
            #expect(key.hasPrefix("sk-"))
            #expect(generated["key_alias"] == "my-service")
            #expect(generated["key_name"] == .string(APIKey.display(key)))
            #expect(generated["role"] == "user")
            #expect(generated["max_budget"]?.doubleValue == 100)
            #expect(generated["rpm_limit"] == 100)
            #expect(generated["tpm_limit"] == 100_000)
            #expect(generated["spend"]?.doubleValue == AdminFixture.liveSpend)
            let expires = try #require(date(generated["expires"]))
            #expect(abs(expires.timeIntervalSinceNow - 90 * 86_400) < 120)
            #expect(date(generated["created_at"]) != nil)

            let keyID = try #require(generated["key_id"]?.stringValue)
            let budget = try await BudgetStore(client: client, logger: TestEnvironment.logger).find(.key(keyID))
            #expect(budget?.maxBudget == 100)
            let stored = try await KeyStore(client: client, logger: TestEnvironment.logger).find(hash: APIKey.hash(key))
            #expect(stored?.id.uuidString.lowercased() == keyID)
            #expect(stored?.settings.rpmLimit == 100)

            // The plaintext never shows again: not in the list, one key, or the audit log.
            let list = try await api.call(.get, "/api/v1/keys")
            #expect(list.status == .ok)
            #expect(!list.text.contains(key) && !list.text.contains(String(key.dropFirst(3).prefix(20))))
            #expect(list.json["keys"]?.arrayValue?.first?["key"] == nil)
            #expect(list.json["keys"]?.arrayValue?.first?["blocked"] == false)
            let one = try await api.call(.get, "/api/v1/keys/\(keyID)")
            #expect(one.status == .ok && !one.text.contains(key))
            let audit = try await api.call(.get, "/api/v1/audit-log")
            #expect(!audit.text.contains(key) && !audit.text.contains(String(key.dropFirst(3).prefix(20))))
            let entry = try #require(audit.json["entries"]?.arrayValue?.first { $0["action"] == "key.generate" })
            #expect(entry["actor"] == "master")
            #expect(entry["target_id"] == .string(keyID))
            #expect(entry["target_type"] == "key")
        }
    }

    @Test("generate with every field, settings defaults, team filter")
    func generateEverything() async throws {
        try await AdminFixture.withAPI { api, _ in
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "research", "team_alias": "Research"])
            _ = try await api.ok(.put, "/api/v1/settings", ["default_key_rpm": 7])
            let generated = try await api.ok(.post, "/api/v1/keys/generate", [
                "key_alias": "svc", "team_id": "research", "user_id": "ada", "models": ["gpt-5-mini", "gpt-5-mini"],
                "soft_budget": 5.5, "budget_duration": "monthly", "tpm_limit": 999, "max_parallel_requests": 3,
                "duration": "12h", "metadata": ["owner": "ml"], "role": "admin",
            ])
            #expect(generated["team_id"] == "research")
            #expect(generated["user_id"] == "ada")
            #expect(generated["models"] == ["gpt-5-mini"])
            #expect(generated["soft_budget"]?.doubleValue == 5.5)
            #expect(generated["max_budget"] == .null)
            #expect(generated["budget_duration"] == "monthly")
            #expect(generated["rpm_limit"] == 7)
            #expect(generated["tpm_limit"] == 999)
            #expect(generated["max_parallel_requests"] == 3)
            #expect(generated["metadata"] == ["owner": "ml"])
            #expect(generated["role"] == "admin")
            #expect(abs((date(generated["expires"]) ?? .distantPast).timeIntervalSinceNow - 43_200) < 120)

            let plain = try await api.ok(.post, "/api/v1/keys/generate", [:])
            #expect(plain["expires"] == .null && plain["max_budget"] == .null && plain["spend"] == .null)
            #expect(try await api.ok(.get, "/api/v1/keys")["keys"]?.arrayValue?.count == 2)
            let filtered = try await api.ok(.get, "/api/v1/keys?team_id=research")["keys"]?.arrayValue ?? []
            #expect(filtered.count == 1 && filtered.first?["key_id"] == generated["key_id"])
            #expect(filtered.first?["spend"]?.doubleValue == AdminFixture.liveSpend)
        }
    }

    @Test("generate validates every field with its location")
    func generateValidation() async throws {
        try await AdminFixture.withAPI { api, _ in
            let cases: [(JSONValue, String)] = [
                (["max_budget": -1], "body.max_budget"), (["max_budget": "lots"], "body.max_budget"),
                (["soft_budget": -0.5], "body.soft_budget"), (["budget_duration": "fortnightly"], "body.budget_duration"),
                (["rpm_limit": 0], "body.rpm_limit"), (["tpm_limit": 1.5], "body.tpm_limit"),
                (["max_parallel_requests": -3], "body.max_parallel_requests"), (["rpm_limit": 9_999_999_999], "body.rpm_limit"),
                (["duration": "monthly"], "body.duration"), (["duration": "soon"], "body.duration"),
                (["metadata": [1, 2]], "body.metadata"), (["role": "root"], "body.role"), (["role": nil], "body.role"),
                (["models": "gpt-5"], "body.models"), (["models": ["ok", 3]], "body.models.1"),
                (["key_alias": 12], "body.key_alias"), (["team_id": "no-such-team"], "body.team_id"),
            ]
            for (body, location) in cases {
                expectValidationError(try await api.call(.post, "/api/v1/keys/generate", body), at: location)
            }
            // Several problems at once are all reported.
            let many = try await api.call(.post, "/api/v1/keys/generate", ["max_budget": -1, "rpm_limit": "x"])
            #expect(Set(many.locations) == ["body.max_budget", "body.rpm_limit"])
            #expect(try await api.ok(.get, "/api/v1/keys")["keys"] == [])
        }
    }

    @Test("update by plaintext or id: only given fields change, null clears; 404 and 422")
    func update() async throws {
        try await AdminFixture.withAPI { api, _ in
            let generated = try await api.ok(.post, "/api/v1/keys/generate",
                ["key_alias": "a", "max_budget": 10, "rpm_limit": 5, "metadata": ["x": 1]])
            let key = try #require(generated["key"]?.stringValue)
            let keyID = try #require(generated["key_id"]?.stringValue)

            let updated = try await api.ok(.post, "/api/v1/keys/update",
                ["key": .string(key), "key_alias": "b", "max_budget": 20, "soft_budget": 15, "rpm_limit": nil])
            #expect(updated["key_alias"] == "b")
            #expect(updated["max_budget"]?.doubleValue == 20)
            #expect(updated["soft_budget"]?.doubleValue == 15)
            #expect(updated["rpm_limit"] == .null)
            #expect(updated["tpm_limit"] == 100_000)
            #expect(updated["metadata"] == ["x": 1])
            #expect(updated["key"] == nil)

            let byID = try await api.ok(.post, "/api/v1/keys/update",
                ["key_id": .string(keyID), "max_budget": nil, "duration": "30m", "models": ["m"]])
            #expect(byID["max_budget"] == .null && byID["soft_budget"]?.doubleValue == 15)
            #expect(byID["key_alias"] == "b" && byID["models"] == ["m"])
            #expect(abs((date(byID["expires"]) ?? .distantPast).timeIntervalSinceNow - 1800) < 120)

            expectError(try await api.call(.post, "/api/v1/keys/update", ["key": "sk-unknown", "key_alias": "c"]),
                .notFound, "Key not found")
            expectError(try await api.call(.post, "/api/v1/keys/update",
                ["key_id": "00000000-0000-0000-0000-000000000000"]), .notFound, "Key not found")
            expectValidationError(try await api.call(.post, "/api/v1/keys/update", ["key_alias": "c"]), at: "body.key")
            expectValidationError(try await api.call(.post, "/api/v1/keys/update", ["key_id": "nope"]), at: "body.key_id")
            expectValidationError(try await api.call(.post, "/api/v1/keys/update", ["key": .string(key), "tpm_limit": -1]),
                at: "body.tpm_limit")
            #expect(try await api.auditEntries().filter { $0["action"] == "key.update" }.count == 2)
        }
    }

    @Test("GET /keys/{id}: 200, 404 for an unknown id, 422 for a malformed one")
    func show() async throws {
        try await AdminFixture.withAPI { api, _ in
            let generated = try await api.ok(.post, "/api/v1/keys/generate", ["key_alias": "one"])
            let keyID = try #require(generated["key_id"]?.stringValue)
            let one = try await api.ok(.get, "/api/v1/keys/\(keyID)")
            #expect(one["key_alias"] == "one" && one["key"] == nil)
            expectError(try await api.call(.get, "/api/v1/keys/\(UUID().uuidString)"), .notFound, "Key not found")
            expectValidationError(try await api.call(.get, "/api/v1/keys/not-a-uuid"), at: "path.key_id")
        }
    }

    @Test("block and unblock; delete by plaintext and by id removes keys and their budgets")
    func blockAndDelete() async throws {
        try await AdminFixture.withAPI { api, client in
            let first = try await api.ok(.post, "/api/v1/keys/generate", ["max_budget": 1])
            let second = try await api.ok(.post, "/api/v1/keys/generate", [:])
            let firstKey = try #require(first["key"]?.stringValue)
            let secondID = try #require(second["key_id"]?.stringValue)

            #expect(try await api.ok(.post, "/api/v1/keys/block", ["key": .string(firstKey)])["blocked"] == true)
            #expect(try await api.ok(.post, "/api/v1/keys/unblock", ["key": .string(firstKey)])["blocked"] == false)
            #expect(try await api.ok(.post, "/api/v1/keys/block", ["key_id": .string(secondID)])["blocked"] == true)
            expectError(try await api.call(.post, "/api/v1/keys/block", ["key": "sk-none"]), .notFound, "Key not found")
            expectValidationError(try await api.call(.post, "/api/v1/keys/unblock", [:]), at: "body.key")

            let deleted = try await api.ok(.post, "/api/v1/keys/delete",
                ["keys": [.string(firstKey), "sk-never-existed"], "key_ids": [.string(secondID)]])
            #expect(Set(deleted["deleted"]?.arrayValue ?? []) == [first["key_id"] ?? .null, .string(secondID)])
            #expect(try await api.ok(.get, "/api/v1/keys")["keys"] == [])
            #expect(try await BudgetStore(client: client, logger: TestEnvironment.logger).list().isEmpty)
            expectError(try await api.call(.post, "/api/v1/keys/delete", ["keys": .array([.string(firstKey)])]), .notFound,
                "Key not found")
            expectValidationError(try await api.call(.post, "/api/v1/keys/delete", [:]), at: "body.keys")
            expectValidationError(try await api.call(.post, "/api/v1/keys/delete", ["key_ids": ["x"]]), at: "body.key_ids.0")

            let actions = try await api.auditEntries().compactMap { $0["action"]?.stringValue }
            #expect(actions.filter { $0 == "key.delete" }.count == 2)
            #expect(actions.contains("key.block") && actions.contains("key.unblock"))
        }
    }
}
