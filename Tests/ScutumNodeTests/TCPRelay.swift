import NIOCore
import NIOPosix
import Synchronization

/// A TCP relay in front of a real server (the test Redis) that a test can cut and restore: while
/// cut, every connection it holds is closed and new ones are refused at once, as a server that went
/// away looks to a client. Other tests sharing the server are not affected. While replies are muted,
/// requests still reach the server but what it answers is dropped: a reply lost on the way back.
final class TCPRelay: Sendable {
    struct Cut: Error {}

    private struct State {
        var cut = false
        var muted = false
        var channels: [any Channel] = []
    }

    let port: Int
    private let server: any Channel
    private let state: Mutex<State>

    private init(server: any Channel) {
        self.server = server
        self.port = server.localAddress?.port ?? 0
        self.state = Mutex(State())
    }

    /// Listens on a free port of 127.0.0.1 and relays to `host:port`.
    static func start(to host: String, port: Int) async throws -> TCPRelay {
        let holder = StateHolder()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                guard let relay = holder.relay, !relay.isCut else { return inbound.eventLoop.makeFailedFuture(Cut()) }
                return ClientBootstrap(group: inbound.eventLoop)
                    .channelInitializer { outbound in
                        outbound.eventLoop.makeCompletedFuture {
                            try outbound.pipeline.syncOperations.addHandler(Forward(to: inbound) {
                                holder.relay?.isMuted != true
                            })
                        }
                    }
                    .connect(host: host, port: port)
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(Forward(to: outbound))
                        relay.track(inbound, outbound)
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let relay = TCPRelay(server: server)
        holder.set(relay)
        return relay
    }

    var isCut: Bool { state.withLock { $0.cut } }
    var isMuted: Bool { state.withLock { $0.muted } }

    /// Drops every reply the server sends until `unmute` (requests still go through).
    func mute() {
        state.withLock { $0.muted = true }
    }

    /// Relays replies again.
    func unmute() {
        state.withLock { $0.muted = false }
    }

    /// Closes every relayed connection and refuses new ones until `restore`.
    func cut() {
        let channels = state.withLock { state -> [any Channel] in
            state.cut = true
            defer { state.channels.removeAll() }
            return state.channels
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Relays new connections again.
    func restore() {
        state.withLock { $0.cut = false }
    }

    /// Stops listening and closes every relayed connection.
    func stop() async {
        cut()
        try? await server.close()
    }

    private func track(_ channels: any Channel...) {
        let cut = state.withLock { state -> Bool in
            if !state.cut { state.channels += channels }
            return state.cut
        }
        if cut { for channel in channels { channel.close(promise: nil) } }
    }

    /// Lets the child initializer find the relay, which exists only once the server is bound.
    private final class StateHolder: Sendable {
        private let value = Mutex<TCPRelay?>(nil)
        var relay: TCPRelay? { value.withLock { $0 } }
        func set(_ relay: TCPRelay) { value.withLock { $0 = relay } }
    }

    /// Writes what one side reads to the other, and closes the other when one side closes.
    private final class Forward: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let target: any Channel
        let passes: @Sendable () -> Bool

        init(to target: any Channel, passes: @escaping @Sendable () -> Bool = { true }) {
            self.target = target
            self.passes = passes
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard passes() else { return }
            target.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            target.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
