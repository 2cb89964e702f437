import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

@Suite("Admin API: teams")
struct TeamRoutesTests {
    @Test("create, list, show, update; duplicate id 409; validation 422; unknown team 404")
    func lifecycle() async throws {
        try await AdminFixture.withAPI { api, _ in
            let created = try await api.ok(.post, "/api/v1/teams", [
                "team_id": "ml", "team_alias": "Machine learning", "models": ["gpt-5-mini"],
                "members": [["user_id": "ada", "role": "admin"], ["user_id": "alan"]], "max_budget": 500,
                "budget_duration": "30d", "metadata": ["cost_center": "42"],
            ])
            #expect(created["team_id"] == "ml")
            #expect(created["members"] == [["user_id": "ada", "role": "team_admin"], ["user_id": "alan", "role": "member"]])
            #expect(created["max_budget"]?.doubleValue == 500)
            #expect(created["budget_duration"] == "30d")
            #expect(created["spend"]?.doubleValue == AdminFixture.liveSpend)
            #expect(created["blocked"] == false)
            #expect(date(created["created_at"]) != nil)

            let generatedID = try await api.ok(.post, "/api/v1/teams", ["team_alias": "Other"])["team_id"]?.stringValue
            #expect(generatedID?.hasPrefix("team-") == true)
            expectError(try await api.call(.post, "/api/v1/teams", ["team_id": "ml", "team_alias": "again"]), .conflict,
                "Team already exists")

            let teams = try await api.ok(.get, "/api/v1/teams")["teams"]?.arrayValue ?? []
            #expect(teams.count == 2)
            #expect(try await api.ok(.get, "/api/v1/teams/ml")["team_alias"] == "Machine learning")

            let updated = try await api.ok(.put, "/api/v1/teams/ml",
                ["team_alias": "ML", "members": [["user_id": "grace"]], "soft_budget": 400, "blocked": true])
            #expect(updated["team_alias"] == "ML")
            #expect(updated["members"] == [["user_id": "grace", "role": "member"]])
            #expect(updated["max_budget"]?.doubleValue == 500 && updated["soft_budget"]?.doubleValue == 400)
            #expect(updated["models"] == ["gpt-5-mini"] && updated["blocked"] == true)
            #expect(updated["metadata"] == ["cost_center": "42"])

            let invalid: [(JSONValue, String)] = [
                ([:], "body.team_alias"), (["team_alias": ""], "body.team_alias"),
                (["team_alias": "x", "members": [["role": "admin"]]], "body.members.0.user_id"),
                (["team_alias": "x", "members": [["user_id": "u", "role": "owner"]]], "body.members.0.role"),
                (["team_alias": "x", "members": [["user_id": "u"], ["user_id": "u"]]], "body.members.1.user_id"),
                (["team_alias": "x", "members": "ada"], "body.members"), (["team_alias": "x", "max_budget": -5], "body.max_budget"),
                (["team_alias": "x", "budget_duration": "sometimes"], "body.budget_duration"),
                (["team_alias": "x", "metadata": "m"], "body.metadata"), (["team_alias": "x", "models": [1]], "body.models.0"),
            ]
            for (body, location) in invalid {
                expectValidationError(try await api.call(.post, "/api/v1/teams", body), at: location)
            }
            expectValidationError(try await api.call(.put, "/api/v1/teams/ml", ["blocked": "yes"]), at: "body.blocked")
            expectError(try await api.call(.get, "/api/v1/teams/nope"), .notFound, "Team not found")
            expectError(try await api.call(.put, "/api/v1/teams/nope", ["team_alias": "x"]), .notFound, "Team not found")
            expectError(try await api.call(.delete, "/api/v1/teams/nope"), .notFound, "Team not found")

            let actions = try await api.auditEntries().compactMap { $0["action"]?.stringValue }
            #expect(actions.filter { $0 == "team.create" }.count == 2 && actions.contains("team.update"))
        }
    }

    @Test("members: add (or change role), remove; 404 for unknown team or member; 422 for bad role")
    func members() async throws {
        try await AdminFixture.withAPI { api, _ in
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "t", "team_alias": "T"])
            _ = try await api.ok(.post, "/api/v1/teams/t/members", ["user_id": "ada"])
            let changed = try await api.ok(.post, "/api/v1/teams/t/members", ["user_id": "ada", "role": "admin"])
            #expect(changed["members"] == [["user_id": "ada", "role": "team_admin"]])
            _ = try await api.ok(.post, "/api/v1/teams/t/members", ["user_id": "a b"])
            let removed = try await api.ok(.delete, "/api/v1/teams/t/members/a%20b")
            #expect(removed["members"] == [["user_id": "ada", "role": "team_admin"]])

            expectError(try await api.call(.delete, "/api/v1/teams/t/members/nobody"), .notFound, "Team member not found")
            expectError(try await api.call(.post, "/api/v1/teams/none/members", ["user_id": "x"]), .notFound, "Team not found")
            expectValidationError(try await api.call(.post, "/api/v1/teams/t/members", ["user_id": "x", "role": "boss"]),
                at: "body.role")
            expectValidationError(try await api.call(.post, "/api/v1/teams/t/members", [:]), at: "body.user_id")
            let actions = try await api.auditEntries().compactMap { $0["action"]?.stringValue }
            #expect(actions.filter { $0 == "team.member.add" }.count == 3 && actions.contains("team.member.remove"))
        }
    }

    @Test("deleting a team deletes its keys, their budgets and its budget")
    func deleteCascades() async throws {
        try await AdminFixture.withAPI { api, client in
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "gone", "team_alias": "Gone", "max_budget": 5])
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "stays", "team_alias": "Stays"])
            let doomed = try await api.ok(.post, "/api/v1/keys/generate", ["team_id": "gone", "max_budget": 1])
            let kept = try await api.ok(.post, "/api/v1/keys/generate", ["team_id": "stays"])
            #expect(try await api.ok(.delete, "/api/v1/teams/gone") == ["deleted": "gone"])

            let keys = try await api.ok(.get, "/api/v1/keys")["keys"]?.arrayValue ?? []
            #expect(keys.map { $0["key_id"] } == [kept["key_id"]])
            let keyStore = KeyStore(client: client, logger: TestEnvironment.logger)
            #expect(try await keyStore.find(hash: APIKey.hash(doomed["key"]?.stringValue ?? "")) == nil)
            #expect(try await BudgetStore(client: client, logger: TestEnvironment.logger).list().isEmpty)
            let entry = try #require(try await api.auditEntries().first { $0["action"] == "team.delete" })
            #expect(entry["details"]?["keys_deleted"] == 1)
        }
    }
}
