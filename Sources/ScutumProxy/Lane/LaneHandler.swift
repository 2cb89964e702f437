import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import ScutumCore
import Synchronization

/// Per proxy connection, between Hummingbird's connection state handler and its request handling:
/// collects each request the direct lane accepts (`DirectLane.accepts`) and has the lane serve it;
/// everything else, and every request the lane declines, goes on to the router unchanged. Answers
/// leave in request order: a request that arrives while another is being answered waits its turn.
final class LaneHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case idle
        /// A request for the lane, its body being read.
        case collecting(HTTPRequest, ByteBuffer, ContinuousClock.Instant)
        /// A request on its way to the router, part by part.
        case passing
        /// The lane is answering a request.
        case serving
    }

    let lane: DirectLane
    let eventLoop: any EventLoop
    private var state = State.idle
    private var context: ChannelHandlerContext?
    /// Requests handed to the router whose response has not ended yet.
    private var atRouter = 0
    /// Parts that arrived while a request was being answered.
    private var waiting = CircularBuffer<HTTPRequestPart>()
    /// A read held back while parts wait (a client pipelining during a long stream is not read on
    /// into memory); issued when they have been handled.
    private var heldRead = false
    /// The exchange answering the request being served, told when the client goes.
    weak var observer: (any LaneClientObserver)?

    init(lane: DirectLane, eventLoop: any EventLoop) {
        self.lane = lane
        self.eventLoop = eventLoop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Hummingbird's connection state handler, before this one, does not pass channelInactive on.
        // (The closure holds the handler until the connection closes.)
        context.channel.closeFuture.assumeIsolated().whenComplete { _ in self.clientClosed() }
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    private func clientClosed() {
        guard case .serving = state else { return }
        let observer = self.observer
        self.observer = nil
        observer?.clientLeft()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handle(unwrapInboundIn(data), context: context)
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.serving, _):
            waiting.append(part)
        case (.idle, .head(let head)):
            if atRouter == 0 && lane.accepts(head) {
                state = .collecting(head, ByteBuffer(), .now)
            } else {
                state = .passing
                toRouter(.head(head), context: context)
            }
        case (.collecting(let head, var body, let arrived), .body(var bytes)):
            if body.readableBytes + bytes.readableBytes > lane.maximumBodyBytes {
                // The router answers 413 (reading no more than its limit).
                state = .passing
                toRouter(.head(head), context: context)
                if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
                context.fireChannelRead(wrapInboundOut(.body(bytes)))
            } else {
                state = .idle  // drops the state's reference, so the append does not copy
                body.writeBuffer(&bytes)
                state = .collecting(head, body, arrived)
            }
        case (.collecting(let head, let body, let arrived), .end):
            state = .serving
            if !lane.serve(head, body: body, arrived: arrived, responder: self) {
                state = .idle
                toRouter(.head(head), context: context)
                if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
                context.fireChannelRead(wrapInboundOut(.end(nil)))
                context.fireChannelReadComplete()
            }
        case (.collecting(let head, let body, let arrived), .head):
            state = .collecting(head, body, arrived)  // cannot happen: the decoder ends a request first
        case (.passing, .end):
            state = .idle
            context.fireChannelRead(wrapInboundOut(part))
        case (.passing, _), (.idle, _):
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private func toRouter(_ head: HTTPRequestPart, context: ChannelHandlerContext) {
        atRouter += 1
        context.fireChannelRead(wrapInboundOut(head))
    }

    func read(context: ChannelHandlerContext) {
        if waiting.isEmpty {
            context.read()
        } else {
            heldRead = true
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        if case .end = unwrapOutboundIn(data) {
            atRouter -= 1
            if atRouter == 0 { resume(context: context) }
        }
    }

    /// Handles what waited, until a request has to wait again.
    private func resume(context: ChannelHandlerContext) {
        var handled = false
        while !waiting.isEmpty {
            if case .serving = state { break }
            handle(waiting.removeFirst(), context: context)
            handled = true
        }
        if handled { context.fireChannelReadComplete() }
        if waiting.isEmpty && heldRead {
            heldRead = false
            context.read()
        }
    }

    // MARK: answering

    /// Writes the lane's answer to the request being served, then serves what waited.
    func respond(status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer, requestID: String) {
        var fields = headers
        fields[.contentLength] = String(body.readableBytes)
        guard startResponse(status: status, headers: fields, requestID: requestID, flush: false), let context else {
            return
        }
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        endResponse()
    }

    /// Writes the head of the answer to the request being served (its body follows with
    /// `writeBody`, its end with `endResponse`); false when that request is no longer being served.
    @discardableResult
    func startResponse(status: HTTPResponse.Status, headers: HTTPFields, requestID: String, flush: Bool = true) -> Bool {
        guard case .serving = state, let context else { return false }
        var fields = headers
        fields[RequestIDMiddleware.field] = requestID
        fields[.date] = HTTPDate.now()
        fields[.server] = "scutum"
        let head = wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields)))
        if flush { context.writeAndFlush(head, promise: nil) } else { context.write(head, promise: nil) }
        return true
    }

    /// Writes part of the answer's body, at once.
    func writeBody(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>? = nil) {
        guard case .serving = state, let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.writeAndFlush(wrapOutboundOut(.body(bytes)), promise: promise)
    }

    /// Ends the answer, then serves what waited.
    func endResponse() {
        guard case .serving = state, let context else { return }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        state = .idle
        observer = nil
        resume(context: context)
    }

    /// Writes an error in OpenAI's JSON as the answer.
    func respond(error: GatewayError, requestID: String) {
        var headers: HTTPFields = [.contentType: "application/json"]
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        respond(status: HTTPResponse.Status(code: error.status), headers: headers,
            body: ByteBuffer(bytes: error.jsonData()), requestID: requestID)
    }
}

