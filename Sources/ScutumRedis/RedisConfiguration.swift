import Foundation
import NIOCore

/// One Redis server's address.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// A host name or an IP address (IPv6 without brackets).
    public var host: String
    public var port: Int

    /// The server at `host:port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 host in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// TLS towards Redis (`rediss://`): the server's certificate is verified against `caFile` (or the
/// system's trust roots) and must name the host connected to (or `serverName`).
public struct RedisTLS: Sendable, Hashable {
    /// PEM file of the certificate authorities trusted for the server's certificate; nil: the system's.
    public var caFile: String?
    /// PEM file of a client certificate (chain) to present, for servers started with `tls-auth-clients yes`.
    public var certificateFile: String?
    /// PEM file of the client certificate's private key.
    public var keyFile: String?
    /// The name the server's certificate must carry, and the SNI sent; nil: the host connected to
    /// (an IP address is matched against the certificate's IP addresses, and no SNI is sent). As NIOSSL
    /// checks names, a certificate naming the IP address connected to is accepted whatever this says.
    public var serverName: String?

    /// TLS with the given files and name; all nil: the system's trust roots, no client certificate.
    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
    }
}

/// Redis behind Sentinel: the master is asked of the sentinels (`SENTINEL GET-MASTER-ADDR-BY-NAME`),
/// each in turn, whenever a connection is opened.
public struct RedisSentinel: Sendable, Hashable {
    /// The sentinels, tried in order.
    public var endpoints: [RedisEndpoint]
    /// The name the sentinels monitor the master under.
    public var masterName: String
    /// The sentinels' own ACL user, if they have one (`sentinel_username=`).
    public var username: String?
    /// The sentinels' own password (`requirepass` in sentinel.conf; `sentinel_password=`).
    public var password: String?

    /// The master `masterName` of the sentinels at `endpoints`, which may have a password of their own.
    public init(endpoints: [RedisEndpoint], masterName: String, username: String? = nil, password: String? = nil) {
        self.endpoints = endpoints
        self.masterName = masterName
        self.username = username
        self.password = password
    }
}

/// A `REDIS_URL` (or the TLS files it names) that cannot be used; the message names what is wrong and
/// never holds a password.
public struct RedisConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, for an operator.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// Where and how to reach Redis.
///
/// URL forms (`init(url:environment:)`):
///
/// - `redis://[[user]:password@]host[:port][/db][?options]`: plain TCP.
/// - `rediss://...`: the same over TLS.
/// - `redis+cluster://[[user]:password@]host[:port][,host[:port]...][/][?options]`: seed nodes of a Redis
///   Cluster (database 0 only); the client learns the slot map from them and routes every command to
///   the master owning its keys' hash slot (`RedisCluster`). `rediss+cluster://` speaks TLS to every node.
/// - `redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/master-name[/db][?options]`: the
///   hosts are sentinels (port 26379 unless given); the master they name for `master-name` is used, and
///   found again after a failover. `rediss+sentinel://` speaks TLS to the sentinels and to the servers.
///
/// `user:password@` authenticates as an ACL user (`AUTH user password`), `:password@` with the password
/// alone (`AUTH password`). Percent-encode `@ : / ? #` in passwords.
///
/// Options (query parameters, each overriding its environment variable):
///
/// | parameter | variable | meaning |
/// |---|---|---|
/// | `ca_file` | `REDIS_TLS_CA_FILE` | CA certificates (PEM) trusted for the server's certificate; default: the system's |
/// | `cert_file` | `REDIS_TLS_CERT_FILE` | client certificate (PEM), for `tls-auth-clients yes` |
/// | `key_file` | `REDIS_TLS_KEY_FILE` | the client certificate's private key (PEM) |
/// | `server_name` | `REDIS_TLS_SERVER_NAME` | the name the server's certificate must carry (and SNI) |
/// | `sentinel_username` | `REDIS_SENTINEL_USERNAME` | the sentinels' ACL user |
/// | `sentinel_password` | `REDIS_SENTINEL_PASSWORD` | the sentinels' password |
/// | `client_name` | | the connections' name in `CLIENT LIST` (`CLIENT SETNAME`) |
///
/// TLS options need `rediss://`; sentinel options need a sentinel URL.
public struct RedisConfiguration: Sendable, CustomStringConvertible {
    /// The server, when it is named directly (not behind Sentinel).
    public var host: String
    /// The server's port, when it is named directly.
    public var port: Int
    /// The ACL user; nil: the password alone (the `default` user).
    public var username: String?
    /// The password (`AUTH`); nil: none.
    public var password: String?
    /// The database selected on every connection (`SELECT`).
    public var database: Int
    /// TLS settings; nil: plain TCP.
    public var tls: RedisTLS?
    /// When set, `host` and `port` are not used: the master is found through these sentinels.
    public var sentinel: RedisSentinel?
    /// The connections' name (`CLIENT SETNAME`), if any.
    public var clientName: String?
    /// Connections kept open; commands are spread over them and pipelined on each.
    public var connectionCount: Int
    /// Longest wait for a reply before the connection is dropped and the call fails.
    public var commandTimeout: TimeAmount
    /// Longest wait for a TCP connection and the TLS handshake.
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

