/// A pattern that `SafeRegex` refuses, with a message for the Admin API's 422.
public struct SafeRegexError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// A user-supplied regular expression (banned-topic `patterns`, workflow `matches` conditions) whose cost is
/// bounded by construction.
///
/// It compiles to a Thompson NFA run by a Pike VM over the text's UTF-8 bytes, so a search is
/// O(text bytes x program size) whatever the pattern: no backtracking, hence no catastrophic cases.
/// On top of that, validation refuses what would only be allowed by a backtracking engine or could
/// blow the program up, so an operator learns at once rather than at scan time:
/// backreferences (`\1`, `\k<..>`), lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`), atomic and possessive
/// forms, nested quantifiers (a quantified group holding a variable quantifier, `(a+)+`), counted
/// repetitions above `{,100}`, patterns over 512 bytes or compiling to more than 4000 instructions, and
/// patterns that match the empty string (they would match every text).
///
/// Syntax: literals, `.`, `[...]`/`[^...]` with ranges and `\d \w \s`, `\d \D \w \W \s \S \b \B`,
/// `\n \t \r`, escaped punctuation, `^`/`$` (start/end of the text), groups `(...)`, `(?:...)`,
/// `(?<name>...)`, alternation, `* + ? {n} {n,} {n,m}` and their lazy `?` forms. With the default
/// `Options.guardrails` matching is always ASCII case-insensitive (`(?i)` is accepted and changes nothing)
/// and a match is at most `maximumMatchLength` bytes long; `Options.conditions` is case-sensitive until a
/// `(?i)` (from there on) and has no length cap. `.` and negated classes match one byte, so non-ASCII
/// characters match as their UTF-8 byte sequences.
public struct SafeRegex: Sendable, Hashable, CustomStringConvertible {
    /// How a pattern matches; the syntax and its limits are the same for all.
    public struct Options: Sendable, Hashable {
        /// Letters match either case everywhere; otherwise only after a `(?i)`.
        public var caseInsensitive: Bool
        /// The longest match in bytes (threads that started further back are dropped).
        public var maximumMatchLength: Int

        public init(caseInsensitive: Bool, maximumMatchLength: Int) {
            self.caseInsensitive = caseInsensitive
            self.maximumMatchLength = maximumMatchLength
        }

        /// Banned-topic patterns: case-insensitive, matches of at most `SafeRegex.maximumMatchLength` bytes.
        public static let guardrails = Options(caseInsensitive: true, maximumMatchLength: SafeRegex.maximumMatchLength)
        /// Workflow conditions: case-sensitive unless the pattern says `(?i)`, matches of any length.
        public static let conditions = Options(caseInsensitive: false, maximumMatchLength: .max)
    }

    public let source: String
    public let options: Options
    let program: [RegexInstruction]
    /// 256 flags, 1 for each byte a match can start with: the search skips ahead to them.
    let firstBytes: [UInt8]
    /// Bytes every match contains (lower-case letters), at least 3, or empty: a prefilter for callers
    /// that already scan the text for literals (banned topics run them through their keyword automaton).
    /// Only meaningful with `Options.guardrails` (case-insensitive).
    package let requiredLiteral: [UInt8]

    public static let maximumPatternLength = 512
    public static let maximumRepetition = 100
    public static let maximumProgramSize = 4000
    /// Threads that started further back than this are dropped: the per-match input cap.
    public static let maximumMatchLength = 1024

    /// Compiles `source`; throws with a message naming what is not supported.
    public init(_ source: String, options: Options = .guardrails) throws(SafeRegexError) {
        guard !source.isEmpty else { throw SafeRegexError("Pattern must not be empty") }
        guard source.utf8.count <= Self.maximumPatternLength else {
            throw SafeRegexError("Pattern must be at most \(Self.maximumPatternLength) bytes")
        }
        var parser = RegexParser(Array(source.utf8), caseInsensitive: options.caseInsensitive)
        let node = try parser.parse()
        requiredLiteral = node.requiredLiteral
        var compiler = RegexCompiler()
        try compiler.compile(node)
        compiler.program.append(.match)
        guard compiler.program.count <= Self.maximumProgramSize else {
            throw SafeRegexError("Pattern is too large (more than \(Self.maximumProgramSize) instructions)")
        }
        self.source = source
        self.options = options
        self.program = compiler.program
        let first = Self.start(of: compiler.program).bytes
        self.firstBytes = (0..<256).map { first.contains(UInt8($0)) ? 1 : 0 }
        if Self.canMatchEmpty(compiler.program) { throw SafeRegexError("Pattern must not match the empty string") }
    }

    public var description: String { source }

