import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Moves connections off a replaced master as soon as a sentinel announces the switch.
///
/// After a failover the old master keeps accepting writes until the sentinels reconfigure it as a
/// replica (their next look at it, up to ten seconds later), and those writes are lost. So while
/// connections to a master found through Sentinel are open, the process subscribes to `+switch-master`
/// on every sentinel (one `RedisSubscriber` each) and, when the master it uses is replaced, closes
/// those connections: the next command reconnects, to the new master. The subscriptions end when the
/// last such connection closes. One watch per set of sentinels, shared by the process's clients.
final class SentinelWatch: Sendable {
    private struct Key: Hashable {
        var sentinel: RedisSentinel
        var tls: RedisTLS?
    }

    private static let watches = NIOLockedValueBox<[Key: SentinelWatch]>([:])

    private struct State {
        var channels: [ObjectIdentifier: (master: RedisEndpoint, channel: any Channel)] = [:]
        var task: Task<Void, Never>?
    }

    private let key: Key
    private let state = NIOLockedValueBox(State())

    private init(key: Key) {
        self.key = key
    }

    /// Watches `channel`, a connection to `master`, until it closes.
    static func register(_ channel: any Channel, master: RedisEndpoint, configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup, logger: Logger)
    {
        guard let sentinel = configuration.sentinel else { return }
        let key = Key(sentinel: sentinel, tls: configuration.tls)
        let id = ObjectIdentifier(channel)
        watches.withLockedValue { watches in
            let watch = watches[key] ?? SentinelWatch(key: key)
            watches[key] = watch
            watch.state.withLockedValue { state in
                state.channels[id] = (master, channel)
                if state.task == nil {
                    state.task = Task { await watch.watch(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger) }
                }
            }
        }
        channel.closeFuture.whenComplete { _ in
            let task: Task<Void, Never>? = watches.withLockedValue { watches in
                guard let watch = watches[key] else { return nil }
                return watch.state.withLockedValue { state in
                    state.channels[id] = nil
                    guard state.channels.isEmpty else { return nil }
                    watches[key] = nil
                    defer { state.task = nil }
                    return state.task
                }
            }
            task?.cancel()
        }
    }

    /// Subscribes to `+switch-master` on every sentinel until cancelled.
    private func watch(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) async {
        let sentinel = key.sentinel
        await withTaskGroup(of: Void.self) { group in
            for endpoint in sentinel.endpoints {
                var direct = RedisConfiguration(host: endpoint.host, port: endpoint.port, password: sentinel.password,
                    connectionCount: 1, commandTimeout: configuration.commandTimeout, connectTimeout: configuration.connectTimeout)
                direct.username = sentinel.username
                direct.tls = configuration.tls
                let subscriber = RedisSubscriber(configuration: direct, channels: ["+switch-master"],
                    initialBackoff: .milliseconds(200), maximumBackoff: .seconds(5), eventLoopGroup: eventLoopGroup,
                    logger: logger)
                group.addTask { try? await subscriber.run() }
                group.addTask {
                    for await event in subscriber.events {
                        guard case .message(_, let payload) = event else { continue }
                        self.switched(String(decoding: payload, as: UTF8.self), logger: logger)
                    }
                }
            }
        }
    }

    /// `<master-name> <old-ip> <old-port> <new-ip> <new-port>`: closes the connections to any other master.
    private func switched(_ message: String, logger: Logger) {
        let parts = message.split(separator: " ")
        guard parts.count == 5, parts[0] == key.sentinel.masterName, let port = Int(parts[4]) else { return }
        let master = RedisEndpoint(host: String(parts[3]), port: port)
        let stale = state.withLockedValue { state in state.channels.values.filter { $0.master != master }.map(\.channel) }
        logger.notice("sentinel switched the master; reconnecting", metadata: [
            "redis.master_name": "\(key.sentinel.masterName)", "redis.master": "\(master)", "redis.connections": "\(stale.count)",
        ])
        for channel in stale { channel.close(promise: nil) }
    }
}
