import Foundation
import ScutumCore
import ScutumRedis
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Prometheus metrics on the proxy port")
struct MetricsTests {
    /// The value of the sample `line` (metric name with labels) in the exposition, if present.
    static func sample(_ text: String, _ line: String) -> Double? {
        for row in text.split(separator: "\n") where row.hasPrefix(line + " ") {
            return Double(row.dropFirst(line.count + 1))
        }
        return nil
    }

    @Test("fallbacks, provider failures, limited requests, breaker state and request counts are exported")
    func exported() async throws {
        try await Gateway.with { gateway in
            let metricsBefore = try await gateway.request("/metrics", method: .GET, key: nil)
            #expect(metricsBefore.status == 200)
            #expect(Self.sample(metricsBefore.body, "scutum_redis_degraded") == 0)

            // A fallback: primary-test fails (with its retry), gpt-test-2 serves.
            let fallback = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "primary-test", "[mock:status=503] [mock:fail_model=primary-upstream] hi"))
            #expect(try fallback.json["model"] as? String == "gpt-test-2")
            // A key over its rpm.
            let (key, _) = try await gateway.keys.create(alias: "one-a-minute", settings: KeySettings(rpmLimit: 1))
            #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)
            #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 429)
            // Enough failures to open gpt-test's breaker (threshold 5; each request fails twice).
            for _ in 0..<3 {
                _ = try await gateway.request("/v1/chat/completions", body: Gateway.chat("[mock:status=500] hi"))
            }
            try await Task.sleep(for: .milliseconds(150))
            let skipped = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi"))
            #expect(skipped.status == 503, "\(skipped.body)")
            #expect(try skipped.openAIError["code"] as? String == "no_available_deployment")

            let text = try await gateway.request("/metrics", method: .GET, key: nil).body
            #expect(Self.sample(text, #"scutum_fallbacks_total{from="primary-test",to="gpt-test-2"}"#) == 1, "\(text)")
            #expect(Self.sample(text, #"scutum_provider_failures_total{deployment="primary-test",error="upstream_error"}"#) == 2)
            #expect(Self.sample(text, #"scutum_rate_limited_total{limit="key_rpm"}"#) == 1)
            #expect(Self.sample(text, #"scutum_circuit_breaker_state{deployment="gpt-test"}"#) == 2)
            #expect(Self.sample(text, #"scutum_requests_total{model="primary-test",status="200"}"#) == 1)
            #expect(Self.sample(text, #"scutum_requests_total{model="gpt-test",status="429"}"#) == 1)
            #expect(Self.sample(text, #"scutum_requests_total{model="gpt-test",status="503"}"#) == 1)
            #expect(text.contains(#"scutum_deployment_latency_seconds_bucket{deployment="gpt-test-2""#))
            #expect(text.contains("# HELP scutum_fallbacks_total"))
        }
    }

    @Test("a deployment's token reservation is settled with real usage, so its tpm is not used up by estimates")
    func deploymentTPMReconciled() async throws {
        try await Gateway.with { gateway in
            // tpm-test allows 700 tokens a minute; each request reserves about 280 (256 for the
            // completion) but uses about 20. Unsettled, the third would be passed over.
            var served: [String] = []
            for _ in 0..<6 {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "tpm-test", "hi"))
                served.append(try result.json["model"] as? String ?? "?")
                try await Task.sleep(for: .milliseconds(150))
            }
            #expect(served == Array(repeating: "tpm-test", count: 6))
            // A request whose estimate alone exceeds what is left goes to the fallback.
            let big = try await gateway.request("/v1/chat/completions",
                body: #"{"model":"tpm-test","max_tokens":690,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(try big.json["model"] as? String == "gpt-test-2")
        }
    }
}

@Suite("Redis killed mid-run")
struct RedisOutageTests {
    /// A redis-server of the test's own on `port`, with nothing saved to disk.
    final class OwnRedis: @unchecked Sendable {
        let port: Int
        var process: Process?

