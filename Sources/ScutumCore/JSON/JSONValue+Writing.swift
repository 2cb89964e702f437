import NIOCore

extension JSONValue {
    /// The value as compact JSON text; object keys sorted, so equal values give equal bytes.
    public var jsonBytes: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeJSON(self)
        return buffer
    }

    /// The value as compact JSON text.
    public var jsonString: String { String(buffer: jsonBytes) }
}

extension ByteBuffer {
    /// Writes `value` as compact JSON, object keys sorted.
    public mutating func writeJSON(_ value: JSONValue) {
        switch value {
        case .null: writeStaticString("null")
        case .bool(true): writeStaticString("true")
        case .bool(false): writeStaticString("false")
        case .int(let number): writeString(String(number))
        case .double(let number):
            if number.isFinite {
                if number == number.rounded(), abs(number) < 1e15 {
                    writeString(String(Int64(number)))
                } else {
                    writeString("\(number)")
                }
            } else {
                writeStaticString("null")
            }
        case .string(let text): writeJSONQuoted(text)
        case .array(let items):
            writeInteger(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { writeInteger(UInt8(ascii: ",")) }
                writeJSON(item)
            }
            writeInteger(UInt8(ascii: "]"))
        case .object(let fields):
            writeInteger(UInt8(ascii: "{"))
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { writeInteger(UInt8(ascii: ",")) }
                writeJSONQuoted(key)
                writeInteger(UInt8(ascii: ":"))
                // The key comes from the dictionary itself.
                writeJSON(fields[key] ?? .null)
            }
            writeInteger(UInt8(ascii: "}"))
        }
    }

    /// Writes `text` as a JSON string literal, quotes included, escaping what JSON requires.
    public mutating func writeJSONQuoted(_ text: String) {
        writeInteger(UInt8(ascii: "\""))
        var start = text.utf8.startIndex
        let utf8 = text.utf8
        var index = start
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                writeBytes(utf8[start..<index])
                switch byte {
                case UInt8(ascii: "\""): writeStaticString("\\\"")
                case UInt8(ascii: "\\"): writeStaticString("\\\\")
                case UInt8(ascii: "\n"): writeStaticString("\\n")
                case UInt8(ascii: "\r"): writeStaticString("\\r")
                case UInt8(ascii: "\t"): writeStaticString("\\t")
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    writeStaticString("\\u00")
                    writeInteger(hex[Int(byte >> 4)])
                    writeInteger(hex[Int(byte & 0xF)])
                }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        writeBytes(utf8[start..<utf8.endIndex])
        writeInteger(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// Parses JSON bytes; nil when they are not valid JSON.
    public static func parse(_ bytes: ByteBuffer) -> JSONValue? {
        try? RequestJSON.parse(bytes.readableBytesView)
    }
}
