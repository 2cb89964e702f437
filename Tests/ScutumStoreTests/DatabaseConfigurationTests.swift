import Foundation
import NIOSSL
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
        #expect(configuration.sslMode == .prefer, "libpq's default")
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

    @Test("sslmode: libpq's modes, and what TLS each asks of postgres-nio", arguments: [
        ("", DatabaseConfiguration.SSLMode.prefer, "prefer", CertificateVerification.none),
        ("?sslmode=disable", .disable, "disable", .none),
        ("?sslmode=allow", .allow, "prefer", .none),
        ("?sslmode=prefer", .prefer, "prefer", .none),
        ("?sslmode=require", .require, "require", .none),
        ("?sslmode=verify-ca", .verifyCA, "require", .noHostnameVerification),
        ("?sslmode=verify-full", .verifyFull, "require", .fullVerification),
        ("?application_name=x&sslmode=require", .require, "require", .none),
    ])
    func sslmode(_ query: String, _ mode: DatabaseConfiguration.SSLMode, _ tls: String,
        _ verification: CertificateVerification) throws
    {
        let configuration = try DatabaseConfiguration(url: "postgres://u:p@h/d" + query)
        #expect(configuration.sslMode == mode)
        #expect(configuration.tlsConfiguration.certificateVerification == verification)
        #expect(configuration.rootCertificates.isEmpty)
        let connection = try configuration.connectionConfiguration()
        switch tls {
        case "disable": #expect(!connection.tls.isAllowed)
        case "prefer": #expect(connection.tls.isAllowed && !connection.tls.isEnforced)
        default: #expect(connection.tls.isEnforced)
        }
    }

    @Test("an unknown sslmode is refused, naming the modes there are")
    func unknownMode() {
        #expect {
            try DatabaseConfiguration(url: "postgres://u:p@h/d?sslmode=verify_full")
        } throws: { error in
            let text = (error as? DatabaseConfiguration.Invalid)?.description ?? ""
            return text.contains("sslmode=verify_full") && text.contains("verify-full")
        }
    }

    @Test("sslrootcert: the CA file is read at once and trusted instead of the system's CAs")
    func rootCertificate() throws {
        let file = try TestCertificate.writeCA()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let configuration = try DatabaseConfiguration(
            url: "postgres://u:p@db.internal/d?sslmode=verify-full&sslrootcert=\(file)")
        #expect(configuration.sslMode == .verifyFull)
        #expect(configuration.rootCertificates.count == 1)
        #expect(configuration.rootCertificatePath == file)
        #expect(configuration.endpointDescription
            == "db.internal:5432 (database d, user u, sslmode=verify-full, sslrootcert=\(file))")
        guard case .certificates(let roots)? = configuration.tlsConfiguration.trustRoots else {
            Issue.record("the CA file is not the trust root")
            return
        }
        #expect(roots == configuration.rootCertificates)
        // libpq: `require` with a root certificate checks the chain, as verify-ca does.
        let require = try DatabaseConfiguration(url: "postgres://u:p@h/d?sslmode=require&sslrootcert=\(file)")
        #expect(require.sslMode == .verifyCA)
        #expect(require.tlsConfiguration.certificateVerification == .noHostnameVerification)
        // `system`: the system's trust store, as libpq 16 spells it.
        let system = try DatabaseConfiguration(url: "postgres://u:p@h/d?sslmode=verify-full&sslrootcert=system")
        #expect(system.rootCertificates.isEmpty && system.rootCertificatePath == nil)
        if case .certificates? = system.tlsConfiguration.trustRoots { Issue.record("system CAs replaced") }
    }

    @Test("a CA file that is missing, not PEM or empty stops start-up with a message naming it", arguments: [
        ("missing", "no such file"), ("garbage", "not a PEM certificate file"), ("empty", "PEM"),
    ])
    func badRootCertificate(_ kind: String, _ expected: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scutum-ca-\(UUID()).pem").path
        switch kind {
        case "garbage": try Data("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".utf8)
            .write(to: URL(fileURLWithPath: path))
        case "empty": try Data().write(to: URL(fileURLWithPath: path))
        default: break
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try DatabaseConfiguration(url: "postgres://u:p@h/d?sslmode=verify-full&sslrootcert=\(path)")
        } throws: { error in
            let text = (error as? DatabaseConfiguration.Invalid)?.description ?? ""
            return text.contains("sslrootcert=\(path)") && text.contains(expected)
        }
    }

    @Test("client certificates and a CA with TLS off are refused rather than ignored", arguments: [
        "?sslmode=verify-full&sslcert=/c.pem", "?sslkey=/k.pem", "?sslmode=disable&sslrootcert=/ca.pem",
    ])
    func refusedParameters(_ query: String) {
        #expect(throws: DatabaseConfiguration.Invalid.self) {
            try DatabaseConfiguration(url: "postgres://u:p@h/d" + query)
        }
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

/// A self-signed CA certificate (P-256, valid until 2126) for parsing tests: only read, never trusted.
private enum TestCertificate {
    static let pem = """
-----BEGIN CERTIFICATE-----
MIIBijCCAS+gAwIBAgIUYsgTtsvJ3N12sZVxuA3u9aQMo64wCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOU2N1dHVtIHRlc3QgQ0EwIBcNMjYxMjA1MTcxOTU4WhgPMjEy
NjExMTExNzE5NThaMBkxFzAVBgNVBAMMDlNjdXR1bSB0ZXN0IENBMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEzP2J4gaTOZqwIGNGTJiUA1SVpnVBibJyVz8gcrpy
vussL0xbGBPkEXTigez4WKnJC8VFHIF6bh7t42ZBoRYML6NTMFEwHQYDVR0OBBYE
FIay8ycRy8aWg1EOrvJVsx8oDamLMB8GA1UdIwQYMBaAFIay8ycRy8aWg1EOrvJV
sx8oDamLMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhALSsUVQv
NNIzVpHzMZob2+9kdpV4wqszmvukUYH3LThJAiEA1RRByL1JKoCf4YogVd32lDtH
yAbQYfOfcfJxRMCUaIA=
-----END CERTIFICATE-----
"""

    /// Writes it to a fresh temporary file and returns the path.
    static func writeCA() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scutum-ca-\(UUID()).pem").path
        try Data(pem.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
