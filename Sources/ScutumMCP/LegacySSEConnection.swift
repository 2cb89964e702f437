import AsyncHTTPClient
import Foundation
import NIOCore
import ScutumCore

/// MCP's legacy HTTP+SSE transport (protocol 2024-11-05): a GET opens an event stream whose first
/// event, `endpoint`, names the URL to POST messages to; responses come back on the stream as
/// `message` events and are matched to their requests by id.
///
/// The announced endpoint must be on the registered URL's origin (scheme, host, port): a server
/// naming another host, an internal address, or another port is refused, so the POSTs (and the
/// configured secret headers they carry) only ever go where the operator registered the server, and
/// through the same pinned address as the stream.
actor LegacySSEConnection: MCPConnection {
    let endpoint: MCPEndpoint
    let httpClient: HTTPClient
    /// Where messages are POSTed, once the stream announced it.
    private var postURL: String?
    private var reader: Task<Void, Never>?
    /// Why the stream ended, once it has.
    private var ended: MCPError?
    /// Callers waiting for the endpoint or for a response.
    private var waiters: [Awaited: CheckedContinuation<JSONValue, any Error>] = [:]
    /// Responses that arrived before their caller started waiting (the POST may return after the
    /// response was already pushed onto the stream).
    private var early: [Int64: JSONValue] = [:]
    /// Request ids sent and not answered yet; responses to anything else are dropped.
    private var outstanding: Set<Int64> = []

    enum Awaited: Hashable {
        case endpoint
        case response(Int64)
    }

    init(endpoint: MCPEndpoint, httpClient: HTTPClient) {
        self.endpoint = endpoint
        self.httpClient = httpClient
    }

    /// Opens the event stream and waits for its `endpoint` event.
    func open() async throws {
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .GET
        for (name, value) in endpoint.headers.sorted(by: { $0.key < $1.key }) { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        let response = try await httpClient.execute(request, deadline: .distantFuture)
        guard response.status == .ok else {
            let body = try? await response.body.collect(upTo: 64 * 1024)
            throw MCPHTTP.statusError(response.status, body: body, url: endpoint.url, method: "GET")
        }
        guard MCPHTTP.mediaType(response) == "text/event-stream" else {
            throw MCPError(.notMCPServer, "\(MCPHTTP.hostAndPort(endpoint.url)) answered the SSE GET with content type '"
                + MCPHTTP.mediaType(response) + "', not an event stream: it is not a legacy MCP SSE endpoint")
        }
        let body = response.body
        reader = Task { await self.read(body) }
        if postURL == nil { _ = try await wait(for: .endpoint) }
    }

    private func read(_ body: HTTPClientResponse.Body) async {
        var decoder = SSEDecoder(maximumLineLength: MCPHTTP.maximumResponseBytes)
        do {
            for try await chunk in body {
                for event in try decoder.feed(chunk) { deliver(event) }
            }
            finish(MCPError(.connection, "\(MCPHTTP.hostAndPort(endpoint.url)) closed the SSE stream"))
        } catch {
            finish(MCPHTTP.error(error, url: endpoint.url))
        }
    }

    /// `announced`'s path and query on `registered`'s scheme, host and port exactly as written.
    static func onRegisteredHost(_ announced: String, registered: String) -> String? {
        guard var url = URLComponents(string: registered), let parts = URLComponents(string: announced) else { return nil }
        url.percentEncodedPath = parts.percentEncodedPath
        url.percentEncodedQuery = parts.percentEncodedQuery
        url.fragment = nil
        return url.string
    }

    private func deliver(_ event: SSEDecoder.Event) {
        switch event.name ?? "message" {
        case "endpoint":
            guard postURL == nil else { return }
            let text = String(buffer: event.data).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let resolved = URL(string: text, relativeTo: URL(string: endpoint.url))?.absoluteString,
                let announced = MCPOrigin(resolved)
            else {
                finish(MCPError(.notMCPServer, "the SSE stream announced an unusable endpoint '\(text.prefix(200))'"))
                return
            }
            guard let registered = MCPOrigin(endpoint.url), announced == registered else {
                finish(MCPError(.addressRefused,
                    "refused: the SSE stream announced its message endpoint on \(announced), not on the registered "
                        + "server's origin \(MCPOrigin(endpoint.url)?.description ?? "(none)"); Scutum posts only to the "
                        + "registered origin"))
                return
            }
            // Posted to the registered server as written (the pinned client overrides DNS for that
            // spelling only), at the path and query the stream announced.
            guard let url = Self.onRegisteredHost(resolved, registered: endpoint.url) else {
                finish(MCPError(.notMCPServer, "the SSE stream announced an unusable endpoint '\(text.prefix(200))'"))
                return
            }
            postURL = url
            resume(.endpoint, with: .success(.string(url)))
        case "message":
            guard let message = JSONValue.parse(event.data) else { return }
            for item in message.arrayValue ?? [message] {
                guard let id = JSONRPC.responseID(item), outstanding.remove(id) != nil else { continue }
                if waiters[.response(id)] != nil {
                    resume(.response(id), with: .success(item))
                } else {
                    early[id] = item
                }
            }
        default:
            break
        }
    }

    private func finish(_ error: MCPError) {
        guard ended == nil else { return }
        ended = error
        for key in Array(waiters.keys) { resume(key, with: .failure(error)) }
    }

    private func resume(_ key: Awaited, with result: Result<JSONValue, any Error>) {
        waiters.removeValue(forKey: key)?.resume(with: result)
    }

    /// Waits until `key` arrives, the stream ends, or the task is cancelled.
    private func wait(for key: Awaited) async throws -> JSONValue {
        if case .response(let id) = key, let message = early.removeValue(forKey: id) { return message }
        if let ended { throw ended }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters[key] = continuation
                }
            }
        } onCancel: {
            Task { await self.resume(key, with: .failure(CancellationError())) }
        }
    }

    func request(_ message: JSONValue, id: Int64, method: String) async throws -> JSONValue {
        outstanding.insert(id)
        defer { outstanding.remove(id); early.removeValue(forKey: id) }
        try await notify(message)
        return try await wait(for: .response(id))
    }

    func notify(_ message: JSONValue) async throws {
        guard let postURL else { throw MCPError(.connection, "the SSE session is not open") }
        if let ended { throw ended }
        let method = message["method"]?.stringValue ?? "message"
        let response = try await Self.post(message, to: postURL, endpoint: endpoint, extra: [], httpClient: httpClient)
        let body = try? await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw MCPHTTP.statusError(response.status, body: body, url: postURL, method: method)
        }
    }

    func negotiated(protocolVersion: String) {}

    func close() {
        reader?.cancel()
        reader = nil
        finish(MCPError(.connection, "the SSE session was closed"))
    }
}
