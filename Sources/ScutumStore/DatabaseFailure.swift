import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import ScutumCore

/// A failure to reach or use PostgreSQL, told in words an operator can act on: which server, and
/// whether TLS, the certificate, the host name, the password or the network is the problem.
///
/// postgres-nio's own `PSQLError` says only "Generic description" (its details may hold query text);
/// this keeps what matters and never a password.
public struct DatabaseFailure: Error, CustomStringConvertible {
    /// What went wrong, with the server's address.
    public let description: String
    /// Whether retrying cannot help until the configuration changes (TLS, certificates, credentials,
    /// a database that does not exist), as opposed to a server that is down or slow.
    public let isConfigurationProblem: Bool

    /// A failure described in words already.
    public init(description: String, isConfigurationProblem: Bool) {
        self.description = description
        self.isConfigurationProblem = isConfigurationProblem
    }

    /// Describes `error` from talking to the server `configuration` names.
    public init(_ error: any Error, configuration: DatabaseConfiguration) {
        if let failure = error as? DatabaseFailure {
            self = failure
            return
        }
        let (reason, permanent) = Self.reason(error, configuration: configuration)
        description = "PostgreSQL at \(configuration.endpointDescription): \(reason)"
        isConfigurationProblem = permanent
    }

    static func reason(_ error: any Error, configuration: DatabaseConfiguration) -> (String, Bool) {
        if let error = error as? PSQLError {
            if error.code == .sslUnsupported {
                return ("the server does not offer TLS, and sslmode=\(configuration.sslMode.rawValue) requires it", true)
            }
            if let fields = error.serverInfo {
                let state = fields[.sqlState] ?? "?"
                let message = fields[.message] ?? "no message"
                // 28xxx: authentication; 3D000: no such database; 08004: the server rejected the connection.
                let permanent = state.hasPrefix("28") || state == "3D000" || state == "08004"
                return ("the server refused: \(message) (SQLSTATE \(state))", permanent)
            }
            if let underlying = error.underlying {
                return reason(underlying, configuration: configuration)
            }
            return ("\(error.code)", false)
        }
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return ("TLS: the server's certificate is not issued for the host name \"\(configuration.host)\" "
                + "(sslmode=verify-full checks it; connect by a name or address the certificate lists, "
                + "or use sslmode=verify-ca to check only the CA)", true)
        }
        if let error = error as? NIOSSLError {
            switch error {
            case .handshakeFailed(let inner):
                let detail = String(describing: inner)
                if detail.contains("CERTIFICATE_VERIFY_FAILED") {
                    let roots = configuration.rootCertificatePath.map { "the CA certificate in sslrootcert=\($0)" }
                        ?? "the system's trusted CAs (set sslrootcert= to the server's CA file)"
                    return ("TLS: certificate verify failed: the server's certificate is not signed by "
                        + "\(roots), or it has expired", true)
                }
                return ("TLS handshake failed: \(detail)", true)
            case .uncleanShutdown:
                return ("the server closed the TLS connection uncleanly", false)
            default:
                return ("TLS: \(error)", true)
            }
        }
        if let error = error as? NIOConnectionError {
            var parts = error.connectionErrors.map { failure -> String in
                let detail = (failure.error as? IOError).map { "\(Self.strerror($0.errnoCode))" } ?? "\(failure.error)"
                return "\(failure.target): \(detail)"
            }
            if parts.isEmpty, let dns = error.dnsAError ?? error.dnsAAAAError {
                parts = ["the host name does not resolve (\(dns))"]
            }
            return ("could not connect: " + (parts.isEmpty ? "\(error)" : parts.joined(separator: "; ")), false)
        }
        if let error = error as? IOError {
            return ("could not connect: \(error.description)", false)
        }
        if error is ChannelError {
            return ("could not connect: \(error)", false)
        }
        return (String(describing: error), false)
    }

    /// The C library's text for an `errno` ("Connection refused").
    static func strerror(_ code: CInt) -> String {
        String(cString: Foundation.strerror(code))
    }
}

extension DatabaseConfiguration {
    /// Opens one connection outside any pool and runs `SELECT 1`, so a start-up that cannot use the
    /// database says why: wrong CA, host name not in the certificate, no TLS on the server, bad
    /// password. Problems of configuration fail at once; a server that is down or refusing
    /// connections is retried until `patience` has passed. Throws `DatabaseFailure`.
    public func checkConnection(logger: Logger, patience: Duration = .seconds(60)) async throws {
        let configuration: PostgresConnection.Configuration
        do {
            configuration = try connectionConfiguration()
        } catch {
            throw DatabaseFailure(error, configuration: self)
        }
        let clock = ContinuousClock()
        let deadline = clock.now + patience
        var attempt = 0
        while true {
            attempt += 1
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: attempt,
                    logger: logger)
                do {
                    try await connection.query("SELECT 1", logger: logger)
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
                return
            } catch {
                let failure = DatabaseFailure(error, configuration: self)
                if failure.isConfigurationProblem || clock.now >= deadline || Task.isCancelled { throw failure }
                logger.warning("PostgreSQL is not reachable yet; retrying", metadata: ["error": "\(failure)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}

extension DatabaseConfiguration {
    /// The readiness check: `SELECT 1` through `pool` (this configuration's). When the pool fails,
    /// or gives no answer within half of `timeout` (it may be retrying a server it cannot reach, in
    /// silence), one direct connection attempt says why: the `DatabaseFailure` thrown names the
    /// server and the reason (refused, certificate, password), or says the pool is saturated when
    /// the server itself answers.
    public func readinessCheck(pool: PostgresClient, timeout: Duration, logger: Logger) async throws {
        do {
            _ = try await withDeadline(timeout / 2) { try await pool.query("SELECT 1", logger: logger) }
            return
        } catch is DeadlineExceeded {
            // Why the pool is silent: ask the server directly.
        } catch {
            let failure = DatabaseFailure(error, configuration: self)
            // A pool error without a reason of its own (closed, circuit open): look directly.
            if failure.isConfigurationProblem { throw failure }
        }
        try await checkConnection(logger: logger, patience: .zero)
        throw DatabaseFailure(description: "PostgreSQL at \(endpointDescription) accepts "
            + "connections, but none of this node's \(maximumConnections) pooled connections answered within "
            + "\(timeout / 2)", isConfigurationProblem: false)
    }
}
