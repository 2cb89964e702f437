import Foundation
import Logging
import PostgresNIO

/// Proof of leadership for leader-only writes: the node and the fencing token it got the lease with.
public struct LeaderFence: Sendable, Hashable, CustomStringConvertible {
    public let nodeID: String
    public let token: Int64

    public init(nodeID: String, token: Int64) {
        self.nodeID = nodeID
        self.token = token
    }

    public var description: String { "\(nodeID)#\(token)" }

    /// Checks, inside the caller's transaction, that this fence still holds the lease; with
    /// `locking`, also keeps the lease row share-locked until the transaction ends, so no other
    /// node can take over before the commit. Throws `FencedOut` when leadership has moved on.
    public func verify(_ connection: FencedConnection, locking: Bool, logger: Logger) async throws {
        let rows = try await connection.query("""
            SELECT 1 FROM cluster_leader
            WHERE id = 1 AND node_id = \(nodeID) AND token = \(token) AND expires_at > clock_timestamp()
            \(unescaped: locking ? "FOR SHARE" : "")
            """, logger: logger)
        for try await _ in rows { return }
        logger.warning("fenced: this node is no longer the leader; write refused", metadata: ["fence": "\(self)"])
        throw FencedOut(fence: self)
    }
}

/// A leader-only write refused because the node's lease expired or moved to another node.
public struct FencedOut: Error, CustomStringConvertible {
    public let fence: LeaderFence
    public var description: String { "leadership \(fence) is no longer held; the write was refused" }
}

/// The `cluster_leader` lease row.
public struct LeaderLease: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// How long a fenced transaction may sit idle before PostgreSQL ends its session (and with it
    /// the transaction's row locks): the bound on what a leader paused mid-transaction (SIGSTOP, a
    /// VM freeze) can hold up. Generous, because a busy node's tasks can wait seconds for a thread.
    public let fencedIdleLimit: Duration

    public init(client: PostgresClient, logger: Logger, fencedIdleLimit: Duration = .seconds(10)) {
        self.client = client
        self.logger = logger
        self.fencedIdleLimit = fencedIdleLimit
    }

    /// Takes the lease if it is free or expired, or renews it if `nodeID` holds it; the fence held
    /// afterwards, or nil when another node holds a live lease. Renewing keeps the token; taking
    /// the lease (even back after it lapsed) gets a new one, so writes under a lapsed fence fail.
    public func acquireOrRenew(nodeID: String, lease: Duration) async throws -> LeaderFence? {
        let milliseconds = Int64(lease.components.seconds * 1000 + lease.components.attoseconds / 1_000_000_000_000_000)
        let rows = try await client.query("""
            UPDATE cluster_leader SET
                token = CASE WHEN node_id = \(nodeID) AND expires_at > now() THEN token ELSE token + 1 END,
                acquired_at = CASE WHEN node_id = \(nodeID) AND expires_at > now() THEN acquired_at ELSE now() END,
                node_id = \(nodeID),
                expires_at = now() + \(milliseconds) * interval '1 millisecond'
            WHERE id = 1 AND (expires_at <= now() OR node_id = \(nodeID))
            RETURNING token
            """, logger: logger)
        for try await token in rows.decode(Int64.self) { return LeaderFence(nodeID: nodeID, token: token) }
        return nil
    }

    /// Gives the lease up (on shutdown) so another node takes over at once.
    public func release(_ fence: LeaderFence) async throws {
        try await client.query("""
            UPDATE cluster_leader SET expires_at = now()
            WHERE id = 1 AND node_id = \(fence.nodeID) AND token = \(fence.token)
            """, logger: logger)
    }

    /// Who holds the lease now, if anyone.
    public func holder() async throws -> (nodeID: String, token: Int64, expiresAt: Date)? {
        let rows = try await client.query("""
            SELECT node_id, token, expires_at FROM cluster_leader WHERE id = 1 AND expires_at > now()
            """, logger: logger)
        for try await (node, token, expires) in rows.decode((String, Int64, Date).self) {
            return (node, token, expires)
        }
        return nil
    }

    /// Runs `body` in a transaction under `fence`: checked first (so a fenced-out node does no
    /// work), and again at the end with the lease row share-locked until the `COMMIT` that follows
    /// at once, so the writes commit only while the lease is held, and a takeover never waits on a
    /// transaction's body. The transaction may not sit idle longer than `fencedIdleLimit`
    /// (PostgreSQL then ends the session and the write is lost), so `body` does only database work.
    @discardableResult
    public func withFencedTransaction<T: Sendable>(_ fence: LeaderFence,
        _ body: @Sendable (FencedConnection) async throws -> T) async throws -> T
    {
        let idleMilliseconds = String(max(1, fencedIdleLimit.components.seconds * 1000
            + fencedIdleLimit.components.attoseconds / 1_000_000_000_000_000))
        return try await client.withConnection { postgres in
            let connection = FencedConnection(connection: postgres)
            try await connection.query("BEGIN", logger: logger)
            do {
                try await connection.query(
                    "SELECT set_config('idle_in_transaction_session_timeout', \(idleMilliseconds), true)",
                    logger: logger)
                try await fence.verify(connection, locking: false, logger: logger)
                let result = try await body(connection)
                try await fence.verify(connection, locking: true, logger: logger)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}
