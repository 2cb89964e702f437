import Foundation
import PostgresNIO
import ScutumStore
import ScutumTestSupport
import Testing

/// A fresh temporary directory with `files` (name to contents), removed after `body`.
func withMigrationDirectory<T>(_ files: [String: String], _ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("scutum-migrations-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    for (name, contents) in files {
        try contents.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    return try await body(directory.path)
}

/// The files of the repository's `sql/` directory, by name.
func shippedMigrationFiles() throws -> [String: String] {
    let directory = TestEnvironment.sqlDirectory
    var files: [String: String] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".sql") {
        files[name] = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
    }
    return files
}

/// The advisory lock key MigrationRunner uses ("scutum" in ASCII).
let migrationLockKey: Int64 = 0x7363_7574_756D

extension PostgresClient {
    /// The single value of a one-row, one-column query.
    func scalar<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> T? {
        let rows = try await self.query(query, logger: TestEnvironment.logger)
        for try await value in rows.decode(T.self) { return value }
        return nil
    }

    /// `version -> count` of the rows in schema_migrations.
    func appliedMigrations() async throws -> [Int: Int] {
        let rows = try await query(
            "SELECT version, count(*)::int FROM schema_migrations GROUP BY version", logger: TestEnvironment.logger)
        var counts: [Int: Int] = [:]
        for try await (version, count) in rows.decode((Int, Int).self) { counts[version] = count }
        return counts
    }

    func tableExists(_ name: String) async throws -> Bool {
        try await scalar("SELECT to_regclass(\(name)) IS NOT NULL", as: Bool.self) ?? false
    }

