import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

/// The SQLSTATE of a PostgreSQL error, if `error` is one (or a transaction failed with one).
func sqlState(_ error: any Error) -> String? {
    if let failed = error as? PostgresTransactionError, let cause = failed.closureError { return sqlState(cause) }
    return (error as? PSQLError)?.serverInfo?[.sqlState]
}

@Suite("Key store")
struct KeyStoreTests {
    @Test("a created key is found by the hash of its plaintext")
    func createAndFind() async throws {
        try await withMigratedDatabase { client, _ in
            let store = KeyStore(client: client, logger: TestEnvironment.logger)
            let (key, record) = try await store.create(alias: "ci")
            #expect(key.hasPrefix("sk-") && key.count == 51)
            #expect(record.keyHash == APIKey.hash(key))
            #expect(record.display == APIKey.display(key))
            #expect(record.alias == "ci")
            #expect(record.role == .user)
            #expect(record.blocked == false)
            #expect(record.expiresAt == nil)

            let found = try #require(try await store.find(hash: APIKey.hash(key)))
            #expect(found == record)
            #expect(try await store.find(hash: APIKey.hash(key + "x")) == nil)
            #expect(try await store.find(hash: APIKey.hash(String(key.dropLast())) ) == nil)
            // Never by the plaintext itself.
            #expect(try await store.find(hash: key) == nil)
        }
    }

    @Test("only the hash is stored: the plaintext appears nowhere in the row")
    func onlyHashStored() async throws {
        try await withMigratedDatabase { client, _ in
            let store = KeyStore(client: client, logger: TestEnvironment.logger)
            let (key, record) = try await store.create(alias: nil, role: .admin)
            let rows = try await client.query(
                "SELECT row_to_json(k)::text, k.key_hash FROM api_keys k WHERE id = \(record.id)",
                logger: TestEnvironment.logger)
            var seen = 0
            for try await (row, hash) in rows.decode((String, String).self) {
                seen += 1
                #expect(hash == APIKey.hash(key))
                #expect(!row.contains(key), "row holds the plaintext: \(row)")
                // Nor any long piece of it (the display form keeps only the last four characters).
                let secret = String(key.dropFirst(3))
                for start in stride(from: 0, to: secret.count - 8, by: 4) {
                    let piece = String(secret.dropFirst(start).prefix(8))
                    #expect(!row.contains(piece), "row holds part of the plaintext: \(piece)")
                }
                #expect(row.contains(APIKey.hash(key)))
                #expect(row.contains(#""role":"admin""#))
            }
            #expect(seen == 1)
        }
    }

    @Test("blocking and unblocking")
    func blocking() async throws {
        try await withMigratedDatabase { client, _ in
            let store = KeyStore(client: client, logger: TestEnvironment.logger)
            let (_, record) = try await store.create(alias: "b")
            let (_, other) = try await store.create(alias: "other")
            #expect(try await store.setBlocked(hash: record.keyHash, true))
            #expect(try await store.find(hash: record.keyHash)?.blocked == true)
            #expect(try await store.find(hash: other.keyHash)?.blocked == false)
            let updated = try await client.scalar(
                "SELECT updated_at > created_at FROM api_keys WHERE key_hash = \(record.keyHash)", as: Bool.self)
            #expect(updated == true)
            #expect(try await store.setBlocked(hash: record.keyHash, false))
            #expect(try await store.find(hash: record.keyHash)?.blocked == false)
            #expect(try await store.setBlocked(hash: APIKey.hash("sk-unknown"), true) == false)
        }
    }

    @Test("deleting")
    func deleting() async throws {
        try await withMigratedDatabase { client, _ in
            let store = KeyStore(client: client, logger: TestEnvironment.logger)
            let (_, doomed) = try await store.create(alias: "doomed")
            let (_, kept) = try await store.create(alias: "kept")
            #expect(try await store.delete(hash: doomed.keyHash))
            #expect(try await store.find(hash: doomed.keyHash) == nil)
            #expect(try await store.delete(hash: doomed.keyHash) == false)
            #expect(try await store.find(hash: kept.keyHash) == kept)
            #expect(try await store.list() == [kept])
        }
    }

