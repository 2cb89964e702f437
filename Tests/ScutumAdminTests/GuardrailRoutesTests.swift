import Foundation
import HummingbirdTesting
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

@Suite("Admin API: guardrails")
struct GuardrailRoutesTests {
    static let pii: JSONValue = [
        "name": "pii-mask", "description": "Mask contact details", "enable_pii_detection": true, "pii_action": "mask",
        "pii_entities": ["EMAIL_ADDRESS", "PHONE_NUMBER", "EMAIL_ADDRESS"], "enable_prompt_injection": true,
        "prompt_injection_threshold": 0.7, "banned_topics": ["project titan", ["type": "regex", "value": "\\bsecret-\\d{4}\\b"]],
        "max_input_tokens": 8000, "mode": "input", "on_fail": "log",
    ]

    @Test("create, list, get, update and delete a profile; every detector field comes back, defaults filled in")
    func crud() async throws {
        try await AdminFixture.withAPI { api, _ in
            let created = try await api.ok(.post, "/api/v1/guardrails", Self.pii)
            let id = try #require(created["id"]?.stringValue)
            #expect(created["name"] == "pii-mask" && created["description"] == "Mask contact details")
            #expect(created["pii_entities"] == ["EMAIL_ADDRESS", "PHONE_NUMBER"])
            #expect(created["banned_topics"] == [["type": "keyword", "value": "project titan"],
                ["type": "regex", "value": "\\bsecret-\\d{4}\\b"]])
            #expect(created["prompt_injection_threshold"] == 0.7 && created["max_input_tokens"] == 8000)
            #expect(created["mode"] == "input" && created["on_fail"] == "log")
            #expect(created["is_active"] == true && created["is_default"] == false)
            #expect(created["enable_secrets_detection"] == false && created["enable_invisible_text"] == false
                && created["enable_malicious_urls"] == false)
            #expect(date(created["created_at"]) != nil && date(created["updated_at"]) != nil)

            let minimal = try await api.ok(.post, "/api/v1/guardrails", ["name": "bare"])
            #expect(minimal["pii_action"] == "mask" && minimal["mode"] == "both" && minimal["on_fail"] == "block")
            #expect(minimal["pii_entities"]?.arrayValue?.count == 6 && minimal["max_input_tokens"] == .null)
            #expect(minimal["banned_topics"] == [] && minimal["prompt_injection_threshold"] == 0.7)
            #expect(minimal["secrets_action"] == "block" && minimal["blocked_hosts"] == [])

            let list = try await api.ok(.get, "/api/v1/guardrails")["guardrails"]?.arrayValue ?? []
            #expect(list.compactMap { $0["name"]?.stringValue } == ["bare", "pii-mask"])
            #expect(try await api.ok(.get, "/api/v1/guardrails/\(id)") == created)

            // An update changes what it names and keeps the rest.
            let updated = try await api.ok(.put, "/api/v1/guardrails/\(id)",
                ["enable_secrets_detection": true, "max_input_tokens": nil, "mode": "both", "is_active": false])
            #expect(updated["enable_secrets_detection"] == true && updated["max_input_tokens"] == .null)
            #expect(updated["mode"] == "both" && updated["is_active"] == false)
            #expect(updated["pii_entities"] == ["EMAIL_ADDRESS", "PHONE_NUMBER"] && updated["on_fail"] == "log")
            #expect(updated["banned_topics"] == created["banned_topics"])

            let duplicate = try await api.call(.post, "/api/v1/guardrails", ["name": "bare"])
            expectError(duplicate, .conflict, "A guardrail config named 'bare' already exists")
            expectError(try await api.call(.put, "/api/v1/guardrails/\(id)", ["name": "bare"]), .conflict,
                "A guardrail config named 'bare' already exists")

            #expect(try await api.ok(.delete, "/api/v1/guardrails/\(id)")["deleted"]?.stringValue == id)
            expectError(try await api.call(.get, "/api/v1/guardrails/\(id)"), .notFound, "Guardrail config not found")
            expectError(try await api.call(.delete, "/api/v1/guardrails/\(id)"), .notFound, "Guardrail config not found")
            expectError(try await api.call(.get, "/api/v1/guardrails/not-a-uuid"), .notFound, "Guardrail config not found")
            let actions = try await api.auditEntries().compactMap { $0["action"]?.stringValue }
            #expect(actions.contains("guardrail.create") && actions.contains("guardrail.update")
                && actions.contains("guardrail.delete"))
        }
    }

    @Test("invalid profiles are 422s at the field, list index or topic value")
    func validation() async throws {
        try await AdminFixture.withAPI { api, _ in
            let cases: [(JSONValue, String)] = [
                ([:], "body.name"),
                (["name": " "], "body.name"),
                (["name": "x", "pii_entities": ["EMAIL_ADDRESS", "PASSPORT"]], "body.pii_entities.1"),
                (["name": "x", "pii_entities": []], "body.pii_entities"),
                (["name": "x", "pii_entities": "EMAIL_ADDRESS"], "body.pii_entities"),
                (["name": "x", "pii_action": "redact"], "body.pii_action"),
                (["name": "x", "mode": "sideways"], "body.mode"),
                (["name": "x", "on_fail": "warn"], "body.on_fail"),
                (["name": "x", "prompt_injection_threshold": 1.5], "body.prompt_injection_threshold"),
                (["name": "x", "prompt_injection_threshold": -0.1], "body.prompt_injection_threshold"),
                (["name": "x", "prompt_injection_threshold": "high"], "body.prompt_injection_threshold"),
                (["name": "x", "max_input_tokens": 0], "body.max_input_tokens"),
                (["name": "x", "max_input_tokens": -5], "body.max_input_tokens"),
                (["name": "x", "enable_pii_detection": "yes"], "body.enable_pii_detection"),
                (["name": "x", "banned_topics": "titan"], "body.banned_topics"),
                (["name": "x", "banned_topics": ["ok", ""]], "body.banned_topics.1"),
                (["name": "x", "banned_topics": [42]], "body.banned_topics.0"),
                (["name": "x", "banned_topics": [["type": "glob", "value": "x"]]], "body.banned_topics.0.type"),
                (["name": "x", "banned_topics": [["type": "regex"]]], "body.banned_topics.0.value"),
                (["name": "x", "banned_topics": [["type": "regex", "value": "(unclosed"]]], "body.banned_topics.0.value"),
                (["name": "x", "banned_topics": [["type": "keyword", "value": "x", "flags": "i"]]],
                    "body.banned_topics.0.flags"),
                (["name": "x", "enable_pii": true], "body.enable_pii"),
            ]
            for (body, location) in cases {
                expectValidationError(try await api.call(.post, "/api/v1/guardrails", body), at: location)
            }
            // Nested quantifiers are refused with the reason.
            for pattern in ["(a+)+", "(a*)*b", "(\\w+\\s?)*$", "(?:x|y+){2,}", "((ab)+c)*"] {
                let reply = try await api.call(.post, "/api/v1/guardrails",
                    ["name": "x", "banned_topics": [["type": "regex", "value": .string(pattern)]]])
                expectValidationError(reply, at: "body.banned_topics.0.value")
                #expect(reply.text.contains("Nested quantifiers"), "\(pattern): \(reply.text)")
            }
            // Every problem of a body is reported at once; nothing was stored.
            let many = try await api.call(.post, "/api/v1/guardrails",
                ["name": "x", "mode": "up", "pii_entities": ["NOPE", "PERSON", "ALSO_NOPE"]])
            #expect(Set(many.locations) == ["body.mode", "body.pii_entities.0", "body.pii_entities.2"], "\(many.text)")
            #expect(try await api.ok(.get, "/api/v1/guardrails")["guardrails"] == [])

            let created = try await api.ok(.post, "/api/v1/guardrails", ["name": "ok"])
            let id = try #require(created["id"]?.stringValue)
            expectValidationError(try await api.call(.put, "/api/v1/guardrails/\(id)", ["pii_action": "shout"]),
                at: "body.pii_action")
            expectValidationError(try await api.call(.put, "/api/v1/guardrails/\(id)", ["name": nil]), at: "body.name")
            #expect(try await api.ok(.get, "/api/v1/guardrails/\(id)") == created)
        }
    }

    @Test("what the detectors' parser refuses is a 422 too: profile names, a zero threshold, blocked hosts, backreferences")
    func detectorParser() async throws {
        try await AdminFixture.withAPI { api, _ in
            let cases: [(JSONValue, String)] = [
                (["name": "has spaces"], "body.name"),
                (["name": "x", "prompt_injection_threshold": 0], "body.prompt_injection_threshold"),
                (["name": "x", "blocked_hosts": ["evil.example", "http://bad/"]], "body.blocked_hosts.1"),
                (["name": "x", "banned_topics": [["type": "regex", "value": "(a)\\1"]]], "body.banned_topics.0.value"),
                (["name": "x", "secrets_action": "hide"], "body.secrets_action"),
            ]
            for (body, location) in cases {
                expectValidationError(try await api.call(.post, "/api/v1/guardrails", body), at: location)
            }
            let created = try await api.ok(.post, "/api/v1/guardrails", ["name": "hosts", "enable_malicious_urls": true,
                "blocked_hosts": ["*.evil.example"], "secrets_action": "mask"])
            #expect(created["blocked_hosts"] == ["*.evil.example"] && created["secrets_action"] == "mask")
        }
    }

    @Test("one default at a time: marking another moves the mark")
    func defaultProfile() async throws {
        try await AdminFixture.withAPI { api, _ in
            let first = try await api.ok(.post, "/api/v1/guardrails", ["name": "first", "is_default": true])
            let second = try await api.ok(.post, "/api/v1/guardrails", ["name": "second", "is_default": true])
            let firstID = try #require(first["id"]?.stringValue)
            #expect(try await api.ok(.get, "/api/v1/guardrails/\(firstID)")["is_default"] == false)
            #expect(second["is_default"] == true)
            _ = try await api.ok(.put, "/api/v1/guardrails/\(firstID)", ["is_default": true])
            let defaults = (try await api.ok(.get, "/api/v1/guardrails")["guardrails"]?.arrayValue ?? [])
                .filter { $0["is_default"] == true }.compactMap { $0["name"]?.stringValue }
            #expect(defaults == ["first"])
        }
    }

    @Test("assign with a priority, reassign, list by team then priority, unassign; 404s and 422s")
    func assignments() async throws {
        try await AdminFixture.withAPI { api, _ in
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "alpha", "team_alias": "Alpha"])
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "beta team", "team_alias": "Beta"])
            let pii = try #require(try await api.ok(.post, "/api/v1/guardrails", ["name": "pii"])["id"]?.stringValue)
            let secrets = try #require(
                try await api.ok(.post, "/api/v1/guardrails", ["name": "secrets"])["id"]?.stringValue)

            let assigned = try await api.ok(.post, "/api/v1/guardrails/\(pii)/assign/alpha?priority=10")
            #expect(assigned["team_id"] == "alpha" && assigned["team_name"] == "Alpha")
            #expect(assigned["guardrail_config_id"]?.stringValue == pii && assigned["config_name"] == "pii")
            #expect(assigned["priority"] == 10)
            _ = try await api.ok(.post, "/api/v1/guardrails/\(secrets)/assign/alpha?priority=2")
            _ = try await api.ok(.post, "/api/v1/guardrails/\(pii)/assign/beta%20team")
            var list = try await api.ok(.get, "/api/v1/guardrail-assignments")["assignments"]?.arrayValue ?? []
            #expect(list.map { "\($0["team_id"]?.stringValue ?? ""):\($0["config_name"]?.stringValue ?? ""):\($0["priority"]?.intValue ?? -1)" }
                == ["alpha:secrets:2", "alpha:pii:10", "beta team:pii:0"])
            for entry in list {
                let keys = Set(entry.objectValue?.keys.map { $0 } ?? [])
                #expect(keys.isSuperset(of: ["team_id", "team_name", "guardrail_config_id", "config_name", "priority"]))
            }

            // Assigning again moves the priority.
            _ = try await api.ok(.post, "/api/v1/guardrails/\(pii)/assign/alpha?priority=1")
            list = try await api.ok(.get, "/api/v1/guardrail-assignments")["assignments"]?.arrayValue ?? []
            #expect(list.compactMap { $0["config_name"]?.stringValue } == ["pii", "secrets", "pii"])

            let unknown = "00000000-0000-0000-0000-000000000000"
            expectError(try await api.call(.post, "/api/v1/guardrails/\(unknown)/assign/alpha"), .notFound,
                "Guardrail config not found")
            expectError(try await api.call(.post, "/api/v1/guardrails/\(pii)/assign/nobody"), .notFound, "Team not found")
            for bad in ["-1", "x", "1.5", "1000001"] {
                expectValidationError(try await api.call(.post, "/api/v1/guardrails/\(pii)/assign/alpha?priority=\(bad)"),
                    at: "query.priority")
            }

            let removed = try await api.ok(.delete, "/api/v1/guardrails/\(pii)/assign/alpha")
            #expect(removed["deleted"] == true && removed["team_id"] == "alpha")
            expectError(try await api.call(.delete, "/api/v1/guardrails/\(pii)/assign/alpha"), .notFound,
                "Guardrail assignment not found")
            expectError(try await api.call(.delete, "/api/v1/guardrails/\(pii)/assign/nobody"), .notFound,
                "Team not found")

            // Deleting a profile takes its assignments with it.
            _ = try await api.ok(.delete, "/api/v1/guardrails/\(pii)")
            list = try await api.ok(.get, "/api/v1/guardrail-assignments")["assignments"]?.arrayValue ?? []
            #expect(list.compactMap { $0["config_name"]?.stringValue } == ["secrets"])
            let actions = try await api.auditEntries().compactMap { $0["action"]?.stringValue }
            #expect(actions.contains("guardrail.assign") && actions.contains("guardrail.unassign"))
        }
    }

    @Test("events: filtered by team and type, paged, newest first; never any text")
    func events() async throws {
        try await AdminFixture.withAPI { api, client in
            let store = GuardrailEventStore(client: client, logger: TestEnvironment.logger)
            let start = Date(timeIntervalSince1970: 1_760_000_000)
            try await store.record((0..<30).map { index in
                GuardrailEvent(at: start.addingTimeInterval(Double(index)), requestID: "req-\(index)", keyID: "k",
                    teamID: index < 20 ? "alpha" : "beta", configName: "pii",
                    eventType: index.isMultiple(of: 2) ? .piiMasked : .inputBlocked, scanner: "pii",
                    rule: "EMAIL_ADDRESS", model: "gpt-5-mini", riskScore: 0.9,
                    action: index.isMultiple(of: 2) ? .mask : .block, counts: ["EMAIL_ADDRESS": 1])
            })
            let all = try await api.ok(.get, "/api/v1/guardrail-events")
            let events = all["events"]?.arrayValue ?? []
            #expect(events.count == 30 && all["limit"] == 100 && all["offset"] == 0)
            let newest = try #require(events.first)
            #expect(newest["request_id"] == "req-29" && newest["team_id"] == "beta" && newest["event_type"] == "input_blocked")
            #expect(newest["scanner"] == "pii" && newest["model"] == "gpt-5-mini" && newest["risk_score"] == 0.9)
            #expect(newest["action"] == "block" && newest["details"] == ["EMAIL_ADDRESS": 1])
            let keys = Set(newest.objectValue?.keys.map { $0 } ?? [])
            #expect(keys == ["id", "at", "request_id", "key_id", "team_id",
                "guardrail_config_id", "config_name", "event_type", "scanner", "rule", "model", "risk_score", "action",
                "details"])

            let page = try await api.ok(.get, "/api/v1/guardrail-events?team_id=alpha&event_type=pii_masked&limit=3&offset=2")
            #expect(page["events"]?.arrayValue?.compactMap { $0["request_id"]?.stringValue } == ["req-14", "req-12", "req-10"])
            expectValidationError(try await api.call(.get, "/api/v1/guardrail-events?event_type=nope"),
                at: "query.event_type")
            expectValidationError(try await api.call(.get, "/api/v1/guardrail-events?limit=0"), at: "query.limit")
            expectValidationError(try await api.call(.get, "/api/v1/guardrail-events?offset=-1"), at: "query.offset")
        }
    }

    @Test("keys: guardrails inherit by default, opt out, or add profiles; unknown ids are 422s")
    func keyGuardrails() async throws {
        try await AdminFixture.withAPI { api, _ in
            let pii = try #require(try await api.ok(.post, "/api/v1/guardrails", ["name": "pii"])["id"]?.stringValue)
            let plain = try await api.ok(.post, "/api/v1/keys/generate", ["key_alias": "plain"])
            #expect(plain["guardrails"] == "inherit")
            let keyID = try #require(plain["key_id"]?.stringValue)
            let extra = try await api.ok(.post, "/api/v1/keys/update",
                ["key_id": .string(keyID), "guardrails": [.string(pii), .string(pii)]])
            #expect(extra["guardrails"] == [.string(pii)])
            let off = try await api.ok(.post, "/api/v1/keys/generate", ["key_alias": "off", "guardrails": "off"])
            #expect(off["guardrails"] == "off")
            #expect(try await api.ok(.post, "/api/v1/keys/update", ["key_id": .string(keyID), "guardrails": nil])["guardrails"]
                == "inherit")
            expectValidationError(try await api.call(.post, "/api/v1/keys/generate",
                ["guardrails": ["00000000-0000-0000-0000-000000000000"]]), at: "body.guardrails.0")
            expectValidationError(try await api.call(.post, "/api/v1/keys/generate", ["guardrails": "sometimes"]),
                at: "body.guardrails")
        }
    }
}
