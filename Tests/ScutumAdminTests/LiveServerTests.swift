import Foundation
import HummingbirdTesting
import NIOCore
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

@Suite("Admin API over a real socket")
struct LiveServerTests {
    @Test("the guide's two curl calls over HTTP: login with the master key, then keys/generate; 413 for 2 MB")
    func seedCurlFlow() async throws {
        try await withMigratedDatabase { client, _ in
            let app = AdminFixture.application(client, configuration: AdminConfiguration(host: "127.0.0.1", port: 0))
            try await app.test(.live) { testClient in
                var api = AdminAPI(client: testClient, token: nil)
                let login = try await api.call(.post, "/auth/login", ["api_key": .string(AdminFixture.masterKey)])
                #expect(login.status == .ok)
                #expect(login.headers[.contentType] == "application/json")
                api.token = try #require(login.json["access_token"]?.stringValue)

                let generated = try await api.ok(.post, "/api/v1/keys/generate",
                    ["key_alias": "my-service", "max_budget": 100, "duration": "90d"])
                let key = try #require(generated["key"]?.stringValue)
                #expect(key.hasPrefix("sk-"))
                #expect(abs((date(generated["expires"]) ?? .distantPast).timeIntervalSinceNow - 90 * 86_400) < 120)
                let keyID = try #require(generated["key_id"]?.stringValue)
                let budgets = try await api.ok(.get, "/api/v1/budgets")["budgets"]?.arrayValue ?? []
                #expect(budgets.count == 1)
                #expect(budgets.first?["scope"] == "key" && budgets.first?["scope_id"] == .string(keyID))
                #expect(budgets.first?["max_budget"]?.doubleValue == 100)

                let big = ByteBuffer(repeating: UInt8(ascii: "a"), count: 2 * 1024 * 1024)
                expectError(try await api.call(.post, "/api/v1/teams", raw: big), .contentTooLarge, "Request body too large")
                #expect(try await api.call(.get, "/api/v1/teams").status == .ok)
            }
        }
    }
}
