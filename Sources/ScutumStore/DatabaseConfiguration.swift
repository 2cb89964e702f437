import Foundation
import NIOSSL
import PostgresNIO

/// Where PostgreSQL is, from a libpq-style `postgres://user:password@host:port/database` URL.
///
/// TLS follows libpq's `sslmode` and `sslrootcert` query parameters:
/// `postgres://scutum:secret@db.internal:5432/scutum?sslmode=verify-full&sslrootcert=/etc/scutum/pg-ca.pem`.
public struct DatabaseConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// How the connection is encrypted and the server's certificate checked (`sslmode=`).
    public var sslMode: SSLMode
    /// The CA certificates (`sslrootcert=`, a PEM file) a `verify-ca` / `verify-full` server
    /// certificate must chain to; empty: the system's trust store.
    public var rootCertificates: [NIOSSLCertificate]
    /// Where `rootCertificates` were read from, for messages.
    public var rootCertificatePath: String?
    /// The most connections the pool opens (`SCUTUM_DATABASE_MAX_CONNECTIONS`).
    public var maximumConnections: Int

    /// libpq's `sslmode` values.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// No TLS.
        case disable
        /// libpq tries without TLS first; postgres-nio cannot, so this behaves as `prefer`.
        case allow
        /// TLS when the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is not checked, unless `sslrootcert` is given
        /// (then as `verify-ca`, as libpq does).
        case require
        /// TLS, and the certificate must chain to a trusted CA; the host name is not checked.
        case verifyCA = "verify-ca"
        /// TLS, a certificate from a trusted CA, issued for the host the URL names.
        case verifyFull = "verify-full"

        /// Whether the server's certificate is checked against a CA.
        var verifiesCertificate: Bool { self == .verifyCA || self == .verifyFull }
    }

    /// A URL that does not say what it must, or a CA file that cannot be used.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(host: String, port: Int = 5432, username: String, password: String?, database: String,
        sslMode: SSLMode = .prefer, rootCertificates: [NIOSSLCertificate] = [], rootCertificatePath: String? = nil,
        maximumConnections: Int = 20)
    {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.rootCertificates = rootCertificates
        self.rootCertificatePath = rootCertificatePath
        self.maximumConnections = maximumConnections
    }

    /// Parses a URL; reads the `sslrootcert` file now, so a missing or unreadable CA file stops
    /// start-up with a clear message instead of failing every connection later.
    public init(url: String) throws {
        guard let components = URLComponents(string: url),
            components.scheme == "postgres" || components.scheme == "postgresql", let host = components.host,
            let user = components.user, !user.isEmpty
        else {
            throw Invalid(description: "DATABASE_URL must look like postgres://user:password@host:port/database")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let query = components.queryItems ?? []
        func parameter(_ name: String) -> String? {
            query.last(where: { $0.name == name })?.value.flatMap { $0.isEmpty ? nil : $0 }
        }
        var sslMode = SSLMode.prefer
        if let text = parameter("sslmode") {
            guard let mode = SSLMode(rawValue: text) else {
                throw Invalid(description: "sslmode=\(text) must be one of "
                    + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            sslMode = mode
        }
        for unsupported in ["sslcert", "sslkey", "sslpassword", "sslcrl"] where parameter(unsupported) != nil {
            throw Invalid(description: "\(unsupported)= is not supported (no client certificates); "
                + "authenticate with a password and verify the server with sslmode=verify-full&sslrootcert=")
        }
        var roots: [NIOSSLCertificate] = []
        let rootPath = parameter("sslrootcert")
        if let rootPath, rootPath != "system" {
            if sslMode == .disable {
                throw Invalid(description: "sslrootcert= is set but sslmode=disable turns TLS off")
            }
            roots = try Self.loadCertificates(rootPath)
        }
        // libpq: `require` with a root certificate verifies the chain, as `verify-ca` does.
        if sslMode == .require, rootPath != nil { sslMode = .verifyCA }
        // URLComponents.user, .password and .path are already percent-decoded.
        self.init(host: host, port: components.port ?? 5432, username: user,
            password: components.password, database: database.isEmpty ? user : database,
            sslMode: sslMode, rootCertificates: roots, rootCertificatePath: rootPath == "system" ? nil : rootPath)
    }

    /// Reads every certificate of a PEM file, or says clearly why it cannot.
    static func loadCertificates(_ path: String) throws -> [NIOSSLCertificate] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw Invalid(description: "sslrootcert=\(path): no such file")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw Invalid(description: "sslrootcert=\(path): not readable by this process")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw Invalid(description: "sslrootcert=\(path): not a PEM certificate file (\(error))")
        }
        guard !certificates.isEmpty else {
            throw Invalid(description: "sslrootcert=\(path): holds no PEM certificate")
        }
        return certificates
    }

    /// The TLS settings `sslMode` and the root certificates ask for.
    public var tlsConfiguration: TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable, .allow, .prefer, .require:
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        if !rootCertificates.isEmpty {
            tls.trustRoots = .certificates(rootCertificates)
        }
        return tls
    }

    /// postgres-nio's TLS setting for a pool.
    public var clientTLS: PostgresClient.Configuration.TLS {
        switch sslMode {
        case .disable: .disable
        case .allow, .prefer: .prefer(tlsConfiguration)
        case .require, .verifyCA, .verifyFull: .require(tlsConfiguration)
        }
    }

    /// The pool configuration for postgres-nio.
    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: clientTLS)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// The same settings for one connection outside a pool (`PostgresConnection.connect`).
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = switch sslMode {
        case .disable: .disable
        case .allow, .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration))
        case .require, .verifyCA, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// Where this configuration connects and how, safe for logs and messages (no password):
    /// `127.0.0.1:5432 (database scutum, user scutum, sslmode=verify-full, sslrootcert=/ca.pem)`.
    public var endpointDescription: String {
        var text = "\(host):\(port) (database \(database), user \(username), sslmode=\(sslMode.rawValue)"
        if let rootCertificatePath { text += ", sslrootcert=\(rootCertificatePath)" }
        return text + ")"
    }
}
