import Foundation
import NIOHTTP1
import ScutumCore
import ScutumTestSupport
import Testing

@Suite("Authentication")
struct AuthTests {
    @Test("no key, a malformed header and a wrong key are 401 in OpenAI's JSON")
    func rejected() async throws {
        try await Gateway.with { gateway in
            let missing = try await gateway.request("/v1/chat/completions", key: nil, body: Gateway.chat("hi"))
            #expect(missing.status == 401)
            #expect(try missing.openAIError["code"] as? String == "missing_api_key")
            #expect(try missing.openAIError["type"] as? String == "authentication_error")

            let basic = try await gateway.request("/v1/chat/completions", key: nil, body: Gateway.chat("hi"),
                headers: [("Authorization", "Basic dXNlcjpwYXNz")])
            #expect(basic.status == 401)

            let wrong = try await gateway.request("/v1/chat/completions", key: "sk-not-a-real-key-000000000000",
                body: Gateway.chat("hi"))
            #expect(wrong.status == 401)
            #expect(try wrong.openAIError["code"] as? String == "invalid_api_key")

            let models = try await gateway.request("/v1/models", method: .GET, key: "sk-wrong")
            #expect(models.status == 401)
            #expect(gateway.mockLog.entries.isEmpty)
        }
    }

    @Test("a key from the key store works; revoking it stops it within a second or two")
    func storedKeyAndRevocation() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "svc")
            #expect(record.keyHash == APIKey.hash(key))
            let ok = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
            #expect(ok.status == 200)
            // Now served from the cache: still fine.
            #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)

            #expect(try await gateway.keys.setBlocked(hash: record.keyHash, true))
            let status = try await eventually { () async throws -> Int? in
                let result = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
                return result.status == 401 ? 401 : nil
            }
            #expect(status == 401)
            let revoked = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
            #expect(try revoked.openAIError["message"] as? String == "This API key has been revoked.")
        }
    }

    @Test("a deleted key stops working; an expired key never works")
    func deletedAndExpired() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "temp")
            #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)
            #expect(try await gateway.keys.delete(hash: record.keyHash))
            let status = try await eventually { () async throws -> Int? in
                let result = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
                return result.status == 401 ? 401 : nil
            }
            #expect(status == 401)

            let (expired, _) = try await gateway.keys.create(alias: "old", expiresAt: Date().addingTimeInterval(-60))
            let result = try await gateway.request("/v1/chat/completions", key: expired, body: Gateway.chat("hi"))
            #expect(result.status == 401)
            #expect(try result.openAIError["message"] as? String == "This API key has expired.")
        }
    }
}

extension AuthTests {
    @Test("PostgreSQL down longer than the key cache's time to live: cached keys keep serving, unknown keys get 503; changes apply once it is back")
    func cachedKeysOutliveAnOutage() async throws {
        try await Gateway.with(variables: ["SCUTUM_KEY_CACHE_SECONDS": "1", "SCUTUM_BACKEND_TIMEOUT_SECONDS": "1"]) {
            gateway in
            let (key, record) = try await gateway.keys.create(alias: "through-an-outage")
            // After the key's own creation notice: a look-up it overtakes is not cached.
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)
            try await withDatabaseOutage(gateway.database) {
                // Well past the time to live: the key is due for a look-up that cannot succeed.
                try await Task.sleep(for: .seconds(3))
                for _ in 0..<3 {
                    let served = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
                    #expect(served.status == 200, "\(served.body)")
                    try await Task.sleep(for: .milliseconds(700))
                }
                let unknown = try await gateway.request("/v1/chat/completions", key: APIKey.generate(),
                    body: Gateway.chat("hi"))
                #expect(unknown.status == 503)
                #expect(try unknown.openAIError["code"] as? String == "key_store_unavailable")
            }
            // Back: a revoke made now reaches the node and applies.
            let revoked = try await eventually(timeout: .seconds(30)) { () async throws -> Bool? in
                (try? await gateway.keys.setBlocked(hash: record.keyHash, true)) == true ? true : nil
            }
            #expect(revoked == true)
            let status = try await eventually(timeout: .seconds(15)) { () async throws -> Int? in
                let result = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
                return result.status == 401 ? 401 : nil
            }
            #expect(status == 401)
        }
    }
}

/// Polls `check` until it returns a value or the time runs out.
func eventually<T>(timeout: Duration = .seconds(5), _ check: () async throws -> T?) async throws -> T? {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try await check() { return value }
        try await Task.sleep(for: .milliseconds(50))
    }
    return nil
}