/// An exchange that wants to know when the client of the request it answers goes away.
protocol LaneClientObserver: AnyObject {
    func clientLeft()
}

/// Writes a response body the pipeline produces in a task (a stream relayed after the lane's first
/// call failed) through the lane's connection, each write awaited on its event loop.
struct LaneBodyWriter: ResponseBodyWriter {
    let handler: NIOLoopBound<LaneHandler>

    mutating func write(_ buffer: ByteBuffer) async throws {
        let handler = self.handler
        try await handler.eventLoop.flatSubmit {
            let promise = handler.eventLoop.makePromise(of: Void.self)
            handler.value.writeBody(buffer, promise: promise)
            return promise.futureResult
        }.get()
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        let handler = self.handler
        try await handler.eventLoop.submit { handler.value.endResponse() }.get()
    }
}

/// Puts a `LaneHandler` right after Hummingbird's connection state handler once the connection's
/// pipeline is complete (so the idle timeout and graceful shutdown see the lane's requests), then
/// leaves.
final class LaneInstaller: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let lane: DirectLane

    init(lane: DirectLane) { self.lane = lane }

    func channelActive(context: ChannelHandlerContext) {
        let operations = context.pipeline.syncOperations
        if let state = try? operations.handler(type: HTTPConnectionStateHandler.self) {
            try? operations.addHandler(LaneHandler(lane: lane, eventLoop: context.eventLoop), position: .after(state))
        }
        context.fireChannelActive()
        operations.removeHandler(context: context, promise: nil)
    }
}

/// The `Date` header's value (RFC 9110's IMF-fixdate), made once a second.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: String)>((0, ""))
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func now() -> String {
        let second = Int(Date().timeIntervalSince1970)
        return cache.withLock { cached in
            if cached.second != second { cached = (second, format(second)) }
            return cached.text
        }
    }

    static func format(_ second: Int) -> String {
        var time = time_t(second)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