        /// On a port nobody listens on, below the range the kernel hands out to outgoing
        /// connections (so none takes it while the server is down between a kill and a start).
        init() {
            var port = 0
            for _ in 0..<50 {
                port = Int.random(in: 20_000..<32_000)
                if Self.isFree(port) { break }
            }
            self.port = port
        }

        private static func isFree(_ port: Int) -> Bool {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
        }

        func start() async throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
            process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--protected-mode", "no", "--loglevel", "warning"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            self.process = process
            let redis = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: port, connectionCount: 1,
                commandTimeout: .seconds(1), connectTimeout: .seconds(1), reconnectBackoff: .milliseconds(50)),
                logger: TestEnvironment.logger)
            let up = try await eventually(timeout: .seconds(30)) { () async -> Bool? in
                (try? await redis.ping()) != nil ? true : nil
            }
            #expect(up == true, "redis-server did not start on port \(port)")
            await redis.close()
        }

        func kill() {
            guard let process else { return }
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            self.process = nil
        }
    }

    @Test("no 5xx while Redis is gone, limits per node meanwhile, cluster-wide again when it is back")
    func killAndRestart() async throws {
        let own = OwnRedis()
        try await own.start()
        defer { own.kill() }
        try await Gateway.with(redisURL: "redis://127.0.0.1:\(own.port)/0") { gateway in
            let (key, _) = try await gateway.keys.create(alias: "steady", settings: KeySettings(rpmLimit: 6))
            for _ in 0..<2 {
                #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)
            }
            let ready = try await gateway.request("/health/readiness", method: .GET, key: nil)
            #expect(try ready.json["rate_limits"] as? String == "cluster")

            own.kill()
            // Per node now: this node's share of 6 (one live node), counted afresh in memory.
            var statuses: [Int] = []
            for _ in 0..<8 {
                statuses.append(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status)
            }
            #expect(statuses.allSatisfy { $0 < 500 }, "\(statuses)")
            #expect(statuses.filter { $0 == 200 }.count == 6, "\(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 2, "\(statuses)")
            let degraded = try await gateway.request("/health/readiness", method: .GET, key: nil)
            #expect(degraded.status == 200, "a node without Redis still serves and stays in the load balancer")
            #expect(try degraded.json["status"] as? String == "degraded")
            #expect(try degraded.json["rate_limits"] as? String == "per-node")
            let metrics = try await gateway.request("/metrics", method: .GET, key: nil).body
            #expect(MetricsTests.sample(metrics, "scutum_redis_degraded") == 1)

            try await own.start()
            // Back when readiness is clean and the limits answer from Redis again (the master key's
            // requests count only against the global limit).
            let back = try await eventually(timeout: .seconds(20)) { () async throws -> Bool? in
                _ = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi"))
                let ready = try await gateway.request("/health/readiness", method: .GET, key: nil)
                return try ready.json["status"] as? String == "ready" && ready.json["rate_limits"] as? String == "cluster"
                    ? true : nil
            }
            #expect(back == true)
            // A fresh key: its limit is counted in Redis again, exactly.
            let (fresh, _) = try await gateway.keys.create(alias: "after", settings: KeySettings(rpmLimit: 3))
            var after: [Int] = []
            for _ in 0..<4 {
                after.append(try await gateway.request("/v1/chat/completions", key: fresh, body: Gateway.chat("hi")).status)
            }
            #expect(after == [200, 200, 200, 429])
            let recovered = try await gateway.request("/health/readiness", method: .GET, key: nil)
            #expect(try recovered.json["rate_limits"] as? String == "cluster")
            let keys = try await redisKeys(matching: "*rpm*", using: gateway.node.redis)
            #expect(!keys.isEmpty, "the limits are kept in Redis again")
            let healthy = try await gateway.request("/metrics", method: .GET, key: nil).body
            #expect(MetricsTests.sample(healthy, "scutum_redis_degraded") == 0)
        }
    }
}
