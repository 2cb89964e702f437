import Foundation
import Logging
import PostgresNIO
import ScutumCore
import ScutumMCP
import ScutumStore

/// Calls a tool on a registered MCP server for a workflow `tool` step: the server by name, active,
/// reached over http or sse through the SSRF guard (with the settings' `mcp_allowed_hosts`).
/// Stdio servers run under agentgateway, not in the gateway, so steps cannot call them directly.
public struct MCPToolCaller: Sendable {
    let postgres: PostgresClient
    let secrets: SecretBox?
    let logger: Logger
    static let timeout: Duration = .seconds(120)

    public init(postgres: PostgresClient, secrets: SecretBox?, logger: Logger) {
        self.postgres = postgres
        self.secrets = secrets
        self.logger = logger
    }

    public func call(server name: String, tool: String, arguments: JSONValue) async throws -> JSONValue {
        let servers = try await MCPServerStore(client: postgres, logger: logger, secrets: secrets).list()
        guard let server = servers.first(where: { $0.name == name }) else {
            throw WorkflowRunError("no MCP server named '\(name)' is registered")
        }
        guard server.isActive else { throw WorkflowRunError("the MCP server '\(name)' is not active") }
        guard let url = server.url, let transport = MCPEndpoint.Transport(rawValue: server.serverType) else {
            throw WorkflowRunError("the MCP server '\(name)' is a \(server.serverType) server; workflow steps call http and sse servers")
        }
        let settings = try await SettingsStore(client: postgres, logger: logger).load()
        let allowList = PlatformSettings.mcpAllowedHosts.strings(in: settings)
        // The guard checks the host and the client connects only to the address it checked.
        let client = MCPClient(endpoint: MCPEndpoint(url: url, transport: transport, headers: server.headers),
            addressGuard: MCPAddressGuard(allowList: allowList), timeout: Self.timeout, logger: logger)
        do {
            let result = try await client.callTool(name: tool, arguments: arguments)
            await client.close()
            if result["isError"]?.boolValue == true {
                throw WorkflowRunError("the tool '\(tool)' on '\(name)' reported an error: \(Self.text(of: result))")
            }
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// The text parts of a tool result, joined.
    static func text(of result: JSONValue) -> String {
        (result["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
    }
}
