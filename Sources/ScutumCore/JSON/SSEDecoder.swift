import NIOCore

/// Splits a Server-Sent Events byte stream into events, as the bytes arrive.
///
/// Follows the SSE rules that matter for LLM providers: `data:` lines accumulate (joined with
/// `\n`), a blank line dispatches, `event:` names the event, lines starting with `:` are comments,
/// and `\r\n` line endings are accepted.
public struct SSEDecoder: Sendable {
    /// One dispatched event.
    public struct Event: Sendable {
        /// The `event:` field, if any.
        public var name: String?
        public var data: ByteBuffer

        public init(name: String?, data: ByteBuffer) {
            self.name = name
            self.data = data
        }
    }

    private var pending = ByteBuffer()
    private var eventName: String?
    private var data: ByteBuffer?
    /// Upper bound for one line, so a stream without newlines cannot grow memory without limit.
    public let maximumLineLength: Int

    public init(maximumLineLength: Int = 16 * 1024 * 1024) {
        self.maximumLineLength = maximumLineLength
    }

    /// Whether a partial line or event is still buffered.
    public var hasPartialEvent: Bool { pending.readableBytes > 0 || data != nil }

    /// A line longer than `maximumLineLength` arrived (the stream is malformed or hostile).
    public struct LineTooLong: Error, Sendable {
        public let maximum: Int
    }

    /// Feeds bytes; returns the events they complete.
    public mutating func feed(_ bytes: ByteBuffer) throws(LineTooLong) -> [Event] {
        if pending.readableBytes == 0 {
            pending = bytes
        } else {
            var bytes = bytes
            pending.writeBuffer(&bytes)
        }
        var events: [Event] = []
        while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - pending.readerIndex
            var line = pending.readSlice(length: length)!
            pending.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.last == UInt8(ascii: "\r") {
                line.moveWriterIndex(to: line.writerIndex - 1)
            }
            if let event = process(line: line) { events.append(event) }
        }
        if pending.readableBytes > maximumLineLength {
            throw LineTooLong(maximum: maximumLineLength)
        }
        if pending.readableBytes == 0 { pending.clear() }
        return events
    }

    private mutating func process(line: ByteBuffer) -> Event? {
        var line = line
        guard line.readableBytes > 0 else {
            defer { data = nil; eventName = nil }
            guard let data else { return nil }
            return Event(name: eventName, data: data)
        }
        if line.readableBytesView.first == UInt8(ascii: ":") { return nil }
        let colon = line.readableBytesView.firstIndex(of: UInt8(ascii: ":"))
        let fieldLength = (colon ?? line.writerIndex) - line.readerIndex
        let field = line.readSlice(length: fieldLength)!.readableBytesView
        if colon != nil {
            line.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.first == UInt8(ascii: " ") { line.moveReaderIndex(forwardBy: 1) }
        }
        // Field names compared as bytes: no String per line.
        if field.elementsEqual("data".utf8) {
            if data == nil {
                data = line
            } else {
                data!.writeInteger(UInt8(ascii: "\n"))
                data!.writeImmutableBuffer(line)
            }
        } else if field.elementsEqual("event".utf8) {
            eventName = line.readString(length: line.readableBytes)
        }
        return nil
    }
}
