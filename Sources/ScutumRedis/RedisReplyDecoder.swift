import CHiredis
import NIOCore

/// Turns the bytes of a connection into RESP values, one `channelRead` per complete reply, with
/// hiredis's reader; for connections whose replies are not matched to requests (a subscriber's
/// confirmations and pushed messages).
///
/// One reader per connection, used only on the channel's event loop. A stream that cannot be parsed
/// closes the connection.
final class RedisReplyDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RedisValue

    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        reader = redisReaderCreate()
    }

    deinit {
        redisReaderFree(reader)
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
        // One read may carry many replies, or part of one.
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
                fail(context: context, RedisClientError.protocolError(String(cString: scutum_reader_errstr(reader))))
                return
            }
            guard let raw else { return }
            let value = RedisChannelHandler.convert(raw.assumingMemoryBound(to: redisReply.self))
            freeReplyObject(raw)
            context.fireChannelRead(wrapInboundOut(value))
        }
    }

    private func fail(context: ChannelHandlerContext, _ error: RedisClientError) {
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