    /// Advisory locks in this database: (held, waiting).
    func advisoryLocks() async throws -> (held: Int, waiting: Int) {
        let rows = try await query(
            """
            SELECT count(*) FILTER (WHERE granted)::int, count(*) FILTER (WHERE NOT granted)::int
            FROM pg_locks WHERE locktype = 'advisory'
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, logger: TestEnvironment.logger)
        for try await (held, waiting) in rows.decode((Int, Int).self) { return (held, waiting) }
        return (0, 0)
    }
}

@Suite("Migration files")
struct MigrationLoadTests {
    @Test("files are read in version order; other files are ignored")
    func ordering() async throws {
        try await withMigrationDirectory([
            "0010_later.sql": "SELECT 10;",
            "0002_second.sql": "SELECT 2;",
            "0001_first_one.sql": "SELECT 1;",
            "README.md": "not a migration",
            "0003_notes.sql.bak": "ignored",
        ]) { directory in
            let migrations = try Migration.load(from: directory)
            #expect(migrations == [
                Migration(version: 1, name: "first_one", sql: "SELECT 1;"),
                Migration(version: 2, name: "second", sql: "SELECT 2;"),
                Migration(version: 10, name: "later", sql: "SELECT 10;"),
            ])
        }
    }

    @Test("the shipped sql/ directory loads, versions unique and ascending from 1")
    func shipped() throws {
        let migrations = try Migration.load(from: TestEnvironment.sqlDirectory)
        #expect(!migrations.isEmpty)
        #expect(migrations.first?.version == 1)
        #expect(migrations.first?.name == "keys")
        #expect(migrations.map(\.version) == migrations.map(\.version).sorted())
        #expect(Set(migrations.map(\.version)).count == migrations.count)
    }

    @Test("badly named files are refused, naming the file", arguments: [
        "keys.sql", "first_keys.sql", "0001.sql", "0001_.sql", "v1_keys.sql",
    ])
    func badName(_ name: String) async throws {
        try await withMigrationDirectory(["0001_ok.sql": "SELECT 1;", name: "SELECT 2;"]) { directory in
            do {
                let migrations = try Migration.load(from: directory)
                Issue.record("loaded \(migrations.map { "\($0.version)_\($0.name)" })")
            } catch let error as MigrationError {
                guard case .badFileName(let file) = error else {
                    Issue.record("expected .badFileName, got \(error)")
                    return
                }
                #expect(file == name)
                #expect(error.description.contains(name))
            }
        }
    }

    @Test("two files with one version are refused")
    func duplicateVersion() async throws {
        try await withMigrationDirectory([
            "0001_a.sql": "SELECT 1;", "0002_b.sql": "SELECT 2;", "002_c.sql": "SELECT 3;",
        ]) { directory in
            do {
                let migrations = try Migration.load(from: directory)
                Issue.record("loaded \(migrations.map(\.name))")
            } catch let error as MigrationError {
                guard case .duplicateVersion(let version) = error else {
                    Issue.record("expected .duplicateVersion, got \(error)")
                    return
                }
                #expect(version == 2)
                #expect(error.description == "two migrations have version 2")
            }
        }
    }

    @Test("a missing directory is an error, not an empty list")
    func missingDirectory() {
        #expect(throws: (any Error).self) {
            try Migration.load(from: "/nonexistent/scutum-\(UUID().uuidString)")
        }
    }
}

@Suite("Migration runner on PostgreSQL")
struct MigrationRunnerTests {
    @Test("applies sql/ to a fresh database, then nothing on a second run")
    func appliesAndIsIdempotent() async throws {
        try await withTestDatabase { client, _ in
            let migrations = try Migration.load(from: TestEnvironment.sqlDirectory)
            let runner = MigrationRunner(client: client, logger: TestEnvironment.logger)
            #expect(try await client.tableExists("api_keys") == false)

            let first = try await runner.migrate(migrations)
            #expect(first == migrations.map(\.version))
            #expect(try await client.tableExists("api_keys"))
            #expect(try await client.appliedMigrations() == Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, 1) }))
            #expect(try await client.scalar("SELECT name FROM schema_migrations WHERE version = 1", as: String.self) == "keys")

            let second = try await runner.migrate(migrations)
            #expect(second == [])
            #expect(try await client.appliedMigrations().values.allSatisfy { $0 == 1 })
            // The advisory lock is released.
            #expect(try await client.advisoryLocks().held == 0)
        }
    }

    @Test("only new migrations are applied later")
    func incremental() async throws {
        try await withTestDatabase { client, _ in
            let runner = MigrationRunner(client: client, logger: TestEnvironment.logger)
            var files = ["0001_one.sql": "CREATE TABLE one (id int);"]
            let first = try await withMigrationDirectory(files) { directory in
                try await runner.migrate(Migration.load(from: directory))
            }
            #expect(first == [1])
            files["0002_two.sql"] = "CREATE TABLE two (id int); INSERT INTO one VALUES (2);"
            files["0003_three.sql"] = "CREATE TABLE three (id int)"
            let second = try await withMigrationDirectory(files) { directory in
                try await runner.migrate(Migration.load(from: directory))
            }
            #expect(second == [2, 3])
            #expect(try await client.scalar("SELECT count(*)::int FROM one", as: Int.self) == 1)
            #expect(try await client.appliedMigrations() == [1: 1, 2: 1, 3: 1])
        }
    }

    @Test("a migration with quoted semicolons, comments and a function body runs whole")
    func trickyScript() async throws {
        let script = """
            -- A comment; with a semicolon
            CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);
            /* block; comment */
            INSERT INTO notes (body) VALUES ('a;b'), ('it''s; here'), ($$dollar; quoted$$);
            CREATE FUNCTION note_count() RETURNS int AS $fn$
            BEGIN
                RETURN (SELECT count(*) FROM notes); -- inside the body
            END;
            $fn$ LANGUAGE plpgsql;
            INSERT INTO notes (body) VALUES (E'tab\\there')
            """
        try await withTestDatabase { client, _ in
            _ = try await withMigrationDirectory(["0001_tricky.sql": script]) { directory in
                try await MigrationRunner(client: client, logger: TestEnvironment.logger)
                    .migrate(Migration.load(from: directory))
            }
            #expect(try await client.scalar("SELECT note_count()", as: Int.self) == 4)
            let rows = try await client.query("SELECT body FROM notes ORDER BY id", logger: TestEnvironment.logger)
            var bodies: [String] = []
            for try await body in rows.decode(String.self) { bodies.append(body) }
            #expect(bodies == ["a;b", "it's; here", "dollar; quoted", "tab\there"])
        }
    }

    @Test("a failing migration rolls back, is not recorded, and names its file")
    func failureRollsBack() async throws {
        try await withTestDatabase { client, _ in
            let runner = MigrationRunner(client: client, logger: TestEnvironment.logger)
            var files = [
                "0001_good.sql": "CREATE TABLE good (id int);",
                "0002_bad.sql": "CREATE TABLE half_done (id int);\nINSERT INTO no_such_table VALUES (1);",
                "0003_after.sql": "CREATE TABLE after_bad (id int);",
            ]
            try await withMigrationDirectory(files) { directory in
                do {
                    let applied = try await runner.migrate(Migration.load(from: directory))
                    Issue.record("migrate succeeded, applying \(applied)")
                } catch let error as MigrationError {
                    guard case .failed(let version, let name, let underlying) = error else {
                        Issue.record("expected .failed, got \(error)")
                        return
                    }
                    #expect(version == 2)
                    #expect(name == "bad")
                    #expect(underlying.contains("no_such_table"), "\(underlying)")
                    #expect(error.description.hasPrefix("migration 2 (bad) failed: "))
                }
            }
            #expect(try await client.tableExists("good"))
            #expect(try await client.tableExists("half_done") == false, "the failed migration was not rolled back")
            #expect(try await client.tableExists("after_bad") == false, "migrations after a failure must not run")
            #expect(try await client.appliedMigrations() == [1: 1])
            #expect(try await client.advisoryLocks().held == 0, "the advisory lock outlived a failed migration")
            // The pooled connection is usable (not left inside an aborted transaction).
            for _ in 0..<3 { #expect(try await client.scalar("SELECT 1", as: Int.self) == 1) }

            // Once fixed, the rest is applied.
            files["0002_bad.sql"] = "CREATE TABLE half_done (id int);"
            let rest = try await withMigrationDirectory(files) { directory in
                try await runner.migrate(Migration.load(from: directory))
            }
            #expect(rest == [2, 3])
            #expect(try await client.appliedMigrations() == [1: 1, 2: 1, 3: 1])
        }
    }

    @Test("two nodes migrating one fresh database at once apply each migration exactly once")
    func concurrentRunners() async throws {
        try await withTestDatabase { client, database in
            let migrations = try Migration.load(from: TestEnvironment.sqlDirectory)
            let versions = migrations.map(\.version)
            try await withRunningClient(database.clientConfiguration) { nodeA in
                try await withRunningClient(database.clientConfiguration) { nodeB in
                    try await client.withConnection { holder in
                        // Hold the lock so that both runners are certainly waiting at the same time.
                        _ = try await holder.query("SELECT pg_advisory_lock(\(migrationLockKey))",
                            logger: TestEnvironment.logger)
                        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                            for node in [nodeA, nodeB] {
                                group.addTask {
                                    try await MigrationRunner(client: node, logger: TestEnvironment.logger)
                                        .migrate(migrations)
                                }
                            }
                            let clock = ContinuousClock()
                            let deadline = clock.now + .seconds(10)
                            while try await client.advisoryLocks().waiting < 2 {
                                guard clock.now < deadline else {
                                    Issue.record("the runners never waited on the advisory lock")
                                    break
                                }
                                try await Task.sleep(for: .milliseconds(20))
                            }
                            #expect(try await client.tableExists("schema_migrations") == false)
                            _ = try await holder.query("SELECT pg_advisory_unlock(\(migrationLockKey))",
                                logger: TestEnvironment.logger)
                            var results: [[Int]] = []
                            for try await result in group { results.append(result) }
                            return results
                        }
                        // Each migration is its own locked transaction (safe through PgBouncer), so the
                        // runners may take turns: between them every version once, each in order.
                        #expect(results.count == 2)
                        #expect(results.flatMap { $0 }.sorted() == versions, "applied: \(results)")
                        #expect(results.allSatisfy { $0 == $0.sorted() }, "out of order: \(results)")
                    }
                }
            }
            let applied = try await client.appliedMigrations()
            #expect(applied.keys.sorted() == versions)
            #expect(applied.values.allSatisfy { $0 == 1 })
            #expect(try await client.tableExists("api_keys"))
        }
    }

    @Test("without contention, two runners started together still agree")
    func racingRunners() async throws {
        try await withTestDatabase { client, database in
            let migrations = try Migration.load(from: TestEnvironment.sqlDirectory)
            let results = try await withRunningClient(database.clientConfiguration) { nodeA in
                try await withRunningClient(database.clientConfiguration) { nodeB in
                    async let a = MigrationRunner(client: nodeA, logger: TestEnvironment.logger).migrate(migrations)
                    async let b = MigrationRunner(client: nodeB, logger: TestEnvironment.logger).migrate(migrations)
                    return try await [a, b]
                }
            }
            #expect(results.flatMap { $0 }.sorted() == migrations.map(\.version))
            #expect(try await client.appliedMigrations().values.allSatisfy { $0 == 1 })
        }
    }
}
