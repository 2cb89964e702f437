import AsyncHTTPClient
import NIOCore
import ScutumCore

/// One open session with an MCP server over one transport: it carries JSON-RPC messages and
/// leaves their meaning to `MCPClient`.
protocol MCPConnection: Sendable {
    /// Sends request `id` and returns the server's response message (with `result` or `error`).
    func request(_ message: JSONValue, id: Int64, method: String) async throws -> JSONValue
    /// Sends a notification (no response expected).
    func notify(_ message: JSONValue) async throws
    /// Records the protocol version `initialize` settled on, for the headers of later requests.
    func negotiated(protocolVersion: String) async
    /// Ends the session and releases its connections.
    func close() async
}

extension MCPConnection {
    /// Sends `message` as a JSON POST to `url` with the endpoint's headers plus `extra`. The endpoint's
    /// (secret) headers go only to the endpoint's own origin; `url` is on it for both transports.
    static func post(_ message: JSONValue, to url: String, endpoint: MCPEndpoint, extra: [(String, String)],
        httpClient: HTTPClient) async throws -> HTTPClientResponse
    {
        guard let origin = MCPOrigin(url), origin == MCPOrigin(endpoint.url) else {
            throw MCPError(.addressRefused, "refused: \(MCPHTTP.hostAndPort(url)) is not the registered server's origin")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in endpoint.headers.sorted(by: { $0.key < $1.key }) { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        for (name, value) in extra { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(message.jsonBytes)
        return try await httpClient.execute(request, deadline: .distantFuture)
    }

    /// Reads an event stream until the response to `id` arrives; other messages (server
    /// notifications, requests) are skipped.
    static func response(to id: Int64, inEventStream body: HTTPClientResponse.Body, method: String) async throws -> JSONValue {
        var decoder = SSEDecoder(maximumLineLength: MCPHTTP.maximumResponseBytes)
        for try await chunk in body {
            for event in try decoder.feed(chunk) where event.name == nil || event.name == "message" {
                if let message = JSONValue.parse(event.data), let response = JSONRPC.response(to: id, in: message) {
                    return response
                }
            }
        }
        throw MCPError(.notMCPServer, "the event stream answering '\(method)' ended without a response")
    }
}
