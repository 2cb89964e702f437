import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A connection subscribed to Redis channels, delivering what is published on them as `events`.
///
/// Runs as a `Service` (call `run()` once): connects through `RedisConnector` (TLS, authentication and
/// database as the configuration says; behind Sentinel, to the current master; in cluster mode to the
/// first seed node that answers: classic pub/sub is cluster-wide), names itself
/// (`CLIENT SETNAME`) and `SUBSCRIBE`s. When the connection is lost (Redis
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
            // A server that never confirms the subscription is given up on like a dead one.
            let deadline = connection.channel.eventLoop.scheduleTask(in: configuration.commandTimeout) {
                [channel = connection.channel] in channel.close(promise: nil)
            }
            try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(subscribeCommand(allocator: connection.channel.allocator))
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

    /// A connection opened by `RedisConnector` (TLS, AUTH, SELECT, CLIENT SETNAME done; behind Sentinel,
    /// to the master; in cluster mode to the first seed node that answers, as `PUBLISH` reaches every
    /// node of a Redis Cluster), turned from request/reply into a stream of pushed values.
    private func connect() async throws -> NIOAsyncChannel<RedisValue, ByteBuffer> {
        let connector = RedisConnector(configuration: configuration, eventLoopGroup: group, logger: logger)
        let channel: any Channel
        if configuration.isCluster {
            var opened: (any Channel)?
            var lastError: (any Error)?
            for endpoint in configuration.clusterSeeds where opened == nil {
                do {
                    opened = try await connector.connect(to: endpoint, clientName: name).get()
                } catch {
                    lastError = error
                }
            }
            guard let opened else { throw lastError ?? RedisClientError.unavailable("no Redis node to subscribe on") }
            channel = opened
        } else {
            channel = try await connector.connect(clientName: name).get()
        }
        do {
            return try await channel.eventLoop.submit {
                let operations = channel.pipeline.syncOperations
                operations.removeHandler(try operations.handler(type: RedisChannelHandler.self), promise: nil)
                try operations.addHandler(RedisReplyDecoder())
                return try NIOAsyncChannel<RedisValue, ByteBuffer>(wrappingChannelSynchronously: channel)
            }.get()
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// `SUBSCRIBE` to every channel.
    private func subscribeCommand(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 128)
        RedisChannelHandler.encode(["SUBSCRIBE"] + channels.map { RedisArgument($0) }, into: &buffer)
        return buffer
    }
}
