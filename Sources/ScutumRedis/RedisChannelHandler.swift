import CHiredis
import NIOCore

/// A command on its way to Redis, with the promise its reply completes.
struct RedisRequest: Sendable {
    var commands: [[RedisArgument]]
    var promise: EventLoopPromise<[RedisValue]>
}

/// One argument of a command, held as bytes.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public var bytes: [UInt8]
    public init(_ string: String) { bytes = Array(string.utf8) }
    public init(_ int: Int) { bytes = Array(String(int).utf8) }
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}

/// Encodes commands as RESP arrays and matches replies to requests in order.
///
/// Replies are parsed by hiredis's reader; one reader per connection, used only on this
/// channel's event loop. Each request may carry several commands (a pipeline) and completes when
/// all of their replies have arrived.
///
/// With `closesOnReadOnly` (a master found through Sentinel), a `-READONLY` reply closes the connection
/// once delivered: the server was demoted, and the next connection goes to the new master.
final class RedisChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var id: UInt64
        var remaining: Int
        var replies: [RedisValue]
        var promise: EventLoopPromise<[RedisValue]>
        var timeout: Scheduled<Void>?
    }

    private let reader: UnsafeMutablePointer<redisReader>
    private var pending = CircularBuffer<Pending>()
    private let commandTimeout: TimeAmount
    private var nextID: UInt64 = 0
    var closesOnReadOnly = false

    init(commandTimeout: TimeAmount) {
        self.reader = redisReaderCreate()
        self.commandTimeout = commandTimeout
    }

    deinit {
        redisReaderFree(reader)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard context.channel.isActive else {
            request.promise.fail(RedisClientError.connectionClosed("connection closed"))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64 * request.commands.count)
        for command in request.commands {
            Self.encode(command, into: &buffer)
        }
        nextID &+= 1
        let id = nextID
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let timeout = context.eventLoop.scheduleTask(in: commandTimeout) {
            let (handler, context) = bound.value
            // Replies match requests only by order: a late reply would be given to the wrong
            // request, so a timeout drops the connection and fails everything waiting on it.
            guard handler.pending.contains(where: { $0.id == id }) else { return }
            handler.fail(context: context, RedisClientError.timeout)
        }
        pending.append(Pending(id: id, remaining: request.commands.count, replies: [], promise: request.promise,
            timeout: timeout))
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let fed = buffer.withUnsafeReadableBytes { bytes in
            redisReaderFeed(reader, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard fed == REDIS_OK else {
            fail(context: context, RedisClientError.protocolError("feed failed"))
            return
        }
        // Drain every complete reply: one read may carry many.
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
                let message = String(cString: scutum_reader_errstr(reader))
                fail(context: context, RedisClientError.protocolError(message))
                return
            }
            guard let raw else { break }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            let value = Self.convert(reply)
            freeReplyObject(raw)
            deliver(value, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisClientError.connectionClosed("connection lost"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, RedisClientError.connectionClosed("\(error)"))
    }

    private func deliver(_ value: RedisValue, context: ChannelHandlerContext) {
        guard var head = pending.first else {
            fail(context: context, RedisClientError.protocolError("reply without a request"))
            return
        }
        head.replies.append(value)
        head.remaining -= 1
        if head.remaining == 0 {
            _ = pending.removeFirst()
            head.timeout?.cancel()
            head.promise.succeed(head.replies)
            if closesOnReadOnly, head.replies.contains(where: Self.isReadOnly) {
                fail(context: context, RedisClientError.connectionClosed("the server is a replica now (READONLY)"))
            }
        } else {
            pending[pending.startIndex] = head
        }
    }

    private func fail(context: ChannelHandlerContext, _ error: RedisClientError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisClientError) {
        while let entry = pending.popFirst() {
            entry.timeout?.cancel()
            entry.promise.fail(error)
        }
    }

    private static func isReadOnly(_ reply: RedisValue) -> Bool {
        if case .error(let message) = reply { return message.hasPrefix("READONLY") }
        return false
    }

    static func encode(_ command: [RedisArgument], into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        buffer.writeString(String(command.count))
        buffer.writeStaticString("\r\n")
        for argument in command {
            buffer.writeStaticString("$")
            buffer.writeString(String(argument.bytes.count))
            buffer.writeStaticString("\r\n")
            buffer.writeBytes(argument.bytes)
            buffer.writeStaticString("\r\n")
        }
    }

    static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STRING:
            return .bulkString(bytes(node))
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: bytes(node), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(node), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(node.integer))
        case REDIS_REPLY_ARRAY:
            return .array((0..<node.elements).map { index in convert(scutum_reply_element(reply, index)) })
        default:
            return .null
        }
    }

    private static func bytes(_ node: redisReply) -> [UInt8] {
        guard let pointer = node.str, node.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: node.len))
    }
}
