import Foundation
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Rate limits across a cluster")
struct RateLimitTests {
    @Test("a 100-RPM key driven through three nodes at once gets exactly 100 successes; the rest 429 with headers")
    func keyRPMAcrossThreeNodes() async throws {
        try await Gateway.cluster(nodes: 3) { nodes in
            let (key, _) = try await nodes[0].keys.create(alias: "limited", settings: KeySettings(rpmLimit: 100))
            let statuses = try await withThrowingTaskGroup(of: [HTTPResult].self) { group in
                for worker in 0..<12 {
                    group.addTask {
                        var results: [HTTPResult] = []
                        for _ in 0..<11 {
                            results.append(try await nodes[worker % 3].request("/v1/chat/completions", key: key,
                                body: Gateway.chat("hi")))
                        }
                        return results
                    }
                }
                return try await group.reduce([], +)
            }
            #expect(statuses.count == 132)
            #expect(statuses.filter { $0.status == 200 }.count == 100)
            let limited = statuses.filter { $0.status == 429 }
            #expect(limited.count == 32)
            let sample = try #require(limited.first)
            #expect(try sample.openAIError["code"] as? String == "rate_limit_exceeded")
            #expect(Int(sample.header("retry-after") ?? "") ?? 0 >= 1)
            #expect(sample.header("x-ratelimit-limit-requests") == "100")
            #expect(sample.header("x-ratelimit-remaining-requests") == "0")
        }
    }

    @Test("TPM counts real usage: estimates are reserved, then replaced by what the answer used")
    func keyTPM() async throws {
        try await Gateway.with { gateway in
            let (key, _) = try await gateway.keys.create(alias: "tokens", settings: KeySettings(tpmLimit: 400))
            var used = 0
            var lastStatus = 200
            for _ in 0..<40 {
                let result = try await gateway.request("/v1/chat/completions", key: key,
                    body: Gateway.chat("What is the capital of France?", extra: #","max_tokens":20"#))
                lastStatus = result.status
                guard result.status == 200 else { break }
                used += try #require((try result.json["usage"] as? [String: Any])?["total_tokens"] as? Int)
                // Settling happens after the response; let it land before the next reservation.
                try await Task.sleep(for: .milliseconds(30))
            }
            #expect(lastStatus == 429)
            #expect(used <= 400)
            // The refusal came when the next reservation (body/4 + max_tokens) no longer fit, not before.
            let estimate = #"{"model":"gpt-test","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":20}"#.utf8.count / 4 + 20
            #expect(used + estimate > 400, "refused with \(used) of 400 tokens used")
        }
    }

    @Test("the global limit holds across nodes and follows the setting")
    func globalLimit() async throws {
        try await Gateway.cluster(nodes: 3) { nodes in
            let settings = SettingsStore(client: nodes[0].node.postgres, logger: TestEnvironment.logger)
            var value = try await settings.load()
            if case .object(var fields) = value { fields["global_rate_limit"] = 20; value = .object(fields) }
            try await settings.save(value)
            for node in nodes {
                _ = try await eventually { node.node.platform.current.globalRateLimit == 20 ? true : nil }
            }
            var statuses: [Int] = []
            for index in 0..<30 {
                statuses.append(try await nodes[index % 3].request("/v1/chat/completions", body: Gateway.chat("hi")).status)
            }
            #expect(statuses.filter { $0 == 200 }.count == 20)
            #expect(statuses.filter { $0 == 429 }.count == 10)
        }
    }

    @Test("max_parallel_requests: requests beyond it are refused while the others run")
    func parallel() async throws {
        try await Gateway.with { gateway in
            let (key, _) = try await gateway.keys.create(alias: "parallel",
                settings: KeySettings(maxParallelRequests: 2))
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await gateway.request("/v1/chat/completions", key: key,
                            body: Gateway.chat("[mock:latency_ms=3000] hi")).status  // long enough to overlap on a loaded machine
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 2)
            #expect(statuses.filter { $0 == 429 }.count == 3)
            // The slots are free again afterwards.
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)
        }
    }

    @Test("with Redis unreachable, limits hold per node and nothing fails with a 5xx")
    func redisDown() async throws {
        try await Gateway.with(redisURL: "redis://127.0.0.1:1/0") { gateway in
            let (key, _) = try await gateway.keys.create(alias: "offline", settings: KeySettings(rpmLimit: 5))
            var statuses: [Int] = []
            for _ in 0..<8 {
                statuses.append(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status)
            }
            #expect(statuses.filter { $0 == 200 }.count == 5)
            #expect(statuses.filter { $0 == 429 }.count == 3)
            #expect(statuses.allSatisfy { $0 < 500 })
        }
    }
}

@Suite("Provider limits per deployment")
struct DeploymentLimitTests {
    @Test("a deployment at its catalog rpm is passed over for its fallback, on every node")
    func deploymentRPM() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            var served: [String] = []
            for index in 0..<4 {
                let result = try await nodes[index % 2].request("/v1/chat/completions",
                    body: Gateway.chat(model: "limited-test", "hi"))
                #expect(result.status == 200)
                served.append(try result.json["model"] as? String ?? "?")
            }
            #expect(served == ["limited-test", "limited-test", "gpt-test-2", "gpt-test-2"])
        }
    }
}
