import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What a lane call reports, always on the event loop it was sent from.
public protocol LaneResponseHandler: AnyObject {
    /// The response head (any status).
    func laneResponseHead(_ head: HTTPResponseHead)
    /// Part of the response body, as read from the socket.
    func laneResponseBody(_ bytes: ByteBuffer)
    /// The response is complete.
    func laneResponseEnd()
    /// The call failed: no connection, a timeout, or the connection lost. `receivedHead` tells
    /// whether the head had already been reported.
    func laneFailed(_ error: ProviderError, receivedHead: Bool)
}

/// The direct lane's HTTP/1.1 client: keep-alive connections to providers, one pool per event loop,
/// so a request read on a loop is sent, answered and relayed on that loop without a thread hop, a
/// task or a lock. `http://` and `https://` origins; TLS (NIOSSL, on the same loop) verifies the
/// provider's certificate against the system's trust store (or `tls`'s roots) and its name, and offers
/// only HTTP/1.1 by ALPN.
///
/// There is no per-host connection cap: a request that finds no idle connection opens one, so a
/// fleet's streams to one provider never queue behind each other. Idle connections are kept (up to
/// `maximumIdlePerOrigin` per loop and origin) for `idleTimeout`.
public final class UpstreamLanes: Sendable {
    private let pools: [(loop: any EventLoop, pool: NIOLoopBoundBox<LanePool>)]
    /// TLS for `https://` origins; nil when it could not be set up (then those go to `UpstreamHTTP`).
    private let tls: NIOSSLContext?

    /// - Parameter tls: the client TLS configuration (default: the system's trust roots, full
    ///   verification); ALPN is set to HTTP/1.1.
    public init(group: MultiThreadedEventLoopGroup = .singleton, timeouts: UpstreamTimeouts = .init(),
        tls: TLSConfiguration = .makeClientConfiguration(), maximumIdlePerOrigin: Int = 512,
        idleTimeout: TimeAmount = .seconds(50))
    {
        var configuration = tls
        configuration.applicationProtocols = ["http/1.1"]
        let context = try? NIOSSLContext(configuration: configuration)
        self.tls = context
        pools = group.makeIterator().map { loop in
            (loop, NIOLoopBoundBox.makeBoxSendingValue(LanePool(loop: loop, timeouts: timeouts, tls: context,
                maximumIdlePerOrigin: maximumIdlePerOrigin, idleTimeout: idleTimeout), eventLoop: loop))
        }
    }

    /// Whether the lane can send `request` (an `https://` one needs TLS set up).
    public func supports(_ request: LaneRequest) -> Bool {
        !request.tls || tls != nil
    }

    /// The pool of the event loop the caller is running on; nil when it runs on none of the group's.
    public func currentPool() -> LanePool? {
        for entry in pools where entry.loop.inEventLoop { return entry.pool.value }
        return nil
    }

    /// Closes every idle connection (in-flight calls finish).
    public func shutdown() {
        for entry in pools {
            let pool = entry.pool
            entry.loop.execute { pool.value.closeIdle() }
        }
    }
}

/// One event loop's connections. Used only on that loop.
public final class LanePool {
    let loop: any EventLoop
    let timeouts: UpstreamTimeouts
    let tls: NIOSSLContext?
    let maximumIdlePerOrigin: Int
    let idleTimeout: TimeAmount
    private var idle: [String: [LaneConnection]] = [:]
    private var sweeper: Scheduled<Void>?

    init(loop: any EventLoop, timeouts: UpstreamTimeouts, tls: NIOSSLContext?, maximumIdlePerOrigin: Int,
        idleTimeout: TimeAmount)
    {
        self.loop = loop
        self.timeouts = timeouts
        self.tls = tls
        self.maximumIdlePerOrigin = maximumIdlePerOrigin
        self.idleTimeout = idleTimeout
    }

    /// Sends `request`; `handler` hears of its response on this loop. The call can be cancelled
    /// (its connection closed) through the returned handle.
    @discardableResult
    public func send(_ request: LaneRequest, to handler: any LaneResponseHandler) -> LaneCall {
        let call = LaneCall(request: request, handler: handler)
        start(call, mayRetry: true)
        return call
    }

