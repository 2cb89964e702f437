import ScutumCore

/// The JSON-RPC 2.0 messages MCP is made of.
enum JSONRPC {
    /// A request that expects a response with the same `id`.
    static func request(id: Int64, method: String, params: JSONValue = [:]) -> JSONValue {
        ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]
    }

    /// A notification: no `id`, no response.
    static func notification(method: String, params: JSONValue? = nil) -> JSONValue {
        var fields: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { fields["params"] = params }
        return .object(fields)
    }

    /// The id of a response message (one with `result` or `error`); nil for requests and notifications.
    static func responseID(_ message: JSONValue) -> Int64? {
        guard message["method"] == nil, message["result"] != nil || message["error"] != nil else { return nil }
        return message["id"]?.intValue
    }

    /// The response to request `id` among one message or a batch of them.
    static func response(to id: Int64, in value: JSONValue) -> JSONValue? {
        for message in value.arrayValue ?? [value] where responseID(message) == id { return message }
        return nil
    }

    /// The `result` of a response, or the error its `error` object stands for.
    static func result(of response: JSONValue, method: String) throws(MCPError) -> JSONValue {
        if let error = response["error"] {
            throw rpcError(error, method: method)
        }
        guard let result = response["result"] else {
            throw MCPError(.notMCPServer, "the answer to '\(method)' has neither a result nor an error")
        }
        return result
    }

    /// A JSON-RPC error object as an `MCPError`: `JSON-RPC error -32601 (Method not found) for 'x'`.
    static func rpcError(_ error: JSONValue, method: String) -> MCPError {
        let code = error["code"]?.intValue ?? 0
        let message = error["message"]?.stringValue ?? "no message"
        return MCPError(.rpc(code: code), "the server answered '\(method)' with JSON-RPC error \(code): \(message)")
    }
}
