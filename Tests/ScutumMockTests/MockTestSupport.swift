import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ScutumMock
import Synchronization

/// Carries a value out of a test callback.
final class Captured<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

/// Builds mock applications and reads their answers, independently of the mock's own code.
enum MockTest {
    static func app(_ knobs: MockKnobs = MockKnobs(), log: MockRequestLog? = nil) -> some ApplicationProtocol {
        Application(router: MockUpstream.router(knobs: knobs, log: log))
    }

    static func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// The value at a path of object keys and array indexes.
    static func at(_ root: Any?, _ path: Any...) -> Any? {
        var current = root
        for step in path {
            if let key = step as? String {
                current = (current as? [String: Any])?[key]
            } else if let index = step as? Int, let array = current as? [Any], array.indices.contains(index) {
                current = array[index]
            } else {
                return nil
            }
        }
        return current
    }

    static func header(_ response: TestResponse, _ name: String) -> String? {
        HTTPField.Name(name).flatMap { response.headers[$0] }
    }

    /// `[x-api-key, anthropic-version]` as Anthropic's SDKs send them.
    static let anthropicHeaders: HTTPFields = [
        HTTPField.Name("x-api-key")!: "sk-ant-test", HTTPField.Name("anthropic-version")!: "2023-06-01",
        .contentType: "application/json",
    ]

    static let geminiHeaders: HTTPFields = [HTTPField.Name("x-goog-api-key")!: "AIza-test", .contentType: "application/json"]
}

/// One server-sent event.
struct SSEEvent {
    var event: String?
    var data: String
}

/// A minimal SSE reader: events end at a blank line (LF or CRLF line endings).
func parseSSE(_ text: String) -> [SSEEvent] {
    let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
    return normalized.components(separatedBy: "\n\n").compactMap { block in
        var event: String?
        var data: [String] = []
        for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
        }
        return data.isEmpty && event == nil ? nil : SSEEvent(event: event, data: data.joined(separator: "\n"))
    }
}

/// A CRC-32 (IEEE) written independently of the mock's: table-driven, reflected polynomial.
enum ReferenceCRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        bytes.reduce(UInt32.max) { crc, byte in table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) } ^ UInt32.max
    }
}

/// One decoded event-stream message.
struct EventStreamMessage {
    var headers: [String: String]
    var payload: [UInt8]
    var preludeCRCValid: Bool
    var messageCRCValid: Bool

    var payloadJSON: [String: Any] { MockTest.json(String(decoding: payload, as: UTF8.self)) }
}

/// Splits AWS event-stream bytes into messages, checking both checksums with `ReferenceCRC32`.
func parseEventStream(_ bytes: [UInt8]) -> [EventStreamMessage]? {
    func uint32(_ offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
    var messages: [EventStreamMessage] = []
    var offset = 0
    while offset < bytes.count {
        guard bytes.count - offset >= 16 else { return nil }
        let total = Int(uint32(offset))
        let headersLength = Int(uint32(offset + 4))
        guard total >= 16 + headersLength, offset + total <= bytes.count else { return nil }
        let preludeValid = ReferenceCRC32.checksum(bytes[offset..<offset + 8]) == uint32(offset + 8)
        let messageValid = ReferenceCRC32.checksum(bytes[offset..<offset + total - 4]) == uint32(offset + total - 4)
        var headers: [String: String] = [:]
        var cursor = offset + 12
        let headersEnd = cursor + headersLength
        while cursor < headersEnd {
            let nameLength = Int(bytes[cursor])
            let name = String(decoding: bytes[cursor + 1..<cursor + 1 + nameLength], as: UTF8.self)
            cursor += 1 + nameLength
            guard bytes[cursor] == 7 else { return nil }
            let valueLength = Int(bytes[cursor + 1]) << 8 | Int(bytes[cursor + 2])
            headers[name] = String(decoding: bytes[cursor + 3..<cursor + 3 + valueLength], as: UTF8.self)
            cursor += 3 + valueLength
        }
        let payload = Array(bytes[headersEnd..<offset + total - 4])
        messages.append(EventStreamMessage(headers: headers, payload: payload, preludeCRCValid: preludeValid, messageCRCValid: messageValid))
        offset += total
    }
    return messages
}
