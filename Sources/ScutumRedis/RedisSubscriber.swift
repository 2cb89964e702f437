import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A connection subscribed to Redis channels, delivering what is published on them as `events`.
///
/// Runs as a `Service` (call `run()` once): connects (in cluster mode to the first seed node that
/// answers: classic pub/sub is cluster-wide), authenticates with the configuration's password
/// and database, names itself (`CLIENT SETNAME`) and `SUBSCRIBE`s. When the connection is lost (Redis
/// restarted, the client killed) it reconnects with doubling back-off and subscribes again. Messages
/// published while no connection was subscribed are lost, so each subscription is announced with a
/// `.subscribed` event: a consumer keeping state re-reads it there. `events` finishes when `run()`
/// returns (graceful shutdown or cancellation).
public final class RedisSubscriber: Service, Sendable {
    /// What the subscriber delivers, in order.
    public enum Event: Sendable, Equatable {
        /// Every channel is subscribed on a new connection (the first one, or after a reconnect).
        case subscribed
        /// A message published on one of the channels.
        case message(channel: String, payload: [UInt8])
    }

    public let configuration: RedisConfiguration
    public let channels: [String]
    /// The connection's name in `CLIENT LIST`.
    public let name: String?
    /// The first wait after a failed connection; it doubles up to `maximumBackoff`, and starts over
    /// once a connection has subscribed.
    public let initialBackoff: Duration
    public let maximumBackoff: Duration
    /// Single consumer.
    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let group: any EventLoopGroup
    private let logger: Logger

    public init(configuration: RedisConfiguration, channels: [String], name: String? = nil,
        initialBackoff: Duration = .milliseconds(100), maximumBackoff: Duration = .seconds(5),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "scutum.redis.subscriber"))
    {
        precondition(!channels.isEmpty, "a subscriber needs at least one channel")
        self.configuration = configuration
        self.channels = channels
        self.name = name
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.group = eventLoopGroup
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
    }

    public func run() async throws {
        defer { continuation.finish() }
        await cancelWhenGracefulShutdown {
            await self.subscribeUntilCancelled()
        }
    }

    private func subscribeUntilCancelled() async {
        var delay = initialBackoff
        while !Task.isCancelled {
            let outcome = await session()
            if Task.isCancelled { return }
            if outcome.subscribed { delay = initialBackoff }
            logger.warning("redis subscription lost; reconnecting", metadata: [
                "redis.channels": "\(channels.joined(separator: ","))", "error": "\(outcome.error.map { "\($0)" } ?? "closed")",
                "retry_in": "\(delay)",
            ])
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, maximumBackoff)
        }
    }

    /// One connection, from connect until it closes: whether it got subscribed, and why it ended.
    private func session() async -> (subscribed: Bool, error: (any Error)?) {
        var subscribed = false
        do {
            let connection = try await connect()
            // A server that accepts the connection but never answers is given up on like a dead one.
            let deadline = connection.channel.eventLoop.scheduleTask(
                in: configuration.connectTimeout + configuration.commandTimeout
            ) { [channel = connection.channel] in channel.close(promise: nil) }
            try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(setupCommands(allocator: connection.channel.allocator))
                var confirmed = 0
                for try await value in inbound {
                    switch value {
                    case .error(let message):
                        throw RedisClientError.server(message)
                    case .array(let parts):
                        switch parts.first?.string {
                        case "subscribe":
                            confirmed += 1
                            if confirmed == channels.count {
                                deadline.cancel()
                                subscribed = true
                                logger.debug("redis subscribed", metadata: ["redis.channels": "\(channels.joined(separator: ","))"])
                                continuation.yield(.subscribed)
                            }
                        case "message" where parts.count == 3:
                            guard let channel = parts[1].string, case .bulkString(let payload) = parts[2] else { continue }
                            continuation.yield(.message(channel: channel, payload: payload))
                        default:
                            continue
                        }
                    default:
                        // The setup commands' +OK.
                        continue
                    }
                }
            }
            deadline.cancel()
            return (subscribed, nil)
        } catch {
            return (subscribed, error)
        }
    }

    /// Connects to the server, or in cluster mode to the first seed node that answers (`PUBLISH` reaches
    /// every node of a Redis Cluster, so any node will do).
    private func connect() async throws -> NIOAsyncChannel<RedisValue, ByteBuffer> {
        var lastError: (any Error)?
        for endpoint in configuration.endpoints {
            do {
                return try await connect(host: endpoint.host, port: endpoint.port)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? RedisClientError.unavailable("no Redis node to subscribe on")
    }

    private func connect(host: String, port: Int) async throws -> NIOAsyncChannel<RedisValue, ByteBuffer> {
        try await ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisReplyDecoder())
                    return try NIOAsyncChannel<RedisValue, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// AUTH and SELECT as the configuration says, CLIENT SETNAME, then SUBSCRIBE, in one write.
    /// (Channels are server-wide; the database only has to exist.)
    private func setupCommands(allocator: ByteBufferAllocator) -> ByteBuffer {
        var commands: [[RedisArgument]] = []
        if let password = configuration.password { commands.append(["AUTH", RedisArgument(password)]) }
        if configuration.database != 0 { commands.append(["SELECT", RedisArgument(configuration.database)]) }
        if let name { commands.append(["CLIENT", "SETNAME", RedisArgument(name)]) }
        commands.append(["SUBSCRIBE"] + channels.map { RedisArgument($0) })
        var buffer = allocator.buffer(capacity: 128)
        for command in commands { RedisChannelHandler.encode(command, into: &buffer) }
        return buffer
    }
}
