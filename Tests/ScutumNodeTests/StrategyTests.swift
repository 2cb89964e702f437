import Foundation
import ScutumTestSupport
import Testing

/// The load-aware strategies, end to end: a group `pair` of gpt-test and gpt-test-2 ordered by what
/// the node has seen of each.
@Suite("Load-aware routing strategies")
struct StrategyTests {
    /// Makes the `pair` group and sets `strategy`, then waits until the node applies it.
    static func pair(_ gateway: Gateway, strategy: String) async throws {
        let token = try await AdminClusterTests.login(gateway)
        let admin = gateway.adminURL + "/api/v1/routing-policies"
        let group = try await Gateway.send(.POST, admin, key: token,
            body: #"{"name":"pair","type":"model_group","config":{"alias":"pair","models":["gpt-test","gpt-test-2"]}}"#)
        #expect(group.status == 200, "\(group.body)")
        let chosen = try await Gateway.send(.POST, admin, key: token,
            body: #"{"name":"s","type":"routing_strategy","config":{"strategy":"\#(strategy)"}}"#)
        #expect(chosen.status == 200, "\(chosen.body)")
        let applied = try await eventually(timeout: .seconds(5)) { () -> Bool? in
            gateway.node.platform.current.routing.strategy?.rawValue == strategy ? true : nil
        }
        #expect(applied == true)
    }

    static func served(_ result: HTTPResult) throws -> String {
        try result.json["model"] as? String ?? "status \(result.status)"
    }

    @Test("least-busy sends a request past a member that is still answering")
    func leastBusy() async throws {
        try await Gateway.with { gateway in
            try await Self.pair(gateway, strategy: "least-busy")
            async let slow = gateway.request("/v1/chat/completions", body: Gateway.chat(model: "pair", "[mock:latency_ms=2000] hi"))
            let busy = try await eventually(timeout: .seconds(10)) { () -> Bool? in
                gateway.node.deploymentStats.load("gpt-test").inFlight == 1 ? true : nil
            }
            #expect(busy == true)
            let second = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "pair", "hi"))
            let first = try await slow
            #expect(try Self.served(first) == "gpt-test")
            #expect(try Self.served(second) == "gpt-test-2")
            // Both idle again: the group's own order.
            let third = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "pair", "hi"))
            #expect(try Self.served(third) == "gpt-test")
        }
    }

    @Test("latency-based measures each member once, then prefers the faster")
    func latencyBased() async throws {
        try await Gateway.with { gateway in
            try await Self.pair(gateway, strategy: "latency-based")
            let first = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "pair", "[mock:latency_ms=1200] hi"))
            #expect(try Self.served(first) == "gpt-test")
            let second = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "pair", "hi"))
            #expect(try Self.served(second) == "gpt-test-2", "gpt-test-2 had no measurement yet")
            for _ in 0..<3 {
                let next = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "pair", "hi"))
                #expect(try Self.served(next) == "gpt-test-2")
            }
        }
    }

    @Test("usage-based moves to the member that used fewer tokens in the last minute")
    func usageBased() async throws {
        try await Gateway.with { gateway in
            try await Self.pair(gateway, strategy: "usage-based")
            let first = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "pair", "Write a short poem about APIs."))
            #expect(try Self.served(first) == "gpt-test")
            let second = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "pair", "hi"))
            #expect(try Self.served(second) == "gpt-test-2")
            let load = (gateway.node.deploymentStats.load("gpt-test"), gateway.node.deploymentStats.load("gpt-test-2"))
            #expect(load.0.requestsLastMinute == 1 && load.1.requestsLastMinute == 1)
            #expect(load.0.tokensLastMinute > 0 && load.1.tokensLastMinute > 0)
            // Next goes to whichever used less so far.
            let third = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "pair", "hi"))
            let expected = load.0.tokensLastMinute <= load.1.tokensLastMinute ? "gpt-test" : "gpt-test-2"
            #expect(try Self.served(third) == expected)
        }
    }
}
