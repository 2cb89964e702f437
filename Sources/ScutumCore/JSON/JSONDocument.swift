import NIOCore

/// The kind of a JSON value.
public enum JSONKind: UInt8, Sendable {
    case object, array, string, number, bool, null

    /// The JSON type name, for error messages (the same words as `JSONValue.typeName`).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// JSON bytes validated by a structural scan (`JSONScanner`), with where each value down to a
/// chosen depth lies: single members can be read, compared and spliced without building a tree.
///
/// Entry 0 is the root value; the children of an indexed container follow it in document order.
/// Offsets are relative to the reader index of `bytes`.
public struct JSONDocument: Sendable {
    /// One indexed value.
    public struct Entry: Sendable {
        /// The member's key bytes, quotes excluded; `-1..<-1` for array elements and the root.
        public internal(set) var key: Range<Int32>
        /// The key holds escapes, so its bytes are not its text.
        public internal(set) var keyIsEscaped: Bool
        /// 0 for the root, 1 for its members or elements, and so on.
        public internal(set) var depth: UInt16
        /// The value's bytes, quotes and brackets included.
        public internal(set) var value: Range<Int32> = 0..<0
        public internal(set) var kind: JSONKind = .null
        /// Whether the children of this container have entries (false past the indexed depth).
        public internal(set) var childrenIndexed = false
        /// How many children have entries.
        public internal(set) var childCount: Int32 = 0
        var firstChild: Int32 = -1
        var nextSibling: Int32 = -1

        init(key: Range<Int32>, keyIsEscaped: Bool, depth: UInt16) {
            self.key = key
            self.keyIsEscaped = keyIsEscaped
            self.depth = depth
        }
    }

    /// The root value's entry.
    public static let root = 0

    /// The scanned bytes.
    public let bytes: ByteBuffer
    public let entries: [Entry]

    /// Validates `bytes` as one JSON document and indexes it down to `indexedDepth` (1: the root's
    /// members or elements; 2: theirs too; ...). Accepts and refuses what `JSONParser` does.
    public init(scanning bytes: ByteBuffer, indexedDepth: Int = 1) throws(JSONParser.Failure) {
        self.bytes = bytes
        self.entries = try bytes.withUnsafeReadableBytes { raw throws(JSONParser.Failure) in
            try JSONScanner.scan(raw, indexedDepth: indexedDepth)
        }
    }

    /// The root value's kind.
    public var kind: JSONKind { entries[Self.root].kind }

    /// The entries of an indexed container's children, in document order.
    public func children(of entry: Int) -> Children {
        Children(document: self, first: Int(entries[entry].firstChild))
    }

    /// The last member named `key` of the object `entry` (last, as `JSONParser` keeps the last
    /// of duplicate keys), or nil.
    public func member(_ key: String, of entry: Int = root) -> Int? {
        var found: Int?
        for child in children(of: entry) where keyEquals(child, key) { found = child }
        return found
    }

    /// A later member of the object `entry` whose key repeats an earlier one's, or nil.
    public func duplicateMember(of entry: Int = root) -> Int? {
        let members = Array(children(of: entry))
        if members.count > 32 {
            var seen: Set<String> = []
            return members.first { !seen.insert(key(of: $0)).inserted }
        }
        for (position, later) in members.enumerated() {
            for earlier in members[..<position] where sameKey(earlier, later) { return later }
        }
        return nil
    }

    /// The member key of `entry`, decoded.
    public func key(of entry: Int) -> String {
        let key = entries[entry].key
        guard key.lowerBound >= 0 else { return "" }
        return decodeString(Int(key.lowerBound) - 1..<Int(key.upperBound) + 1, escaped: entries[entry].keyIsEscaped)
    }

    /// The value of a string entry, decoded; nil for other kinds.
    public func string(_ entry: Int) -> String? {
        guard entries[entry].kind == .string else { return nil }
        return decodeString(range(of: entry), escaped: true)
    }

    /// Whether the string entry `entry` holds exactly `text`.
    public func stringEquals(_ entry: Int, _ text: String) -> Bool {
        guard entries[entry].kind == .string else { return false }
        let range = range(of: entry)
        if rawEquals(range.lowerBound + 1..<range.upperBound - 1, text) { return true }
        return string(entry) == text
    }

