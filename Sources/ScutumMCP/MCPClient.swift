import AsyncHTTPClient
import Logging
import ScutumCore

/// A client session with one remote MCP server, over streamable HTTP or the legacy SSE transport.
///
/// `handshake()` initializes the session and lists the server's tools; `callTool` initializes
/// on first use by itself. Every operation is bounded by `timeout` as a whole. Call `close()`
/// when done: it ends the server-side session and, for `sse`, the open event stream.
///
/// With an `addressGuard`, each session first checks the URL's host (SSRF) and then connects only to
/// the address it checked: the host is resolved once, and the connections go to that address with
/// the name kept for the `Host` header, TLS SNI and certificate verification. A legacy SSE server may
/// only announce a message endpoint on its own origin (scheme, host, port), and the configured headers
/// are never sent to any other origin.
///
/// ```swift
/// let client = MCPClient(endpoint: MCPEndpoint(url: "https://tools.example.com/mcp", transport: .http))
/// defer { Task { await client.close() } }
/// let result = try await client.callTool(name: "echo", arguments: ["message": "hi"])
/// ```
public actor MCPClient {
    /// The protocol version the client asks for.
    public static let protocolVersion = "2025-06-18"
    /// Versions the client accepts when the server answers with another one.
    public static let supportedVersions: Set<String> = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
    /// Most `tools/list` pages followed.
    static let maximumPages = 100

    public nonisolated let endpoint: MCPEndpoint
    /// Upper bound for one operation (handshake, tool call, tool listing) as a whole.
    public nonisolated let timeout: Duration
    /// Checks the server's address before each session; nil trusts the URL (tests, local servers).
    public nonisolated let addressGuard: MCPAddressGuard?
    let httpClient: HTTPClient
    let logger: Logger
    private var connection: (any MCPConnection)?
    /// The session's own client, pinned to the address the guard checked; shut down by `close()`.
    private var pinned: HTTPClient?
    private var server: MCPServerInfo?
    private var nextID: Int64 = 1

    /// - Parameters:
    ///   - addressGuard: when set, every session checks the URL's host and connects only to the checked
    ///     address (a host allowed by name in the guard's allow-list is resolved as usual).
    ///   - httpClient: defaults to `MCPHTTP.shared`, which never follows redirects. Used as is without a
    ///     guard, and with one for IP-literal URLs and hosts allowed by name; a pinned session has its own.
    ///   - timeout: for each operation as a whole (connect, every message, every page).
    public init(endpoint: MCPEndpoint, addressGuard: MCPAddressGuard? = nil, httpClient: HTTPClient = MCPHTTP.shared,
        timeout: Duration = .seconds(10), logger: Logger = Logger(label: "scutum.mcp"))
    {
        self.endpoint = endpoint
        self.addressGuard = addressGuard
        self.httpClient = httpClient
        self.timeout = timeout
        self.logger = logger
    }

    /// Initializes the session (once) and lists every tool, following `nextCursor` pages.
    public func handshake() async throws(MCPError) -> MCPHandshake {
        try await bounded("the handshake") { client in
            let server = try await client.initialized()
            return MCPHandshake(server: server, tools: try await client.fetchTools())
        }
    }

    /// Every tool the server offers (initializing first if needed).
    public func listTools() async throws(MCPError) -> [MCPTool] {
        try await bounded("listing tools") { client in
            _ = try await client.initialized()
            return try await client.fetchTools()
        }
    }

    /// Calls a tool and returns the `tools/call` result object: `{"content": [...], "isError": ...}`
    /// (a tool's own failure is `isError: true` in the result, not a thrown error).
    public func callTool(name: String, arguments: JSONValue = [:]) async throws(MCPError) -> JSONValue {
        try await bounded("calling tool '\(name)'") { client in
            _ = try await client.initialized()
            return try await client.call("tools/call", ["name": .string(name), "arguments": arguments])
        }
    }

    /// Ends the session; the client can be used again afterwards (it initializes anew, checking the
    /// address again).
    public func close() async {
        let connection = self.connection
        let pinned = self.pinned
        self.connection = nil
        self.pinned = nil
        server = nil
        await connection?.close()
        try? await pinned?.shutdown()
    }

    deinit {
        // A caller that forgot `close()`: release the pinned client's connections anyway.
        pinned?.shutdown { _ in }
    }

    // MARK: - Internals

    /// Runs `operation` on this actor, failing with a timeout when it takes longer than `timeout`.
    private func bounded<T: Sendable>(_ what: String, _ operation: @escaping @Sendable (MCPClient) async throws -> T)
        async throws(MCPError) -> T
    {
        let timeout = self.timeout
        let url = endpoint.url
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await operation(self) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let value = try await group.next() ?? nil else {
                    throw MCPError(.timeout, "\(MCPHTTP.hostAndPort(url)) did not finish \(what) within \(timeout)")
                }
                return value
            }
        } catch {
            let failure = MCPHTTP.error(error, url: url)
            // A session that failed midway is not reused.
            if case .rpc = failure.kind {} else { await close() }
            throw failure
        }
    }

    /// The session's server info, initializing the session first if needed.
    private func initialized() async throws -> MCPServerInfo {
        if let server { return server }
        let httpClient = try await sessionClient()
        let connection: any MCPConnection
        switch endpoint.transport {
        case .http:
            connection = StreamableHTTPConnection(endpoint: endpoint, httpClient: httpClient)
        case .sse:
            let legacy = LegacySSEConnection(endpoint: endpoint, httpClient: httpClient)
            self.connection = legacy
            try await legacy.open()
            connection = legacy
        }
        self.connection = connection
        let result = try await call("initialize", [
            "protocolVersion": .string(Self.protocolVersion),
            "capabilities": [:],
            "clientInfo": ["name": "scutum", "version": "0.1.0"],
        ])
        let server = try Self.serverInfo(from: result, url: endpoint.url)
        await connection.negotiated(protocolVersion: server.protocolVersion)
        try await connection.notify(JSONRPC.notification(method: "notifications/initialized"))
        self.server = server
        logger.debug("MCP session initialized", metadata: [
            "server": "\(server.name)", "protocol": "\(server.protocolVersion)", "url": "\(MCPHTTP.hostAndPort(endpoint.url))",
        ])
        return server
    }

    /// The client for a new session: without a guard the injected one; with one, the URL is checked and,
    /// for a host name the guard resolved, a client pinned to the first address it checked.
    private func sessionClient() async throws(MCPError) -> HTTPClient {
        guard let addressGuard else { return httpClient }
        let addresses = try await addressGuard.check(url: endpoint.url)
        let host = try MCPAddressGuard.host(of: endpoint.url)
        // An IP literal is connected to as written; a host allowed by name resolves as usual.
        guard IPAddress(host) == nil, let address = addresses.first else { return httpClient }
        if let pinned { try? await pinned.shutdown() }
        let client = MCPHTTP.pinnedClient(host: host, address: address)
        pinned = client
        return client
    }

    static func serverInfo(from result: JSONValue, url: String) throws(MCPError) -> MCPServerInfo {
        guard let version = result["protocolVersion"]?.stringValue else {
            throw MCPError(.notMCPServer, "\(MCPHTTP.hostAndPort(url)) answered 'initialize' without a protocolVersion")
        }
        guard supportedVersions.contains(version) else {
            throw MCPError(.notMCPServer,
                "\(MCPHTTP.hostAndPort(url)) wants MCP protocol version \(version), which Scutum does not speak "
                    + "(it speaks \(supportedVersions.sorted().joined(separator: ", ")))")
        }
        let info = result["serverInfo"]
        return MCPServerInfo(name: info?["name"]?.stringValue ?? "unnamed", version: info?["version"]?.stringValue,
            protocolVersion: version, capabilities: result["capabilities"] ?? [:],
            instructions: result["instructions"]?.stringValue)
    }

    /// Every page of `tools/list`.
    private func fetchTools() async throws -> [MCPTool] {
        var tools: [MCPTool] = []
        var cursor: String?
        for _ in 0..<Self.maximumPages {
            let page = try await call("tools/list", cursor.map { ["cursor": .string($0)] } ?? [:])
            guard let entries = page["tools"]?.arrayValue else {
                throw MCPError(.notMCPServer, "the answer to 'tools/list' has no tools array")
            }
            tools += entries.compactMap(MCPTool.init(json:))
            guard let next = page["nextCursor"]?.stringValue, !next.isEmpty, next != cursor else { return tools }
            cursor = next
        }
        logger.warning("tools/list has more pages than Scutum follows", metadata: ["pages": "\(Self.maximumPages)"])
        return tools
    }

    /// Sends request `method` and returns its result.
    private func call(_ method: String, _ params: JSONValue) async throws -> JSONValue {
        guard let connection else { throw MCPError(.connection, "the MCP session is not open") }
        let id = nextID
        nextID += 1
        let response = try await connection.request(JSONRPC.request(id: id, method: method, params: params), id: id,
            method: method)
        return try JSONRPC.result(of: response, method: method)
    }
}
