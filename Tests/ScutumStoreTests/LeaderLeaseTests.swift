import Foundation
import PostgresNIO
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Leader lease and fencing in PostgreSQL")
struct LeaderLeaseTests {
    @Test("one holder at a time; a lapsed holder is fenced out and gets a new token only by taking the lease again")
    func fencing() async throws {
        try await withMigratedDatabase { client, _ in
            let lease = LeaderLease(client: client, logger: TestEnvironment.logger)
            try await client.query("CREATE TABLE leader_writes (token bigint NOT NULL)", logger: TestEnvironment.logger)
            // Leases of seconds: the suite runs on a loaded machine where a query can take hundreds of ms.
            let a = try #require(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(3)))
            #expect(try await lease.acquireOrRenew(nodeID: "b", lease: .seconds(3)) == nil, "a holds a live lease")
            // Renewing keeps the token.
            #expect(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(3)) == a)
            try await lease.withFencedTransaction(a) { connection in
                try await connection.query("INSERT INTO leader_writes VALUES (\(a.token))", logger: TestEnvironment.logger)
            }

            // a stops renewing (paused): its lease lapses and b takes over with a larger token.
            try await Task.sleep(for: .milliseconds(3500))
            let b = try #require(try await lease.acquireOrRenew(nodeID: "b", lease: .seconds(5)))
            #expect(b.token > a.token)
            #expect(try await lease.holder()?.nodeID == "b")

            // a wakes up and tries to write under its old fence: refused, nothing written.
            await #expect(throws: FencedOut.self) {
                try await lease.withFencedTransaction(a) { connection in
                    try await connection.query("INSERT INTO leader_writes VALUES (\(a.token))", logger: TestEnvironment.logger)
                }
            }
            #expect(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(5)) == nil)
            try await lease.withFencedTransaction(b) { connection in
                try await connection.query("INSERT INTO leader_writes VALUES (\(b.token))", logger: TestEnvironment.logger)
            }
            var tokens: [Int64] = []
            for try await token in try await client.query("SELECT token FROM leader_writes ORDER BY token",
                logger: TestEnvironment.logger).decode(Int64.self) { tokens.append(token) }
            #expect(tokens == [a.token, b.token])

            // Released on shutdown: the next node takes over at once, with a new token.
            try await lease.release(b)
            let c = try #require(try await lease.acquireOrRenew(nodeID: "c", lease: .seconds(5)))
            #expect(c.token > b.token)
        }
    }

    @Test("a fenced transaction holds the lease row, so a takeover waits for the write to finish")
    func takeoverWaitsForWrite() async throws {
        try await withMigratedDatabase { client, _ in
            let lease = LeaderLease(client: client, logger: TestEnvironment.logger)
            let a = try #require(try await lease.acquireOrRenew(nodeID: "a", lease: .seconds(2)))
            let clock = ContinuousClock()
            async let write: Void = lease.withFencedTransaction(a) { _ in
                try await Task.sleep(for: .milliseconds(3500))
            }
            try await Task.sleep(for: .milliseconds(2500))
            let start = clock.now
            // a's lease has lapsed, but its transaction still holds the row: b's UPDATE waits for it.
            let b = try await lease.acquireOrRenew(nodeID: "b", lease: .seconds(5))
            #expect(clock.now - start > .milliseconds(200), "the takeover did not wait for the fenced write")
            #expect(b != nil)
            try await write
        }
    }
}
