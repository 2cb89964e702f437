import Foundation
import PostgresNIO
import ScutumStore
import ScutumTestSupport
import Testing

/// The fixtures other test targets rely on.
@Suite("Test support: fresh databases")
struct TestSupportTests {
    struct Boom: Error {}

    func databaseExists(_ name: String) async throws -> Bool {
        let admin = try DatabaseConfiguration(url: TestEnvironment.databaseURL)
        return try await withRunningClient(admin.clientConfiguration) { client in
            try await client.scalar("SELECT count(*)::int FROM pg_database WHERE datname = \(name)", as: Int.self) == 1
        }
    }

    @Test("withTestDatabase gives an empty database of its own and drops it afterwards")
    func freshAndDropped() async throws {
        let name = try await withTestDatabase { client, database in
            #expect(database.database.hasPrefix("scutum_test_"))
            let current = try await client.scalar("SELECT current_database()", as: String.self)
            #expect(current == database.database)
            #expect(try await client.scalar(
                "SELECT count(*)::int FROM pg_tables WHERE schemaname = 'public'", as: Int.self) == 0)
            #expect(try await databaseExists(database.database))
            return database.database
        }
        #expect(try await databaseExists(name) == false)
    }

    @Test("the database is dropped when the body throws, and the body's error comes through")
    func droppedOnError() async throws {
        var name: String?
        do {
            try await withTestDatabase { _, database in
                name = database.database
                throw Boom()
            }
            Issue.record("the body's error was swallowed")
        } catch is Boom {}
        let dropped = try #require(name)
        #expect(try await databaseExists(dropped) == false)
    }

    @Test("two test databases are distinct")
    func distinct() async throws {
        let (a, b) = try await withTestDatabase { _, first in
            try await withTestDatabase { _, second in (first.database, second.database) }
        }
        #expect(a != b)
    }

    @Test("withMigratedDatabase applies sql/")
    func migrated() async throws {
        try await withMigratedDatabase { client, _ in
            #expect(try await client.tableExists("api_keys"))
            let versions = try Migration.load(from: TestEnvironment.sqlDirectory).map(\.version)
            #expect(try await client.appliedMigrations().keys.sorted() == versions)
        }
    }

    @Test("the sql directory is the repository's")
    func sqlDirectory() {
        #expect(TestEnvironment.sqlDirectory.hasSuffix("/sql"))
        #expect(FileManager.default.fileExists(atPath: TestEnvironment.sqlDirectory + "/0001_keys.sql"))
    }

    @Test("key prefixes are unique")
    func prefixes() {
        let prefixes = (0..<100).map { _ in uniqueKeyPrefix() }
        #expect(Set(prefixes).count == 100)
        #expect(prefixes.allSatisfy { $0.hasPrefix("scutum-test:") && $0.hasSuffix(":") })
    }
}
