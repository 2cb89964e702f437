import Logging
import PostgresNIO
import ScutumCore
import ScutumStore

/// From the registered MCP servers to agentgateway's configuration file: what the leader runs
/// for `POST /api/v1/mcp-servers/sync` (wire it as `AdminDependencies.deployMCPConfig`).
public enum MCPConfigSync {
    /// The configuration for the active servers.
    public static func config(postgres: PostgresClient, logger: Logger, port: Int = 3000, secrets: SecretBox? = nil)
        async throws -> AgentGatewayConfig
    {
        let servers = try await MCPServerStore(client: postgres, logger: logger, secrets: secrets).list(activeOnly: true)
        return AgentGatewayConfig(servers: servers.compactMap(server), port: port)
    }

    /// Writes the configuration for the active servers to `path` (atomically) and returns
    /// `{"path", "bytes", "sha256", "active_servers"}`.
    public static func deploy(postgres: PostgresClient, logger: Logger, path: String, port: Int = 3000,
        secrets: SecretBox? = nil) async throws -> JSONValue
    {
        let config = try await config(postgres: postgres, logger: logger, port: port, secrets: secrets)
        let deployment = try await AgentGatewayDeployer(path: path).deploy(config.yaml())
        logger.info("wrote agentgateway configuration", metadata: [
            "path": "\(path)", "servers": "\(config.targets.count)", "sha256": "\(deployment.sha256)",
        ])
        var json = deployment.json.objectValue ?? [:]
        json["active_servers"] = .int(Int64(config.targets.count))
        return .object(json)
    }

    /// A stored server as an agentgateway target; nil when its record is incomplete.
    static func server(_ record: MCPServerRecord) -> AgentGatewayConfig.Server? {
        switch record.serverType {
        case "stdio":
            guard let command = record.command else { return nil }
            return .init(name: record.name, kind: .stdio(MCPStdioCommand(command: command, args: record.args,
                env: record.env)))
        case "http":
            return record.url.map { .init(name: record.name, kind: .http(url: $0)) }
        case "sse":
            return record.url.map { .init(name: record.name, kind: .sse(url: $0)) }
        default:
            return nil
        }
    }
}
