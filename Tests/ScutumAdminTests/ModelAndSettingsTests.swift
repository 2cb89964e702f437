import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

@Suite("Admin API: models and settings")
struct ModelAndSettingsTests {
    @Test("models: catalog merged with overrides; PUT changes, null restores the catalog value; 404; 422")
    func models() async throws {
        try await AdminFixture.withAPI { api, client in
            let models = try await api.ok(.get, "/api/v1/models")["models"]?.arrayValue ?? []
            #expect(models.count == 3)
            let mini = try #require(models.first { $0["model_name"] == "gpt-5-mini" })
            #expect(mini["provider"] == "openai" && mini["model"] == "gpt-5-mini-2025-08-07" && mini["mode"] == "chat")
            #expect(mini["rpm"] == 500 && mini["context_window"] == 400_000 && mini["active"] == true)
            #expect(mini["credentials"] == "openai" && mini["tier"] == .null && mini["capabilities"] == .null)

            let updated = try await api.ok(.put, "/api/v1/models/claude-sonnet-4.5", [
                "input_cost_per_token": 0.000001, "rpm": 60, "active": false, "tier": "premium",
                "capabilities": ["vision": true], "credentials": "anthropic-eu",
            ])
            #expect(updated["input_cost_per_token"]?.doubleValue == 0.000001)
            #expect(updated["output_cost_per_token"]?.doubleValue == 0.000015)
            #expect(updated["rpm"] == 60 && updated["active"] == false && updated["tier"] == "premium")
            #expect(updated["capabilities"] == ["vision": true] && updated["credentials"] == "anthropic-eu")
            let stored = try await ModelOverrideStore(client: client, logger: TestEnvironment.logger).list()
            #expect(stored.first?.modelName == "claude-sonnet-4.5" && stored.first?.rpm == 60)

            let partial = try await api.ok(.put, "/api/v1/models/claude-sonnet-4.5", ["rpm": nil, "capabilities": ["tools"]])
            #expect(partial["rpm"] == .null && partial["tier"] == "premium" && partial["capabilities"] == ["tools"])
            let listed = try await api.ok(.get, "/api/v1/models")["models"]?.arrayValue ?? []
            #expect(listed.first { $0["model_name"] == "claude-sonnet-4.5" }?["active"] == false)
            // Names are percent-decoded.
            #expect(try await api.ok(.get, "/api/v1/models/claude%2Dsonnet%2D4.5")["tier"] == "premium")

            expectError(try await api.call(.put, "/api/v1/models/no-such-model", ["rpm": 1]), .notFound, "Model not found")
            expectError(try await api.call(.get, "/api/v1/models/no-such-model"), .notFound, "Model not found")
            let invalid: [(JSONValue, String)] = [
                (["input_cost_per_token": -1], "body.input_cost_per_token"), (["output_cost_per_token": "x"], "body.output_cost_per_token"),
                (["rpm": 0], "body.rpm"), (["tpm": -2], "body.tpm"), (["active": "yes"], "body.active"), (["tier": 1], "body.tier"),
                (["capabilities": "all"], "body.capabilities"), (["credentials": 5], "body.credentials"),
            ]
            for (body, location) in invalid {
                expectValidationError(try await api.call(.put, "/api/v1/models/gpt-5-mini", body), at: location)
            }
            #expect(try await api.auditEntries().filter { $0["action"] == "model.update" }.count == 2)
        }
    }

    @Test("settings: read, partial merge, validation of known fields, unknown fields refused")
    func settings() async throws {
        try await AdminFixture.withAPI { api, client in
            let initial = try await api.ok(.get, "/api/v1/settings")
            #expect(initial["default_key_rpm"] == 100 && initial["maintenance_mode"] == false)

            let updated = try await api.ok(.put, "/api/v1/settings",
                ["maintenance_mode": true, "default_key_tpm": 5000, "default_model": "claude-sonnet-4.5"])
            #expect(updated["maintenance_mode"] == true && updated["default_key_tpm"] == 5000)
            #expect(updated["default_model"] == "claude-sonnet-4.5")
            #expect(updated["default_key_rpm"] == 100 && updated["enable_guardrails"] == true)
            #expect(try await SettingsStore(client: client, logger: TestEnvironment.logger).load() == updated)
            #expect(try await api.ok(.get, "/api/v1/settings") == updated)

            let invalid: [(JSONValue, String)] = [
                (["global_rate_limit": 0], "body.global_rate_limit"), (["default_key_rpm": "many"], "body.default_key_rpm"),
                (["enable_cost_tracking": 1], "body.enable_cost_tracking"), (["maintenance_mode": nil], "body.maintenance_mode"),
                (["default_model": ""], "body.default_model"), (["colour": "blue"], "body.colour"),
            ]
            for (body, location) in invalid {
                expectValidationError(try await api.call(.put, "/api/v1/settings", body), at: location)
            }
            #expect(try await api.ok(.get, "/api/v1/settings") == updated)
            let entry = try #require(try await api.auditEntries().first { $0["action"] == "settings.update" })
            #expect(entry["details"]?["maintenance_mode"] == true)
        }
    }

    @Test("guardrail assignments are listed from the table, with team and profile names")
    func guardrailAssignments() async throws {
        try await AdminFixture.withAPI { api, client in
            #expect(try await api.ok(.get, "/api/v1/guardrail-assignments") == ["assignments": []])
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "t", "team_alias": "T"])
            let config = try await GuardrailConfigStore(client: client, logger: TestEnvironment.logger)
                .create(GuardrailConfig(name: "pii-mask"))
            try await client.query(
                "INSERT INTO guardrail_assignments (team_id, guardrail_config_id, priority) VALUES ('t', \(config.id), 3)",
                logger: TestEnvironment.logger)
            let assignments = try await api.ok(.get, "/api/v1/guardrail-assignments")["assignments"]?.arrayValue ?? []
            #expect(assignments.count == 1)
            #expect(assignments.first?["team_id"] == "t" && assignments.first?["team_name"] == "T")
            #expect(assignments.first?["config_name"] == "pii-mask" && assignments.first?["priority"] == 3)
            #expect(assignments.first?["guardrail_config_id"]?.stringValue == config.id.uuidString.lowercased())
            #expect(assignments.first?["id"]?.stringValue.flatMap(UUID.init(uuidString:)) != nil)
            #expect(date(assignments.first?["created_at"]) != nil)
        }
    }
}
