import Crypto
import Logging
import ScutumCore
import NIOConcurrencyHelpers
import Foundation
import NIOCore
import NIOPosix
import ServiceLifecycle

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

/// A Lua script run with EVALSHA, falling back to EVAL when the server has not seen it.
public struct RedisScript: Sendable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = Hex.lowercase(Insecure.SHA1.hash(data: Array(source.utf8)))
    }
}

/// A Redis client that never blocks an event loop: commands are written to NIO channels and
/// pipelined, replies parsed by hiredis's reader on the channel's own loop.
///
/// Connections are opened lazily and reopened after a failure, with a short back-off during which
/// calls fail at once, so a dead Redis costs callers microseconds, not timeouts.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let slots: [NIOLockedValueBox<Slot>]
    private let counter = NIOLockedValueBox<Int>(0)
    private let isClosed = NIOLockedValueBox(false)

    private enum Slot {
        case idle(retryAfter: NIODeadline)
        case connecting(EventLoopFuture<any Channel>)
        case connected(any Channel)
    }

    public init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "scutum.redis"))
    {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = logger
        self.slots = (0..<configuration.connectionCount).map { _ in NIOLockedValueBox(.idle(retryAfter: .uptimeNanoseconds(0))) }
    }

    /// Sends one command and returns its reply; an error reply throws `RedisClientError.server`.
    @discardableResult
    public func send(_ command: [RedisArgument]) async throws -> RedisValue {
        let replies = try await pipeline([command])
        if case .error(let message) = replies[0] { throw RedisClientError.server(message) }
        return replies[0]
    }

    /// Sends several commands in one write and returns their replies in order (error replies included).
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        let channel = try await connection()
        let promise = channel.eventLoop.makePromise(of: [RedisValue].self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            promise.fail(RedisClientError.connectionClosed("write failed: \(error)"))
        }
        channel.writeAndFlush(RedisRequest(commands: commands, promise: promise), promise: written)
        return try await promise.futureResult.get()
    }

    /// Runs a script by its SHA-1, loading it on the server first if it has never seen it.
    public func eval(_ script: RedisScript, keys: [String], arguments: [RedisArgument]) async throws -> RedisValue {
        let tail = keys.map { RedisArgument($0) } + arguments
        let reply = try await pipeline([["EVALSHA", RedisArgument(script.sha1), RedisArgument(keys.count)] + tail])[0]
        if case .error(let message) = reply {
            guard message.hasPrefix("NOSCRIPT") else { throw RedisClientError.server(message) }
            return try await send(["EVAL", RedisArgument(script.source), RedisArgument(keys.count)] + tail)
        }
        return reply
    }

    /// `PING`, for readiness.
    public func ping() async throws {
        let reply = try await send(["PING"])
        guard reply.string == "PONG" else { throw RedisClientError.protocolError("unexpected PING reply \(reply)") }
    }

    /// Closes every connection.
    public func close() async {
        isClosed.withLockedValue { $0 = true }
        for slot in slots {
            let channel: (any Channel)? = slot.withLockedValue { state in
                defer { state = .idle(retryAfter: .uptimeNanoseconds(0)) }
                if case .connected(let channel) = state { return channel }
                return nil
            }
            try? await channel?.close()
        }
    }

    private func connection() async throws -> any Channel {
        if isClosed.withLockedValue({ $0 }) { throw RedisClientError.connectionClosed("the client is closed") }
        let index = counter.withLockedValue { value in
            value = (value &+ 1) % slots.count
            return value
        }
        let slot = slots[index]
        enum Next {
            case use(any Channel)
            case wait(EventLoopFuture<any Channel>)
            case started(EventLoopFuture<any Channel>)
            case backingOff
        }
        let next: Next = slot.withLockedValue { state in
            switch state {
            case .connected(let channel) where channel.isActive:
                return .use(channel)
            case .connecting(let future):
                return .wait(future)
            case .idle(let retryAfter) where retryAfter > .now():
                return .backingOff
            default:
                let future = self.connect()
                state = .connecting(future)
                return .started(future)
            }
        }
        let future: EventLoopFuture<any Channel>
        switch next {
        case .use(let channel):
            return channel
        case .backingOff:
            throw RedisClientError.unavailable("\(configuration.host):\(configuration.port) was unreachable moments ago")
        case .wait(let pending):
            future = pending
        case .started(let started):
            // Registered outside the lock: a completed future runs its callback inline.
            let backoff = configuration.reconnectBackoff
            started.whenComplete { result in
                switch result {
                case .success(let channel):
                    slot.withLockedValue { $0 = .connected(channel) }
                    channel.closeFuture.whenComplete { _ in
                        slot.withLockedValue { state in
                            if case .connected(let current) = state, current === channel {
                                state = .idle(retryAfter: .uptimeNanoseconds(0))
                            }
                        }
                    }
                case .failure:
                    slot.withLockedValue { $0 = .idle(retryAfter: .now() + backoff) }
                }
            }
            future = started
        }
        do {
            return try await future.get()
        } catch let error as RedisClientError {
            throw error
        } catch {
            throw RedisClientError.unavailable("\(configuration.host):\(configuration.port): \(error)")
        }
    }

    private func connect() -> EventLoopFuture<any Channel> {
        let timeout = configuration.commandTimeout
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(commandTimeout: timeout))
                }
            }
        let configuration = self.configuration
        let logger = self.logger
        return bootstrap.connect(host: configuration.host, port: configuration.port).flatMap { channel in
            var setup: [[RedisArgument]] = []
            if let password = configuration.password { setup.append(["AUTH", RedisArgument(password)]) }
            if configuration.database != 0 { setup.append(["SELECT", RedisArgument(configuration.database)]) }
            guard !setup.isEmpty else { return channel.eventLoop.makeSucceededFuture(channel) }
            let promise = channel.eventLoop.makePromise(of: [RedisValue].self)
            channel.writeAndFlush(RedisRequest(commands: setup, promise: promise), promise: nil)
            return promise.futureResult.flatMapThrowing { replies in
                for reply in replies {
                    if case .error(let message) = reply {
                        channel.close(promise: nil)
                        throw RedisClientError.server(message)
                    }
                }
                return channel
            }
        }.map { channel in
            logger.debug("redis connected", metadata: ["redis.host": "\(configuration.host):\(configuration.port)"])
            return channel
        }
    }
}

/// Closes the client's connections when the service group shuts down.
public struct RedisService: Service {
    public let client: RedisClient

    public init(client: RedisClient) { self.client = client }

    public func run() async throws {
        try? await gracefulShutdown()
        await client.close()
    }
}
