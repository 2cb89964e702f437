import Foundation
import Logging
import PostgresNIO
import ScutumStore
import ScutumTestSupport
import Testing

/// What an operator reads when PostgreSQL cannot be used: the server, and the reason in words.
/// Against the test server, which speaks no TLS (the TLS server's cases run in Tests/scale).
@Suite("Database failures told clearly")
struct DatabaseFailureTests {
    static func configuration(_ change: (inout DatabaseConfiguration) -> Void) throws -> DatabaseConfiguration {
        var configuration = try DatabaseConfiguration(url: TestEnvironment.databaseURL)
        change(&configuration)
        return configuration
    }

    static func failure(_ configuration: DatabaseConfiguration, patience: Duration = .seconds(60))
        async throws -> DatabaseFailure
    {
        do {
            try await configuration.checkConnection(logger: TestEnvironment.logger, patience: patience)
        } catch let failure as DatabaseFailure {
            return failure
        }
        throw CheckPassed()
    }

    struct CheckPassed: Error {}

    @Test("the test server is reachable with libpq's default sslmode=prefer (it offers no TLS)")
    func reachable() async throws {
        let configuration = try Self.configuration { _ in }
        #expect(configuration.sslMode == .prefer)
        try await configuration.checkConnection(logger: TestEnvironment.logger)
    }

    @Test("sslmode=require against a server without TLS: refused at once, saying so")
    func noTLS() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let failure = try await Self.failure(try Self.configuration { $0.sslMode = .require })
        #expect(failure.isConfigurationProblem)
        #expect(failure.description.contains("does not offer TLS, and sslmode=require requires it"))
        #expect(clock.now - started < .seconds(10), "a configuration problem is not retried")
    }

    @Test("a wrong password: the server's own reason, never the password")
    func wrongPassword() async throws {
        let failure = try await Self.failure(try Self.configuration { $0.password = "not-the-password-4711" })
        #expect(failure.isConfigurationProblem)
        #expect(failure.description.contains("password authentication failed"))
        #expect(failure.description.contains("SQLSTATE 28P01"))
        #expect(!failure.description.contains("not-the-password-4711"))
        #expect(!failure.description.contains(try Self.configuration { _ in }.password ?? "-"))
    }

    @Test("nothing listening: retried until the patience runs out, then 'could not connect'")
    func refused() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let failure = try await Self.failure(try Self.configuration { $0.host = "127.0.0.1"; $0.port = 9 },
            patience: .seconds(2))
        #expect(!failure.isConfigurationProblem)
        #expect(failure.description.hasPrefix("PostgreSQL at 127.0.0.1:9 "))
        #expect(failure.description.contains("could not connect: [IPv4]127.0.0.1/127.0.0.1:9: Connection refused"),
            "\(failure)")
        #expect(clock.now - started >= .seconds(2))
    }
}
