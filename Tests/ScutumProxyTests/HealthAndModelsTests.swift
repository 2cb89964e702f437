import Foundation
import NIOHTTP1
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

    @Test("PostgreSQL down: readiness 503, the master key still serves, unknown keys get a clear 503")
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
            let unknown = try await gateway.request("/v1/chat/completions", key: "sk-some-key-not-in-cache-000000",
                body: Gateway.chat("hi"))
            #expect(unknown.status == 503)
            #expect(try unknown.openAIError["code"] as? String == "key_store_unavailable")
        }
    }
}
