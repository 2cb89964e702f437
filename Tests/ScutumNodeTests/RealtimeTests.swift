import Foundation
import NIOHTTP1
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Realtime figures, request ids and the overhead header")
struct RealtimeTests {
    @Test("GET /api/v1/metrics/realtime adds up what every node served: requests, errors, keys, tokens, cost, models, latency")
    func clusterWide() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            let (first, _) = try await nodes[0].keys.create(alias: "rt-1")
            let (second, _) = try await nodes[0].keys.create(alias: "rt-2")
            var tokens = 0
            for index in 0..<6 {
                let node = nodes[index % 2]
                let result = try await node.request("/v1/chat/completions", key: index < 3 ? first : second,
                    body: Gateway.chat("realtime \(index)"))
                #expect(result.status == 200)
                let usage = try #require(try result.json["usage"] as? [String: Any])
                tokens += (usage["prompt_tokens"] as? Int ?? 0) + (usage["completion_tokens"] as? Int ?? 0)
            }
            let failed = try await nodes[1].request("/v1/chat/completions", key: first,
                body: Gateway.chat("[mock:status=500] fail"))
            #expect(failed.status == 500)

            let token = try await AdminClusterTests.login(nodes[1])
            let report = try await eventually(timeout: .seconds(10)) { () async throws -> [String: Any]? in
                let result = try await Gateway.send(.GET, nodes[1].adminURL + "/api/v1/metrics/realtime", key: token,
                    body: nil)
                let json = try result.json
                return json["requests"] as? Int == 7 ? json : nil
            }
            let figures = try #require(report, "the realtime figures never reached 7 requests")
            #expect(figures["active_keys"] as? Int == 2)
            #expect(abs((figures["error_rate"] as? Double ?? 0) - 1.0 / 7) < 1e-9)
            #expect((figures["requests_per_minute"] as? Double ?? 0) > 0)
            let latency = try #require(figures["latency_ms"] as? [String: Any])
            let (p50, p99) = (latency["p50"] as? Double ?? -1, latency["p99"] as? Double ?? -1)
            #expect(p50 > 0 && p99 >= p50)
            let today = try #require(figures["today"] as? [String: Any])
            #expect(today["requests"] as? Int == 7 && today["errors"] as? Int == 1)
            #expect((today["prompt_tokens"] as? Int ?? 0) + (today["completion_tokens"] as? Int ?? 0) == tokens)
            #expect((today["cost"] as? Double ?? 0) > 0)
            let models = try #require(figures["models"] as? [[String: Any]])
            let model = try #require(models.first { $0["model"] as? String == "gpt-test" })
            #expect(model["requests"] as? Int == 7 && model["errors"] as? Int == 1 && model["tokens"] as? Int == tokens)
            let providers = try #require(figures["providers"] as? [[String: Any]])
            #expect(providers.contains { $0["deployment"] as? String == "gpt-test" && $0["state"] as? String == "closed" })
            let series = try #require(figures["series"] as? [[String: Any]])
            #expect(series.count == 15 && series.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } == 7)
        }
    }

    @Test("x-request-id: the caller's is echoed, otherwise the request's own id, which names its spend record; a reused caller id loses no spend row; errors carry it too")
    func requestIDs() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "ids")
            var ids: [String] = []
            for _ in 0..<2 {
                let given = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi"),
                    headers: [("x-request-id", "lb-1234.abc")])
                #expect(given.header("x-request-id") == "lb-1234.abc")
            }
            let made = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi"),
                headers: [("x-request-id", "bad id with spaces")])
            let madeID = try #require(made.header("x-request-id"))
            #expect(madeID.hasPrefix("req-"))
            ids.append(madeID)
            let refused = try await gateway.request("/v1/chat/completions", key: "sk-wrong", body: Gateway.chat("hi"))
            #expect(refused.status == 401 && refused.header("x-request-id")?.hasPrefix("req-") == true)
            let logs = try await eventually(timeout: .seconds(10)) { () async throws -> [SpendRecord]? in
                let logs = try await SpendLogStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
                    .logs(.init(keyID: record.keyID))
                return logs.count >= 3 ? logs : nil
            }
            let recorded = try #require(logs, "a request with a reused x-request-id lost its spend row")
            #expect(recorded.count == 3 && Set(recorded.map(\.requestID)).count == 3)
            #expect(recorded.allSatisfy { $0.requestID.hasPrefix("req-") })
            #expect(recorded.contains { $0.requestID == ids[0] })
        }
    }

    @Test("x-scutum-overhead-ms on JSON, streamed and embedding answers; the overhead histogram, tokens and spend in /metrics")
    func overhead() async throws {
        try await Gateway.with { gateway in
            let json = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi"))
            let stream = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi", stream: true))
            let embedding = try await gateway.request("/v1/embeddings",
                body: #"{"model":"azure-text-embedding-3-large","input":"hello"}"#)
            for result in [json, stream, embedding] {
                #expect(result.status == 200, "\(result.body)")
                let overhead = try #require(result.header("x-scutum-overhead-ms").flatMap(Double.init))
                #expect(overhead >= 0 && overhead < 5_000)
            }
            let metrics = try await gateway.request("/metrics", method: .GET, key: nil).body
            _ = try await gateway.request("/health/readiness", method: .GET, key: nil)
            let after = try await gateway.request("/metrics", method: .GET, key: nil).body
            #expect(MetricsTests.sample(metrics, "scutum_gateway_overhead_seconds_count") == 3)
            #expect(metrics.contains(#"scutum_request_duration_seconds_count{model="gpt-test",provider="openai",status="200"} 2"#))
            #expect((MetricsTests.sample(metrics, #"scutum_tokens_total{model="gpt-test",type="completion"}"#) ?? 0) > 0)
            #expect((MetricsTests.sample(metrics, #"scutum_spend_usd_total{model="gpt-test"}"#) ?? 0) > 0)
            #expect(MetricsTests.sample(metrics, #"scutum_queue_depth{queue="guardrail_events"}"#) == 0)
            #expect(MetricsTests.sample(after, #"scutum_backend_up{backend="postgres"}"#) == 1)
            #expect(MetricsTests.sample(after, #"scutum_backend_up{backend="redis"}"#) == 1)
        }
    }
}
