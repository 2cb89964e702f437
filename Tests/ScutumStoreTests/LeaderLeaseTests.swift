import Foundation
import PostgresNIO
import ScutumStore
import ScutumTestSupport
import Testing

/// The lease's expiry is moved by SQL (as if time had passed) rather than by sleeping, so the tests
/// do not depend on how fast a loaded machine runs them.
@Suite("Leader lease and fencing in PostgreSQL", .timeLimit(.minutes(2)))
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

    @Test("a takeover never waits for a fenced transaction's body; a write whose lease lapsed meanwhile rolls back")
    func takeoverDuringWrite() async throws {
        try await withMigratedDatabase { client, _ in
            // An idle limit no loaded machine reaches: this test is about the lease, not the limit.
            let lease = LeaderLease(client: client, logger: Self.logger, fencedIdleLimit: .seconds(600))
            try await client.query("CREATE TABLE leader_writes (token bigint NOT NULL)", logger: Self.logger)
            let a = try #require(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(60)))
            let (inside, resume) = (AsyncStream.makeStream(of: Void.self), AsyncStream.makeStream(of: Void.self))
            let write = Task {
                defer { inside.continuation.finish() }
                try await lease.withFencedTransaction(a) { connection in
                    try await connection.query("INSERT INTO leader_writes VALUES (\(a.token))", logger: Self.logger)
                    inside.continuation.yield()
                    for await _ in resume.stream { break }
                }
            }
            for await _ in inside.stream { break }
            // While a's transaction is open, its lease lapses and b takes over at once.
            try await Self.lapse(client)
            let b = try #require(try await lease.acquireOrRenew(nodeID: "b", lease: .seconds(60)))
            resume.continuation.yield()
            await #expect(throws: FencedOut.self) { try await write.value }
            var count = 0
            for try await _ in try await client.query("SELECT 1 FROM leader_writes", logger: Self.logger) { count += 1 }
            #expect(count == 0, "a's write committed after b took over")
            #expect(b.token > a.token)
        }
    }

    @Test("a leader paused inside a fenced transaction loses its session after the idle limit, and its write with it")
    func pausedWriterLosesSession() async throws {
        try await withMigratedDatabase { client, _ in
            let lease = LeaderLease(client: client, logger: Self.logger, fencedIdleLimit: .milliseconds(300))
            try await client.query("CREATE TABLE leader_writes (token bigint NOT NULL)", logger: Self.logger)
            let a = try #require(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(60)))
            let write = Task {
                try await lease.withFencedTransaction(a) { connection in
                    try await connection.query("INSERT INTO leader_writes VALUES (\(a.token))", logger: Self.logger)
                    // Paused: no database work for far longer than the idle limit.
                    try await Task.sleep(for: .seconds(1.5))
                    try await connection.query("INSERT INTO leader_writes VALUES (\(a.token))", logger: Self.logger)
                }
            }
            await #expect(throws: FencedConnection.ConnectionClosed.self) { try await write.value }
            var count = 0
            for try await _ in try await client.query("SELECT 1 FROM leader_writes", logger: Self.logger) { count += 1 }
            #expect(count == 0, "the paused transaction's first write was committed")
            // The pool carries on with a fresh connection.
            try await LeaderLease(client: client, logger: Self.logger).withFencedTransaction(a) { connection in
                try await connection.query("INSERT INTO leader_writes VALUES (\(a.token))", logger: Self.logger)
            }
        }
    }
}
