/// A validating structural scan of JSON bytes: accepts and refuses exactly what `JSONParser` does
/// (RFC 8259, valid UTF-8, paired surrogates, finite numbers, nesting up to
/// `JSONParser.maximumDepth`) without building a tree, and records where the values down to
/// `indexedDepth` are, so callers can read or splice single members of a large body.
///
/// String contents are skipped eight bytes at a time; nothing is allocated but the index itself.
struct JSONScanner {
    typealias Failure = JSONParser.Failure
    typealias Entry = JSONDocument.Entry

    private let base: UnsafePointer<UInt8>
    private let count: Int
    private let indexedDepth: Int
    private var index = 0
    private var depth = 0
    private(set) var entries: [Entry] = []

    private init(_ base: UnsafePointer<UInt8>, count: Int, indexedDepth: Int) {
        self.base = base
        self.count = count
        self.indexedDepth = indexedDepth
    }

    /// Scans one document (only whitespace may follow it) and indexes it down to `indexedDepth`:
    /// entry 0 is the root value, 1 its members or elements, and so on.
    static func scan(_ bytes: UnsafeRawBufferPointer, indexedDepth: Int) throws(Failure) -> [Entry] {
        guard bytes.count < Int(Int32.max) else { throw Failure(reason: "Document too large", offset: 0) }
        guard let start = bytes.baseAddress, bytes.count > 0 else {
            throw Failure(reason: "Unexpected end of input", offset: 0)
        }
        var scanner = JSONScanner(start.assumingMemoryBound(to: UInt8.self), count: bytes.count,
            indexedDepth: indexedDepth)
        scanner.entries.reserveCapacity(16)
        scanner.entries.append(Entry(key: -1..<(-1), keyIsEscaped: false, depth: 0))
        scanner.skipWhitespace()
        try scanner.value(entry: 0)
        scanner.skipWhitespace()
        guard scanner.index == scanner.count else { throw scanner.failure("Unexpected data after the JSON value") }
        return scanner.entries
    }

