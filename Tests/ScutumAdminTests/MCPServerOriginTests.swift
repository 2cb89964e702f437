import Foundation
import Hummingbird
import HummingbirdTesting
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Synchronization
import Testing

@testable import ScutumAdmin

/// A live server that records the `Authorization` header of every request it gets.
func withAuthorizationRecorder(_ body: @escaping @Sendable (_ base: String, _ seen: @escaping @Sendable () -> [String])
    async throws -> Void) async throws
{
    let seen = Mutex<[String]>([])
    let router = Router()
    for method in [HTTPRequest.Method.get, .post, .delete] {
        router.on("**", method: method) { request, _ in
            seen.withLock { $0.append(request.headers[.authorization] ?? "-") }
            return Response(status: .notFound)
        }
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        logger: TestEnvironment.logger)
    try await app.test(.live) { client in
        try await body("http://127.0.0.1:\(try #require(client.port))", { seen.withLock { $0 } })
    }
}

@Suite("Admin API: an MCP server's secrets do not follow its url to another origin")
struct MCPServerOriginTests {
    static let secret = "Bearer stored-header-secret"

    @Test("moving the url to another origin needs the header values again; masked or omitted is a 400 naming them")
    func urlChangeNeedsSecrets() async throws {
        try await AdminFixture.withAPI { api, client in
            let created = try await api.ok(.post, "/api/v1/mcp-servers", [
                "name": "remote", "server_type": "http", "url": "https://tools.example.com/mcp",
                "headers": ["Authorization": .string(Self.secret), "X-Team": "team-secret"],
            ])
            let id = try #require(created["id"]?.stringValue)
            let uuid = try #require(UUID(uuidString: id))

            for body: JSONValue in [
                ["url": "https://elsewhere.example.net/mcp"],
                ["url": "https://elsewhere.example.net/mcp", "headers": ["Authorization": "****", "X-Team": "****"]],
                ["url": "https://tools.example.com:8443/mcp", "headers": ["Authorization": "****", "X-Team": "new"]],
                ["url": "http://tools.example.com/mcp", "headers": .null],
            ] {
                let reply = try await api.call(.put, "/api/v1/mcp-servers/\(id)", body)
                #expect(reply.status == .badRequest, "\(body): \(reply.text)")
                let detail = reply.json["detail"]?.stringValue ?? ""
                #expect(detail.contains("headers.Authorization") && detail.contains("another origin"), "\(detail)")
                #expect(!detail.contains("stored-header-secret"))
            }
            let stored = try #require(try await MCPServerStore(client: client, logger: TestEnvironment.logger).find(uuid))
            #expect(stored.url == "https://tools.example.com/mcp")

            // Same origin, other path: masks keep the stored values as before.
            let samePlace = try await api.ok(.put, "/api/v1/mcp-servers/\(id)",
                ["url": "https://TOOLS.example.com:443/v2/mcp", "headers": ["Authorization": "****", "X-Team": "****"]])
            #expect(samePlace["url"] == "https://TOOLS.example.com:443/v2/mcp")
            // New origin with every value sent again (or a header dropped): accepted.
            _ = try await api.ok(.put, "/api/v1/mcp-servers/\(id)",
                ["url": "https://elsewhere.example.net/mcp", "headers": ["Authorization": "Bearer new-host-token"]])
            let moved = try #require(try await MCPServerStore(client: client, logger: TestEnvironment.logger).find(uuid))
            #expect(moved.headers == ["Authorization": "Bearer new-host-token"])
        }
    }

    @Test("the connectivity test never carries stored secrets to a url that was not saved with them")
    func testUsesOnlyTheSavedURL() async throws {
        try await AdminFixture.withAPI { api, _ in
            try await withAuthorizationRecorder { other, seen in
                _ = try await api.ok(.put, "/api/v1/settings", ["mcp_allowed_hosts": ["127.0.0.1"]])
                let created = try await api.ok(.post, "/api/v1/mcp-servers", [
                    "name": "remote", "server_type": "sse", "url": "https://tools.example.com/sse",
                    "headers": ["Authorization": .string(Self.secret)],
                ])
                let id = try #require(created["id"]?.stringValue)
                let moved = try await api.call(.put, "/api/v1/mcp-servers/\(id)",
                    ["url": .string(other + "/sse"), "headers": ["Authorization": "****"]])
                #expect(moved.status == .badRequest, "\(moved.text)")
                // An unsaved url in the test's body is not used either.
                _ = try await api.call(.post, "/api/v1/mcp-servers/\(id)/test", ["url": .string(other + "/sse")])
                #expect(!seen().contains(Self.secret), "\(seen())")
            }
        }
    }
}
