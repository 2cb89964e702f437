import Foundation
import Synchronization
import NIOHTTP1
import ScutumCore
import ScutumProxy
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Models list and health")
struct HealthAndModelsTests {
    @Test("GET /v1/models lists routable models and aliases, not unroutable ones")
    func models() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/models", method: .GET)
            #expect(result.status == 200)
            let json = try result.json
            #expect(json["object"] as? String == "list")
            let data = try #require(json["data"] as? [[String: Any]])
            let ids = Set(data.compactMap { $0["id"] as? String })
            #expect(ids.isSuperset(of: ["gpt-test", "gpt-test-2", "azure-chat", "azure-text-embedding-3-large", "fast", "openai", "azure"]))
            #expect(!ids.contains("deepseek-nokey"))
            #expect(ids.isSuperset(of: ["claude-test", "gemini-test", "vertex-gemini", "vertex-claude", "bedrock-claude"]))
            #expect(!ids.contains("broken"))
            for entry in data {
                #expect(entry["object"] as? String == "model")
                #expect(entry["owned_by"] is String)
                #expect(entry["created"] is Int)
            }
            let one = try await gateway.request("/v1/models/gpt-test", method: .GET)
            #expect(one.status == 200)
            #expect(try one.json["id"] as? String == "gpt-test")
            let unknown = try await gateway.request("/v1/models/nope", method: .GET)
            #expect(unknown.status == 404)
        }
    }

    @Test("liveness and readiness answer without a key when PostgreSQL and Redis are up")
    func healthy() async throws {
        try await Gateway.with { gateway in
            let live = try await gateway.request("/health/liveness", method: .GET, key: nil)
            #expect(live.status == 200)
            let ready = try await gateway.request("/health/readiness", method: .GET, key: nil)
            #expect(ready.status == 200, "\(ready.body)")
            #expect(try ready.json["status"] as? String == "ready")
        }
    }

    @Test("Redis down: readiness says degraded (200, limits per node), requests are still served")
    func redisDown() async throws {
        try await Gateway.with(redisURL: "redis://127.0.0.1:9/0") { gateway in
            let ready = try await gateway.request("/health/readiness", method: .GET, key: nil)
            #expect(ready.status == 200)
            #expect(try ready.json["status"] as? String == "degraded")
            #expect(try ready.json["rate_limits"] as? String == "per-node")
            let checks = try #require(try ready.json["checks"] as? [String: String])
            #expect(checks["postgres"] == "ok")
            #expect(checks["redis"] != "ok")
            let chat = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi"))
            #expect(chat.status == 200)
        }
    }

    @Test("PostgreSQL never reached: readiness 503, the master key still serves, unknown keys get a clear 503")
    func postgresDown() async throws {
        let nowhere = DatabaseConfiguration(host: "127.0.0.1", port: 9, username: "nobody", password: "x", database: "none")
        try await Gateway.with(variables: ["SCUTUM_MIGRATE_ON_START": "false", "SCUTUM_BACKEND_TIMEOUT_SECONDS": "1"],
            database: nowhere)
        { gateway in
            let ready = try await gateway.request("/health/readiness", method: .GET, key: nil)
            #expect(ready.status == 503)
            let checks = try #require(try ready.json["checks"] as? [String: String])
            #expect(checks["postgres"] != "ok")
            #expect(try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi")).status == 200)
            let unknown = try await gateway.request("/v1/chat/completions", key: APIKey.generate(),
                body: Gateway.chat("hi"))
            #expect(unknown.status == 503)
            #expect(try unknown.openAIError["code"] as? String == "key_store_unavailable")
        }
    }

    @Test("PostgreSQL lost after the node reached it: degraded, not unready; never reached: unready")
    func postgresLostLater() async throws {
        struct Down: Error {}
        let up = Mutex(false)
        let probe = ReadinessProbe(checks: [
            .init(name: "postgres", onlyUntilFirstSuccess: true) { if !up.withLock({ $0 }) { throw Down() } },
            .init(name: "always-required") {},
        ], timeout: .seconds(1))
        // Never reached: the node holds no cached keys, so it must stay out of the load balancer.
        var report = await probe.report()
        #expect(!report.isReady)
        up.withLock { $0 = true }
        report = await probe.report()
        #expect(report.isReady && !report.isDegraded)
        // Gone after that: it still serves what it has cached, so it stays in, degraded.
        up.withLock { $0 = false }
        report = await probe.report()
        #expect(report.isReady && report.isDegraded)
        #expect(report.results.first { $0.name == "postgres" }?.required == false)

        // A check that is always required stays required after passing.
        let flaky = Mutex(true)
        let strict = ReadinessProbe(checks: [.init(name: "strict") { if !flaky.withLock({ $0 }) { throw Down() } }],
            timeout: .seconds(1))
        #expect(await strict.report().isReady)
        flaky.withLock { $0 = false }
        #expect(await !strict.report().isReady)
    }
}
