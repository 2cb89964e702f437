import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// A registered MCP server: `stdio` (a command agentgateway starts), `http` (streamable HTTP) or
/// `sse` (legacy HTTP+SSE). `env` and `headers` hold secrets.
public struct MCPServerRecord: Sendable, Equatable {
    public var id: UUID
    public var name: String
    /// `stdio`, `http` or `sse`.
    public var serverType: String
    public var command: String?
    public var args: [String]
    public var env: [String: String]
    public var url: String?
    public var headers: [String: String]
    /// The tools the last successful test listed (`tools/list` entries).
    public var tools: JSONValue
    public var isActive: Bool
    public var lastTestedAt: Date?
    /// Why the last test failed; nil when it passed or never ran.
    public var lastTestError: String?
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(id: UUID = UUID(), name: String, serverType: String, command: String? = nil, args: [String] = [],
        env: [String: String] = [:], url: String? = nil, headers: [String: String] = [:], tools: JSONValue = [],
        isActive: Bool = true, lastTestedAt: Date? = nil, lastTestError: String? = nil, createdAt: Date? = nil,
        updatedAt: Date? = nil)
    {
        self.id = id
        self.name = name
        self.serverType = serverType
        self.command = command
        self.args = args
        self.env = env
        self.url = url
        self.headers = headers
        self.tools = tools
        self.isActive = isActive
        self.lastTestedAt = lastTestedAt
        self.lastTestError = lastTestError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The `mcp_servers` table. With `secrets`, environment and header values are stored encrypted
/// and read back in clear (values stored before encryption was on are read as they are).
public struct MCPServerStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    public let secrets: SecretBox?

    public init(client: PostgresClient, logger: Logger, secrets: SecretBox? = nil) {
        self.client = client
        self.logger = logger
        self.secrets = secrets
    }

    static let columns = """
        id, name, server_type, command, args::text, env::text, url, headers::text, tools::text, is_active, \
        last_tested_at, last_test_error, created_at, updated_at
        """

    func records(_ rows: PostgresRowSequence) async throws -> [MCPServerRecord] {
        var servers: [MCPServerRecord] = []
        for try await (id, name, type, command, args, env, url, headers, tools, active, tested, error, created, updated)
            in rows.decode((UUID, String, String, String?, String, String, String?, String, String, Bool, Date?, String?,
                Date, Date).self)
        {
            servers.append(MCPServerRecord(id: id, name: name, serverType: type, command: command,
                args: (Self.parse(args).arrayValue ?? []).compactMap(\.stringValue), env: try opened(Self.parse(env)),
                url: url, headers: try opened(Self.parse(headers)), tools: Self.parse(tools), isActive: active,
                lastTestedAt: tested,
                lastTestError: error, createdAt: created, updatedAt: updated))
        }
        return servers
    }

    static func parse(_ text: String) -> JSONValue {
        (try? JSONParser.parse(Array(text.utf8))) ?? .null
    }

    /// A stored object of strings, its values decrypted.
    func opened(_ value: JSONValue) throws -> [String: String] {
        let strings = (value.objectValue ?? [:]).compactMapValues(\.stringValue)
        guard let secrets else { return strings }
        return try strings.mapValues { try secrets.open($0) }
    }

    /// Strings as a JSON object to store, values encrypted.
    func sealed(_ strings: [String: String]) throws -> String {
        let values = try secrets.map { box in try strings.mapValues { try box.seal($0) } } ?? strings
        return JSONValue.object(values.mapValues(JSONValue.string)).jsonString
    }

    /// Every server by name; with `activeOnly`, the active ones.
    public func list(activeOnly: Bool = false) async throws -> [MCPServerRecord] {
        try await records(client.query(
            """
            SELECT \(unescaped: Self.columns) FROM mcp_servers
            WHERE is_active OR NOT \(activeOnly) ORDER BY name
            """, logger: logger))
    }

    public func find(_ id: UUID) async throws -> MCPServerRecord? {
        try await records(client.query(
            "SELECT \(unescaped: Self.columns) FROM mcp_servers WHERE id = \(id)", logger: logger)).first
    }

    public func create(_ server: MCPServerRecord) async throws -> MCPServerRecord {
        let (env, headers) = (try sealed(server.env), try sealed(server.headers))
        let rows = try await client.query(
            """
            INSERT INTO mcp_servers (id, name, server_type, command, args, env, url, headers, tools, is_active)
            VALUES (\(server.id), \(server.name), \(server.serverType), \(server.command),
                \(JSONValue.strings(server.args))::jsonb, \(env)::jsonb, \(server.url),
                \(headers)::jsonb, \(server.tools.jsonString)::jsonb, \(server.isActive))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let created = try await records(rows).first else {
            throw StoreError.noRowReturned("INSERT INTO mcp_servers")
        }
        return created
    }

    /// Replaces a server's definition (not its test results); nil when there is no such server.
    public func update(_ server: MCPServerRecord) async throws -> MCPServerRecord? {
        let (env, headers) = (try sealed(server.env), try sealed(server.headers))
        return try await records(client.query(
            """
            UPDATE mcp_servers SET name = \(server.name), server_type = \(server.serverType),
                command = \(server.command), args = \(JSONValue.strings(server.args))::jsonb,
                env = \(env)::jsonb, url = \(server.url), headers = \(headers)::jsonb,
                is_active = \(server.isActive), updated_at = now()
            WHERE id = \(server.id) RETURNING \(unescaped: Self.columns)
            """, logger: logger)).first
    }

    public func delete(_ id: UUID) async throws -> Bool {
        let rows = try await client.query("DELETE FROM mcp_servers WHERE id = \(id) RETURNING id", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Records a connectivity test: when it passed (`error` nil), the tools it listed (nil keeps
    /// the stored list); when it failed, why. Nil when there is no such server.
    public func storeTestResult(_ id: UUID, tools: JSONValue?, error: String?) async throws -> MCPServerRecord? {
        try await records(client.query(
            """
            UPDATE mcp_servers SET tools = COALESCE(\(tools?.jsonString)::jsonb, tools), last_tested_at = now(),
                last_test_error = \(error)
            WHERE id = \(id) RETURNING \(unescaped: Self.columns)
            """, logger: logger)).first
    }
}

extension JSONValue {
    /// A list of strings as JSON text.
    fileprivate static func strings(_ items: [String]) -> String {
        JSONValue.array(items.map(JSONValue.string)).jsonString
    }
}
