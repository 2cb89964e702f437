import Foundation
import ScutumCore
import ScutumRedis
import ScutumTestSupport
import Testing

@Suite("Fallback chains and provider health")
struct FallbackTests {
    @Test("a failing model falls back along its chain; response.model names the model that served")
    func fallback() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "primary-test", "[mock:status=503] [mock:fail_model=primary-upstream] hi"))
            #expect(result.status == 200, "\(result.body)")
            #expect(try result.json["model"] as? String == "gpt-test-2")
            // The primary was tried twice (one retry with backoff), then the fallback once.
            let models = gateway.mockLog.entries.compactMap { entry -> String? in
                (try? JSONSerialization.jsonObject(with: Data(entry.body)) as? [String: Any])?["model"] as? String
            }
            #expect(models == ["primary-upstream", "primary-upstream", "gpt-upstream-2"])
        }
    }

    @Test("a stream that fails before its first byte falls back too")
    func streamFallback() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "primary-test", "[mock:status=500] [mock:fail_model=primary-upstream] hi",
                    stream: true))
            #expect(result.status == 200)
            let chunks = try SSEFrames(result.body).chunks()
            #expect(chunks.first?["model"] as? String == "gpt-test-2")
        }
    }

    @Test("when the whole chain fails: 503 listing every model tried")
    func wholeChainFails() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "primary-test", "[mock:status=500] hi"))
            #expect(result.status == 503)
            let message = try #require(try result.openAIError["message"] as? String)
            for model in ["primary-test", "gpt-test-2", "big-context-test"] { #expect(message.contains(model)) }
        }
    }

    @Test("a context-window error moves on to a model with a larger window only")
    func contextWindow() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "primary-test",
                    "[mock:status=400] [mock:fail_model=primary-upstream] [mock:error_message=This model's maximum context length is 8000 tokens. However, your messages resulted in 9100 tokens.] hi"))
            #expect(result.status == 200, "\(result.body)")
            // gpt-test-2 has no larger window than primary-test's 8000, so only big-context-test was tried.
            #expect(try result.json["model"] as? String == "big-context-test")
            let models = gateway.mockLog.entries.compactMap { entry -> String? in
                (try? JSONSerialization.jsonObject(with: Data(entry.body)) as? [String: Any])?["model"] as? String
            }
            #expect(models == ["primary-upstream", "big-upstream"])
        }
    }

    @Test("the breaker opens on every node after the threshold, and a half-open probe closes it")
    func breaker() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            let health = ProviderHealth(redis: nodes[0].node.redis,
                namespace: "test-cluster-\(nodes[0].database.database)")
            // Five failures (each with its retry) open the breaker for primary-test.
            for index in 0..<3 {
                let result = try await nodes[index % 2].request("/v1/chat/completions",
                    body: Gateway.chat(model: "primary-test", "[mock:status=503] [mock:fail_model=primary-upstream] hi"))
                #expect(try result.json["model"] as? String == "gpt-test-2")
            }
            #expect(try await health.state("primary-test") == "open")
            // The opening is pushed to every node: within 100 ms both skip it, the primary is not called at all.
            try await Task.sleep(for: .milliseconds(100))
            nodes[0].mockLog.clear()
            for node in nodes {
                let result = try await node.request("/v1/chat/completions", body: Gateway.chat(model: "primary-test", "hi"))
                #expect(try result.json["model"] as? String == "gpt-test-2")
            }
            let calledPrimary = nodes[0].mockLog.entries.contains { $0.bodyString().contains("primary-upstream") }
            #expect(!calledPrimary)
            // After the cooldown it is half-open: one probe goes through, succeeds, and closes it.
            let keys = health.keys("primary-test")
            _ = try await nodes[0].node.redis.send(["DEL", RedisArgument(keys.open)])
            #expect(try await health.state("primary-test") == "half_open")
            // Cut short behind the nodes' backs (nothing published): node 1 learns it from its reconcile (every second).
            let deadline = ContinuousClock.now + .seconds(3)
            while nodes[1].node.breakers.reading("primary-test") != .halfOpen, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let probe = try await nodes[1].request("/v1/chat/completions", body: Gateway.chat(model: "primary-test", "hi"))
            #expect(try probe.json["model"] as? String == "primary-test")
            #expect(try await health.state("primary-test") == "closed")
        }
    }
}

@Suite("Fallback chains when every provider rate limits")
struct FallbackRateLimitTests {
    @Test("a chain that is rate limited all along is a 429 with the shortest Retry-After, not a 503")
    func allRateLimited() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "primary-test", "[mock:status=429] [mock:retry_after=9] hi"))
            #expect(result.status == 429)
            #expect(result.header("retry-after") == "9")
            #expect(try result.openAIError["code"] as? String == "upstream_rate_limited")
        }
    }
}
