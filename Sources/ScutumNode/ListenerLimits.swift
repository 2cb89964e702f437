import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// What one listener (proxy, Admin API, console) allows its clients, so slow or idle clients cannot
/// hold every file descriptor: at most `maximumConnections` open at once (more are closed as they
/// arrive), a first request head within `headerTimeout` of connecting, and no connection silent
/// longer than `idleTimeout` between requests (Hummingbird's idle timeout: a request being served,
/// a long stream included, is never cut).
public struct ListenerLimits: Sendable {
    public var maximumConnections: Int
    public var headerTimeout: Duration
    public var idleTimeout: Duration

    public init(maximumConnections: Int = 10_000, headerTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(75))
    {
        self.maximumConnections = maximumConnections
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }

    /// An HTTP/1.1 server applying these limits, with `handlers` added to each connection after its
    /// guard; each call counts its own connections.
    public func server(logger: Logger,
        handlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }) -> HTTPServerBuilder
    {
        let counter = ConnectionCounter(maximum: maximumConnections)
        let headerTimeout = TimeAmount(headerTimeout)
        return .http1(configuration: HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionGuard(counter: counter, headerTimeout: headerTimeout, logger: logger)]
                + handlers(),
            idleTimeout: TimeAmount(idleTimeout)))
    }
}

/// Open connections of one listener, against its cap.
final class ConnectionCounter: Sendable {
    let maximum: Int
    private let open = Atomic<Int>(0)

    init(maximum: Int) { self.maximum = maximum }

    var current: Int { open.load(ordering: .relaxed) }

    /// Counts a new connection; false (and not counted) when the listener is full.
    func admit() -> Bool {
        guard open.wrappingAdd(1, ordering: .relaxed).newValue <= maximum else {
            open.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() { open.subtract(1, ordering: .relaxed) }
}

/// Per connection: counts it against the listener's cap (closing it when full) and closes it when
/// no request head arrives within the header timeout of connecting.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let counter: ConnectionCounter
    let headerTimeout: TimeAmount
    let logger: Logger
    private var counted = false
    private var started = false
    private var headTimer: Scheduled<Void>?

    init(counter: ConnectionCounter, headerTimeout: TimeAmount, logger: Logger) {
        self.counter = counter
        self.headerTimeout = headerTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard counter.admit() else {
            logger.debug("connection refused: the listener is full", metadata: ["limit": "\(counter.maximum)"])
            context.close(promise: nil)
            return
        }
        counted = true
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        headTimer = context.eventLoop.scheduleTask(in: headerTimeout) {
            loopBound.value.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if headTimer != nil, case .head = unwrapInboundIn(data) {
            headTimer?.cancel()
            headTimer = nil
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    private func finish() {
        headTimer?.cancel()
        headTimer = nil
        if counted {
            counted = false
            counter.release()
        }
    }
}