    @Test("list is newest first and never has plaintext")
    func list() async throws {
        try await withMigratedDatabase { client, _ in
            let store = KeyStore(client: client, logger: TestEnvironment.logger)
            #expect(try await store.list() == [])
            var created: [(String, KeyRecord)] = []
            for alias in ["first", "second", "third"] {
                created.append(try await store.create(alias: alias))
            }
            let listed = try await store.list()
            #expect(listed.map(\.alias) == ["third", "second", "first"])
            #expect(listed == created.reversed().map(\.1))
            for (key, _) in created {
                #expect(!listed.contains { $0.keyHash == key || $0.display == key })
            }
        }
    }

    @Test("expired keys are stored and found with their expiry; rejecting them is the caller's job")
    func expiry() async throws {
        try await withMigratedDatabase { client, _ in
            let store = KeyStore(client: client, logger: TestEnvironment.logger)
            let past = Date(timeIntervalSinceNow: -3600)
            let future = Date(timeIntervalSinceNow: 86400)
            let (expiredKey, _) = try await store.create(alias: "expired", expiresAt: past)
            let (liveKey, _) = try await store.create(alias: "live", expiresAt: future)
            let expired = try #require(try await store.find(hash: APIKey.hash(expiredKey)))
            let storedPast = try #require(expired.expiresAt)
            #expect(abs(storedPast.timeIntervalSince(past)) < 0.001)
            #expect(storedPast < Date())
            let live = try #require(try await store.find(hash: APIKey.hash(liveKey)))
            #expect(abs(try #require(live.expiresAt).timeIntervalSince(future)) < 0.001)
            #expect(try await store.list().count == 2)
        }
    }

    @Test("the schema refuses bad roles, malformed hashes and duplicate hashes")
    func constraints() async throws {
        try await withMigratedDatabase { client, _ in
            let store = KeyStore(client: client, logger: TestEnvironment.logger)
            do {
                let hash = String(repeating: "a", count: 64)
                try await client.query(
                    "INSERT INTO api_keys (key_hash, key_display, role) VALUES (\(hash), 'x', 'superuser')",
                    logger: TestEnvironment.logger)
                Issue.record("stored a key with role superuser")
            } catch {
                #expect(sqlState(error) == "23514", "\(String(reflecting: error))")
            }
            for bad in ["ABC", String(repeating: "A", count: 64), "sk-plaintext-key", String(repeating: "0", count: 63)] {
                do {
                    try await client.query(
                        "INSERT INTO api_keys (key_hash, key_display) VALUES (\(bad), 'x')", logger: TestEnvironment.logger)
                    Issue.record("stored key_hash \(bad)")
                } catch {
                    #expect(sqlState(error) == "23514", "\(String(reflecting: error))")
                }
            }
            let (_, record) = try await store.create(alias: "dup")
            do {
                try await client.query(
                    "INSERT INTO api_keys (key_hash, key_display) VALUES (\(record.keyHash), 'x')",
                    logger: TestEnvironment.logger)
                Issue.record("stored a duplicate key_hash")
            } catch {
                #expect(sqlState(error) == "23505", "\(String(reflecting: error))")
            }
            #expect(try await store.list() == [record])
        }
    }

    @Test("every insert, update and delete of a key notifies scutum_invalidate with its hash")
    func notifications() async throws {
        try await withMigratedDatabase { client, _ in
            let store = KeyStore(client: client, logger: TestEnvironment.logger)
            let payloads: [String] = try await client.withConnection { listener in
                try await listener.listen(on: "scutum_invalidate") { notifications in
                    let (_, record) = try await store.create(alias: "watched")
                    try await store.setBlocked(hash: record.keyHash, true)
                    try await client.query(
                        "UPDATE api_keys SET key_alias = 'renamed' WHERE key_hash = \(record.keyHash)",
                        logger: TestEnvironment.logger)
                    try await store.delete(hash: record.keyHash)
                    // A no-op statement notifies nothing.
                    try await store.delete(hash: record.keyHash)
                    // Notifications arrive in commit order: this one closes the list without waiting on a timer.
                    try await client.query("SELECT pg_notify('scutum_invalidate', 'END')", logger: TestEnvironment.logger)
                    var payloads: [String] = []
                    for try await notification in notifications {
                        if notification.payload == "END" { break }
                        payloads.append(notification.payload)
                    }
                    return payloads + [record.keyHash]
                }
            }
            let hash = try #require(payloads.last)
            let received = payloads.dropLast()
            #expect(received.count == 4, "\(received)")
            for payload in received {
                let json = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: String]
                #expect(json == ["kind": "key", "key_hash": hash], "payload \(payload)")
            }
        }
    }
}
