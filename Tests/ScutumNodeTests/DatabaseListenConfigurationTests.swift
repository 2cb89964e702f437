import ScutumNode
import ScutumStore
import Testing

/// `DATABASE_LISTEN_URL`: the direct connection that holds the LISTEN when `DATABASE_URL` is a pooler.
@Suite("Database listen URL configuration")
struct DatabaseListenConfigurationTests {
    static let required = ["DATABASE_URL": "postgres://scutum:pw@pgbouncer:6432/scutum", "SCUTUM_HOST": "127.0.0.1"]

    static func configuration(_ variables: [String: String]) throws -> NodeConfiguration {
        try NodeConfiguration(variables: required.merging(variables) { _, new in new })
    }

    @Test("unset: DATABASE_URL serves the LISTEN too")
    func unset() throws {
        let configuration = try Self.configuration([:])
        #expect(configuration.listenDatabase == nil)
        #expect(configuration.database.host == "pgbouncer")
        #expect(configuration.database.port == 6432)
    }

    @Test("set: a direct connection of its own, two connections at most, its own TLS settings")
    func set() throws {
        let configuration = try Self.configuration([
            "DATABASE_LISTEN_URL": "postgres://scutum:pw@db.internal:5432/scutum?sslmode=verify-full",
            "SCUTUM_DATABASE_MAX_CONNECTIONS": "30",
        ])
        let listen = try #require(configuration.listenDatabase)
        #expect(listen.host == "db.internal")
        #expect(listen.port == 5432)
        #expect(listen.sslMode == .verifyFull)
        #expect(listen.maximumConnections == 2)
        #expect(configuration.database.maximumConnections == 30)
        #expect(configuration.database.sslMode == .prefer)
    }

    @Test("a malformed listen URL or CA file is refused at start-up, naming the variable")
    func invalid() {
        for url in ["mysql://u:p@h/d", "postgres://u:p@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"] {
            #expect {
                try Self.configuration(["DATABASE_LISTEN_URL": url])
            } throws: { error in
                "\(error)".hasPrefix("DATABASE_LISTEN_URL: ")
            }
        }
    }
}