    public static func == (lhs: SafeRegex, rhs: SafeRegex) -> Bool { lhs.source == rhs.source && lhs.options == rhs.options }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(source)
        hasher.combine(options)
    }

    /// The leftmost match's UTF-8 byte range (leftmost-first, like Perl among matches starting there).
    public func firstMatch(in text: String) -> Range<Int>? {
        var text = text
        return text.withUTF8 { firstMatch(in: $0) }
    }

    /// The leftmost match's byte range in `text`.
    package func firstMatch(in text: Bytes) -> Range<Int>? {
        let maximumMatchLength = options.maximumMatchLength
        var current = RegexThreads(capacity: program.count)
        var next = RegexThreads(capacity: program.count)
        var stack: [Int] = []
        stack.reserveCapacity(program.count)
        var found: Range<Int>?
        var position = 0
        while position <= text.count {
            if found == nil {
                if current.isEmpty {
                    // Nothing in flight: skip to the next byte a match can start with. Every match
                    // consumes at least one byte (empty matches are refused), so none starts at the end.
                    position = firstBytes.withUnsafeBufferPointer { first in
                        var position = position
                        while position < text.count, first[Int(text[position])] == 0 { position += 1 }
                        return position
                    }
                    if position >= text.count { break }
                }
                add(&current, &stack, pc: 0, start: position, at: position, in: text)
            }
            if current.isEmpty { break }
            next.clear()
            var index = 0
            stepping: while index < current.count {
                let (pc, start) = current[index]
                index += 1
                switch program[pc] {
                case .byte(let set):
                    if position < text.count, set.contains(text[position]),
                        position + 1 - start <= maximumMatchLength
                    {
                        add(&next, &stack, pc: pc + 1, start: start, at: position + 1, in: text)
                    }
                case .match:
                    found = start..<position
                    break stepping  // lower-priority threads lose to this match
                default:
                    break
                }
            }
            swap(&current, &next)
            position += 1
        }
        return found
    }

    /// Follows jumps, splits and assertions from `pc` (in priority order) and adds the threads that wait on
    /// a byte or match.
    private func add(
        _ threads: inout RegexThreads, _ stack: inout [Int], pc: Int, start: Int, at position: Int, in text: Bytes
    ) {
        stack.append(pc)
        while let pc = stack.popLast() {
            guard !threads.contains(pc) else { continue }
            threads.insert(pc, start: start)
            switch program[pc] {
            case .jump(let target): stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assert(let assertion):
                if assertion.holds(in: text, at: position) { stack.append(pc + 1) }
            case .byte, .match: break
            }
        }
    }

    /// The bytes a match can start with, and whether `match` is reachable without consuming a byte
    /// (assertions taken as passing).
    static func start(of program: [RegexInstruction]) -> (bytes: ByteSet, nullable: Bool) {
        var set = ByteSet()
        var nullable = false
        var seen = Set<Int>()
        var stack = [0]
        while let pc = stack.popLast() {
            guard seen.insert(pc).inserted else { continue }
            switch program[pc] {
            case .byte(let bytes): set.formUnion(bytes)
            case .jump(let target): stack.append(target)
            case .split(let first, let second): stack.append(contentsOf: [first, second])
            case .assert: stack.append(pc + 1)
            case .match: nullable = true
            }
        }
        return (set, nullable)
    }

    static func canMatchEmpty(_ program: [RegexInstruction]) -> Bool { start(of: program).nullable }
}

/// A set of bytes as a 256-bit map.
struct ByteSet: Sendable, Hashable {
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    @inline(__always) func contains(_ byte: UInt8) -> Bool {
        // One load and a bit test (the words are little-endian bytes of the map on every supported platform).
        withUnsafeBytes(of: words) { $0[Int(byte >> 3)] } & (1 << (byte & 7)) != 0
    }

    mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    mutating func insert(_ range: ClosedRange<UInt8>) {
        for byte in range { insert(byte) }
    }

    mutating func formUnion(_ other: ByteSet) {
        words = (words.0 | other.words.0, words.1 | other.words.1, words.2 | other.words.2, words.3 | other.words.3)
    }

    var inverted: ByteSet {
        ByteSet(words: (~words.0, ~words.1, ~words.2, ~words.3))
    }

    /// Adds the other case of every ASCII letter in the set.
    var caseFolded: ByteSet {
        var folded = self
        for byte in UInt8(0x41)...0x5A where contains(byte) || contains(byte | 0x20) {
            folded.insert(byte)
            folded.insert(byte | 0x20)
        }
        return folded
    }

    static func of(_ bytes: UInt8...) -> ByteSet {
        var set = ByteSet()
        for byte in bytes { set.insert(byte) }
        return set
    }

    static let digits: ByteSet = { var set = ByteSet(); set.insert(0x30...0x39); return set }()
    static let word: ByteSet = {
        var set = digits
        set.insert(0x41...0x5A)
        set.insert(0x61...0x7A)
        set.insert(0x5F)
        return set
    }()
    static let space = ByteSet.of(0x20, 0x09, 0x0A, 0x0D, 0x0C, 0x0B)

    static func == (lhs: ByteSet, rhs: ByteSet) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
            && lhs.words.3 == rhs.words.3
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

enum RegexAssertion: Sendable, Hashable {
    case textStart, textEnd, wordBoundary, notWordBoundary

    func holds(in text: Bytes, at position: Int) -> Bool {
        switch self {
        case .textStart: return position == 0
        case .textEnd: return position == text.count
        case .wordBoundary, .notWordBoundary:
            let before = position > 0 && ASCII.isWord(text[position - 1])
            let after = position < text.count && ASCII.isWord(text[position])
            return (before != after) == (self == .wordBoundary)
        }
    }
}

enum RegexInstruction: Sendable, Hashable {
    case byte(ByteSet)
    case split(Int, Int)
    case jump(Int)
    case assert(RegexAssertion)
    case match
}

/// The Pike VM's thread list: a sparse set of program counters, in priority order, with each thread's start.
struct RegexThreads {
    private var dense: [Int]
    private var starts: [Int]
    private var sparse: [Int]
    private(set) var count = 0

    init(capacity: Int) {
        dense = Array(repeating: 0, count: capacity)
        starts = Array(repeating: 0, count: capacity)
        sparse = Array(repeating: 0, count: capacity)
    }

    var isEmpty: Bool { count == 0 }

    func contains(_ pc: Int) -> Bool {
        let slot = sparse[pc]
        return slot < count && dense[slot] == pc
    }

    mutating func insert(_ pc: Int, start: Int) {
        sparse[pc] = count
        dense[count] = pc
        starts[count] = start
        count += 1
    }

    mutating func clear() { count = 0 }

    subscript(index: Int) -> (pc: Int, start: Int) { (dense[index], starts[index]) }
}
