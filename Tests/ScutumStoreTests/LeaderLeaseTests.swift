import Foundation
import PostgresNIO
import ScutumStore
import ScutumTestSupport
import Testing

/// The lease's expiry is moved by SQL (as if time had passed) rather than by sleeping, so the tests
/// do not depend on how fast a loaded machine runs them.
@Suite("Leader lease and fencing in PostgreSQL")
struct LeaderLeaseTests {
    static let logger = TestEnvironment.logger

    /// Makes the current lease lapse now.
    static func lapse(_ client: PostgresClient) async throws {
        try await client.query("UPDATE cluster_leader SET expires_at = now() - interval '1 second' WHERE id = 1",
            logger: logger)
    }

    @Test("one holder at a time; a lapsed holder is fenced out and gets a new token only by taking the lease again")
    func fencing() async throws {
        try await withMigratedDatabase { client, _ in
            let lease = LeaderLease(client: client, logger: Self.logger)
            try await client.query("CREATE TABLE leader_writes (token bigint NOT NULL)", logger: Self.logger)
            let a = try #require(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(60)))
            #expect(try await lease.acquireOrRenew(nodeID: "b", lease: .seconds(60)) == nil, "a holds a live lease")
            // Renewing keeps the token.
            #expect(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(60)) == a)
            try await lease.withFencedTransaction(a) { connection in
                try await connection.query("INSERT INTO leader_writes VALUES (\(a.token))", logger: Self.logger)
            }

            // a stops renewing (paused): its lease lapses and b takes over with a larger token.
            try await Self.lapse(client)
            let b = try #require(try await lease.acquireOrRenew(nodeID: "b", lease: .seconds(60)))
            #expect(b.token > a.token)
            #expect(try await lease.holder()?.nodeID == "b")

            // a wakes up and tries to write under its old fence: refused, nothing written.
            await #expect(throws: FencedOut.self) {
                try await lease.withFencedTransaction(a) { connection in
                    try await connection.query("INSERT INTO leader_writes VALUES (\(a.token))", logger: Self.logger)
                }
            }
            #expect(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(60)) == nil)
            try await lease.withFencedTransaction(b) { connection in
                try await connection.query("INSERT INTO leader_writes VALUES (\(b.token))", logger: Self.logger)
            }
            var tokens: [Int64] = []
            for try await token in try await client.query("SELECT token FROM leader_writes ORDER BY token",
                logger: Self.logger).decode(Int64.self) { tokens.append(token) }
            #expect(tokens == [a.token, b.token])

            // A holder whose own lease lapsed gets a new token when it takes the lease back.
            try await Self.lapse(client)
            let b2 = try #require(try await lease.acquireOrRenew(nodeID: "b", lease: .seconds(60)))
            #expect(b2.token > b.token)
            await #expect(throws: FencedOut.self) { try await lease.withFencedTransaction(b) { _ in } }

            // Released on shutdown: the next node takes over at once, with a new token.
            try await lease.release(b2)
            let c = try #require(try await lease.acquireOrRenew(nodeID: "c", lease: .seconds(60)))
            #expect(c.token > b2.token)
        }
    }

    @Test("a fenced transaction holds the lease row, so a takeover waits for the write to finish")
    func takeoverWaitsForWrite() async throws {
        try await withMigratedDatabase { client, _ in
            let lease = LeaderLease(client: client, logger: Self.logger)
            let a = try #require(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(60)))
            let inside = AsyncStream.makeStream(of: Void.self)
            let clock = ContinuousClock()
            async let write: ContinuousClock.Instant = lease.withFencedTransaction(a) { _ in
                inside.continuation.yield()
                try await Task.sleep(for: .seconds(1))
                return clock.now
            }
            for await _ in inside.stream { break }
            // The lapse (any change to the lease row) waits until a's transaction ends.
            try await Self.lapse(client)
            let lapsedAt = clock.now
            let committedAt = try await write
            #expect(lapsedAt >= committedAt, "the lease changed hands while the fenced write was running")
            let b = try await lease.acquireOrRenew(nodeID: "b", lease: .seconds(60))
            #expect(b != nil && b!.token > a.token)
        }
    }

    @Test("a leader paused inside a fenced transaction loses its session, so the takeover is not blocked for good")
    func pausedWriterDoesNotBlockTakeover() async throws {
        try await withMigratedDatabase { client, _ in
            let lease = LeaderLease(client: client, logger: Self.logger, fencedIdleLimit: .milliseconds(300))
            try await client.query("CREATE TABLE leader_writes (token bigint NOT NULL)", logger: Self.logger)
            let a = try #require(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(60)))
            let inside = AsyncStream.makeStream(of: Void.self)
            let write = Task {
                try await lease.withFencedTransaction(a) { connection in
                    try await connection.query("INSERT INTO leader_writes VALUES (\(a.token))", logger: Self.logger)
                    inside.continuation.yield()
                    // Paused: no database work for far longer than the idle limit.
                    try await Task.sleep(for: .seconds(1.5))
                    try await connection.query("INSERT INTO leader_writes VALUES (\(a.token))", logger: Self.logger)
                }
            }
            for await _ in inside.stream { break }
            let clock = ContinuousClock()
            let started = clock.now
            try await Self.lapse(client)
            let b = try #require(try await lease.acquireOrRenew(nodeID: "b", lease: .seconds(60)))
            #expect(b.token > a.token)
            #expect(clock.now - started < .seconds(2.5), "the takeover waited for the paused transaction")
            await #expect(throws: FencedConnection.ConnectionClosed.self) { try await write.value }
            var count = 0
            for try await _ in try await client.query("SELECT token FROM leader_writes", logger: Self.logger) { count += 1 }
            #expect(count == 0, "the paused transaction's first write was committed")
        }
    }
}
