import Foundation
import NIOHTTP1
import ScutumStore
import ScutumTestSupport
import Testing

/// Guardrail profiles made through the Admin API, enforced by the proxy against the mock upstream:
/// what reaches the provider (the mock's request log), what reaches the caller, and the events.
@Suite("Guardrails on the proxy")
struct GuardrailTests {
    static let card = "4111 1111 1111 1111"
    static let openAIKey = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
    static let awsKey = "AKIAIOSFODNN7EXAMPLE"

    /// Logs in, and returns a function sending Admin API requests with the token.
    static func admin(_ gateway: Gateway) async throws -> @Sendable (HTTPMethod, String, String?) async throws -> HTTPResult {
        let token = try await AdminClusterTests.login(gateway)
        return { method, path, body in try await Gateway.send(method, gateway.adminURL + path, key: token, body: body) }
    }

    /// Creates a team and a profile assigned to it; returns the profile's id.
    static func profile(_ admin: (HTTPMethod, String, String?) async throws -> HTTPResult, _ body: String,
        team: String?) async throws -> String
    {
        let created = try await admin(.POST, "/api/v1/guardrails", body)
        #expect(created.status == 200, "\(created.body)")
        let id = try #require(try created.json["id"] as? String)
        if let team {
            let made = try await admin(.POST, "/api/v1/teams", #"{"team_id":"\#(team)","team_alias":"\#(team)"}"#)
            #expect(made.status == 200, "\(made.body)")
            let assigned = try await admin(.POST, "/api/v1/guardrails/\(id)/assign/\(team)?priority=1", nil)
            #expect(assigned.status == 200, "\(assigned.body)")
        }
        return id
    }

    /// Sends `body` until `done` holds for the answer (profile changes arrive by NOTIFY).
    static func until(_ gateway: Gateway, key: String, _ body: String, _ done: @escaping (HTTPResult) -> Bool)
        async throws -> HTTPResult
    {
        var last: HTTPResult?
        let result = try await eventually(timeout: .seconds(10)) { () async throws -> HTTPResult? in
            let result = try await gateway.request("/v1/chat/completions", key: key, body: body)
            last = result
            return done(result) ? result : nil
        }
        return try #require(result, "never: \(last?.status ?? 0) \(last?.body ?? "")")
    }

    static func events(_ admin: (HTTPMethod, String, String?) async throws -> HTTPResult, team: String, count: Int)
        async throws -> [[String: Any]]
    {
        let events = try await eventually(timeout: .seconds(10)) { () async throws -> [[String: Any]]? in
            let listed = try await admin(.GET, "/api/v1/guardrail-events?team_id=\(team)", nil)
            let events = try listed.json["events"] as? [[String: Any]] ?? []
            return events.count >= count ? events : nil
        }
        return try #require(events, "fewer than \(count) events for \(team)")
    }

    @Test("input: a card number and an email are masked before the provider sees them; a pasted key and a banned topic are 400s naming the rule and never leave; events hold no text")
    func input() async throws {
        try await Gateway.with { gateway in
            let admin = try await Self.admin(gateway)
            _ = try await Self.profile(admin, """
                {"name":"company-input","mode":"input","enable_pii_detection":true,"pii_action":"mask",
                 "pii_entities":["CREDIT_CARD","EMAIL_ADDRESS"],"enable_secrets_detection":true,
                 "banned_topics":["project titan"]}
                """, team: "team-in")
            let (key, _) = try await gateway.keys.create(alias: "in", settings: KeySettings(teamID: "team-in"))

            let masked = try await Self.until(gateway, key: key,
                Gateway.chat("Charge \(Self.card) and mail jane.doe@example.com the receipt")) {
                $0.body.contains("<CREDIT_CARD>")
            }
            #expect(masked.status == 200)
            let seen = try #require(gateway.mockLog.last).bodyString()
            #expect(seen.contains("Charge <CREDIT_CARD> and mail <EMAIL_ADDRESS> the receipt"), "\(seen)")
            #expect(!seen.contains("4111") && !seen.contains("jane.doe"))

            // Near misses pass untouched: a 16-digit number failing Luhn, an email-like string in code.
            let near = "Order 4111 1111 1111 1112 ships; see user@host in the ssh config"
            let passed = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat(near))
            #expect(passed.status == 200, "\(passed.body)")
            #expect(try #require(gateway.mockLog.last).bodyString().contains(near))

            let sentBefore = gateway.mockLog.entries.count
            let secret = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat("Debug this: OPENAI_API_KEY=\(Self.openAIKey)"))
            #expect(secret.status == 400)
            let secretError = try secret.openAIError
            #expect(secretError["code"] as? String == "guardrail_violation")
            #expect(secretError["type"] as? String == "invalid_request_error" && secretError["param"] as? String == "messages")
            let message = secretError["message"] as? String ?? ""
            #expect(message.contains("company-input") && message.contains("openai_api_key"), "\(message)")
            #expect(!secret.body.contains(Self.openAIKey))

            let topic = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat("What is the launch date of Project Titan?", stream: true))
            #expect(topic.status == 400)
            #expect((try topic.openAIError["message"] as? String ?? "").contains("project titan"))
            #expect(gateway.mockLog.entries.count == sentBefore, "a blocked request reached the provider")

