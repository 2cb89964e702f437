import Foundation
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Routing policies through the Admin API")
struct RoutingPolicyTests {
    @Test("a fallback policy and a cost-based group made on node A steer node B's next requests")
    func appliedAcrossNodes() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            let token = try await AdminClusterTests.login(nodes[0])
            let admin = nodes[0].adminURL + "/api/v1/routing-policies"
            let fallback = try await Gateway.send(.POST, admin, key: token,
                body: #"{"name":"primary to big","type":"fallback","config":{"model":"primary-test","fallbacks":["big-context-test"]}}"#)
            #expect(fallback.status == 200, "\(fallback.body)")
            let group = try await Gateway.send(.POST, admin, key: token,
                body: #"{"name":"cheap","type":"model_group","config":{"alias":"cheap","models":["gpt-test","gpt-test-2"]}}"#)
            #expect(group.status == 200, "\(group.body)")
            let strategy = try await Gateway.send(.POST, admin, key: token,
                body: #"{"name":"cost","type":"routing_strategy","config":{"strategy":"cost-based"}}"#)
            #expect(strategy.status == 200, "\(strategy.body)")

            let served = try await eventually(timeout: .seconds(5)) { () async throws -> String? in
                let result = try await nodes[1].request("/v1/chat/completions",
                    body: Gateway.chat(model: "primary-test", "[mock:status=503] [mock:fail_model=primary-upstream] hi"))
                let model = try? result.json["model"] as? String
                return model == "big-context-test" ? model : nil
            }
            #expect(served == "big-context-test")
            // gpt-test-2 costs nothing in the test catalog, gpt-test does: cost-based picks gpt-test-2.
            let cheap = try await nodes[1].request("/v1/chat/completions", body: Gateway.chat(model: "cheap", "hi"))
            #expect(try cheap.json["model"] as? String == "gpt-test-2")

            let listed = try await Gateway.send(.GET, admin, key: token, body: nil)
            #expect((try listed.json["policies"] as? [[String: Any]])?.count == 3)
            let id = try #require(try fallback.json["id"] as? String)
            let deleted = try await Gateway.send(.DELETE, admin + "/" + id, key: token, body: nil)
            #expect(deleted.status == 200)
            let missing = try await Gateway.send(.DELETE, admin + "/" + id, key: token, body: nil)
            #expect(missing.status == 404)
        }
    }

    @Test("conditional policies redirect by the key's team, its metadata and the prompt's size")
    func conditional() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            let admin = gateway.adminURL + "/api/v1/routing-policies"
            try await TeamStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
                .create(TeamRecord(teamID: "free", alias: "Free tier"))
            let (free, _) = try await gateway.keys.create(alias: "free-key", settings: KeySettings(teamID: "free"))
            let (gold, _) = try await gateway.keys.create(alias: "gold-key", settings: KeySettings(metadata: #"{"tier":"gold"}"#))
            for body in [
                #"{"name":"free to cheap","type":"conditional","priority":10,"config":{"condition":{"team_id":"free"},"source_model":"gpt-test","redirect_to":"gpt-test-2"}}"#,
                #"{"name":"gold to big","type":"conditional","priority":5,"config":{"condition":{"metadata":{"tier":"gold"}},"source_model":"gpt-test","redirect_to":"big-context-test"}}"#,
                #"{"name":"long prompts","type":"conditional","priority":1,"config":{"condition":{"min_prompt_tokens":2000},"source_model":"gpt-test","redirect_to":"big-context-test"}}"#,
            ] {
                let created = try await Gateway.send(.POST, admin, key: token, body: body)
                #expect(created.status == 200, "\(created.body)")
            }
            let applied = try await eventually(timeout: .seconds(5)) { () -> Bool? in
                gateway.node.platform.current.routing.conditionals.count == 3 ? true : nil
            }
            #expect(applied == true)
            let asFree = try await gateway.request("/v1/chat/completions", key: free, body: Gateway.chat("hi"))
            #expect(try asFree.json["model"] as? String == "gpt-test-2")
            let asGold = try await gateway.request("/v1/chat/completions", key: gold, body: Gateway.chat("hi"))
            #expect(try asGold.json["model"] as? String == "big-context-test")
            let plain = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi"))
            #expect(try plain.json["model"] as? String == "gpt-test")
            let long = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(String(repeating: "lorem ipsum ", count: 800)))
            #expect(try long.json["model"] as? String == "big-context-test")
            // The spend log keeps what was asked for next to what served.
            await gateway.node.spend.flush()
            let logs = try await eventually(timeout: .seconds(15)) { () async throws -> [[String: Any]]? in
                let result = try await Gateway.send(.GET, gateway.adminURL + "/api/v1/spend/logs", key: token, body: nil)
                let logs = try result.json["logs"] as? [[String: Any]] ?? []
                return logs.count >= 4 ? logs : nil
            }
            #expect(logs?.contains { $0["model_requested"] as? String == "gpt-test" && $0["model_served"] as? String == "gpt-test-2" } == true,
                "\(String(describing: logs))")
        }
    }

    @Test("policies naming unknown models or strategies are refused with the field in loc")
    func validation() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            let admin = gateway.adminURL + "/api/v1/routing-policies"
            let unknown = try await Gateway.send(.POST, admin, key: token,
                body: #"{"name":"x","type":"fallback","config":{"model":"gpt-test","fallbacks":["nope"]}}"#)
            #expect(unknown.status == 422)
            #expect(unknown.body.contains(#""loc":["body","config","fallbacks",0]"#))
            let strategy = try await Gateway.send(.POST, admin, key: token,
                body: #"{"name":"x","type":"routing_strategy","config":{"strategy":"round-robin"}}"#)
            #expect(strategy.status == 422)
            let type = try await Gateway.send(.POST, admin, key: token, body: #"{"name":"x","type":"weird","config":{}}"#)
            #expect(type.status == 422)
            let condition = try await Gateway.send(.POST, admin, key: token,
                body: #"{"name":"x","type":"conditional","config":{"condition":{"colour":"red"},"source_model":"gpt-test","redirect_to":"gpt-test-2"}}"#)
            #expect(condition.status == 422)
            #expect(condition.body.contains(#""loc":["body","config","condition","colour"]"#), "\(condition.body)")
            let size = try await Gateway.send(.POST, admin, key: token,
                body: #"{"name":"x","type":"conditional","config":{"condition":{"min_prompt_tokens":"many"},"source_model":"gpt-test","redirect_to":"gpt-test-2"}}"#)
            #expect(size.status == 422)
        }
    }
}
