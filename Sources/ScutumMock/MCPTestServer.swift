import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A small MCP server for tests and the demo, speaking both HTTP transports of the specification.
///
/// - Streamable HTTP at `POST /mcp`: JSON replies, or an event stream (a log notification, then
///   the response) with `?reply=sse` or `X-MCP-Reply: sse`. `initialize` assigns an
///   `Mcp-Session-Id` that every later request must carry (400 without it, 404 for an unknown
///   one); notifications get 202; `GET /mcp` is 405; `DELETE /mcp` ends the session.
/// - Legacy HTTP+SSE: `GET /sse` streams an `endpoint` event naming `/messages?session_id=...`;
///   `POST` there answers 202 and sends the response as a `message` event on the stream.
///
/// Tools: `echo` (returns its `message` argument as text) and `add` (`a + b`). `tools/list`
/// returns one tool per page, so clients have to follow `nextCursor`. An unknown tool is a
/// JSON-RPC error -32602, an unknown method -32601.
public enum MCPTestServer {
    static let supportedVersions = ["2024-11-05", "2025-03-26", "2025-06-18"]
    static let sessionHeader = HTTPField.Name("Mcp-Session-Id")!
    static let versionHeader = HTTPField.Name("MCP-Protocol-Version")!
    static let replyHeader = HTTPField.Name("X-MCP-Reply")!

    /// The open sessions of both transports.
    public actor Sessions {
        var streamable: Set<String> = []
        var legacy: [String: AsyncStream<ByteBuffer>.Continuation] = [:]

        public init() {}

        func open() -> String {
            let id = UUID().uuidString.lowercased()
            streamable.insert(id)
            return id
        }

        func isOpen(_ id: String) -> Bool { streamable.contains(id) }
        func end(_ id: String) -> Bool { streamable.remove(id) != nil }

        func openLegacy() -> (String, AsyncStream<ByteBuffer>) {
            let id = UUID().uuidString.lowercased()
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            legacy[id] = continuation
            return (id, stream)
        }

        func send(_ event: ByteBuffer, toLegacy id: String) -> Bool {
            guard let continuation = legacy[id] else { return false }
            continuation.yield(event)
            return true
        }

        func endLegacy(_ id: String) { legacy.removeValue(forKey: id)?.finish() }
    }

    /// Adds the MCP routes to `router`.
    public static func register(on router: Router<BasicRequestContext>, sessions: Sessions = Sessions()) {
        router.post("/mcp") { request, _ in try await streamable(request, sessions: sessions) }
        router.get("/mcp") { _, _ in
            Response(status: .methodNotAllowed, headers: [.allow: "POST, DELETE"])
        }
        router.delete("/mcp") { request, _ in
            guard let id = request.headers[sessionHeader], await sessions.end(id) else {
                return Response(status: .notFound)
            }
            return Response(status: .ok)
        }
        router.get("/sse") { _, _ in await legacyStream(sessions: sessions) }
        router.post("/messages") { request, _ in try await legacyMessage(request, sessions: sessions) }
    }