            let events = try await Self.events(admin, team: "team-in", count: 3)
            let types = events.compactMap { $0["event_type"] as? String }
            #expect(types.filter { $0 == "input_blocked" }.count == 2 && types.contains("pii_masked"), "\(types)")
            let blocked = try #require(events.first { $0["rule"] as? String == "openai_api_key" })
            #expect(blocked["scanner"] as? String == "secrets" && blocked["action"] as? String == "block")
            #expect(blocked["config_name"] as? String == "company-input" && blocked["model"] as? String == "gpt-test")
            let maskedEvent = try #require(events.first { $0["event_type"] as? String == "pii_masked" })
            #expect(maskedEvent["details"] as? [String: Int] == ["CREDIT_CARD": 1, "EMAIL_ADDRESS": 1])
            let listed = try await admin(.GET, "/api/v1/guardrail-events?team_id=team-in", nil).body
            // The card as sent ("4111" alone can occur in the events' UUIDs).
            #expect(!listed.contains(Self.card) && !listed.contains(Self.card.replacingOccurrences(of: " ", with: ""))
                && !listed.contains("jane.doe") && !listed.contains("sk-proj"))

            // Embeddings: text inputs are checked too; token ids cannot be, so they are refused, not let through.
            let embedSecret = try await gateway.request("/v1/embeddings", key: key,
                body: #"{"model":"azure-text-embedding-3-large","input":["fine","key \#(Self.openAIKey)"]}"#)
            #expect(embedSecret.status == 400)
            #expect(try embedSecret.openAIError["code"] as? String == "guardrail_violation")
            let tokens = try await gateway.request("/v1/embeddings", key: key,
                body: #"{"model":"azure-text-embedding-3-large","input":[[1,2,3]]}"#)
            #expect(tokens.status == 400, "\(tokens.body)")
            #expect(try tokens.openAIError["param"] as? String == "input")
            #expect(gateway.mockLog.entries.count == sentBefore, "a refused embedding reached the provider")

        }
    }

    @Test("output on streams: a secret split across chunks is masked in a rewritten stream, or ends it with an error event; JSON answers too")
    func output() async throws {
        try await Gateway.with { gateway in
            let admin = try await Self.admin(gateway)
            _ = try await Self.profile(admin, """
                {"name":"mask-out","mode":"output","enable_secrets_detection":true,"secrets_action":"mask"}
                """, team: "team-mask")
            _ = try await Self.profile(admin, """
                {"name":"block-out","mode":"output","enable_secrets_detection":true}
                """, team: "team-block")
            let (masker, _) = try await gateway.keys.create(alias: "m", settings: KeySettings(teamID: "team-mask"))
            let (blocker, _) = try await gateway.keys.create(alias: "b", settings: KeySettings(teamID: "team-block"))

            // The mock echoes the prompt six times over in 7-character chunks: each key is cut
            // across two or three chunks, and the answer (372 bytes) is longer than the 256 held back.
            let prompt = "[mock:chunk_chars=7] [mock:repeat=6] the key is \(Self.awsKey) ok"
            let stream = try await Self.until(gateway, key: masker, Gateway.chat(prompt, stream: true)) {
                $0.body.contains("<SECRET>")
            }
            let frames = SSEFrames(stream.body)
            #expect(frames.payloads.last == "[DONE]")
            let content = try frames.content()
            #expect(content.components(separatedBy: "<SECRET>").count == 7, "\(content)")
            #expect(!stream.body.contains("AKIA") && !stream.body.contains("EXAMPLE"))
            #expect(content == Array(repeating: "This is a mock response to: the key is <SECRET> ok", count: 6)
                .joined(separator: " "))
            // Text was released before the answer ended, not all held to the end.
            let withText = try frames.chunks().filter { chunk in
                ((chunk["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
                    != nil && !(((chunk["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"]
                        as? String ?? "").isEmpty
            }
            #expect(withText.count > 2, "\(withText.count) chunks carried text")

            let json = try await gateway.request("/v1/chat/completions", key: masker, body: Gateway.chat(prompt))
            #expect(json.status == 200 && json.body.contains("<SECRET>") && !json.body.contains("AKIA"))

            let blocked = try await Self.until(gateway, key: blocker, Gateway.chat(prompt, stream: true)) {
                $0.body.contains("guardrail_violation")
            }
            #expect(blocked.status == 200)
            let blockedFrames = SSEFrames(blocked.body)
            #expect(!blockedFrames.payloads.contains("[DONE]"))
            let last = try #require(try blockedFrames.chunks().last?["error"] as? [String: Any])
            #expect(last["code"] as? String == "guardrail_violation" && last["type"] as? String == "guardrail_error")
            #expect(!blocked.body.contains("AKIA"))

            let blockedJSON = try await gateway.request("/v1/chat/completions", key: blocker, body: Gateway.chat(prompt))
            #expect(blockedJSON.status == 400)
            #expect(try blockedJSON.openAIError["type"] as? String == "guardrail_error")
            #expect(!blockedJSON.body.contains("AKIA"))

            let masks = try await Self.events(admin, team: "team-mask", count: 2)
            #expect(masks.allSatisfy { $0["event_type"] as? String == "pii_masked" && $0["scanner"] as? String == "secrets" })
            #expect(masks.contains { $0["details"] as? [String: Int] == ["aws_access_key_id": 6] })
            let blocks = try await Self.events(admin, team: "team-block", count: 2)
            #expect(blocks.allSatisfy { $0["event_type"] as? String == "output_blocked" })
        }
    }

    @Test("the default profile covers keys with no team assignment and the master key; a key can opt out; enable_guardrails off turns it all off; on_fail log lets through and flags")
    func defaultsAndSwitches() async throws {
        try await Gateway.with { gateway in
            let admin = try await Self.admin(gateway)
            _ = try await Self.profile(admin, """
                {"name":"default-pii","is_default":true,"enable_pii_detection":true,"pii_action":"block",
                 "pii_entities":["US_SSN"]}
                """, team: nil)
            let made = try await admin(.POST, "/api/v1/teams", #"{"team_id":"team-none","team_alias":"none"}"#)
            #expect(made.status == 200)
            _ = try await Self.profile(admin, """
                {"name":"log-only","on_fail":"log","enable_pii_detection":true,"pii_action":"block","pii_entities":["US_SSN"]}
                """, team: "team-log")
            let (unassigned, _) = try await gateway.keys.create(alias: "u", settings: KeySettings(teamID: "team-none"))
            let (teamless, _) = try await gateway.keys.create(alias: "t")
            let (optedOut, _) = try await gateway.keys.create(alias: "o",
                settings: KeySettings(teamID: "team-none", guardrails: .off))
            let (logged, _) = try await gateway.keys.create(alias: "l", settings: KeySettings(teamID: "team-log"))
            let ssn = Gateway.chat("My SSN is 078-05-1120, keep it safe")

            for key in [unassigned, teamless, Gateway.masterKey] {
                let refused = try await Self.until(gateway, key: key, ssn) { $0.status == 400 }
                #expect(try refused.openAIError["message"] as? String ?? "" == "The request was blocked by guardrail 'default-pii': pii rule 'US_SSN' matched.")
            }
            #expect(try await gateway.request("/v1/chat/completions", key: optedOut, body: ssn).status == 200)
            let flagged = try await gateway.request("/v1/chat/completions", key: logged, body: ssn)
            #expect(flagged.status == 200)
            let events = try await Self.events(admin, team: "team-log", count: 1)
            #expect(events.first?["event_type"] as? String == "flagged" && events.first?["action"] as? String == "log")

            let off = try await admin(.PUT, "/api/v1/settings", #"{"enable_guardrails":false}"#)
            #expect(off.status == 200, "\(off.body)")
            _ = try await Self.until(gateway, key: unassigned, ssn) { $0.status == 200 }
            _ = try await admin(.PUT, "/api/v1/settings", #"{"enable_guardrails":true}"#)
            _ = try await Self.until(gateway, key: unassigned, ssn) { $0.status == 400 }
        }
    }
}

@Suite("Guardrails across a cluster")
struct GuardrailClusterTests {
    /// NOTIFY reaches the other node in milliseconds and it reloads in a few more (nothing polls, so
    /// without the notification it would never change); the bound leaves room for a 2-core CI
    /// machine running every suite, and builds, at once (3.8 s seen there).
    static let bound: Duration = .seconds(8)

    @Test("a profile made through node A's Admin API is enforced by node B at once, and so is its removal")
    func profileReachesEveryNode() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            let admin = try await GuardrailTests.admin(nodes[0])
            let body = Gateway.chat("My SSN is 078-05-1120")
            #expect(try await nodes[1].request("/v1/chat/completions", body: body).status == 200)

            var started = ContinuousClock.now
            let id = try await GuardrailTests.profile(admin, """
                {"name":"cluster-default","is_default":true,"enable_pii_detection":true,"pii_action":"block"}
                """, team: nil)
            let blocked = try await eventually(timeout: .seconds(10)) { () async throws -> Bool? in
                try await nodes[1].request("/v1/chat/completions", body: body).status == 400 ? true : nil
            }
            #expect(blocked == true)
            #expect(ContinuousClock.now - started < Self.bound, "took \(ContinuousClock.now - started)")

            started = ContinuousClock.now
            #expect(try await admin(.DELETE, "/api/v1/guardrails/\(id)", nil).status == 200)
            let allowed = try await eventually(timeout: .seconds(10)) { () async throws -> Bool? in
                try await nodes[1].request("/v1/chat/completions", body: body).status == 200 ? true : nil
            }
            #expect(allowed == true)
            #expect(ContinuousClock.now - started < Self.bound, "took \(ContinuousClock.now - started)")
        }
    }
}
