/// Appends the primitives of a little-endian binary form to a byte array: fixed-width integers and
/// doubles (by bit pattern, so every value comes back exactly), LEB128 varints (signed ones
/// zigzagged) and length-prefixed UTF-8 strings. `PackedReader` reads them back.
struct PackedWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    mutating func byte(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func uint32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Overwrites the four bytes at `offset` (written earlier by `uint32`) with `value`.
    mutating func patchUInt32(_ value: UInt32, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for index in 0..<4 { bytes[offset + index] = raw[index] }
        }
    }

    mutating func double(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Zigzag: small magnitudes of either sign take few bytes.
    mutating func int(_ value: Int) {
        let wide = Int64(value)
        varint(UInt64(bitPattern: (wide << 1) ^ (wide >> 63)))
    }

    /// The UTF-8 length, then the bytes.
    mutating func string(_ text: String) {
        lengthPrefixed(text, plus: 0)
    }

    /// 0 for nil, else the UTF-8 length plus one, then the bytes.
    mutating func optionalString(_ text: String?) {
        guard let text else { return byte(0) }
        lengthPrefixed(text, plus: 1)
    }

    private mutating func lengthPrefixed(_ text: String, plus bias: UInt64) {
        var text = text
        text.withUTF8 { utf8 in
            varint(UInt64(utf8.count) + bias)
            bytes.append(contentsOf: utf8)
        }
    }
}

/// Reads what `PackedWriter` wrote from a byte buffer; every read checks the bounds and returns
/// nil (moving nowhere) on bytes that cannot be what was written: too few left, a varint longer
/// than 64 bits, a string that is not UTF-8.
struct PackedReader {
    let bytes: UnsafeBufferPointer<UInt8>
    private(set) var offset: Int
    /// Where reading stops (exclusive); `limited(to:)` narrows it.
    private(set) var end: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        offset = 0
        end = bytes.count
    }

    var remaining: Int { end - offset }

    /// A reader of the next `count` bytes only, or nil if fewer are left.
    func limited(to count: Int) -> PackedReader? {
        guard count >= 0, count <= remaining else { return nil }
        var copy = self
        copy.end = offset + count
        return copy
    }

    /// Moves past `count` bytes; false (not moving) if fewer are left.
    mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, count <= remaining else { return false }
        offset += count
        return true
    }

    mutating func byte() -> UInt8? {
        guard offset < end else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint32() -> UInt32? {
        guard remaining >= 4, let base = bytes.baseAddress else { return nil }
        defer { offset += 4 }
        return UInt32(littleEndian: UnsafeRawPointer(base + offset).loadUnaligned(as: UInt32.self))
    }

    mutating func double() -> Double? {
        guard remaining >= 8, let base = bytes.baseAddress else { return nil }
        defer { offset += 8 }
        return Double(bitPattern: UInt64(littleEndian: UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self)))
    }

    mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var index = offset
        for shift in stride(from: 0, to: 64, by: 7) {
            guard index < end else { return nil }
            let byte = bytes[index]
            index += 1
            // The tenth byte holds the 64th bit only.
            if shift == 63, byte > 1 { return nil }
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte < 0x80 {
                offset = index
                return value
            }
        }
        return nil
    }

    mutating func int() -> Int? {
        guard let raw = varint() else { return nil }
        let wide = Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
        return Int(exactly: wide)
    }

    mutating func string() -> String? {
        let start = offset
        guard let length = varint(), let text = utf8(length) else {
            offset = start
            return nil
        }
        return text
    }

    /// `.some(nil)` for a nil written by `optionalString`, nil when the bytes cannot be one.
    mutating func optionalString() -> String?? {
        let start = offset
        guard let marker = varint() else { return nil }
        if marker == 0 { return .some(nil) }
        guard let text = utf8(marker - 1) else {
            offset = start
            return nil
        }
        return .some(text)
    }

    private mutating func utf8(_ length: UInt64) -> String? {
        guard length <= UInt64(remaining) else { return nil }
        let count = Int(length)
        guard count > 0 else { return "" }
        guard let base = bytes.baseAddress,
            let text = String(validating: UnsafeBufferPointer(start: base + offset, count: count), as: UTF8.self)
        else { return nil }
        offset += count
        return text
    }
}
