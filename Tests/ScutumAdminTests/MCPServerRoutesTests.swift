import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import ScutumCore
import ScutumMCP
import ScutumMock
import ScutumStore
import ScutumTestSupport
import Testing
import Yams

@testable import ScutumAdmin

/// Runs `body` with a live `MCPTestServer` and its base URL.
func withMCPTestServer(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
    try await MCPTestServer.application(port: 0, logger: TestEnvironment.logger).test(.live) { client in
        try await body("http://127.0.0.1:\(try #require(client.port))")
    }
}

@Suite("Admin API: MCP servers")
struct MCPServerRoutesTests {
    static let stdio: JSONValue = [
        "name": "everything", "server_type": "stdio", "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-everything", "-y"], "env": ["API_TOKEN": "env-secret-value"],
    ]

    @Test("create, list, get, update and delete; env and header values never come back in clear")
    func crud() async throws {
        try await AdminFixture.withAPI { api, client in
            let created = try await api.ok(.post, "/api/v1/mcp-servers", Self.stdio)
            let id = try #require(created["id"]?.stringValue)
            #expect(created["args"] == ["-y", "@modelcontextprotocol/server-everything", "-y"])
            #expect(created["env"] == ["API_TOKEN": "****"])
            #expect(created["is_active"] == true)
            #expect(created["tools"] == [])

            let remote = try await api.ok(.post, "/api/v1/mcp-servers", [
                "name": "remote", "server_type": "http", "url": "https://tools.example.com/mcp",
                "headers": ["Authorization": "Bearer header-secret-value"], "is_active": false,
            ])
            #expect(remote["headers"] == ["Authorization": "****"])

            let list = try await api.call(.get, "/api/v1/mcp-servers")
            #expect(list.json["servers"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["everything", "remote"])
            #expect(!list.text.contains("env-secret-value") && !list.text.contains("header-secret-value"))
            #expect(try await api.ok(.get, "/api/v1/mcp-servers/\(id)")["command"] == "npx")

            // "****" keeps a stored secret; a new value replaces it.
            let updated = try await api.ok(.put, "/api/v1/mcp-servers/\(id)",
                ["name": "everything-2", "env": ["API_TOKEN": "****", "EXTRA": "new-secret"]])
            #expect(updated["name"] == "everything-2")
            #expect(updated["env"] == ["API_TOKEN": "****", "EXTRA": "****"])
            let uuid = try #require(UUID(uuidString: id))
            let stored = try #require(try await MCPServerStore(client: client, logger: TestEnvironment.logger).find(uuid))
            #expect(stored.env == ["API_TOKEN": "env-secret-value", "EXTRA": "new-secret"])

            #expect(try await api.ok(.delete, "/api/v1/mcp-servers/\(id)")["deleted"]?.stringValue == id)
            expectError(try await api.call(.get, "/api/v1/mcp-servers/\(id)"), .notFound, "MCP server not found")
            expectError(try await api.call(.get, "/api/v1/mcp-servers/not-a-uuid"), .notFound, "MCP server not found")
            let actions = try await api.auditEntries().compactMap { $0["action"]?.stringValue }
            #expect(actions.contains("mcp_server.create") && actions.contains("mcp_server.update")
                && actions.contains("mcp_server.delete"))
            let duplicate = try await api.call(.post, "/api/v1/mcp-servers", ["name": "remote", "server_type": "sse",
                "url": "https://x.example.com/sse"])
            #expect(duplicate.status == .conflict, "\(duplicate.text)")
        }
    }

    @Test("invalid bodies are 422s at the right field")
    func validation() async throws {
        try await AdminFixture.withAPI { api, _ in
            let cases: [(JSONValue, String)] = [
                (["server_type": "http", "url": "https://x.example.com/mcp"], "body.name"),
                (["name": "x", "server_type": "websocket"], "body.server_type"),
                (["name": "x"], "body.server_type"),
                (["name": "x", "server_type": "stdio"], "body.command"),
                (["name": "x", "server_type": "http"], "body.url"),
                (["name": "x", "server_type": "sse", "url": "ftp://x.example.com/sse"], "body.url"),
                (["name": "x", "server_type": "stdio", "command": "npx", "env": "A=B"], "body.env"),
                (["name": "x", "server_type": "stdio", "command": "npx", "env": ["LD_PRELOAD": "/x.so"]], "body.env"),
                (["name": "x", "server_type": "stdio", "command": "npx", "args": ["ok", 3]], "body.args.1"),
                (["name": "x", "server_type": "http", "url": "https://x.example.com", "headers": ["Bad Name": "v"]],
                    "body.headers.Bad Name"),
            ]
            for (body, location) in cases {
                expectValidationError(try await api.call(.post, "/api/v1/mcp-servers", body), at: location)
            }
            let created = try await api.ok(.post, "/api/v1/mcp-servers", ["name": "h", "server_type": "http",
                "url": "https://x.example.com/mcp"])
            let id = try #require(created["id"]?.stringValue)
            expectValidationError(try await api.call(.put, "/api/v1/mcp-servers/\(id)", ["server_type": "stdio"]),
                at: "body.command")
        }
    }

    @Test("the test handshakes with an allow-listed server and stores its tools")
    func testSucceeds() async throws {
        try await AdminFixture.withAPI { api, _ in
            try await withMCPTestServer { base in
                _ = try await api.ok(.put, "/api/v1/settings", ["mcp_allowed_hosts": ["127.0.0.1"]])
                for (type, path) in [("http", "/mcp"), ("sse", "/sse")] {
                    let created = try await api.ok(.post, "/api/v1/mcp-servers",
                        ["name": .string("local-\(type)"), "server_type": .string(type), "url": .string(base + path)])
                    let id = try #require(created["id"]?.stringValue)
                    let result = try await api.ok(.post, "/api/v1/mcp-servers/\(id)/test")
                    #expect(result["success"] == true, "\(result)")
                    #expect(result["tool_count"] == 2)
                    #expect(result["server_info"]?["name"] == "scutum-mcp-test")
                    let server = try await api.ok(.get, "/api/v1/mcp-servers/\(id)")
                    #expect(server["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["echo", "add"])
                    #expect(server["last_test_error"] == .null)
                    #expect(server["last_tested_at"]?.stringValue != nil)
                }
            }
        }
    }

    @Test("a loopback server without an allow-list entry, and a dead port, fail with clear messages that are stored")
    func testFails() async throws {
        try await AdminFixture.withAPI { api, _ in
            try await withMCPTestServer { base in
                let created = try await api.ok(.post, "/api/v1/mcp-servers",
                    ["name": "local", "server_type": "http", "url": .string(base + "/mcp")])
                let id = try #require(created["id"]?.stringValue)
                let refused = try await api.ok(.post, "/api/v1/mcp-servers/\(id)/test")
                #expect(refused["success"] == false)
                let message = refused["error"]?.stringValue ?? ""
                #expect(message.contains("loopback") && message.contains("mcp_allowed_hosts"), "\(message)")
                #expect(try await api.ok(.get, "/api/v1/mcp-servers/\(id)")["last_test_error"]?.stringValue == message)

                _ = try await api.ok(.put, "/api/v1/settings", ["mcp_allowed_hosts": ["127.0.0.0/8"]])
                _ = try await api.ok(.put, "/api/v1/mcp-servers/\(id)", ["url": "http://127.0.0.1:1/mcp"])
                let dead = try await api.ok(.post, "/api/v1/mcp-servers/\(id)/test")
                #expect(dead["success"] == false)
                #expect(dead["error"]?.stringValue?.contains("connection refused") == true, "\(dead)")
            }
        }
    }

    @Test("stdio tests check that the command is an executable here")
    func stdioTest() async throws {
        try await AdminFixture.withAPI { api, _ in
            let found = try await api.ok(.post, "/api/v1/mcp-servers", ["name": "shell", "server_type": "stdio", "command": "sh"])
            let passed = try await api.ok(.post, "/api/v1/mcp-servers/\(found["id"]?.stringValue ?? "")/test")
            #expect(passed["success"] == true)
            #expect(passed["executable"]?.stringValue?.hasSuffix("/sh") == true)
            let missing = try await api.ok(.post, "/api/v1/mcp-servers",
                ["name": "missing", "server_type": "stdio", "command": "no-such-mcp-server-xyz"])
            let failed = try await api.ok(.post, "/api/v1/mcp-servers/\(missing["id"]?.stringValue ?? "")/test")
            #expect(failed["success"] == false)
            #expect(failed["error"]?.stringValue?.contains("not found in PATH") == true, "\(failed)")
        }
    }

    @Test("the sync preview names every active server in parseable YAML, secrets masked")
    func preview() async throws {
        try await AdminFixture.withAPI { api, _ in
            _ = try await api.ok(.post, "/api/v1/mcp-servers", Self.stdio)
            _ = try await api.ok(.post, "/api/v1/mcp-servers",
                ["name": "Remote_Tools", "server_type": "http", "url": "https://tools.example.com/mcp"])
            _ = try await api.ok(.post, "/api/v1/mcp-servers",
                ["name": "old", "server_type": "sse", "url": "https://old.example.com/sse", "is_active": false])
            let preview = try await api.ok(.get, "/api/v1/mcp-servers/sync/preview")
            #expect(preview["active_servers"] == 2)
            let yaml = try #require(preview["config_yaml"]?.stringValue)
            #expect(!yaml.contains("env-secret-value"))
            let document = try #require(try Yams.load(yaml: yaml) as? [String: Any])
            let binds = try #require(document["binds"] as? [[String: Any]])
            let listener = try #require((binds.first?["listeners"] as? [[String: Any]])?.first)
            let route = try #require((listener["routes"] as? [[String: Any]])?.first)
            let mcp = try #require((route["backends"] as? [[String: Any]])?.first?["mcp"] as? [String: Any])
            let names = (mcp["targets"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(names == ["everything", "remote-tools"])
        }
    }

    @Test("sync answers 503 without a deployer and returns the deployer's JSON with one")
    func sync() async throws {
        try await AdminFixture.withAPI { api, _ in
            expectError(try await api.call(.post, "/api/v1/mcp-servers/sync"), .serviceUnavailable,
                "MCP sync is not configured on this node")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scutum-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("agentgateway.yaml").path
        try await AdminFixture.withAPI(configure: { dependencies in
            let postgres = dependencies.postgres
            dependencies.deployMCPConfig = {
                try await MCPConfigSync.deploy(postgres: postgres, logger: TestEnvironment.logger, path: path)
            }
        }) { api, _ in
            _ = try await api.ok(.post, "/api/v1/mcp-servers", Self.stdio)
            let result = try await api.ok(.post, "/api/v1/mcp-servers/sync")
            #expect(result["path"]?.stringValue == path)
            #expect(result["active_servers"] == 1)
            #expect(result["sha256"]?.stringValue?.count == 64)
            let written = try String(contentsOfFile: path, encoding: .utf8)
            #expect(written.contains("env-secret-value"), "agentgateway needs the real environment")
            #expect(result["bytes"]?.intValue == Int64(written.utf8.count))
            #expect(try await api.auditEntries().contains { $0["action"] == "mcp_server.sync" })
        }
    }
}
