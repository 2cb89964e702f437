import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ScutumCore
import ScutumMock
import Testing

@testable import ScutumMCP

/// A live `MCPTestServer` on a free port, plus `/slow` (answers after 10 s) for timeouts.
enum MCPServerFixture {
    static let logger: Logger = {
        var logger = Logger(label: "scutum.mcp.tests")
        logger.logLevel = .warning
        return logger
    }()

    static func withServer(_ body: @escaping @Sendable (_ base: String) async throws -> Void) async throws {
        let router = Router()
        MCPTestServer.register(on: router)
        router.post("/slow") { _, _ in
            try await Task.sleep(for: .seconds(10))
            return Response(status: .ok)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)")
        }
    }

    /// A client for `url`, closed after `body`.
    static func withClient<T: Sendable>(_ url: String, _ transport: MCPEndpoint.Transport = .http,
        timeout: Duration = .seconds(10), _ body: (MCPClient) async throws -> T) async throws -> T
    {
        let client = MCPClient(endpoint: MCPEndpoint(url: url, transport: transport), timeout: timeout, logger: logger)
        do {
            let value = try await body(client)
            await client.close()
            return value
        } catch {
            await client.close()
            throw error
        }
    }

    /// The text of a `tools/call` result's first content block.
    static func text(_ result: JSONValue) -> String? {
        result["content"]?.arrayValue?.first?["text"]?.stringValue
    }

    /// The error a failing `operation` throws.
    static func failure(_ operation: () async throws -> Void) async -> MCPError? {
        do {
            try await operation()
            return nil
        } catch {
            return error as? MCPError
        }
    }
}

@Suite("MCP client against the shipped test server")
struct MCPClientTests {
    @Test("streamable HTTP with JSON replies: handshake follows every tools/list page, then tools are called",
        arguments: ["/mcp", "/mcp?reply=sse"])
    func streamable(path: String) async throws {
        try await MCPServerFixture.withServer { base in
            try await MCPServerFixture.withClient(base + path) { client in
                let handshake = try await client.handshake()
                #expect(handshake.server.name == "scutum-mcp-test")
                #expect(handshake.server.protocolVersion == "2025-06-18")
                #expect(handshake.tools.map(\.name) == ["echo", "add"])
                #expect(handshake.tools.first?.inputSchema["required"] == ["message"])
                let echo = try await client.callTool(name: "echo", arguments: ["message": "hello"])
                #expect(MCPServerFixture.text(echo) == "hello")
                #expect(echo["isError"] == false)
                let sum = try await client.callTool(name: "add", arguments: ["a": 2, "b": 3.5])
                #expect(MCPServerFixture.text(sum) == "5.5")
            }
        }
    }

    @Test("legacy HTTP+SSE: the endpoint event, POSTs, and responses matched by id on the stream")
    func legacySSE() async throws {
        try await MCPServerFixture.withServer { base in
            try await MCPServerFixture.withClient(base + "/sse", .sse) { client in
                let handshake = try await client.handshake()
                #expect(handshake.tools.map(\.name) == ["echo", "add"])
                async let first = client.callTool(name: "echo", arguments: ["message": "one"])
                async let second = client.callTool(name: "add", arguments: ["a": 40, "b": 2])
                #expect(MCPServerFixture.text(try await first) == "one")
                #expect(MCPServerFixture.text(try await second) == "42")
            }
        }
    }

    @Test("callTool initializes by itself, and the session id is required after initialize")
    func sessionIDs() async throws {
        try await MCPServerFixture.withServer { base in
            let result = try await MCPServerFixture.withClient(base + "/mcp") { client in
                try await client.callTool(name: "echo", arguments: ["message": "direct"])
            }
            #expect(MCPServerFixture.text(result) == "direct")

            let list = JSONRPC.request(id: 9, method: "tools/list")
            for (sessionID, status) in [(nil, 400), ("no-such-session", 404)] as [(String?, UInt)] {
                var request = HTTPClientRequest(url: base + "/mcp")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                if let sessionID { request.headers.add(name: "Mcp-Session-Id", value: sessionID) }
                request.body = .bytes(list.jsonBytes)
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
                #expect(response.status.code == status)
                _ = try await response.body.collect(upTo: 1 << 16)
            }
        }
    }

    @Test("a JSON-RPC error object becomes an rpc error with its code and message; the session stays usable")
    func rpcError() async throws {
        try await MCPServerFixture.withServer { base in
            try await MCPServerFixture.withClient(base + "/mcp") { client in
                let error = await MCPServerFixture.failure { _ = try await client.callTool(name: "missing") }
                #expect(error?.kind == .rpc(code: -32602))
                #expect(error?.message.contains("Unknown tool: missing") == true, "\(String(describing: error))")
                let after = try await client.callTool(name: "echo", arguments: ["message": "ok"])
                #expect(MCPServerFixture.text(after) == "ok")
            }
        }
    }

    @Test("a port nobody listens on fails at once with 'connection refused'")
    func unreachable() async throws {
        let started = ContinuousClock.now
        let error = await MCPServerFixture.failure {
            _ = try await MCPServerFixture.withClient("http://127.0.0.1:1/mcp") { try await $0.handshake() }
        }
        #expect(error?.kind == .connection)
        #expect(error?.message.contains("connection refused") == true, "\(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("an HTTP server without MCP at that path, or the wrong transport, says it is not an MCP endpoint")
    func notAnMCPServer() async throws {
        try await MCPServerFixture.withServer { base in
            for (path, transport) in [("/nothing", MCPEndpoint.Transport.http), ("/mcp", .sse), ("/nothing", .sse)] {
                let error = await MCPServerFixture.failure {
                    _ = try await MCPServerFixture.withClient(base + path, transport) { try await $0.handshake() }
                }
                #expect(error?.message.contains("not an MCP endpoint") == true, "\(path) \(transport): \(String(describing: error))")
            }
        }
    }

    @Test("a server that does not answer in time gives a timeout error")
    func timeout() async throws {
        try await MCPServerFixture.withServer { base in
            let started = ContinuousClock.now
            let error = await MCPServerFixture.failure {
                _ = try await MCPServerFixture.withClient(base + "/slow", timeout: .milliseconds(300)) {
                    try await $0.handshake()
                }
            }
            #expect(error?.kind == .timeout, "\(String(describing: error))")
            #expect(error?.message.contains("did not finish the handshake") == true)
            // Sooner than the server would answer (the margin is for a loaded CI machine).
            #expect(ContinuousClock.now - started < .seconds(8))
        }
    }
}
