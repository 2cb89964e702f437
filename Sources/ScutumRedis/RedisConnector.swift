import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Opens connections to Redis the way a configuration says: TCP, TLS when it is `rediss://` (the server's
/// certificate verified, a client certificate presented if one is configured), then the handshake
/// (`AUTH [user] password`, `SELECT db`, `CLIENT SETNAME`) in one write.
///
/// Behind Sentinel, `connect()` first asks the sentinels, in turn, for the master's address, and checks
/// with `ROLE` that the server found is the master. Such connections are closed when a sentinel announces
/// `+switch-master` (`SentinelWatch`) and close themselves on a `-READONLY` reply (a demoted master), so
/// that the next connection finds the new master. `connect(to:)` opens a
/// connection to one given server (a cluster node, say) with the same TLS and authentication.
///
/// A connection's pipeline ends in the client's request/reply handler (`RedisRequest` in, replies matched
/// in order). Never blocks an event loop; TLS files are read once per process (`check(_:)` at start-up).
public struct RedisConnector: Sendable {
    /// TLS, user, password, database and client name of every connection; where to find the master.
    public let configuration: RedisConfiguration
    /// Where connections run.
    public let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    /// A connector for `configuration`; it opens nothing until asked.
    public init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "scutum.redis"))
    {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Reads and checks the TLS files the configuration names (that they exist and hold certificates and
    /// a key that fit), so that a node refuses to start on a bad one instead of failing every connection.
    public static func check(_ configuration: RedisConfiguration) throws {
        if let tls = configuration.tls { _ = try sslContext(for: tls) }
    }

    /// A connection to the configuration's server: `host:port`, or behind Sentinel the current master.
    ///
    /// Fails with `RedisClientError`: `.server` for a refused `AUTH` or `SELECT` (Redis's message), else
    /// `.unavailable` with a message naming the server and what went wrong.
    public func connect(clientName: String? = nil) -> EventLoopFuture<any Channel> {
        let name = clientName ?? configuration.clientName
        guard configuration.sentinel != nil else { return connect(to: configuration.endpoint, clientName: name) }
        let promise = eventLoopGroup.next().makePromise(of: (any Channel).self)
        promise.completeWithTask {
            let master = try await resolveMaster()
            let channel = try await open(master, username: configuration.username, password: configuration.password,
                database: configuration.database, clientName: name, role: .master).get()
            SentinelWatch.register(channel, master: master, configuration: configuration, eventLoopGroup: eventLoopGroup,
                logger: logger)
            return channel
        }
        return promise.futureResult
    }

    /// A connection to one given server, with the configuration's TLS, user, password and database.
    public func connect(to endpoint: RedisEndpoint, clientName: String? = nil) -> EventLoopFuture<any Channel> {
        open(endpoint, username: configuration.username, password: configuration.password, database: configuration.database,
            clientName: clientName ?? configuration.clientName, role: nil)
    }

    /// The master's address as the sentinels give it (`SENTINEL GET-MASTER-ADDR-BY-NAME`), asking each in
    /// turn until one answers; the configuration's own server when it names no sentinels.
    public func resolveMaster() async throws -> RedisEndpoint {
        guard let sentinel = configuration.sentinel else { return configuration.endpoint }
        var failures: [String] = []
        for endpoint in sentinel.endpoints {
            let reply: RedisValue
            do {
                let channel = try await open(endpoint, username: sentinel.username, password: sentinel.password, database: 0,
                    clientName: nil, role: .sentinel).get()
                defer { channel.close(promise: nil) }
                reply = try await Self.send([["SENTINEL", "GET-MASTER-ADDR-BY-NAME", RedisArgument(sentinel.masterName)]],
                    on: channel).get()[0]
            } catch {
                failures.append("\(error)")
                continue
            }
            switch reply {
            case .array(let parts) where parts.count == 2:
                if let host = parts[0].string, let port = parts[1].string.flatMap({ Int($0) }) {
                    let master = RedisEndpoint(host: host, port: port)
                    logger.debug("sentinel named the master", metadata: [
                        "redis.sentinel": "\(endpoint)", "redis.master": "\(master)", "redis.master_name": "\(sentinel.masterName)",
                    ])
                    return master
                }
                failures.append("sentinel \(endpoint) answered \(reply)")
            case .null:
                failures.append("sentinel \(endpoint) does not monitor a master named '\(sentinel.masterName)'")
            case .error(let message):
                failures.append("sentinel \(endpoint): \(message)")
            default:
                failures.append("sentinel \(endpoint) answered \(reply)")
            }
        }
        throw RedisClientError.unavailable(
            "no sentinel named the master '\(sentinel.masterName)': \(failures.joined(separator: "; "))")
    }

    /// What the server must say it is (`ROLE`) for the connection to be kept.
    private enum Role {
        case master
        case sentinel
    }

    private func open(_ endpoint: RedisEndpoint, username: String?, password: String?, database: Int, clientName: String?,
        role: Role?) -> EventLoopFuture<any Channel>
    {
        let loop = eventLoopGroup.next()
        let context: NIOSSLContext?
        do {
            context = try configuration.tls.map(Self.sslContext(for:))
        } catch {
            return loop.makeFailedFuture(error)
        }
        let serverName = configuration.tls?.serverName ?? (Self.isIPAddress(endpoint.host) ? nil : endpoint.host)
        let tlsReady = loop.makePromise(of: Void.self)
        if context == nil { tlsReady.succeed(()) }
        let commandTimeout = configuration.commandTimeout
        let connectTimeout = configuration.connectTimeout
        let closesOnReadOnly = role == .master
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: context, serverHostname: serverName))
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher(promise: tlsReady))
                    }
                    let handler = RedisChannelHandler(commandTimeout: commandTimeout)
                    handler.closesOnReadOnly = closesOnReadOnly
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let tls = configuration.tls
        let explain: @Sendable (any Error) -> any Error = { error in
            if let error = error as? RedisClientError {
                guard case .connectionClosed(let reason) = error else { return error }
                return Self.failure(endpoint, reason, tls: tls, serverName: serverName, closedInHandshake: true)
            }
            if error is RedisConfigurationError { return error }
            return Self.failure(endpoint, String(describing: error), tls: tls, serverName: serverName, closedInHandshake: false)
        }
        var setup: [[RedisArgument]] = []
        if let password {
            // `AUTH default password` is `AUTH password`, which servers older than 6 also understand.
            if let username, username != "default" {
                setup.append(["AUTH", RedisArgument(username), RedisArgument(password)])
            } else {
                setup.append(["AUTH", RedisArgument(password)])
            }
        }
        if database != 0 { setup.append(["SELECT", RedisArgument(database)]) }
        if let clientName { setup.append(["CLIENT", "SETNAME", RedisArgument(clientName)]) }
        if role == .master { setup.append(["ROLE"]) }
        // With nothing to set up the connection is ready at once (no extra round trip: a command sent now
        // goes out even if the server is slow to answer); a TLS port spoken to in plain TCP is then found
        // by the first command instead.
        let commands = setup
        let logger = self.logger

        // An IP address is connected to directly; a name goes through the resolver (and Happy Eyeballs).
        let connected: EventLoopFuture<any Channel>
        if Self.isIPAddress(endpoint.host), let address = try? SocketAddress(ipAddress: endpoint.host, port: endpoint.port) {
            connected = bootstrap.connect(to: address)
        } else {
            connected = bootstrap.connect(host: endpoint.host, port: endpoint.port)
        }
        return connected.flatMapError { error in
            tlsReady.fail(error)
            return loop.makeFailedFuture(explain(error))
        }.flatMap { channel in
            // A server that accepts TCP but never finishes the TLS handshake is given up on like a dead one.
            let deadline = loop.scheduleTask(in: connectTimeout) {
                tlsReady.fail(RedisClientError.unavailable("\(endpoint): the TLS handshake took longer than \(connectTimeout)"))
            }
            return tlsReady.futureResult.flatMap {
                deadline.cancel()
                guard !commands.isEmpty else { return loop.makeSucceededFuture([RedisValue]()) }
                return Self.send(commands, on: channel)
            }.flatMapThrowing { replies -> any Channel in
                for (command, reply) in zip(commands, replies) {
                    try Self.check(reply, of: command, from: endpoint, username: username, role: role)
                }
                logger.debug("redis connected", metadata: [
                    "redis.host": "\(endpoint)", "redis.tls": "\(context != nil)",
                ])
                return channel
            }.flatMapErrorThrowing { error in
                deadline.cancel()
                channel.close(promise: nil)
                throw explain(error)
            }
        }
    }

    /// Throws if a handshake reply refuses the connection.
    private static func check(_ reply: RedisValue, of command: [RedisArgument], from endpoint: RedisEndpoint,
        username: String?, role: Role?) throws
    {
        let verb = String(decoding: command[0].bytes, as: UTF8.self)
        if case .error(let message) = reply {
            switch verb {
            case "AUTH":
                throw RedisClientError.server("\(message) (AUTH as user '\(username ?? "default")' at \(endpoint))")
            case "ROLE" where role == .master:
                throw RedisClientError.unavailable("\(endpoint) refused ROLE: \(message)")
            default:
                if message.hasPrefix("NOAUTH") {
                    throw RedisClientError.server("\(message) (\(endpoint) wants a password: put it in REDIS_URL)")
                }
                throw RedisClientError.server(message)
            }
        }
        if verb == "ROLE", role == .master {
            let actual = reply.array?.first?.string ?? "\(reply)"
            guard actual == "master" else {
                throw RedisClientError.unavailable(
                    "\(endpoint), named master by the sentinels, says it is a \(actual): a failover is under way")
            }
        }
    }

    /// A connection-level failure, explained where TLS is the likely cause.
    private static func failure(_ endpoint: RedisEndpoint, _ reason: String, tls: RedisTLS?, serverName: String?,
        closedInHandshake: Bool) -> RedisClientError
    {
        guard let tls else {
            if closedInHandshake {
                return .unavailable(
                    "\(endpoint) closed the connection during the handshake (\(reason)): a TLS port? then use rediss://")
            }
            return .unavailable("\(endpoint): \(reason)")
        }
        let upper = reason.uppercased()
        if upper.contains("CERTIFICATE_VERIFY_FAILED") {
            let roots = tls.caFile.map { "the CA in \($0)" } ?? "the system's trust roots"
            return .unavailable(
                "TLS to \(endpoint): the server's certificate is not signed by \(roots) (set ca_file= or REDIS_TLS_CA_FILE to the CA that signed it)")
        }
        if reason.contains("failedToValidateHostname") {
            return .unavailable(
                "TLS to \(endpoint): the server's certificate does not name \(serverName ?? endpoint.host) (set server_name= or REDIS_TLS_SERVER_NAME to a name it carries)")
        }
        if upper.contains("CERTIFICATE_REQUIRED") || upper.contains("HANDSHAKE_FAILURE") && tls.certificateFile == nil {
            return .unavailable(
                "TLS to \(endpoint): the server wants a client certificate (set cert_file= and key_file=, or REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE)")
        }
        if upper.contains("WRONG_VERSION_NUMBER") || upper.contains("PACKET_LENGTH_TOO_LONG") || upper.contains("HTTP_REQUEST") {
            return .unavailable("TLS to \(endpoint): the server does not speak TLS on this port (use redis://, or its TLS port)")
        }
        if upper.contains("UNKNOWN_CA") || upper.contains("BAD_CERTIFICATE") || upper.contains("CERTIFICATE_UNKNOWN")
            || upper.contains("DECRYPT_ERROR")
        {
            return .unavailable("TLS to \(endpoint): the server refused the client certificate (\(reason))")
        }
        if reason.contains("uncleanShutdown") || closedInHandshake && reason.contains("connection lost") {
            return .unavailable("TLS to \(endpoint): the server closed the connection during the handshake")
        }
        return .unavailable("\(endpoint): \(reason)")
    }

    /// Sends commands down a connection whose pipeline ends in `RedisChannelHandler`.
    static func send(_ commands: [[RedisArgument]], on channel: any Channel) -> EventLoopFuture<[RedisValue]> {
        let promise = channel.eventLoop.makePromise(of: [RedisValue].self)
        channel.writeAndFlush(RedisRequest(commands: commands, promise: promise)).whenFailure { error in
            promise.fail(RedisClientError.connectionClosed("write failed: \(error)"))
        }
        return promise.futureResult
    }

    private static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    private static let contexts = NIOLockedValueBox<[RedisTLS: NIOSSLContext]>([:])

    /// The TLS context for `tls`, built once per process: a file that is missing, unreadable or holds no
    /// certificate (or key) throws a `RedisConfigurationError` naming it.
    static func sslContext(for tls: RedisTLS) throws -> NIOSSLContext {
        if let context = contexts.withLockedValue({ $0[tls] }) { return context }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        if let caFile = tls.caFile {
            configuration.trustRoots = .certificates(
                try certificates(in: caFile, what: "Redis TLS CA file", option: "ca_file or REDIS_TLS_CA_FILE"))
        }
        if let certificateFile = tls.certificateFile, let keyFile = tls.keyFile {
            let chain = try certificates(in: certificateFile, what: "Redis TLS client certificate",
                option: "cert_file or REDIS_TLS_CERT_FILE")
            try readable(keyFile, what: "Redis TLS client key (key_file or REDIS_TLS_KEY_FILE)")
            configuration.certificateChain = chain.map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                throw RedisConfigurationError("Redis TLS client key \(keyFile) holds no PEM private key: \(error)")
            }
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw RedisConfigurationError("Redis TLS settings cannot be used (does the key fit the certificate?): \(error)")
        }
        return contexts.withLockedValue { cache in
            if let existing = cache[tls] { return existing }
            cache[tls] = context
            return context
        }
    }

    /// The PEM certificates in a file that must exist and hold at least one.
    private static func certificates(in path: String, what: String, option: String) throws -> [NIOSSLCertificate] {
        try readable(path, what: "\(what) (\(option))")
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw RedisConfigurationError("\(what) \(path) holds no PEM certificate: \(error)")
        }
        guard !certificates.isEmpty else { throw RedisConfigurationError("\(what) \(path) holds no PEM certificate") }
        return certificates
    }

    private static func readable(_ path: String, what: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RedisConfigurationError("\(what) \(path) does not exist")
        }
        guard !isDirectory.boolValue, FileManager.default.isReadableFile(atPath: path) else {
            throw RedisConfigurationError("\(what) \(path) is not a readable file")
        }
    }
}

/// Completes a promise when the TLS handshake is done (or fails with the handshake's error), then leaves
/// the pipeline.
private final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            promise.succeed(())
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(RedisClientError.connectionClosed("connection lost"))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(RedisClientError.connectionClosed("connection lost"))
    }
}
