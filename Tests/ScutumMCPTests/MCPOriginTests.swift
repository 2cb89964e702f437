import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ScutumCore
import ScutumMock
import Synchronization
import Testing

@testable import ScutumMCP

/// What a recording server saw: one line per request, `METHOD path host=... authorization=...`.
final class RequestLog: Sendable {
    private let lines = Mutex<[String]>([])

    func record(_ request: Request) {
        let line = "\(request.method) \(request.uri.path) host=\(request.head.authority ?? "-") "
            + "authorization=\(request.headers[.authorization] ?? "-")"
        lines.withLock { $0.append(line) }
    }

    var entries: [String] { lines.withLock { $0 } }
}

/// Live servers for the origin checks: a recorder that answers anything with 202, and a legacy SSE
/// server that announces whatever message endpoint the test asks for.
enum OriginFixture {
    static func withRecorder(_ log: RequestLog, _ body: @escaping @Sendable (_ base: String) async throws -> Void)
        async throws
    {
        let router = Router()
        router.on("**", method: .post) { request, _ in
            log.record(request)
            return Response(status: .accepted)
        }
        router.on("**", method: .get) { request, _ in
            log.record(request)
            return Response(status: .notFound)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: MCPServerFixture.logger)
        try await app.test(.live) { client in try await body("http://127.0.0.1:\(try #require(client.port))") }
    }

    /// `GET /sse` announces `endpoint` and keeps the stream open for a few seconds.
    static func withAnnouncer(endpoint: String, _ body: @escaping @Sendable (_ base: String) async throws -> Void)
        async throws
    {
        let router = Router()
        router.get("/sse") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "event: endpoint\ndata: \(endpoint)\n\n"))
                    for _ in 0..<50 {
                        try await Task.sleep(for: .milliseconds(100))
                        try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                    }
                    try await writer.finish(nil)
                })
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: MCPServerFixture.logger)
        try await app.test(.live) { client in try await body("http://127.0.0.1:\(try #require(client.port))") }
    }
}

@Suite("MCP: secrets and connections stay on the registered origin")
struct MCPOriginTests {
    static let secret = "Bearer origin-test-secret"

    @Test("origins compare scheme, host and port, default ports filled in")
    func origins() throws {
        #expect(MCPOrigin("https://Tools.Example.com/mcp") == MCPOrigin("https://tools.example.com:443/other?x=1"))
        #expect(MCPOrigin("http://tools.example.com/mcp") != MCPOrigin("https://tools.example.com/mcp"))
        #expect(MCPOrigin("http://tools.example.com/mcp") != MCPOrigin("http://tools.example.com:8080/mcp"))
        #expect(MCPOrigin("http://[::1]:9/x")?.description == "http://[::1]:9")
        #expect(MCPOrigin("ftp://tools.example.com/") == nil)
        #expect(MCPOrigin("/messages") == nil)
    }

    @Test("an announced endpoint is posted to on the registered host as written (the pinned spelling), its path and query kept")
    func announcedOnRegisteredHost() {
        // Same origin, other spellings (case, trailing dot): the pinned client overrides DNS only for
        // the registered spelling, so the announced one must not be used as written.
        #expect(LegacySSEConnection.onRegisteredHost("http://tools.example.com.:8080/msg?session=1",
            registered: "http://Tools.Example.com:8080/sse") == "http://Tools.Example.com:8080/msg?session=1")
        #expect(LegacySSEConnection.onRegisteredHost("https://TOOLS.example.com/m#frag",
            registered: "https://tools.example.com/sse?k=v") == "https://tools.example.com/m")
    }

    @Test("a legacy SSE server announcing an endpoint on another origin is refused; nothing reaches it",
        arguments: ["another port", "metadata address"])
    func foreignEndpointRefused(target: String) async throws {
        let log = RequestLog()
        try await OriginFixture.withRecorder(log) { recorder in
            let announced = target == "another port"
                ? recorder + "/messages?session_id=1" : "http://169.254.169.254/latest/meta-data?session_id=1"
            try await OriginFixture.withAnnouncer(endpoint: announced) { base in
                let client = MCPClient(
                    endpoint: MCPEndpoint(url: base + "/sse", transport: .sse, headers: ["Authorization": Self.secret]),
                    addressGuard: MCPAddressGuard(allowList: ["127.0.0.1"]), timeout: .seconds(8),
                    logger: MCPServerFixture.logger)
                let started = ContinuousClock.now
                let error = await MCPServerFixture.failure { _ = try await client.handshake() }
                await client.close()
                #expect(error?.kind == .addressRefused, "\(String(describing: error))")
                #expect(error?.message.contains("not on the registered server's origin") == true,
                    "\(String(describing: error))")
                #expect(error?.message.contains("secret") != true)
                #expect(ContinuousClock.now - started < .seconds(5), "refused at once, not after a connect attempt")
            }
        }
        #expect(log.entries.isEmpty, "\(log.entries)")
    }

    @Test("a same-origin announced endpoint (relative or absolute) works and gets the headers")
    func sameOriginEndpoint() async throws {
        try await MCPServerFixture.withServer { base in
            let client = MCPClient(
                endpoint: MCPEndpoint(url: base + "/sse", transport: .sse, headers: ["Authorization": Self.secret]),
                addressGuard: MCPAddressGuard(allowList: ["127.0.0.1"]), logger: MCPServerFixture.logger)
            let handshake = try await client.handshake()
            await client.close()
            #expect(handshake.tools.map(\.name) == ["echo", "add"])
        }
    }

    @Test("a pinned client connects to the checked address, never resolving the name, and keeps the name as Host")
    func pinnedClient() async throws {
        let log = RequestLog()
        try await OriginFixture.withRecorder(log) { base in
            let port = try #require(URLComponents(string: base)?.port)
            // `.invalid` never resolves (RFC 6761): only the pin can take the request anywhere.
            let client = MCPHTTP.pinnedClient(host: "mcp.invalid", address: try #require(IPAddress("127.0.0.1")))
            var request = HTTPClientRequest(url: "http://mcp.invalid:\(port)/messages")
            request.method = .POST
            request.headers.add(name: "Authorization", value: Self.secret)
            do {
                let response = try await client.execute(request, timeout: .seconds(5))
                #expect(response.status == .accepted)
                _ = try await response.body.collect(upTo: 1024)
            } catch {
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
            #expect(log.entries == ["POST /messages host=mcp.invalid:\(port) authorization=\(Self.secret)"], "\(log.entries)")
        }
    }

    @Test("with a guard, a host name is checked, resolved once and the session reaches the checked address")
    func guardedHostName() async throws {
        let addresses = try await MCPAddressGuard.resolve("localhost")
        let first = try #require(addresses.first)
        let router = Router()
        MCPTestServer.register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname(first.description, port: 0)),
            logger: MCPServerFixture.logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let url = "http://localhost:\(port)/mcp"
            let refused = await MCPServerFixture.failure {
                let client = MCPClient(endpoint: MCPEndpoint(url: url, transport: .http), addressGuard: MCPAddressGuard(),
                    logger: MCPServerFixture.logger)
                _ = try await client.handshake()
            }
            #expect(refused?.kind == .addressRefused)
            let allowed = MCPClient(endpoint: MCPEndpoint(url: url, transport: .http),
                addressGuard: MCPAddressGuard(allowList: ["127.0.0.0/8", "::1"]), logger: MCPServerFixture.logger)
            let handshake = try await allowed.handshake()
            await allowed.close()
            #expect(handshake.tools.count == 2)
        }
    }
}