    /// A ready-to-run application with only the MCP routes; port 0 picks a free port, reported
    /// through `onServerRunning`.
    public static func application(host: String = "127.0.0.1", port: Int, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol
    {
        let router = Router()
        register(on: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "scutum-mcp-test"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    // MARK: - Streamable HTTP

    static func streamable(_ request: Request, sessions: Sessions) async throws -> Response {
        let bytes = Array(try await request.body.collect(upTo: 1024 * 1024).readableBytesView)
        guard let message = JSONText.object(bytes) else {
            return rpcError(id: nil, code: -32700, "Parse error", status: .badRequest)
        }
        let method = message["method"] as? String ?? ""
        var headers: HTTPFields = [:]
        if method == "initialize" {
            headers[sessionHeader] = await sessions.open()
        } else {
            guard let id = request.headers[sessionHeader] else {
                return rpcError(id: message["id"], code: -32000, "Bad Request: Mcp-Session-Id header is required",
                    status: .badRequest)
            }
            guard await sessions.isOpen(id) else {
                return rpcError(id: message["id"], code: -32001, "Session not found", status: .notFound)
            }
            if let version = request.headers[versionHeader], !supportedVersions.contains(version) {
                return rpcError(id: message["id"], code: -32000, "Unsupported MCP-Protocol-Version: \(version)",
                    status: .badRequest)
            }
        }
        guard let answer = answer(message) else { return Response(status: .accepted) }
        let wantsSSE = request.uri.queryParameters.get("reply") == "sse" || request.headers[replyHeader] == "sse"
        guard wantsSSE else { return MockResponses.json(JSONText.compact(answer), headers: headers) }
        headers.append(contentsOf: MockResponses.eventStreamHeaders)
        let log: [String: Any] = ["jsonrpc": "2.0", "method": "notifications/message",
            "params": ["level": "info", "data": "answering \(method)"]]
        let events = [event(log), event(answer)]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            for event in events { try await writer.write(event) }
            try await writer.finish(nil)
        })
    }

    // MARK: - Legacy HTTP+SSE

    /// The legacy event stream; a comment every half second notices a client that went away.
    static func legacyStream(sessions: Sessions) async -> Response {
        let (id, stream) = await sessions.openLegacy()
        return Response(status: .ok, headers: MockResponses.eventStreamHeaders, body: ResponseBody { writer in
            let keepalive = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    guard await sessions.send(ByteBuffer(string: ": keepalive\n\n"), toLegacy: id) else { return }
                }
            }
            defer { keepalive.cancel() }
            do {
                try await writer.write(ByteBuffer(string: "event: endpoint\ndata: /messages?session_id=\(id)\n\n"))
                for await event in stream { try await writer.write(event) }
                await sessions.endLegacy(id)
                try await writer.finish(nil)
            } catch {
                await sessions.endLegacy(id)
                throw error
            }
        })
    }

    static func legacyMessage(_ request: Request, sessions: Sessions) async throws -> Response {
        let id = request.uri.queryParameters.get("session_id") ?? ""
        let bytes = Array(try await request.body.collect(upTo: 1024 * 1024).readableBytesView)
        guard let message = JSONText.object(bytes) else {
            return rpcError(id: nil, code: -32700, "Parse error", status: .badRequest)
        }
        let reply = answer(message)
        // A notification or response from the client still proves the session exists.
        let delivered = await sessions.send(reply.map(event) ?? ByteBuffer(string: ": ok\n\n"), toLegacy: id)
        guard delivered else { return MockResponses.json(#"{"error":"unknown session"}"#, status: .notFound) }
        return Response(status: .accepted, body: ResponseBody(byteBuffer: ByteBuffer(string: "Accepted")))
    }

    // MARK: - Messages

    /// The response to a request; nil for notifications and responses.
    static func answer(_ message: [String: Any]) -> [String: Any]? {
        guard let id = message["id"], let method = message["method"] as? String else { return nil }
        let params = message["params"] as? [String: Any] ?? [:]
        switch method {
        case "initialize":
            let asked = params["protocolVersion"] as? String ?? ""
            return result(id: id, [
                "protocolVersion": supportedVersions.contains(asked) ? asked : supportedVersions.last!,
                "capabilities": ["tools": ["listChanged": false]],
                "serverInfo": ["name": "scutum-mcp-test", "version": "1.0.0"],
            ])
        case "ping":
            return result(id: id, [:])
        case "tools/list":
            let index = Int(params["cursor"] as? String ?? "0") ?? 0
            let all = tools()
            guard all.indices.contains(index) else { return error(id: id, code: -32602, "Invalid cursor") }
            var page: [String: Any] = ["tools": [all[index]]]
            if index + 1 < all.count { page["nextCursor"] = String(index + 1) }
            return result(id: id, page)
        case "tools/call":
            let arguments = params["arguments"] as? [String: Any] ?? [:]
            switch params["name"] as? String ?? "" {
            case "echo":
                return result(id: id, text(String(describing: arguments["message"] ?? "")))
            case "add":
                guard let a = (arguments["a"] as? NSNumber)?.doubleValue, let b = (arguments["b"] as? NSNumber)?.doubleValue
                else { return result(id: id, text("a and b must be numbers", isError: true)) }
                let sum = a + b
                var answer = text(sum == sum.rounded() && abs(sum) < 1e15 ? String(Int64(sum)) : String(sum))
                answer["structuredContent"] = ["sum": sum]
                return result(id: id, answer)
            case let name:
                return error(id: id, code: -32602, "Unknown tool: \(name)")
            }
        default:
            return error(id: id, code: -32601, "Method not found: \(method)")
        }
    }

    static func tools() -> [[String: Any]] {
        [
            ["name": "echo", "description": "Returns its message argument.",
                "inputSchema": ["type": "object", "properties": ["message": ["type": "string"]], "required": ["message"]]],
            ["name": "add", "description": "Adds two numbers.",
                "inputSchema": ["type": "object", "properties": ["a": ["type": "number"], "b": ["type": "number"]],
                    "required": ["a", "b"]]],
        ]
    }

    static func text(_ text: String, isError: Bool = false) -> [String: Any] {
        ["content": [["type": "text", "text": text]], "isError": isError]
    }

    static func result(id: Any, _ result: [String: Any]) -> [String: Any] {
        ["jsonrpc": "2.0", "id": id, "result": result]
    }

    static func error(id: Any?, code: Int, _ message: String) -> [String: Any] {
        ["jsonrpc": "2.0", "id": id ?? NSNull(), "error": ["code": code, "message": message]]
    }

    static func rpcError(id: Any?, code: Int, _ message: String, status: HTTPResponse.Status) -> Response {
        MockResponses.json(JSONText.compact(error(id: id, code: code, message)), status: status)
    }

    /// One `message` event.
    static func event(_ message: [String: Any]) -> ByteBuffer {
        ByteBuffer(string: "event: message\ndata: \(JSONText.compact(message))\n\n")
    }
}
