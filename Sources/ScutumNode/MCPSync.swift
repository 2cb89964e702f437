import Crypto
import Foundation
import Logging
import NIOPosix
import PostgresNIO
import ScutumCore
import ScutumMCP
import ScutumStore
import ScutumWorkflows

/// Keeps agentgateway's configuration file in line with the registered MCP servers. Only the
/// leader writes it: on taking the lead, whenever a server changes or a node asks
/// (`POST /api/v1/mcp-servers/sync` → `mcp_sync_state.requested_at`, NOTIFY), and every minute in
/// case the file was changed or removed. Each deployment is recorded under the leader's fence.
struct MCPSync: Sendable {
    let postgres: PostgresClient
    let path: String
    let port: Int
    let secrets: SecretBox?
    let wakeUps: WakeUps
    let logger: Logger
    static let recheck: Duration = .seconds(60)

    var state: MCPSyncStateStore { MCPSyncStateStore(client: postgres, logger: logger) }

    /// The leader's loop.
    func run(fence: LeaderFence) async {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try await NIOThreadPool.singleton.runIfActive {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                }
            } catch {
                logger.error("cannot create the folder for agentgateway's configuration",
                    metadata: ["path": "\(directory)", "error": "\(error)"])
            }
        }
        var deployed: String?
        var lastCheck = ContinuousClock.now - Self.recheck
        while !Task.isCancelled {
            do {
                let current = try await state.state()
                let config = try await MCPConfigSync.config(postgres: postgres, logger: logger, port: port,
                    secrets: secrets)
                let yaml = config.yaml()
                let digest = Hex.lowercase(SHA256.hash(data: Array(yaml.utf8)))
                let requested = (current.requestedAt ?? .distantPast) > (current.deployedAt ?? .distantPast)
                let stale = ContinuousClock.now - lastCheck >= Self.recheck
                if requested || digest != deployed || (stale && !Self.fileMatches(path, digest)) {
                    lastCheck = ContinuousClock.now
                    do {
                        let result = try await AgentGatewayDeployer(path: path).deploy(yaml)
                        try await state.recordDeployment(fence: fence, path: path, sha256: result.sha256,
                            bytes: result.bytes, activeServers: config.targets.count, error: nil)
                        deployed = result.sha256
                        logger.info("agentgateway configuration deployed", metadata: [
                            "path": "\(path)", "servers": "\(config.targets.count)", "sha256": "\(result.sha256)",
                        ])
                    } catch let error as AgentGatewayDeployError {
                        try await state.recordDeployment(fence: fence, path: path, sha256: nil, bytes: nil,
                            activeServers: config.targets.count, error: error.message)
                        logger.error("agentgateway configuration not written", metadata: ["error": "\(error.message)"])
                    }
                } else if stale {
                    lastCheck = ContinuousClock.now
                }
            } catch is FencedOut {
                logger.warning("MCP sync stopped: fenced, this node is no longer the leader")
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("MCP sync failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
            }
            await wakeUps.wait(atMost: .seconds(5))
        }
    }

    /// Whether the file at `path` holds exactly the configuration with this digest (read off the event loop).
    static func fileMatches(_ path: String, _ digest: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        return Hex.lowercase(SHA256.hash(data: data)) == digest
    }

    /// What `POST /api/v1/mcp-servers/sync` does on any node: asks the leader and waits (up to
    /// `timeout`) for its deployment, then reports it.
    static func requestDeployment(postgres: PostgresClient, logger: Logger, timeout: Duration = .seconds(15))
        async throws -> JSONValue
    {
        let store = MCPSyncStateStore(client: postgres, logger: logger)
        let requested = try await store.request()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let state = try await store.state()
            if let deployed = state.deployedAt, deployed >= requested {
                if let error = state.error { throw MCPSyncError(message: "the leader could not deploy: \(error)") }
                return [
                    "deployed": true, "path": .optional(state.path), "sha256": .optional(state.sha256),
                    "bytes": state.bytes.map { .int(Int64($0)) } ?? .null,
                    "active_servers": state.activeServers.map { .int(Int64($0)) } ?? .null,
                    "deployed_by": .optional(state.deployedBy), "fencing_token": state.fenceToken.map(JSONValue.int) ?? .null,
                    "deployed_at": .string(ISO8601DateFormatter().string(from: deployed)),
                ]
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw MCPSyncError(message: "no leader deployed the configuration within \(timeout); is GATEWAY_CONFIG_PATH set on the nodes?")
    }
}

/// A sync request the leader did not carry out.
struct MCPSyncError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension JSONValue {
    static func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
}
