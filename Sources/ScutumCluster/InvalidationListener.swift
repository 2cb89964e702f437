import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// What changed, as the SQL triggers name it in their `scutum_invalidate` payloads (`sql/*.sql`):
/// a trigger with a kind that is not a case here fails `InvalidationKindTests`.
public enum InvalidationKind: String, Sendable, CaseIterable, Decodable {
    /// One API key (`key_hash` says which).
    case key
    case team
    case budget
    /// Model overrides (prices, limits, credentials).
    case model
    case settings
    /// Routing policies.
    case routing
    case guardrail
    case workflow
    /// An execution was queued or cancelled: the leader's runner wakes.
    case workflowExecution = "workflow_execution"
    /// MCP servers changed.
    case mcp
    /// A deployment of agentgateway's configuration was asked for.
    case mcpSync = "mcp_sync"
}

/// A change another node (or any SQL) made that caches must forget, as sent on `scutum_invalidate`.
/// A payload of a kind this node does not know (a newer node's) is ignored.
public struct Invalidation: Sendable, Equatable, Decodable {
    /// What changed.
    public var kind: InvalidationKind
    /// For `key`: the SHA-256 of the key.
    public var key_hash: String?

    public init(kind: InvalidationKind, key_hash: String? = nil) {
        self.kind = kind
        self.key_hash = key_hash
    }
}

/// Listens on the PostgreSQL channel `scutum_invalidate` and hands each change to `onChange`.
///
/// Holds one connection of `client` for the LISTEN, so `client` must reach the server directly or
/// through a pooler in session mode: a node whose `DATABASE_URL` is PgBouncer in transaction pooling
/// gives it the `DATABASE_LISTEN_URL` client. When the connection drops it reconnects with back-off
/// and calls `onResync`, since changes made while it was away were not heard.
public struct InvalidationListener: Service {
    public static let channel = "scutum_invalidate"

    let client: PostgresClient
    let logger: Logger
    let onChange: @Sendable (Invalidation) async -> Void
    let onResync: @Sendable () async -> Void

    public init(client: PostgresClient, logger: Logger, onChange: @escaping @Sendable (Invalidation) async -> Void,
        onResync: @escaping @Sendable () async -> Void)
    {
        self.client = client
        self.logger = logger
        self.onChange = onChange
        self.onResync = onResync
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await listenForever()
        }
    }

    private func listenForever() async {
        var delay: Duration = .milliseconds(100)
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let started = clock.now
            do {
                try await listenOnce()
            } catch {
                if Task.isCancelled { return }
                // A connection that lived a while earns a fresh, short back-off.
                if clock.now - started > .seconds(5) { delay = .milliseconds(100) }
                logger.warning("invalidation listener lost PostgreSQL; retrying",
                    metadata: ["error": "\(String(reflecting: error))", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    private func listenOnce() async throws {
        try await client.withConnection { connection in
            try await connection.listen(on: Self.channel) { notifications in
                // Whatever changed while nobody listened is unknown: start from a clean cache.
                await onResync()
                logger.debug("listening for cache invalidations")
                for try await notification in notifications {
                    guard let change = try? JSONDecoder().decode(Invalidation.self, from: Data(notification.payload.utf8))
                    else {
                        logger.warning("ignoring malformed invalidation", metadata: ["payload": "\(notification.payload)"])
                        continue
                    }
                    await onChange(change)
                }
            }
        }
    }
}