    /// The value of `entry` as a tree (parses only its bytes).
    public func value(_ entry: Int) -> JSONValue {
        let range = range(of: entry)
        // The bytes were validated by the scan, so parsing them cannot fail.
        return (try? JSONParser.parse(bytes.readableBytesView[bytes.readerIndex + range.lowerBound ..< bytes.readerIndex
            + range.upperBound])) ?? .null
    }

    /// Whether an object or array entry has no members or elements.
    public func isEmptyContainer(_ entry: Int) -> Bool {
        let range = range(of: entry)
        return bytes.withUnsafeReadableBytes { raw in
            raw[range.lowerBound + 1 ..< range.upperBound - 1].allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        }
    }

    /// The document of one container entry's bytes, indexed afresh (for containers deeper than
    /// this document's index).
    public func subdocument(_ entry: Int, indexedDepth: Int = 1) -> JSONDocument {
        let range = range(of: entry)
        let slice = bytes.getSlice(at: bytes.readerIndex + range.lowerBound, length: range.count) ?? ByteBuffer()
        // Bytes already validated within a larger document are valid on their own.
        return (try? JSONDocument(scanning: slice, indexedDepth: indexedDepth)) ?? Self.empty
    }

    private static let empty = try! JSONDocument(scanning: ByteBuffer(staticString: "null"))

    /// The bytes of `entry`'s value, reader-relative.
    public func range(of entry: Int) -> Range<Int> {
        Int(entries[entry].value.lowerBound)..<Int(entries[entry].value.upperBound)
    }

    /// The bytes with each range replaced (ranges reader-relative, ascending and disjoint).
    public func splicing(_ edits: [(range: Range<Int>, replacement: ByteBuffer)]) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(bytes.readableBytes + edits.reduce(0) { $0 + $1.replacement.readableBytes })
        var copied = 0
        for edit in edits {
            out.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex + copied, length: edit.range.lowerBound - copied)!)
            out.writeImmutableBuffer(edit.replacement)
            copied = edit.range.upperBound
        }
        out.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex + copied, length: bytes.readableBytes - copied)!)
        return out
    }

    private func keyEquals(_ entry: Int, _ text: String) -> Bool {
        let key = entries[entry].key
        guard key.lowerBound >= 0 else { return false }
        if !entries[entry].keyIsEscaped { return rawEquals(Int(key.lowerBound)..<Int(key.upperBound), text) }
        return self.key(of: entry) == text
    }

    private func sameKey(_ first: Int, _ second: Int) -> Bool {
        let (one, two) = (entries[first], entries[second])
        if one.keyIsEscaped || two.keyIsEscaped { return key(of: first) == key(of: second) }
        return bytes.withUnsafeReadableBytes { raw in
            raw[Int(one.key.lowerBound)..<Int(one.key.upperBound)]
                .elementsEqual(raw[Int(two.key.lowerBound)..<Int(two.key.upperBound)])
        }
    }

    private func rawEquals(_ range: Range<Int>, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            bytes.withUnsafeReadableBytes { raw in
                range.count == utf8.count && raw[range].elementsEqual(utf8)
            }
        }
    }

    /// A quoted string's text; `range` includes the quotes.
    private func decodeString(_ range: Range<Int>, escaped: Bool) -> String {
        if !escaped {
            return bytes.withUnsafeReadableBytes { raw in
                String(decoding: raw[range.lowerBound + 1..<range.upperBound - 1], as: UTF8.self)
            }
        }
        let view = bytes.readableBytesView
        let start = bytes.readerIndex
        return (try? JSONParser.parse(view[start + range.lowerBound ..< start + range.upperBound]))?.stringValue ?? ""
    }

    /// The children of one container entry.
    public struct Children: Sequence, Sendable {
        let document: JSONDocument
        let first: Int

        public struct Iterator: IteratorProtocol {
            let entries: [Entry]
            var current: Int

            public mutating func next() -> Int? {
                guard current >= 0 else { return nil }
                defer { current = Int(entries[current].nextSibling) }
                return current
            }
        }

        public func makeIterator() -> Iterator { Iterator(entries: document.entries, current: first) }
    }
}