    private func failure(_ reason: String) -> Failure {
        Failure(reason: reason, offset: index)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < count {
            switch base[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// Scans the value at `index`; `entry` is its index entry, or -1 when it is deeper than indexed.
    private mutating func value(entry: Int) throws(Failure) {
        guard index < count else { throw failure("Unexpected end of input") }
        let start = index
        let kind: JSONKind
        switch base[index] {
        case UInt8(ascii: "{"):
            try object(entry: entry)
            kind = .object
        case UInt8(ascii: "["):
            try array(entry: entry)
            kind = .array
        case UInt8(ascii: "\""):
            _ = try string()
            kind = .string
        case UInt8(ascii: "t"):
            try literal("true")
            kind = .bool
        case UInt8(ascii: "f"):
            try literal("false")
            kind = .bool
        case UInt8(ascii: "n"):
            try literal("null")
            kind = .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
            kind = .number
        default:
            throw failure("Unexpected character '\(JSONParser.describe(base[index]))'")
        }
        if entry >= 0 {
            entries[entry].value = Int32(start)..<Int32(index)
            entries[entry].kind = kind
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let length = word.utf8CodeUnitCount
        guard index + length <= count else { throw failure("Unexpected end of input") }
        let expected = word.utf8Start
        for offset in 0..<length where base[index + offset] != expected[offset] {
            throw failure("Invalid literal")
        }
        index += length
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        guard depth <= JSONParser.maximumDepth else {
            throw failure("Nesting deeper than \(JSONParser.maximumDepth) levels")
        }
    }

    /// Appends an entry for the next child of `parent`, linked after `previous`; returns its index.
    private mutating func child(of parent: Int, after previous: Int, key: Range<Int32>, escaped: Bool) -> Int {
        let child = entries.count
        entries.append(Entry(key: key, keyIsEscaped: escaped, depth: UInt16(depth)))
        if previous >= 0 { entries[previous].nextSibling = Int32(child) } else { entries[parent].firstChild = Int32(child) }
        entries[parent].childCount += 1
        return child
    }

    private mutating func object(entry: Int) throws(Failure) {
        try enter()
        let indexing = entry >= 0 && depth <= indexedDepth
        if entry >= 0 { entries[entry].childrenIndexed = indexing }
        index += 1
        skipWhitespace()
        if index < count, base[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return
        }
        var previous = -1
        while true {
            skipWhitespace()
            guard index < count, base[index] == UInt8(ascii: "\"") else {
                throw failure(index < count ? "Expected a string key" : "Unexpected end of input")
            }
            let keyStart = index + 1
            let escaped = try string()
            let key = Int32(keyStart)..<Int32(index - 1)
            skipWhitespace()
            guard index < count, base[index] == UInt8(ascii: ":") else { throw failure("Expected ':' after a key") }
            index += 1
            skipWhitespace()
            var member = -1
            if indexing {
                member = child(of: entry, after: previous, key: key, escaped: escaped)
                previous = member
            }
            try value(entry: member)
            skipWhitespace()
            guard index < count else { throw failure("Unexpected end of input") }
            if base[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard base[index] == UInt8(ascii: "}") else { throw failure("Expected ',' or '}' in an object") }
            index += 1
            depth -= 1
            return
        }
    }

    private mutating func array(entry: Int) throws(Failure) {
        try enter()
        let indexing = entry >= 0 && depth <= indexedDepth
        if entry >= 0 { entries[entry].childrenIndexed = indexing }
        index += 1
        skipWhitespace()
        if index < count, base[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return
        }
        var previous = -1
        while true {
            skipWhitespace()
            var element = -1
            if indexing {
                element = child(of: entry, after: previous, key: -1..<(-1), escaped: false)
                previous = element
            }
            try value(entry: element)
            skipWhitespace()
            guard index < count else { throw failure("Unexpected end of input") }
            if base[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard base[index] == UInt8(ascii: "]") else { throw failure("Expected ',' or ']' in an array") }
            index += 1
            depth -= 1
            return
        }
    }

    /// Skips a string from its opening quote to past its closing one; whether it holds escapes.
    private mutating func string() throws(Failure) -> Bool {
        index += 1
        var escaped = false
        while true {
            while index + 8 <= count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let special = Self.specialBytes(word)
                if special == 0 {
                    index += 8
                } else {
                    index += special.trailingZeroBitCount >> 3
                    break
                }
            }
            guard index < count else { throw failure("Unterminated string") }
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return escaped
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                try escape()
            } else if byte < 0x20 {
                throw failure("Unescaped control character in a string")
            } else if byte >= 0x80 {
                try utf8Sequence()
            } else {
                index += 1
            }
        }
    }

    /// The high bit of each byte of `word` that is a quote, a backslash, a control character or
    /// not ASCII. The lowest set bit is exact; bits above it may be false alarms.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let hasQuote = (quotes &- ones) & ~quotes
        let hasBackslash = (backslashes &- ones) & ~backslashes
        let hasControl = (word &- ones &* 0x20) & ~word
        return (hasQuote | hasBackslash | hasControl | word) & high
    }

    private mutating func escape() throws(Failure) {
        index += 1
        guard index < count else { throw failure("Unexpected end of input") }
        let escaped = base[index]
        index += 1
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return
        case UInt8(ascii: "u"):
            let scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < count, base[index] == UInt8(ascii: "\\"), base[index + 1] == UInt8(ascii: "u") else {
                    throw failure("Unpaired surrogate in a \\u escape")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("Invalid surrogate pair") }
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw failure("Unpaired surrogate in a \\u escape")
            }
        default:
            throw failure("Invalid escape '\\\(JSONParser.describe(escaped))'")
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= count else { throw failure("Unexpected end of input") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = base[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("Invalid hex digit in a \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Checks one multi-byte UTF-8 sequence (RFC 3629: shortest form, no surrogates, at most U+10FFFF).
    private mutating func utf8Sequence() throws(Failure) {
        let lead = base[index]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: throw failure("Invalid UTF-8 in a string")
        }
        guard index + length <= count else { throw failure("Invalid UTF-8 in a string") }
        let second = base[index + 1]
        guard second >= lower && second <= upper else { throw failure("Invalid UTF-8 in a string") }
        for offset in 2..<max(length, 2) where base[index + offset] & 0xC0 != 0x80 {
            throw failure("Invalid UTF-8 in a string")
        }
        index += length
    }

    private func isDigit(at position: Int) -> Bool {
        position < count && base[position] >= UInt8(ascii: "0") && base[position] <= UInt8(ascii: "9")
    }

    private mutating func number() throws(Failure) {
        let start = index
        if base[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(at: index) else { throw failure("Invalid number") }
        let integerStart = index
        if base[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(at: index) { throw failure("Leading zeros are not allowed") }
        } else {
            while isDigit(at: index) { index += 1 }
        }
        let integerDigits = index - integerStart
        if index < count, base[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(at: index) else { throw failure("Invalid number") }
            while isDigit(at: index) { index += 1 }
        }
        var exponent = 0
        if index < count, base[index] == UInt8(ascii: "e") || base[index] == UInt8(ascii: "E") {
            index += 1
            var negative = false
            if index < count, base[index] == UInt8(ascii: "+") || base[index] == UInt8(ascii: "-") {
                negative = base[index] == UInt8(ascii: "-")
                index += 1
            }
            guard isDigit(at: index) else { throw failure("Invalid number") }
            while isDigit(at: index) {
                exponent = min(exponent * 10 + Int(base[index] - UInt8(ascii: "0")), 1_000_000)
                index += 1
            }
            if negative { exponent = -exponent }
        }
        // Only a large magnitude can overflow a Double, which the parser refuses.
        if integerDigits + exponent > 300 {
            let text = String(decoding: UnsafeBufferPointer(start: base + start, count: index - start), as: UTF8.self)
            guard let double = Double(text), double.isFinite else { throw failure("Number out of range") }
        }
    }
}
