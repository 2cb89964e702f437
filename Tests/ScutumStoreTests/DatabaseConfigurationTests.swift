import Foundation
import PostgresNIO
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Database configuration from a URL")
struct DatabaseConfigurationTests {
    @Test("a full URL")
    func full() throws {
        let configuration = try DatabaseConfiguration(url: "postgres://scutum:pw@db.internal:6543/gateway")
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "scutum")
        #expect(configuration.password == "pw")
        #expect(configuration.database == "gateway")
        #expect(configuration.requireTLS == false)
        let client = configuration.clientConfiguration
        #expect(client.host == "db.internal")
        #expect(client.port == 6543)
        #expect(client.username == "scutum")
        #expect(client.password == "pw")
        #expect(client.database == "gateway")
        #expect(client.options.maximumConnections == configuration.maximumConnections)
    }

    @Test("no password, default port, postgresql scheme")
    func minimal() throws {
        let configuration = try DatabaseConfiguration(url: "postgresql://postgres@127.0.0.1/postgres")
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 5432)
        #expect(configuration.username == "postgres")
        #expect(configuration.password == nil)
        #expect(configuration.database == "postgres")
    }

    @Test("without a path the database is the user's name, as libpq does")
    func defaultDatabase() throws {
        #expect(try DatabaseConfiguration(url: "postgres://alice@h").database == "alice")
        #expect(try DatabaseConfiguration(url: "postgres://alice:x@h:5433/").database == "alice")
    }

    @Test("percent-encoded user and password are decoded")
    func percentEncoding() throws {
        let configuration = try DatabaseConfiguration(url: "postgres://u%40corp:p%40ss%2Fw%3Ard@h/d")
        #expect(configuration.username == "u@corp")
        #expect(configuration.password == "p@ss/w:rd")
    }

    @Test("a password with a literal percent sign is decoded exactly once")
    func percentDecodedOnce() throws {
        // `100%` written as `100%25`; `a%41` written as `a%2541`.
        let percent = try DatabaseConfiguration(url: "postgres://u:100%25@h/d")
        #expect(percent.password == "100%")
        let escaped = try DatabaseConfiguration(url: "postgres://u:a%2541@h/d")
        #expect(escaped.password == "a%41")
    }

    @Test("sslmode", arguments: [
        ("", false), ("?sslmode=disable", false), ("?sslmode=prefer", false), ("?sslmode=allow", false),
        ("?sslmode=require", true), ("?sslmode=verify-full", true), ("?application_name=x&sslmode=require", true),
    ])
    func sslmode(_ query: String, _ requireTLS: Bool) throws {
        #expect(try DatabaseConfiguration(url: "postgres://u:p@h/d" + query).requireTLS == requireTLS)
    }

    @Test("sslmode=verify-ca requires TLS too")
    func verifyCA() throws {
        let configuration = try DatabaseConfiguration(url: "postgres://u:p@h/d?sslmode=verify-ca")
        #expect(configuration.requireTLS)
    }

    @Test("malformed URLs are refused with a message showing the expected form", arguments: [
        "", "not a url", "mysql://u:p@h/d", "http://u:p@h/d", "postgres://h/d", "postgres:///d",
        "//u:p@h/d",
    ])
    func malformed(_ url: String) {
        do {
            let configuration = try DatabaseConfiguration(url: url)
            Issue.record("accepted '\(url)' as \(configuration.username)@\(configuration.host)/\(configuration.database)")
        } catch let error as DatabaseConfiguration.Invalid {
            #expect(error.description.contains("postgres://user:password@host:port/database"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("an empty user name is refused")
    func emptyUser() {
        do {
            #expect(throws: DatabaseConfiguration.Invalid.self) {
                try DatabaseConfiguration(url: "postgres://:p@h/d")
            }
        }
    }

    @Test("the test URL itself parses and connects")
    func testURLConnects() async throws {
        let configuration = try DatabaseConfiguration(url: TestEnvironment.databaseURL)
        try await withRunningClient(configuration.clientConfiguration) { client in
            let rows = try await client.query("SELECT current_user, current_database()", logger: TestEnvironment.logger)
            for try await (user, database) in rows.decode((String, String).self) {
                #expect(user == configuration.username)
                #expect(database == configuration.database)
            }
        }
    }
}