    func start(_ call: LaneCall, mayRetry: Bool) {
        if let connection = takeIdle(call.request.origin) {
            connection.begin(call, reused: mayRetry)
            return
        }
        let origin = call.request.origin
        let tlsHandler: NIOSSLClientHandler?
        if call.request.tls {
            guard let tls else {
                call.fail(ProviderError(.connection, "TLS is not available for the direct lane"))
                return
            }
            do {
                // No SNI for an IP address (the certificate must then name the address).
                let name = call.request.host
                let isAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
                tlsHandler = try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : name)
            } catch {
                call.fail(ProviderError(.connection, "TLS could not be set up for \(call.request.host): \(error)"))
                return
            }
        } else {
            tlsHandler = nil
        }
        let tlsBox = NIOLoopBound(tlsHandler, eventLoop: loop)
        ClientBootstrap(group: loop)
            .connectTimeout(timeouts.connect)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let handler = tlsBox.value { try channel.pipeline.syncOperations.addHandler(handler) }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(LaneConnection(origin: origin))
                }
            }
            .connect(host: call.request.host, port: call.request.port)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard let connection = try? channel.pipeline.syncOperations.handler(type: LaneConnection.self) else {
                        channel.close(promise: nil)
                        call.fail(ProviderError(.connection, "the provider connection could not be set up"))
                        return
                    }
                    connection.pool = self
                    connection.begin(call, reused: false)
                case .failure(let error):
                    call.fail(Self.connectError(error))
                }
            }
    }

    static func connectError(_ error: any Error) -> ProviderError {
        if case ChannelError.connectTimeout = error {
            return ProviderError(.timeout, "could not connect within the connect timeout")
        }
        return ProviderError(.connection, "could not connect to the provider: \(error)")
    }

    private func takeIdle(_ origin: String) -> LaneConnection? {
        while var list = idle[origin], let connection = list.popLast() {
            idle[origin] = list.isEmpty ? nil : list
            if connection.isUsable { return connection }
        }
        return nil
    }

    /// A connection whose response ended with keep-alive: kept for the next call, or closed.
    func release(_ connection: LaneConnection) {
        var list = idle[connection.origin] ?? []
        guard list.count < maximumIdlePerOrigin else {
            connection.close()
            return
        }
        connection.idleSince = .now()
        list.append(connection)
        idle[connection.origin] = list
        if sweeper == nil { armSweeper() }
    }

    /// Closes connections idle for longer than `idleTimeout` (before the provider does).
    private func armSweeper() {
        sweeper = loop.assumeIsolated().scheduleTask(in: idleTimeout) { [weak self] in self?.sweep() }
    }

    private func sweep() {
        sweeper = nil
        defer { if !idle.isEmpty { armSweeper() } }
        let cutoff = NIODeadline.now() - idleTimeout
        for (origin, list) in idle {
            let (stale, fresh) = (list.filter { $0.idleSince < cutoff }, list.filter { $0.idleSince >= cutoff })
            for connection in stale { connection.close() }
            idle[origin] = fresh.isEmpty ? nil : fresh
        }
    }

    func closeIdle() {
        for list in idle.values { for connection in list { connection.close() } }
        idle = [:]
        sweeper?.cancel()
        sweeper = nil
    }
}

/// One call in flight: what is sent, and who hears of it.
public final class LaneCall {
    let request: LaneRequest
    private(set) var handler: (any LaneResponseHandler)?
    var connection: LaneConnection?
    var receivedHead = false

    init(request: LaneRequest, handler: any LaneResponseHandler) {
        self.request = request
        self.handler = handler
    }

    /// Stops the call: its connection is closed and its handler hears nothing more.
    public func cancel() {
        handler = nil
        connection?.close()
    }

    func fail(_ error: ProviderError) {
        let handler = self.handler
        self.handler = nil
        handler?.laneFailed(error, receivedHead: receivedHead)
    }

    func end() {
        let handler = self.handler
        self.handler = nil
        handler?.laneResponseEnd()
    }
}

/// One keep-alive connection to a provider origin.
final class LaneConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// Set once connected (pools live as long as the process).
    weak var pool: LanePool?
    let origin: String
    var idleSince = NIODeadline.now()
    private var context: ChannelHandlerContext?
    private var call: LaneCall?
    /// Retry once on a new connection when a reused one fails before answering (the provider closed
    /// it while it sat idle).
    private var mayRetry = false
    private var keepAlive = true
    private var deadline = NIODeadline.distantFuture
    private var timer: Scheduled<Void>?
    /// What closed the connection, when it was an error (a TLS failure, a reset).
    private var lastError: (any Error)?

    init(origin: String) {
        self.origin = origin
    }

    var isUsable: Bool { context?.channel.isActive ?? false }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func begin(_ call: LaneCall, reused: Bool) {
        guard let context, let pool else {
            call.fail(ProviderError(.connection, "the provider connection closed"))
            return
        }
        self.call = call
        call.connection = self
        mayRetry = reused
        keepAlive = true
        context.write(wrapOutboundOut(.head(call.request.head())), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(call.request.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        arm(.now() + (call.request.headTimeout ?? pool.timeouts.responseHead))
    }

    private var idleTimeout: TimeAmount { pool?.timeouts.idle ?? .seconds(120) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let call else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            mayRetry = false
            keepAlive = head.isKeepAlive
            call.receivedHead = true
            deadline = .now() + idleTimeout
            call.handler?.laneResponseHead(head)
        case .body(let bytes):
            deadline = .now() + idleTimeout
            call.handler?.laneResponseBody(bytes)
        case .end:
            self.call = nil
            call.connection = nil
            timer?.cancel()
            timer = nil
            if keepAlive && context.channel.isActive, let pool {
                pool.release(self)
            } else {
                context.close(promise: nil)
            }
            call.end()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        guard let call else { return }
        self.call = nil
        call.connection = nil
        if mayRetry && call.handler != nil, let pool {
            pool.start(call, mayRetry: false)
        } else {
            call.fail(ProviderError(.connection,
                lastError.map { "the provider connection failed: \($0)" } ?? "the provider closed the connection"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if lastError == nil { lastError = error }
        context.close(promise: nil)
    }

    func close() {
        context?.close(promise: nil)
    }

    /// Times the call out at `deadline` (pushed back by each read).
    private func arm(_ at: NIODeadline) {
        deadline = at
        guard timer == nil, let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [weak self] in self?.expire() }
    }

    private func expire() {
        timer = nil
        guard let call, let context else { return }
        if NIODeadline.now() < deadline {
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in self?.expire() }
            return
        }
        self.call = nil
        call.connection = nil
        context.close(promise: nil)
        call.fail(call.receivedHead
            ? ProviderError(.timeout, "the response stalled longer than the idle timeout")
            : ProviderError(.timeout, "no response within the response timeout"))
    }
}
