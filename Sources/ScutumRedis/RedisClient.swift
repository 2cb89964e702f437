import Crypto
import Logging
import ScutumCore
import NIOConcurrencyHelpers
import Foundation
import NIOCore
import NIOPosix
import ServiceLifecycle

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
///
/// With a `redis+cluster://` configuration (`RedisConfiguration.clusterSeeds`) the client speaks Redis
/// Cluster: every command goes to the master owning its keys' hash slot, over a client of this kind
/// per node (see `RedisCluster`); the API is the same.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let slots: [NIOLockedValueBox<Slot>]
    private let counter = NIOLockedValueBox<Int>(0)
    private let isClosed = NIOLockedValueBox(false)
    /// Set in cluster mode: it routes every command; this client's own connections stay unused.
    private let cluster: RedisCluster?

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
        self.cluster = configuration.isCluster
            ? RedisCluster(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger) : nil
    }

    /// Whether this client speaks to a Redis Cluster.
    public var isCluster: Bool { cluster != nil }

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
        if let cluster { return try await cluster.pipeline(commands) }
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

    /// Sends a pipeline holding `EVALSHA`s of `scripts`; where the server had not seen a script
    /// (restarted, flushed, or a cluster node promoted from a replica, which scripts are not copied
    /// to), loads the scripts and sends again only the commands that got `NOSCRIPT`: the others ran,
    /// and a script's effects must not happen twice.
    public func pipeline(_ commands: [[RedisArgument]], loading scripts: [RedisScript]) async throws -> [RedisValue] {
        try await resendingNoScript(commands, replies: try await pipeline(commands), loading: scripts)
    }

    /// `replies` of `commands` with those that were `NOSCRIPT` replaced by the replies of sending
    /// them again after loading `scripts` (at most three times); see `pipeline(_:loading:)`.
    public func resendingNoScript(_ commands: [[RedisArgument]], replies: [RedisValue], loading scripts: [RedisScript])
        async throws -> [RedisValue]
    {
        var replies = replies
        for _ in 0..<3 {
            let missing = replies.indices.filter { RedisScript.isNoScript(replies[$0]) }
            guard !missing.isEmpty else { break }
            _ = try await pipeline(scripts.map { ["SCRIPT", "LOAD", RedisArgument($0.source)] })
            let again = try await pipeline(missing.map { commands[$0] })
            for (index, reply) in zip(missing, again) { replies[index] = reply }
        }
        return replies
    }

    /// `PING`, for readiness.
    public func ping() async throws {
        let reply = try await send(["PING"])
        guard reply.string == "PONG" else { throw RedisClientError.protocolError("unexpected PING reply \(reply)") }
    }

    /// One client per master: the cluster's masters (as the slot map last had them), or this client
    /// for a single server. For what acts on one server's keyspace or connections, not on a key:
    /// `SCAN`, `KEYS`, `DBSIZE`, `CLIENT LIST`/`KILL`.
    public func masters() async throws -> [RedisClient] {
        guard let cluster else { return [self] }
        return try await cluster.masters()
    }

    /// The client of the master owning `key`'s hash slot, or this client for a single server: for what
    /// must reach the node holding a key without naming it (`SCRIPT EXISTS`, `OBJECT`, `MEMORY USAGE`).
    public func client(forKey key: String) async throws -> RedisClient {
        guard let cluster else { return self }
        return try await cluster.client(forKey: key)
    }

    /// Pings every master (the one server outside cluster mode), concurrently: which answered and which
    /// did not, for readiness and metrics.
    public func nodeStatus() async -> [RedisNodeStatus] {
        if let cluster { return await cluster.nodeStatus() }
        let endpoint = RedisEndpoint(host: configuration.host, port: configuration.port)
        do {
            try await ping()
            return [RedisNodeStatus(node: endpoint, slots: [], error: nil)]
        } catch {
            return [RedisNodeStatus(node: endpoint, slots: [], error: error as? RedisClientError ?? .unavailable("\(error)"))]
        }
    }

    /// Reads the cluster's slot map again (nothing outside cluster mode); tests call it after moving
    /// slots behind the client's back when they want no `MOVED`.
    public func refreshSlotMap() async {
        await cluster?.refresh(force: true)
    }

    /// Closes every connection.
    public func close() async {
        await cluster?.close()
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
            throw RedisClientError.unavailable("\(configuration.serverDescription) was unreachable moments ago")
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
            throw RedisClientError.unavailable("\(configuration.serverDescription): \(error)")
        }
    }

    /// Opens one connection through `RedisConnector`: TLS and the handshake as the configuration says,
    /// behind Sentinel to the master the sentinels name now.
    private func connect() -> EventLoopFuture<any Channel> {
        RedisConnector(configuration: configuration, eventLoopGroup: group, logger: logger).connect()
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
