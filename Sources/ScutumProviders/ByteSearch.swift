import NIOCore

extension ByteBuffer {
    /// The reader-relative offset of the first occurrence of `needle`, or nil.
    func firstOffset(of needle: StaticString, from start: Int = 0) -> Int? {
        guard start <= readableBytes else { return nil }
        let count = needle.utf8CodeUnitCount
        return withUnsafeReadableBytes { haystack -> Int? in
            let pattern = UnsafeRawBufferPointer(start: needle.utf8Start, count: count)
            guard count > 0, haystack.count - start >= count else { return count == 0 ? start : nil }
            let first = pattern[0]
            var index = start
            let last = haystack.count - count
            while index <= last {
                if haystack[index] == first
                    && UnsafeRawBufferPointer(rebasing: haystack[index..<index + count]).elementsEqual(pattern)
                {
                    return index
                }
                index += 1
            }
            return nil
        }
    }

    /// The reader-relative byte at `offset`.
    func byte(at offset: Int) -> UInt8? {
        getInteger(at: readerIndex + offset, as: UInt8.self)
    }

    /// Skips JSON whitespace from `offset`; returns the first other offset.
    func skippingWhitespace(from offset: Int) -> Int {
        var offset = offset
        while let byte = byte(at: offset), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
        {
            offset += 1
        }
        return offset
    }
}
