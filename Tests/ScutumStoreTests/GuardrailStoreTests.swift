import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

/// The guardrail stores over one migrated database, with two teams.
struct GuardrailFixture {
    let client: PostgresClient
    let configs: GuardrailConfigStore
    let assignments: GuardrailAssignmentStore
    let events: GuardrailEventStore

    static func with(_ body: (GuardrailFixture) async throws -> Void) async throws {
        try await withMigratedDatabase { client, _ in
            let logger = TestEnvironment.logger
            let teams = TeamStore(client: client, logger: logger)
            try await teams.create(TeamRecord(teamID: "alpha", alias: "Alpha Team"))
            try await teams.create(TeamRecord(teamID: "beta", alias: "Beta Team"))
            try await body(GuardrailFixture(client: client, configs: GuardrailConfigStore(client: client, logger: logger),
                assignments: GuardrailAssignmentStore(client: client, logger: logger),
                events: GuardrailEventStore(client: client, logger: logger)))
        }
    }
}

@Suite("Guardrail stores")
struct GuardrailStoreTests {
    @Test("profiles: create, find by id and name, update, list by name, delete; names are unique")
    func configCRUD() async throws {
        try await GuardrailFixture.with { fixture in
            let config: JSONValue = ["enable_pii_detection": true, "pii_entities": ["EMAIL_ADDRESS"]]
            var pii = try await fixture.configs.create(GuardrailConfig(name: "pii", description: "mask PII",
                config: config, mode: .input, onFail: .log))
            #expect(pii.config == config && pii.mode == .input && pii.onFail == .log && pii.isActive && !pii.isDefault)
            #expect(pii.createdAt != nil && pii.updatedAt != nil)
            #expect(try await fixture.configs.find(pii.id) == pii)
            #expect(try await fixture.configs.find(name: "pii") == pii)
            _ = try await fixture.configs.create(GuardrailConfig(name: "a-first"))
            #expect(try await fixture.configs.list().map(\.name) == ["a-first", "pii"])

            pii.description = nil
            pii.mode = .both
            pii.isActive = false
            let updated = try #require(try await fixture.configs.update(pii))
            #expect(updated.description == nil && updated.mode == .both && !updated.isActive)
            do {
                _ = try await fixture.configs.create(GuardrailConfig(name: "pii"))
                Issue.record("stored a second profile named pii")
            } catch {
                #expect(sqlState(error) == "23505", "\(String(reflecting: error))")
            }
            #expect(try await fixture.configs.delete(pii.id))
            #expect(try await fixture.configs.delete(pii.id) == false)
            #expect(try await fixture.configs.update(pii) == nil)
        }
    }

    @Test("at most one default: a new default takes the mark, and the table refuses a second")
    func defaultUniqueness() async throws {
        try await GuardrailFixture.with { fixture in
            #expect(try await fixture.configs.defaultConfig() == nil)
            let first = try await fixture.configs.create(GuardrailConfig(name: "first", isDefault: true))
            #expect(try await fixture.configs.defaultConfig()?.id == first.id)
            var second = try await fixture.configs.create(GuardrailConfig(name: "second", isDefault: true))
            #expect(try await fixture.configs.defaultConfig()?.id == second.id)
            #expect(try await fixture.configs.find(first.id)?.isDefault == false)

            var again = try #require(try await fixture.configs.find(first.id))
            again.isDefault = true
            _ = try await fixture.configs.update(again)
            #expect(try await fixture.configs.defaultConfig()?.id == first.id)
            second = try #require(try await fixture.configs.find(second.id))
            #expect(!second.isDefault)

            do {
                try await fixture.client.query("UPDATE guardrail_configs SET is_default = true",
                    logger: TestEnvironment.logger)
                Issue.record("two defaults were stored")
            } catch {
                #expect(sqlState(error) == "23505", "\(String(reflecting: error))")
            }
        }
    }

