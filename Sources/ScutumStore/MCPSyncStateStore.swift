import Foundation
import Logging
import PostgresNIO

/// What the leader last deployed to agentgateway, and when a node last asked for a deployment.
public struct MCPSyncState: Sendable, Equatable {
    public var requestedAt: Date?
    public var deployedAt: Date?
    public var deployedBy: String?
    public var fenceToken: Int64?
    public var path: String?
    public var sha256: String?
    public var bytes: Int?
    public var activeServers: Int?
    public var error: String?
}

/// The `mcp_sync_state` row.
public struct MCPSyncStateStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Asks the leader to deploy now (it hears it by NOTIFY); returns the request's time.
    public func request() async throws -> Date {
        let rows = try await client.query(
            "UPDATE mcp_sync_state SET requested_at = clock_timestamp() WHERE id = 1 RETURNING requested_at",
            logger: logger)
        for try await date in rows.decode(Date.self) { return date }
        throw StoreError.noRowReturned("UPDATE mcp_sync_state")
    }

    public func state() async throws -> MCPSyncState {
        let rows = try await client.query("""
            SELECT requested_at, deployed_at, deployed_by, fence_token, path, sha256, bytes, active_servers, error
            FROM mcp_sync_state WHERE id = 1
            """, logger: logger)
        for try await (requested, deployed, by, token, path, sha, bytes, servers, error)
            in rows.decode((Date?, Date?, String?, Int64?, String?, String?, Int?, Int?, String?).self)
        {
            return MCPSyncState(requestedAt: requested, deployedAt: deployed, deployedBy: by, fenceToken: token,
                path: path, sha256: sha, bytes: bytes, activeServers: servers, error: error)
        }
        throw StoreError.noRowReturned("SELECT mcp_sync_state")
    }

    /// Records a deployment (or its failure, with `error`) by the leader holding `fence`.
    public func recordDeployment(fence: LeaderFence, path: String, sha256: String?, bytes: Int?, activeServers: Int?,
        error: String?) async throws
    {
        try await LeaderLease(client: client, logger: logger).withFencedTransaction(fence) { connection in
            try await connection.query("""
                UPDATE mcp_sync_state SET deployed_at = clock_timestamp(), deployed_by = \(fence.nodeID),
                    fence_token = \(fence.token), path = \(path), sha256 = \(sha256), bytes = \(bytes),
                    active_servers = \(activeServers), error = \(error)
                WHERE id = 1
                """, logger: logger)
        }
    }
}
