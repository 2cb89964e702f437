import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Keeps a node's `BreakerBoard` (the one `health` holds) in step with the cluster: applies every
/// breaker change published on `health.channel`, and reconciles with Redis right after each
/// (re)subscription and every `reconcileInterval`. While Redis is away the board keeps what it
/// last knew, plus this node's own results.
public struct BreakerSync: Service {
    public let health: ProviderHealth
    public let subscriber: RedisSubscriber
    public let reconcileInterval: Duration
    private let logger: Logger

    /// - Parameter configuration: the Redis of `health.redis`; the subscriber has its own connection.
    public init(health: ProviderHealth, configuration: RedisConfiguration, reconcileInterval: Duration = .seconds(1),
        name: String? = "scutum-breakers", eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger)
    {
        self.health = health
        self.subscriber = RedisSubscriber(configuration: configuration, channels: [health.channel], name: name,
            eventLoopGroup: eventLoopGroup, logger: logger)
        self.reconcileInterval = reconcileInterval
        self.logger = logger
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await subscriber.run() }
            group.addTask {
                // Ends when the subscriber stops.
                for await event in subscriber.events {
                    switch event {
                    case .subscribed:
                        await reconcile()
                    case .message(_, let payload):
                        guard let message = BreakerMessage(payload: payload) else {
                            logger.warning("ignoring a malformed breaker message",
                                metadata: ["payload": "\(String(decoding: payload, as: UTF8.self))"])
                            continue
                        }
                        health.board.apply(message)
                    }
                }
            }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: reconcileInterval)
                        if Task.isCancelled { return }
                        await reconcile()
                    }
                }
            }
        }
    }

    private func reconcile() async {
        do {
            try await health.reconcile()
        } catch {
            logger.debug("breaker reconcile failed; keeping what the board knows", metadata: ["error": "\(error)"])
        }
    }
}
