import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

@Suite("Admin API: budgets")
struct BudgetRoutesTests {
    @Test("create for each scope (upsert), list with periods and spend, update, delete")
    func lifecycle() async throws {
        try await AdminFixture.withAPI { api, _ in
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "t", "team_alias": "T"])
            let key = try await api.ok(.post, "/api/v1/keys/generate", [:])
            let keyID = try #require(key["key_id"]?.stringValue)

            let global = try await api.ok(.post, "/api/v1/budgets", ["scope": "global", "max_budget": 1000,
                "budget_duration": "monthly"])
            #expect(global["scope"] == "global" && global["scope_id"] == .null)
            #expect(global["budget_duration"] == "monthly")
            let start = try #require(date(global["current_period_start"]))
            let end = try #require(date(global["current_period_end"]))
            #expect(start <= Date() && end > Date())
            #expect(global["spend"]?.doubleValue == AdminFixture.liveSpend)

            let team = try await api.ok(.post, "/api/v1/budgets", ["scope": "team", "scope_id": "t", "soft_budget": 3])
            #expect(team["scope_id"] == "t" && team["current_period_end"] == .null)
            let byKeyID = try await api.ok(.post, "/api/v1/budgets", ["scope": "key", "scope_id": .string(keyID),
                "max_budget": 9])
            let byPlaintext = try await api.ok(.post, "/api/v1/budgets", ["scope": "key", "scope_id": key["key"] ?? .null,
                "max_budget": 10])
            #expect(byKeyID["id"] == byPlaintext["id"] && byPlaintext["scope_id"] == .string(keyID))
            _ = try await api.ok(.post, "/api/v1/budgets", ["scope": "user", "scope_id": "ada", "max_budget": 1])
            #expect(try await api.ok(.get, "/api/v1/budgets")["budgets"]?.arrayValue?.count == 4)
            #expect(try await api.ok(.get, "/api/v1/keys/\(keyID)")["max_budget"]?.doubleValue == 10)

            let id = try #require(team["id"]?.stringValue)
            let updated = try await api.ok(.put, "/api/v1/budgets/\(id)", ["max_budget": 30, "budget_duration": "7d"])
            #expect(updated["max_budget"]?.doubleValue == 30 && updated["soft_budget"]?.doubleValue == 3)
            #expect(updated["budget_duration"] == "7d")
            #expect(try await api.ok(.get, "/api/v1/budgets/\(id)")["max_budget"]?.doubleValue == 30)
            #expect(try await api.ok(.delete, "/api/v1/budgets/\(id)") == ["deleted": .string(id)])
            #expect(try await api.ok(.get, "/api/v1/budgets")["budgets"]?.arrayValue?.count == 3)

            let actions = try await api.auditEntries().compactMap { $0["action"]?.stringValue }
            #expect(actions.filter { $0 == "budget.upsert" }.count == 5)
            #expect(actions.contains("budget.update") && actions.contains("budget.delete"))
        }
    }

    @Test("budgets: 422 for bad scope, missing scope_id, unknown key or team, bad amounts; 404 for unknown ids")
    func errors() async throws {
        try await AdminFixture.withAPI { api, _ in
            let invalid: [(JSONValue, String)] = [
                ([:], "body.scope"), (["scope": "planet"], "body.scope"), (["scope": "team"], "body.scope_id"),
                (["scope": "team", "scope_id": "missing"], "body.scope_id"),
                (["scope": "key", "scope_id": .string(UUID().uuidString)], "body.scope_id"),
                (["scope": "key", "scope_id": "sk-unknown"], "body.scope_id"),
                (["scope": "global", "scope_id": "x"], "body.scope_id"),
                (["scope": "user", "scope_id": "u", "max_budget": -1], "body.max_budget"),
                (["scope": "user", "scope_id": "u", "budget_duration": "0d"], "body.budget_duration"),
            ]
            for (body, location) in invalid {
                expectValidationError(try await api.call(.post, "/api/v1/budgets", body), at: location)
            }
            let unknown = UUID().uuidString
            expectError(try await api.call(.put, "/api/v1/budgets/\(unknown)", ["max_budget": 1]), .notFound,
                "Budget not found")
            expectError(try await api.call(.delete, "/api/v1/budgets/\(unknown)"), .notFound, "Budget not found")
            expectError(try await api.call(.get, "/api/v1/budgets/\(unknown)"), .notFound, "Budget not found")
            expectValidationError(try await api.call(.put, "/api/v1/budgets/xyz", ["max_budget": 1]), at: "path.id")
            let budget = try await api.ok(.post, "/api/v1/budgets", ["scope": "user", "scope_id": "u"])
            expectValidationError(try await api.call(.put, "/api/v1/budgets/\(budget["id"]?.stringValue ?? "")",
                ["soft_budget": "cheap"]), at: "body.soft_budget")
        }
    }
}
