import ScutumCore

/// Where a remote MCP server listens and how to speak to it.
public struct MCPEndpoint: Sendable, Hashable {
    /// The two HTTP transports of the MCP specification.
    public enum Transport: String, Sendable, Hashable, CaseIterable {
        /// Streamable HTTP (2025-03-26 and later): every message is a POST to one URL.
        case http
        /// The legacy HTTP+SSE transport (2024-11-05): a GET event stream plus POSTs to the
        /// endpoint the stream announces.
        case sse
    }

    /// The MCP URL (`https://host/mcp`) or, for `sse`, the event-stream URL (`https://host/sse`).
    public var url: String
    public var transport: Transport
    /// Extra request headers (an `Authorization` for the server, say).
    public var headers: [String: String]

    public init(url: String, transport: Transport, headers: [String: String] = [:]) {
        self.url = url
        self.transport = transport
        self.headers = headers
    }
}

/// A tool an MCP server offers (one entry of `tools/list`).
public struct MCPTool: Sendable, Hashable {
    public var name: String
    public var description: String?
    /// The JSON Schema of the tool's `arguments`.
    public var inputSchema: JSONValue

    public init(name: String, description: String? = nil, inputSchema: JSONValue = ["type": "object"]) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
    }

    /// Reads a `tools/list` entry; nil without a string `name`.
    public init?(json: JSONValue) {
        guard let name = json["name"]?.stringValue, !name.isEmpty else { return nil }
        self.init(name: name, description: json["description"]?.stringValue,
            inputSchema: json["inputSchema"] ?? ["type": "object"])
    }

    /// `{name, description, inputSchema}`, as `tools/list` spells it.
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["name": .string(name), "inputSchema": inputSchema]
        if let description { fields["description"] = .string(description) }
        return .object(fields)
    }
}

/// What the server said about itself in its `initialize` result.
public struct MCPServerInfo: Sendable, Hashable {
    public var name: String
    public var version: String?
    /// The protocol version both sides will speak.
    public var protocolVersion: String
    /// The server's `capabilities` object.
    public var capabilities: JSONValue
    /// The server's `instructions`, if any.
    public var instructions: String?

    public init(name: String, version: String?, protocolVersion: String, capabilities: JSONValue = [:],
        instructions: String? = nil)
    {
        self.name = name
        self.version = version
        self.protocolVersion = protocolVersion
        self.capabilities = capabilities
        self.instructions = instructions
    }
}

/// The outcome of a successful handshake: who the server is and what tools it offers.
public struct MCPHandshake: Sendable, Hashable {
    public var server: MCPServerInfo
    public var tools: [MCPTool]

    public init(server: MCPServerInfo, tools: [MCPTool]) {
        self.server = server
        self.tools = tools
    }
}
