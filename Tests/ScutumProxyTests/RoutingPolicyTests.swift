import Foundation
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

            let served = try await eventually(timeout: .seconds(2)) { () async throws -> String? in
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
        }
    }
}
