import Foundation
import ScutumStore
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

    @Test("10,000 random model names from a virtual key leave /metrics, Redis and the node bounded; a name over 256 bytes is 400; a normal request after them is served and billed")
    func randomModelNamesStayBounded() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "random-models",
                settings: KeySettings(rpmLimit: 10_000_000, tpmLimit: 2_000_000_000))
            let redis = gateway.node.redis
            let settings = SettingsStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
            var value = try await settings.load()
            if case .object(var fields) = value { fields["global_rate_limit"] = 0; value = .object(fields) }
            try await settings.save(value)
            _ = try await eventually { gateway.node.platform.current.globalRateLimit == 0 ? true : nil }
            func namespaceKeys() async throws -> [String] {
                try await redisKeys(matching: "\(gateway.node.configuration.redisNamespace)*", using: redis)
            }
            _ = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("warm up"))
            let keysBefore = try await namespaceKeys().count
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in 0..<1250 {
                            let name = "rnd-\(worker)-\(index)-\(UInt64.random(in: 0...UInt64.max))"
                            let result = try await gateway.request("/v1/chat/completions", key: key,
                                body: Gateway.chat(model: name, "hi"))
                            if result.status != 404 { throw TestFailure("\(name): \(result.status) \(result.body)") }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let tooLong = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat(model: String(repeating: "m", count: 257), "hi"))
            #expect(tooLong.status == 400)
            #expect(try tooLong.openAIError["param"] as? String == "model")
            let metrics = try await gateway.request("/metrics", method: .GET, key: nil).body
            #expect(!metrics.contains("rnd-"))
            #expect(MetricsTests.sample(metrics, #"scutum_requests_total{model="unknown",status="404"}"#) == 10_000)
            // Redis: no key and no hash field names a random model.
            let keysAfter = try await namespaceKeys()
            #expect(keysAfter.count <= keysBefore + 8, "Redis keys grew from \(keysBefore) to \(keysAfter.count)")
            #expect(!keysAfter.contains { $0.contains("rnd-") })
            for name in keysAfter {
                guard try await redis.send(["TYPE", .init(name)]).string == "hash" else { continue }
                let fields = try await redis.send(["HKEYS", .init(name)]).array?.compactMap(\.string) ?? []
                #expect(!fields.contains { $0.contains("rnd-") }, "\(name) holds random model names")
            }
            // The node still serves and bills a normal request.
            let normal = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("after"))
            #expect(normal.status == 200)
            let rows = try await eventually(timeout: .seconds(30)) { () async throws -> Int? in
                let (count, _) = try await PlatformTests.count(gateway.node.postgres,
                    "SELECT count(*)::int8, 0::float8 FROM spend_logs WHERE key_id = \(record.keyID) AND status = 200")
                return count >= 2 ? count : nil
            }
            #expect(rows == 2)
        }
    }
}
