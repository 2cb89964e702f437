import AsyncHTTPClient
import NIOCore
import ScutumCore

/// MCP's streamable HTTP transport: every message is a POST to the endpoint URL; a request is
/// answered with JSON or with an event stream that carries the response. The session id the
/// server assigns on `initialize` (`Mcp-Session-Id`) and the negotiated `MCP-Protocol-Version`
/// go on every later request.
actor StreamableHTTPConnection: MCPConnection {
    let endpoint: MCPEndpoint
    let httpClient: HTTPClient
    private var sessionID: String?
    private var protocolVersion: String?

    init(endpoint: MCPEndpoint, httpClient: HTTPClient) {
        self.endpoint = endpoint
        self.httpClient = httpClient
    }

    private var sessionHeaders: [(String, String)] {
        var headers: [(String, String)] = []
        if let sessionID { headers.append(("Mcp-Session-Id", sessionID)) }
        if let protocolVersion { headers.append(("MCP-Protocol-Version", protocolVersion)) }
        return headers
    }

    func request(_ message: JSONValue, id: Int64, method: String) async throws -> JSONValue {
        let response = try await Self.post(message, to: endpoint.url, endpoint: endpoint, extra: sessionHeaders,
            httpClient: httpClient)
        if let assigned = response.headers.first(name: "mcp-session-id"), !assigned.isEmpty { sessionID = assigned }
        guard response.status == .ok else {
            let body = try? await response.body.collect(upTo: 64 * 1024)
            if response.status == .accepted {
                throw MCPError(.notMCPServer, "\(MCPHTTP.hostAndPort(endpoint.url)) accepted '\(method)' without answering it")
            }
            throw MCPHTTP.statusError(response.status, body: body, url: endpoint.url, method: method)
        }
        switch MCPHTTP.mediaType(response) {
        case "text/event-stream":
            return try await Self.response(to: id, inEventStream: response.body, method: method)
        case "application/json":
            let body = try await response.body.collect(upTo: MCPHTTP.maximumResponseBytes)
            guard let json = JSONValue.parse(body), let answer = JSONRPC.response(to: id, in: json) else {
                throw MCPError(.notMCPServer,
                    "\(MCPHTTP.hostAndPort(endpoint.url)) answered '\(method)' with JSON that is not a JSON-RPC response")
            }
            return answer
        case let other:
            throw MCPError(.notMCPServer, "\(MCPHTTP.hostAndPort(endpoint.url)) answered '\(method)' with content type '"
                + (other.isEmpty ? "none" : other) + "', not JSON or an event stream: it does not look like an MCP server")
        }
    }

    func notify(_ message: JSONValue) async throws {
        let method = message["method"]?.stringValue ?? "notification"
        let response = try await Self.post(message, to: endpoint.url, endpoint: endpoint, extra: sessionHeaders,
            httpClient: httpClient)
        let body = try? await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw MCPHTTP.statusError(response.status, body: body, url: endpoint.url, method: method)
        }
    }

    func negotiated(protocolVersion: String) {
        self.protocolVersion = protocolVersion
    }

    /// Ends the session with `DELETE` when the server assigned one (servers may answer 405; ignored).
    func close() async {
        guard let sessionID else { return }
        self.sessionID = nil
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .DELETE
        for (name, value) in endpoint.headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: sessionID)
        if let response = try? await httpClient.execute(request, timeout: .seconds(2)) {
            _ = try? await response.body.collect(upTo: 64 * 1024)
        }
    }
}
