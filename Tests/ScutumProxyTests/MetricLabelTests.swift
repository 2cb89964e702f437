import Foundation
import ScutumTestSupport
import Testing

@Suite("Metric labels stay bounded")
struct MetricLabelTests {
    @Test("model names outside the catalog share the `unknown` label; catalog names keep their own")
    func unknownModels() async throws {
        try await Gateway.with { gateway in
            for index in 0..<12 {
                let result = try await gateway.request("/v1/chat/completions",
                    body: Gateway.chat(model: "no-such-model-\(index)", "hi"))
                #expect(result.status == 404)
            }
            #expect(try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi")).status == 200)
            let metrics = try await gateway.request("/metrics", method: .GET, key: nil).body
            #expect(!metrics.contains("no-such-model"))
            #expect(MetricsTests.sample(metrics, #"scutum_requests_total{model="unknown",status="404"}"#) == 12)
            #expect(MetricsTests.sample(metrics, #"scutum_requests_total{model="gpt-test",status="200"}"#) == 1)
        }
    }
}
