import Foundation
import PostgresNIO

/// Where PostgreSQL is, from a `postgres://user:password@host:port/database` URL.
public struct DatabaseConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// `sslmode=require` in the URL; loopback installs run without TLS.
    public var requireTLS: Bool
    public var maximumConnections: Int

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(host: String, port: Int = 5432, username: String, password: String?, database: String,
        requireTLS: Bool = false, maximumConnections: Int = 20)
    {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.requireTLS = requireTLS
        self.maximumConnections = maximumConnections
    }

    public init(url: String) throws {
        guard let components = URLComponents(string: url),
            components.scheme == "postgres" || components.scheme == "postgresql", let host = components.host,
            let user = components.user, !user.isEmpty
        else {
            throw Invalid(description: "DATABASE_URL must look like postgres://user:password@host:port/database")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let sslmode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value
        // URLComponents.user, .password and .path are already percent-decoded.
        self.init(host: host, port: components.port ?? 5432, username: user,
            password: components.password, database: database.isEmpty ? user : database,
            requireTLS: ["require", "verify-ca", "verify-full"].contains(sslmode))
    }

    /// The pool configuration for postgres-nio.
    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