    @Test("assignments: upsert with priority, listed by team then priority with names; unassign")
    func assignments() async throws {
        try await GuardrailFixture.with { fixture in
            let pii = try await fixture.configs.create(GuardrailConfig(name: "pii"))
            let secrets = try await fixture.configs.create(GuardrailConfig(name: "secrets"))
            let first = try await fixture.assignments.assign(configID: pii.id, teamID: "beta", priority: 5)
            #expect(first.teamName == "Beta Team" && first.configName == "pii" && first.priority == 5)
            _ = try await fixture.assignments.assign(configID: secrets.id, teamID: "beta", priority: 1)
            _ = try await fixture.assignments.assign(configID: pii.id, teamID: "alpha")
            let list = try await fixture.assignments.list()
            #expect(list.map { "\($0.teamID):\($0.configName):\($0.priority)" }
                == ["alpha:pii:0", "beta:secrets:1", "beta:pii:5"])

            // Assigning again changes the priority of the same row.
            let moved = try await fixture.assignments.assign(configID: pii.id, teamID: "beta", priority: 0)
            #expect(moved.id == first.id && moved.priority == 0)
            #expect(try await fixture.assignments.list(teamID: "beta").map(\.configName) == ["pii", "secrets"])

            #expect(try await fixture.assignments.unassign(configID: pii.id, teamID: "beta"))
            #expect(try await fixture.assignments.unassign(configID: pii.id, teamID: "beta") == false)
            #expect(try await fixture.assignments.list(teamID: "beta").map(\.configName) == ["secrets"])

            do {
                _ = try await fixture.assignments.assign(configID: pii.id, teamID: "nobody")
                Issue.record("assigned to a team that does not exist")
            } catch {
                #expect(sqlState(error) == "23503", "\(String(reflecting: error))")
            }
            await #expect(throws: PSQLError.self) {
                _ = try await fixture.assignments.assign(configID: pii.id, teamID: "alpha", priority: -1)
            }
        }
    }

    @Test("deleting a profile or a team deletes its assignments")
    func cascade() async throws {
        try await GuardrailFixture.with { fixture in
            let pii = try await fixture.configs.create(GuardrailConfig(name: "pii"))
            let other = try await fixture.configs.create(GuardrailConfig(name: "other"))
            _ = try await fixture.assignments.assign(configID: pii.id, teamID: "alpha")
            _ = try await fixture.assignments.assign(configID: pii.id, teamID: "beta")
            _ = try await fixture.assignments.assign(configID: other.id, teamID: "beta")
            #expect(try await fixture.configs.delete(pii.id))
            #expect(try await fixture.assignments.list().map(\.configName) == ["other"])
            #expect(try await TeamStore(client: fixture.client, logger: TestEnvironment.logger).delete("beta"))
            #expect(try await fixture.assignments.list().isEmpty)
        }
    }

    @Test("events: a batch is recorded; listed newest first, by team and type, paged")
    func events() async throws {
        try await GuardrailFixture.with { fixture in
            let start = Date(timeIntervalSince1970: 1_750_000_000)
            var batch: [GuardrailEvent] = []
            for index in 0..<1203 {
                batch.append(GuardrailEvent(at: start.addingTimeInterval(Double(index)), requestID: "req-\(index)",
                    keyID: "key-1", teamID: index.isMultiple(of: 2) ? "alpha" : "beta", configName: "pii",
                    eventType: index.isMultiple(of: 3) ? .piiMasked : .inputBlocked, scanner: "pii",
                    rule: "EMAIL_ADDRESS", model: "gpt-5-mini", riskScore: index == 0 ? 7 : 0.5,
                    action: index.isMultiple(of: 3) ? .mask : .block, counts: ["EMAIL_ADDRESS": index % 4]))
            }
            try await fixture.events.record(batch)
            try await fixture.events.record([])
            let all = try await fixture.events.list(limit: 2000)
            #expect(all.count == 1203)
            #expect(all.first?.requestID == "req-1202" && all.last?.requestID == "req-0")
            #expect(all.last?.riskScore == 1, "a score above 1 is clamped")
            let newest = try #require(all.first)
            #expect(newest.id != nil && newest.at == start.addingTimeInterval(1202))
            #expect(newest.counts == ["EMAIL_ADDRESS": 2] && newest.eventType == .inputBlocked && newest.action == .block)
            #expect(newest.teamID == "alpha" && newest.model == "gpt-5-mini" && newest.scanner == "pii")

            let alphaMasked = try await fixture.events.list(teamID: "alpha", eventType: .piiMasked, limit: 1000)
            #expect(alphaMasked.count == 201)
            #expect(alphaMasked.allSatisfy { $0.teamID == "alpha" && $0.eventType == .piiMasked })
            let page = try await fixture.events.list(teamID: "beta", limit: 10, offset: 10)
            #expect(page.map(\.requestID) == (0..<10).map { "req-\(1201 - 2 * (10 + $0))" })
            #expect(try await fixture.events.list(eventType: .outputBlocked).isEmpty)
        }
    }

    @Test("events hold no text: details take numbers only, and no column is free text of unbounded size")
    func eventsHoldNoText() async throws {
        try await GuardrailFixture.with { fixture in
            do {
                try await fixture.client.query(
                    """
                    INSERT INTO guardrail_events (event_type, scanner, action, details)
                    VALUES ('pii_detected', 'pii', 'log', '{"EMAIL_ADDRESS": "jane@example.com"}')
                    """, logger: TestEnvironment.logger)
                Issue.record("stored text in details")
            } catch {
                #expect(sqlState(error) == "23514", "\(String(reflecting: error))")
            }
            try await fixture.client.query(
                """
                INSERT INTO guardrail_events (event_type, scanner, action, details)
                VALUES ('pii_detected', 'pii', 'log', '{"EMAIL_ADDRESS": 3}')
                """, logger: TestEnvironment.logger)
            let rows = try await fixture.client.query(
                """
                SELECT column_name FROM information_schema.columns WHERE table_name = 'guardrail_events'
                ORDER BY ordinal_position
                """, logger: TestEnvironment.logger)
            var columns: [String] = []
            for try await name in rows.decode(String.self) { columns.append(name) }
            #expect(columns == ["id", "at", "request_id", "key_id", "team_id", "guardrail_config_id", "config_name",
                "event_type", "scanner", "rule", "model", "risk_score", "action", "details"])
            // A long rule (which could only be smuggled text) is cut to the column's limit by the store.
            try await fixture.events.record([GuardrailEvent(eventType: .flagged, scanner: "banned_topics",
                rule: String(repeating: "x", count: 5000), action: .log)])
            #expect(try await fixture.events.list(eventType: .flagged).first?.rule?.count == 200)
        }
    }

    @Test("the snapshot: active profiles, assignments by priority, the default; per-key resolution")
    func snapshot() async throws {
        try await GuardrailFixture.with { fixture in
            #expect(try await GuardrailSnapshot.load(client: fixture.client, logger: TestEnvironment.logger) == .empty)
            let fallback = try await fixture.configs.create(GuardrailConfig(name: "default", isDefault: true))
            let pii = try await fixture.configs.create(GuardrailConfig(name: "pii"))
            let secrets = try await fixture.configs.create(GuardrailConfig(name: "secrets"))
            let off = try await fixture.configs.create(GuardrailConfig(name: "inactive", isActive: false))
            _ = try await fixture.assignments.assign(configID: pii.id, teamID: "alpha", priority: 2)
            _ = try await fixture.assignments.assign(configID: secrets.id, teamID: "alpha", priority: 1)
            _ = try await fixture.assignments.assign(configID: off.id, teamID: "alpha", priority: 0)
            _ = try await fixture.assignments.assign(configID: off.id, teamID: "beta")

            let snapshot = try await GuardrailSnapshot.load(client: fixture.client, logger: TestEnvironment.logger)
            #expect(Set(snapshot.configs.keys) == [fallback.id, pii.id, secrets.id])
            #expect(snapshot.assignments == ["alpha": [secrets.id, pii.id]])
            #expect(snapshot.defaultConfigID == fallback.id)
            #expect(snapshot.configs(forTeam: "alpha").map(\.name) == ["secrets", "pii"])
            // Beta's only profile is inactive: it gets the default, as do keys without a team.
            #expect(snapshot.configs(forTeam: "beta").map(\.name) == ["default"])
            #expect(snapshot.configs(forTeam: nil).map(\.name) == ["default"])
            #expect(snapshot.configs(forTeam: "alpha", key: .off).isEmpty)
            #expect(snapshot.configs(forTeam: "alpha", key: .inherit).map(\.name) == ["secrets", "pii"])
            #expect(snapshot.configs(forTeam: "alpha", key: .extra([pii.id, fallback.id, off.id])).map(\.name)
                == ["secrets", "pii", "default"])

            var inactiveDefault = fallback
            inactiveDefault.isActive = false
            _ = try await fixture.configs.update(inactiveDefault)
            let later = try await GuardrailSnapshot.load(client: fixture.client, logger: TestEnvironment.logger)
            #expect(later.defaultConfigID == nil && later.configs(forTeam: "beta").isEmpty)
        }
    }

    @Test("profile and assignment changes notify scutum_invalidate with kind guardrail")
    func notifications() async throws {
        try await GuardrailFixture.with { fixture in
            let payloads: [String] = try await fixture.client.withConnection { listener in
                try await listener.listen(on: "scutum_invalidate") { notifications in
                    var config = try await fixture.configs.create(GuardrailConfig(name: "pii"))
                    config.isActive = false
                    _ = try await fixture.configs.update(config)
                    _ = try await fixture.assignments.assign(configID: config.id, teamID: "alpha")
                    _ = try await fixture.assignments.unassign(configID: config.id, teamID: "alpha")
                    _ = try await fixture.configs.delete(config.id)
                    // Events are not configuration: recording them notifies nothing.
                    try await fixture.events.record([GuardrailEvent(eventType: .flagged, scanner: "pii", action: .log)])
                    try await fixture.client.query("SELECT pg_notify('scutum_invalidate', 'END')",
                        logger: TestEnvironment.logger)
                    var payloads: [String] = []
                    for try await notification in notifications {
                        if notification.payload == "END" { break }
                        payloads.append(notification.payload)
                    }
                    return payloads
                }
            }
            let kinds = payloads.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String])?["kind"]
            }
            // Create and update each write one statement, and so do assign, unassign and delete
            // (the delete also cascades into the empty assignments table).
            #expect(kinds.count == payloads.count && kinds.count >= 5, "\(payloads)")
            #expect(Set(kinds) == ["guardrail"], "\(payloads)")
        }
    }

    @Test("a key's guardrails are stored and read back: inherit, off, extra profiles")
    func keyGuardrails() async throws {
        try await GuardrailFixture.with { fixture in
            let keys = KeyStore(client: fixture.client, logger: TestEnvironment.logger)
            let (_, plain) = try await keys.create(alias: "plain")
            #expect(plain.settings.guardrails == .inherit)
            let pii = try await fixture.configs.create(GuardrailConfig(name: "pii"))
            var record = plain
            record.settings.guardrails = .extra([pii.id])
            #expect(try await keys.update(record)?.settings.guardrails == .extra([pii.id]))
            record.settings.guardrails = .off
            #expect(try await keys.update(record)?.settings.guardrails == .off)
            #expect(try await keys.find(id: plain.id)?.settings.guardrails == .off)
            #expect(KeyGuardrails(json: []) == .inherit && KeyGuardrails.extra([pii.id]).json
                == [.string(pii.id.uuidString.lowercased())])
            do {
                try await fixture.client.query("UPDATE api_keys SET guardrails = '\"sometimes\"'",
                    logger: TestEnvironment.logger)
                Issue.record("stored an unknown guardrails mode")
            } catch {
                #expect(sqlState(error) == "23514", "\(String(reflecting: error))")
            }
        }
    }
}

