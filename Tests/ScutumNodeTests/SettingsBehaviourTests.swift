import Foundation
import ScutumCore
import ScutumProxy
import ScutumStore
import ScutumTestSupport
import Testing

/// Every setting the Admin API accepts changes what the gateway does when flipped.
@Suite("Settings change behaviour")
struct SettingsBehaviourTests {
    static func put(_ gateway: Gateway, token: String, _ body: String) async throws {
        let result = try await Gateway.send(.PUT, gateway.adminURL + "/api/v1/settings", key: token, body: body)
        #expect(result.status == 200, "\(result.body)")
    }

    @Test("enable_routing_policies off: the policies stop applying (conditional redirects and groups); on again, they apply")
    func routingPoliciesSwitch() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            let admin = gateway.adminURL + "/api/v1/routing-policies"
            for body in [
                #"{"name":"to two","type":"conditional","priority":1,"config":{"condition":{"min_prompt_tokens":0},"source_model":"gpt-test","redirect_to":"gpt-test-2"}}"#,
                #"{"name":"cheap","type":"model_group","config":{"alias":"cheap-switch","models":["gpt-test-2"]}}"#,
            ] {
                let created = try await Gateway.send(.POST, admin, key: token, body: body)
                #expect(created.status == 200, "\(created.body)")
            }
            func served(_ model: String) async throws -> (Int, String?) {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: model, "hi"))
                return (result.status, try? result.json["model"] as? String)
            }
            // Each policy reaches the node with its own reload: wait for both (the redirect can arrive first).
            let on = try await eventually(timeout: .seconds(5)) { () async throws -> Bool? in
                let redirected = try await served("gpt-test").1 == "gpt-test-2"
                let grouped = try await served("cheap-switch").0 == 200
                return redirected && grouped ? true : nil
            }
            #expect(on == true, "the conditional redirect and the policy's group did not both apply")

            try await Self.put(gateway, token: token, #"{"enable_routing_policies":false}"#)
            let off = try await eventually(timeout: .seconds(5)) { () async throws -> Bool? in
                try await served("gpt-test").1 == "gpt-test" ? true : nil
            }
            #expect(off == true, "the conditional redirect still applies with routing policies off")
            #expect(try await served("cheap-switch").0 == 404, "the policy's group still serves with routing policies off")

            try await Self.put(gateway, token: token, #"{"enable_routing_policies":true}"#)
            let again = try await eventually(timeout: .seconds(5)) { () async throws -> Bool? in
                try await served("gpt-test").1 == "gpt-test-2" ? true : nil
            }
            #expect(again == true)
        }
    }

    @Test("default_model serves a chat request without model; unset, such a request is 400 naming model")
    func defaultModel() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            let body = #"{"messages":[{"role":"user","content":"hi"}]}"#
            let refused = try await gateway.request("/v1/chat/completions", body: body)
            #expect(refused.status == 400)
            #expect(try refused.openAIError["param"] as? String == "model")

            try await Self.put(gateway, token: token, #"{"default_model":"gpt-test-2"}"#)
            let served = try await eventually(timeout: .seconds(5)) { () async throws -> HTTPResult? in
                let result = try await gateway.request("/v1/chat/completions", body: body)
                return result.status == 200 ? result : nil
            }
            #expect(try served?.json["model"] as? String == "gpt-test-2")
            // Streams too, and a request naming its model keeps it.
            let stream = try await gateway.request("/v1/chat/completions",
                body: #"{"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(stream.status == 200)
            #expect(try SSEFrames(stream.body).chunks().first?["model"] as? String == "gpt-test-2")
            let named = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "gpt-test", "hi"))
            #expect(try named.json["model"] as? String == "gpt-test")
            // The default fills only `model`: an object without messages, or a body that is no object, is still 400.
            #expect(try await gateway.request("/v1/chat/completions", body: "{}").status == 400)
            #expect(try await gateway.request("/v1/chat/completions", body: "[]").status == 400)
        }
    }

    @Test("one typed list of settings: the stored object holds only known settings, the proxy's defaults are the list's, the schema endpoint serves it")
    func typedSettings() async throws {
        try await Gateway.with { gateway in
            let stored = try await SettingsStore(client: gateway.node.postgres, logger: TestEnvironment.logger).load()
            let names = Set(PlatformSettings.all.map(\.name))
            let storedNames = Set((stored.objectValue ?? [:]).keys)
            #expect(storedNames.isSubset(of: names), "\(stored)")
            var defaults = PlatformSnapshot()
            defaults.apply(settings: .object([:]))
            #expect(defaults.globalRateLimit == 1000 && defaults.defaultKeyRPM == 100 && defaults.defaultKeyTPM == 100_000)
            #expect(defaults.budgetEnforcement && defaults.costTracking && defaults.guardrailsEnabled)
            #expect(defaults.routingPoliciesEnabled && !defaults.maintenanceMode && defaults.defaultModel == nil)
            let token = try await AdminClusterTests.login(gateway)
            let schema = try await Gateway.send(.GET, gateway.adminURL + "/api/v1/settings/schema", key: token, body: nil)
            #expect(schema.status == 200)
            let listed = try #require(try JSONSerialization.jsonObject(with: Data(schema.body.utf8)) as? [[String: Any]])
            #expect(listed.compactMap { $0["name"] as? String } == PlatformSettings.all.map(\.name))
            #expect(listed.first { $0["name"] as? String == "enable_routing_policies" }?["kind"] as? String == "flag")
            // The console builds its form from these: every setting has a label and a summary.
            #expect(listed.allSatisfy { !(($0["label"] as? String) ?? "").isEmpty && !(($0["summary"] as? String) ?? "").isEmpty })
        }
    }
}