    /// This configuration for one server at `endpoint` (a cluster node): same credentials, TLS and
    /// timeouts; no seeds, no sentinels.
    public func node(_ endpoint: RedisEndpoint) -> RedisConfiguration {
        var node = self
        node.host = endpoint.host
        node.port = endpoint.port
        node.clusterSeeds = []
        node.sentinel = nil
        return node
    }

    /// A plain-TCP server named directly; set `username`, `tls`, `sentinel` and `clientName` afterwards.
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

    /// The server named directly (`host`, `port`).
    public var endpoint: RedisEndpoint {
        get { RedisEndpoint(host: host, port: port) }
        set { (host, port) = (newValue.host, newValue.port) }
    }

    /// What errors call the server: `host:port`, the cluster's seeds, or the master's name and its
    /// sentinels. No secrets.
    public var serverDescription: String {
        if isCluster { return "Redis Cluster of seeds \(clusterSeeds.map(\.description).joined(separator: ","))" }
        guard let sentinel else { return endpoint.description }
        return "master '\(sentinel.masterName)' of sentinels \(sentinel.endpoints.map(\.description).joined(separator: ","))"
    }

    /// The configuration without its secrets.
    public var description: String {
        var text = "\(tls == nil ? "redis" : "rediss")\(sentinel == nil ? "" : "+sentinel")\(isCluster ? "+cluster" : "")://"
        if username != nil || password != nil { text += "\(username ?? ""):***@" }
        text += isCluster ? clusterSeeds.map(\.description).joined(separator: ",")
            : sentinel == nil ? endpoint.description : "\(serverDescription)"
        return text + "/\(database)"
    }

    /// Parses a Redis URL (forms and options in the type's documentation); `environment` supplies the
    /// variables the options default to (`REDIS_TLS_CA_FILE`...). Does not touch the files it names:
    /// `RedisConnector.check(_:)` does.
    public init(url: String, environment: [String: String] = [:]) throws {
        self.init()
        let schemes = ["redis://", "rediss://", "redis+sentinel://", "rediss+sentinel://", "redis+cluster://",
            "rediss+cluster://"]
        guard let scheme = schemes.first(where: { url.hasPrefix($0) }) else {
            let given = url.split(separator: ":", maxSplits: 1).first.map { "'\($0)'" } ?? "nothing"
            throw RedisConfigurationError(
                "REDIS_URL must start with redis://, rediss:// (TLS), redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel:// (it starts with \(given))")
        }
        let usesTLS = scheme.hasPrefix("rediss")
        let usesSentinel = scheme.contains("+sentinel")
        let usesCluster = scheme.contains("+cluster")
        let form = usesSentinel
            ? "\(scheme)[[user]:password@]host[:port][,host[:port]...]/master-name[/db][?options]"
            : usesCluster ? "\(scheme)[[user]:password@]host[:port][,host[:port]...][/][?options]"
            : "\(scheme)[[user]:password@]host[:port][/db][?options]"
        var rest = Substring(url.dropFirst(scheme.count))

        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        if let at = rest.lastIndex(of: "@") {
            let auth = rest[..<at]
            let parts = auth.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2 {
                if !parts[0].isEmpty { username = try Self.decode(parts[0], what: "user name") }
                if !parts[1].isEmpty { password = try Self.decode(parts[1], what: "password") }
            } else if !auth.isEmpty {
                throw RedisConfigurationError("REDIS_URL names a user without a password: write user:password@ (or :password@)")
            }
            if username != nil, password == nil {
                throw RedisConfigurationError("REDIS_URL names a user without a password: write user:password@")
            }
            rest = rest[rest.index(after: at)...]
        }

        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if usesSentinel {
            let hosts = rest.split(separator: ",", omittingEmptySubsequences: false)
            let endpoints = try hosts.map { try Self.endpoint($0, defaultPort: 26379, form: form) }
            let segments = path.split(separator: "/", omittingEmptySubsequences: false)
            guard let name = segments.first, !name.isEmpty else {
                throw RedisConfigurationError("REDIS_URL names no master: it must look like \(form)")
            }
            guard segments.count <= 2 || (segments.count == 3 && segments[2].isEmpty) else {
                throw RedisConfigurationError("REDIS_URL has a path beyond /master-name/db: it must look like \(form)")
            }
            let masterName = try Self.decode(name, what: "master name")
            if segments.count >= 2 { database = try Self.database(segments[1]) }
            sentinel = RedisSentinel(endpoints: endpoints, masterName: masterName)
        } else if usesCluster {
            let hosts = rest.split(separator: ",", omittingEmptySubsequences: false)
            clusterSeeds = try hosts.map { try Self.endpoint($0, defaultPort: 6379, form: form) }
            (host, port) = (clusterSeeds[0].host, clusterSeeds[0].port)
            guard path.isEmpty || path == "0" else {
                throw RedisConfigurationError("a Redis Cluster has only database 0; drop '/\(path)' from REDIS_URL")
            }
        } else {
            guard !rest.contains(",") else {
                throw RedisConfigurationError("REDIS_URL names several hosts: use redis+cluster:// for a Redis Cluster")
            }
            let endpoint = try Self.endpoint(rest, defaultPort: 6379, form: form)
            (host, port) = (endpoint.host, endpoint.port)
            guard !path.contains("/") else {
                throw RedisConfigurationError("REDIS_URL has a path beyond /db: it must look like \(form)")
            }
            database = try Self.database(path)
        }

        var options: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            guard Self.optionVariables.keys.contains(key) else {
                let known = Self.optionVariables.keys.sorted().joined(separator: ", ")
                throw RedisConfigurationError("REDIS_URL has an unknown option '\(key)' (known: \(known))")
            }
            guard parts.count == 2, !parts[1].isEmpty else {
                throw RedisConfigurationError("REDIS_URL option '\(key)' has no value")
            }
            options[key] = try Self.decode(parts[1], what: "value of '\(key)'")
        }
        func option(_ key: String) -> String? {
            if let value = options[key] { return value }
            if let variable = Self.optionVariables[key] ?? nil, let value = environment[variable], !value.isEmpty {
                return value
            }
            return nil
        }

