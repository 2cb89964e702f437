import Foundation
import Logging
import PostgresNIO

/// A gateway node as it last reported itself.
public struct ClusterNode: Sendable, Equatable {
    public var nodeID: String
    /// Where its proxy listens (`host:port`).
    public var address: String
    /// Where its Admin API listens, if it serves one.
    public var adminAddress: String?
    public var version: String
    public var startedAt: Date
    public var lastHeartbeat: Date
    /// Since when the node has been unable to reach Redis; nil while it can.
    public var redisUnreachableSince: Date?

    public init(nodeID: String, address: String, adminAddress: String?, version: String, startedAt: Date,
        lastHeartbeat: Date = Date(), redisUnreachableSince: Date? = nil)
    {
        self.redisUnreachableSince = redisUnreachableSince
        self.nodeID = nodeID
        self.address = address
        self.adminAddress = adminAddress
        self.version = version
        self.startedAt = startedAt
        self.lastHeartbeat = lastHeartbeat
    }
}

/// The `cluster_nodes` table: each node's heartbeat.
public struct ClusterNodeStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Records that `node` is alive now (the database's clock).
    public func heartbeat(_ node: ClusterNode) async throws {
        try await client.query("""
            INSERT INTO cluster_nodes (node_id, address, admin_address, version, started_at, last_heartbeat,
                redis_unreachable_since)
            VALUES (\(node.nodeID), \(node.address), \(node.adminAddress), \(node.version), \(node.startedAt), now(),
                \(node.redisUnreachableSince))
            ON CONFLICT (node_id) DO UPDATE SET address = EXCLUDED.address, admin_address = EXCLUDED.admin_address,
                version = EXCLUDED.version, last_heartbeat = now(),
                redis_unreachable_since = EXCLUDED.redis_unreachable_since
            """, logger: logger)
    }

    /// Forgets a node (on graceful shutdown).
    public func remove(_ nodeID: String) async throws {
        try await client.query("DELETE FROM cluster_nodes WHERE node_id = \(nodeID)", logger: logger)
    }

    /// Nodes heard from within `window`, oldest first; and drops rows silent for an hour.
    public func nodes(heardWithin window: Duration) async throws -> [ClusterNode] {
        try await client.query("DELETE FROM cluster_nodes WHERE last_heartbeat < now() - interval '1 hour'", logger: logger)
        let seconds = Double(window.components.seconds)
        let rows = try await client.query("""
            SELECT node_id, address, admin_address, version, started_at, last_heartbeat, redis_unreachable_since
            FROM cluster_nodes
            WHERE last_heartbeat > now() - \(seconds) * interval '1 second' ORDER BY started_at, node_id
            """, logger: logger)
        var nodes: [ClusterNode] = []
        for try await (id, address, admin, version, started, heartbeat, redisDown)
            in rows.decode((String, String, String?, String, Date, Date, Date?).self)
        {
            nodes.append(ClusterNode(nodeID: id, address: address, adminAddress: admin, version: version,
                startedAt: started, lastHeartbeat: heartbeat, redisUnreachableSince: redisDown))
        }
        return nodes
    }
}