@Suite("Migration 0008 (guardrails)")
struct GuardrailMigrationTests {
    @Test("assignments made by name before 0008 point at inactive placeholder profiles of that name")
    func upgrade() async throws {
        try await withTestDatabase { client, _ in
            let logger = TestEnvironment.logger
            let migrations = try Migration.load(from: TestEnvironment.sqlDirectory)
            let runner = MigrationRunner(client: client, logger: logger)
            try await runner.migrate(migrations.filter { $0.version < 8 })
            try await client.query("INSERT INTO teams (team_id, team_alias) VALUES ('t', 'T'), ('u', 'U')", logger: logger)
            try await client.query(
                "INSERT INTO guardrail_assignments (team_id, guardrail) VALUES ('t', 'pii'), ('u', 'pii'), ('t', 'secrets')",
                logger: logger)
            #expect(try await runner.migrate(migrations.filter { $0.version <= 8 }) == [8])

            let configs = try await GuardrailConfigStore(client: client, logger: logger).list()
            #expect(configs.map(\.name) == ["pii", "secrets"])
            #expect(configs.allSatisfy { !$0.isActive && !$0.isDefault && $0.config == [:] })
            let assignments = try await GuardrailAssignmentStore(client: client, logger: logger).list()
            #expect(assignments.map { "\($0.teamID):\($0.configName):\($0.priority)" } == ["t:pii:0", "t:secrets:0", "u:pii:0"])
            // Inactive placeholders enforce nothing.
            let snapshot = try await GuardrailSnapshot.load(client: client, logger: logger)
            #expect(snapshot == .empty)
        }
    }
}