        let tlsKeys = ["ca_file", "cert_file", "key_file", "server_name"]
        if usesTLS {
            var tls = RedisTLS(caFile: option("ca_file"), certificateFile: option("cert_file"), keyFile: option("key_file"),
                serverName: option("server_name"))
            if tls.serverName?.isEmpty == true { tls.serverName = nil }
            guard (tls.certificateFile == nil) == (tls.keyFile == nil) else {
                throw RedisConfigurationError(
                    "a Redis client certificate needs both cert_file and key_file (or REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE)")
            }
            self.tls = tls
        } else {
            if let key = tlsKeys.first(where: { options[$0] != nil }) {
                throw RedisConfigurationError("REDIS_URL option '\(key)' needs TLS: use rediss:// (or rediss+sentinel://)")
            }
            if let key = tlsKeys.first(where: { option($0) != nil }), let variable = Self.optionVariables[key] ?? nil {
                throw RedisConfigurationError("\(variable) is set but REDIS_URL is not a TLS URL: use rediss:// (or unset it)")
            }
        }
        if usesSentinel {
            sentinel?.username = option("sentinel_username")
            sentinel?.password = option("sentinel_password")
        } else if let key = ["sentinel_username", "sentinel_password"].first(where: { options[$0] != nil }) {
            throw RedisConfigurationError("REDIS_URL option '\(key)' needs a redis+sentinel:// (or rediss+sentinel://) URL")
        }
        clientName = option("client_name")
        if let name = clientName, name.contains(where: { $0 == " " || $0.isNewline }) {
            throw RedisConfigurationError("REDIS_URL option 'client_name' cannot contain spaces or newlines")
        }
    }

    /// Each URL option and the environment variable it defaults to.
    static let optionVariables: [String: String?] = [
        "ca_file": "REDIS_TLS_CA_FILE", "cert_file": "REDIS_TLS_CERT_FILE", "key_file": "REDIS_TLS_KEY_FILE",
        "server_name": "REDIS_TLS_SERVER_NAME", "sentinel_username": "REDIS_SENTINEL_USERNAME",
        "sentinel_password": "REDIS_SENTINEL_PASSWORD", "client_name": nil,
    ]

    private static func decode(_ text: Substring, what: String) throws -> String {
        guard let decoded = String(text).removingPercentEncoding else {
            throw RedisConfigurationError("REDIS_URL has a badly percent-encoded \(what)")
        }
        return decoded
    }

    private static func database(_ text: Substring) throws -> Int {
        guard !text.isEmpty else { return 0 }
        guard let number = Int(text), number >= 0 else {
            throw RedisConfigurationError("REDIS_URL database '\(text)' is not a number")
        }
        return number
    }

    /// `host[:port]` or `[ipv6][:port]`.
    private static func endpoint(_ text: Substring, defaultPort: Int, form: String) throws -> RedisEndpoint {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw RedisConfigurationError("REDIS_URL host '\(text)' has no closing ]")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw RedisConfigurationError("REDIS_URL must look like \(form)")
                }
                portText = after.dropFirst()
            }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw RedisConfigurationError("REDIS_URL must look like \(form)") }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else {
            throw RedisConfigurationError("REDIS_URL has an empty host: it must look like \(form)")
        }
        var port = defaultPort
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw RedisConfigurationError("REDIS_URL port '\(portText)' is not a port number")
            }
            port = number
        }
        return RedisEndpoint(host: String(host), port: port)
    }
}
