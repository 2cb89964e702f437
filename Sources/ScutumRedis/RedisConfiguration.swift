import Foundation
import NIOCore

/// Where and how to reach Redis.
public struct RedisConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var password: String?
    public var database: Int
    /// Connections kept open; commands are spread over them and pipelined on each.
    public var connectionCount: Int
    /// Longest wait for a reply before the connection is dropped and the call fails.
    public var commandTimeout: TimeAmount
    public var connectTimeout: TimeAmount
    /// After a failed connect, calls fail at once for this long instead of waiting on a dead server.
    public var reconnectBackoff: TimeAmount

    public init(host: String = "127.0.0.1", port: Int = 6379, password: String? = nil, database: Int = 0,
        connectionCount: Int = 2, commandTimeout: TimeAmount = .milliseconds(250),
        connectTimeout: TimeAmount = .milliseconds(500), reconnectBackoff: TimeAmount = .seconds(1))
    {
        self.host = host
        self.port = port
        self.password = password
        self.database = database
        self.connectionCount = max(1, connectionCount)
        self.commandTimeout = commandTimeout
        self.connectTimeout = connectTimeout
        self.reconnectBackoff = reconnectBackoff
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`; the password may be percent-encoded.
    public init(url: String) throws {
        guard url.hasPrefix("redis://") else { throw RedisClientError.unavailable("REDIS_URL must start with redis://") }
        var rest = Substring(url.dropFirst("redis://".count))
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let auth = rest[..<at]
            if let secret = auth.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).last,
                !secret.isEmpty
            {
                guard let decoded = String(secret).removingPercentEncoding else {
                    throw RedisClientError.unavailable("REDIS_URL has a badly percent-encoded password")
                }
                password = decoded
            }
            rest = rest[rest.index(after: at)...]
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let text = rest[rest.index(after: slash)...]
            if !text.isEmpty {
                guard let number = Int(text), number >= 0 else {
                    throw RedisClientError.unavailable("REDIS_URL database '\(text)' is not a number")
                }
                database = number
            }
            rest = rest[..<slash]
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else {
            throw RedisClientError.unavailable("REDIS_URL must look like redis://[:password@]host[:port][/db]")
        }
        var port = 6379
        if parts.count == 2 {
            guard let number = Int(parts[1]), (1...65535).contains(number) else {
                throw RedisClientError.unavailable("REDIS_URL port '\(parts[1])' is not a port number")
            }
            port = number
        }
        self.init(host: String(host), port: port, password: password, database: database)
    }
}
