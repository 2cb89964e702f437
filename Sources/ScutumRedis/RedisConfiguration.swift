import Foundation
import NIOCore

/// Where and how to reach Redis: one server (`redis://`), or a Redis Cluster (`redis+cluster://`, see
/// `clusterSeeds`).
public struct RedisConfiguration: Sendable {
    /// The server (in cluster mode: the first seed node).
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
    /// Nodes of a Redis Cluster to learn its slot map from; empty for a single server. With seeds the
    /// client routes every command to the master owning its keys' hash slot (`RedisCluster`).
    public var clusterSeeds: [RedisEndpoint] = []
    /// In cluster mode, how many `MOVED`/`ASK` redirections (and `TRYAGAIN`/`CLUSTERDOWN` retries) one
    /// command may follow before its last reply is returned as it is.
    public var maximumRedirects = 5

    /// Whether this configuration names a Redis Cluster.
    public var isCluster: Bool { !clusterSeeds.isEmpty }

    /// Where to connect: the seeds in cluster mode, else the one server.
    public var endpoints: [RedisEndpoint] { isCluster ? clusterSeeds : [RedisEndpoint(host: host, port: port)] }

    /// This configuration for one server at `endpoint` (a cluster node): same credentials and timeouts,
    /// no seeds.
    public func node(_ endpoint: RedisEndpoint) -> RedisConfiguration {
        var node = self
        node.host = endpoint.host
        node.port = endpoint.port
        node.clusterSeeds = []
        return node
    }

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

    /// Parses `redis://[[user]:password@]host[:port][/db]`, or for a Redis Cluster
    /// `redis+cluster://[[user]:password@]host:port[,host:port...][/]` (seed nodes, database 0 only);
    /// the password may be percent-encoded.
    public init(url: String) throws {
        let cluster = url.hasPrefix("redis+cluster://")
        guard cluster || url.hasPrefix("redis://") else {
            throw RedisClientError.unavailable("REDIS_URL must start with redis:// or redis+cluster://")
        }
        var rest = Substring(url.dropFirst(cluster ? "redis+cluster://".count : "redis://".count))
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
                guard !cluster || number == 0 else {
                    throw RedisClientError.unavailable("a Redis Cluster has only database 0; drop '/\(text)' from REDIS_URL")
                }
                database = number
            }
            rest = rest[..<slash]
        }
        let endpoints = try rest.split(separator: ",", omittingEmptySubsequences: false).map { hostPort in
            try Self.endpoint(hostPort, cluster: cluster)
        }
        guard endpoints.count == 1 || cluster else {
            throw RedisClientError.unavailable("REDIS_URL names several hosts: use redis+cluster:// for a Redis Cluster")
        }
        self.init(host: endpoints[0].host, port: endpoints[0].port, password: password, database: database)
        if cluster { clusterSeeds = endpoints }
    }

    private static func endpoint(_ text: Substring, cluster: Bool) throws -> RedisEndpoint {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else {
            throw RedisClientError.unavailable(cluster
                ? "REDIS_URL must look like redis+cluster://[:password@]host:port[,host:port...]"
                : "REDIS_URL must look like redis://[:password@]host[:port][/db]")
        }
        var port = 6379
        if parts.count == 2 {
            guard let number = Int(parts[1]), (1...65535).contains(number) else {
                throw RedisClientError.unavailable("REDIS_URL port '\(parts[1])' is not a port number")
            }
            port = number
        }
        return RedisEndpoint(host: String(host), port: port)
    }
}

/// One Redis server's address.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// A host name or IP address.
    public var host: String
    /// The TCP port.
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`.
    public var description: String { "\(host):\(port)" }
}
