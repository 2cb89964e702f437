/// A parsed `SafeRegex` pattern.
indirect enum RegexNode {
    case empty
    case set(ByteSet)
    case concat([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?, lazy: Bool)
    case assert(RegexAssertion)

    /// Whether a variable-count quantifier occurs inside (the "nested quantifier" check).
    var hasVariableRepetition: Bool {
        switch self {
        case .empty, .set, .assert: return false
        case .concat(let nodes), .alternation(let nodes): return nodes.contains { $0.hasVariableRepetition }
        case .repetition(let inner, let min, let max, _): return max != min || inner.hasVariableRepetition
        }
    }
}

extension RegexNode {
    /// The longest run of 3+ literal bytes (ASCII letters in lower case) every match contains, or [].
    var requiredLiteral: [UInt8] {
        let nodes: [RegexNode]
        switch self {
        case .concat(let parts): nodes = parts
        default: nodes = [self]
        }
        var best: [UInt8] = []
        var current: [UInt8] = []
        for node in nodes {
            if case .set(let set) = node, let byte = set.literalByte {
                current.append(byte)
                if current.count > best.count { best = current }
            } else if case .assert = node {
                continue  // zero-width: the literal run goes on
            } else {
                current = []
            }
        }
        return best.count >= 3 ? best : []
    }
}

extension ByteSet {
    /// The byte when the set is one byte or an ASCII letter in both cases (then in lower case).
    var literalByte: UInt8? {
        var members: [UInt8] = []
        for byte in 0...255 where contains(UInt8(byte)) {
            members.append(UInt8(byte))
            if members.count > 2 { return nil }
        }
        if members.count == 1 { return members[0] }
        if members.count == 2, ASCII.isUpper(members[0]), members[1] == members[0] | 0x20 { return members[1] }
        return nil
    }
}

/// Recursive-descent parser for `SafeRegex`'s syntax; refuses the constructs the type's documentation lists.
struct RegexParser {
    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0
    /// Whether letters match either case (always with `Options.guardrails`; after `(?i)` otherwise).
    private var foldsCase: Bool

    init(_ bytes: [UInt8], caseInsensitive: Bool = true) {
        self.bytes = bytes
        self.foldsCase = caseInsensitive
    }

    mutating func parse() throws(SafeRegexError) -> RegexNode {
        let node = try alternation()
        if index < bytes.count { throw SafeRegexError("Unbalanced ')' at byte \(index)") }
        return node
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func alternation() throws(SafeRegexError) -> RegexNode {
        var branches = [try concatenation()]
        while current == UInt8(ascii: "|") {
            index += 1
            branches.append(try concatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func concatenation() throws(SafeRegexError) -> RegexNode {
        var nodes: [RegexNode] = []
        while let byte = current, byte != UInt8(ascii: "|"), byte != UInt8(ascii: ")") {
            let atom = try self.atom()
            nodes.append(try quantified(atom))
        }
        return nodes.count == 1 ? nodes[0] : (nodes.isEmpty ? .empty : .concat(nodes))
    }

    private mutating func quantified(_ atom: RegexNode) throws(SafeRegexError) -> RegexNode {
        guard let byte = current else { return atom }
        var bounds: (Int, Int?)
        switch byte {
        case UInt8(ascii: "*"): bounds = (0, nil); index += 1
        case UInt8(ascii: "+"): bounds = (1, nil); index += 1
        case UInt8(ascii: "?"): bounds = (0, 1); index += 1
        case UInt8(ascii: "{"):
            guard let counted = try countedBounds() else { return atom }
            bounds = counted
        default: return atom
        }
        if case .assert = atom { throw SafeRegexError("Nothing to repeat before byte \(index - 1)") }
        if case .empty = atom { throw SafeRegexError("Nothing to repeat before byte \(index - 1)") }
        if bounds.1 != bounds.0, atom.hasVariableRepetition {
            throw SafeRegexError("Nested quantifiers (like '(a+)+') are not allowed")
        }
        var lazy = false
        if current == UInt8(ascii: "?") {
            lazy = true
            index += 1
        } else if current == UInt8(ascii: "+") {
            throw SafeRegexError("Possessive quantifiers are not supported")
        }
        if let next = current, next == UInt8(ascii: "*") || next == UInt8(ascii: "+") || next == UInt8(ascii: "?")
            || next == UInt8(ascii: "{") && (try? peekCounted()) != nil
        {
            throw SafeRegexError("Nested quantifiers (like 'a**') are not allowed")
        }
        return .repetition(atom, min: bounds.0, max: bounds.1, lazy: lazy)
    }

    /// Whether `{` at the cursor starts `{n}`, `{n,}` or `{n,m}` (otherwise it is a literal brace).
    private func peekCounted() throws(SafeRegexError) -> (Int, Int?)? {
        var copy = self
        return try copy.countedBounds()
    }

    private mutating func countedBounds() throws(SafeRegexError) -> (Int, Int?)? {
        let start = index
        index += 1
        func number(_ parser: inout RegexParser) -> Int? {
            var value: Int?
            while let byte = parser.current, ASCII.isDigit(byte) {
                value = min((value ?? 0) * 10 + ASCII.digit(byte), 1_000_000)
                parser.index += 1
            }
            return value
        }
        guard let low = number(&self) else { index = start; return nil }
        var high: Int? = low
        if current == UInt8(ascii: ",") {
            index += 1
            high = number(&self)
        }
        guard current == UInt8(ascii: "}") else { index = start; return nil }
        index += 1
        let limit = SafeRegex.maximumRepetition
        if low > limit || (high ?? 0) > limit {
            throw SafeRegexError("Counted repetitions are limited to {,\(limit)}")
        }
        if let high, high < low { throw SafeRegexError("Repetition {\(low),\(high)} has min above max") }
        return (low, high)
    }

    private mutating func atom() throws(SafeRegexError) -> RegexNode {
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "("): return try group()
        case UInt8(ascii: "["): return .set(try characterClass())
        case UInt8(ascii: "."): return .set(ByteSet.of(0x0A).inverted)
        case UInt8(ascii: "^"): return .assert(.textStart)
        case UInt8(ascii: "$"): return .assert(.textEnd)
        case UInt8(ascii: "\\"): return try escape(inClass: false)
        case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
            throw SafeRegexError("Nothing to repeat at byte \(index - 1)")
        default: return .set(foldsCase ? ByteSet.of(byte).caseFolded : ByteSet.of(byte))
        }
    }

    private mutating func group() throws(SafeRegexError) -> RegexNode {
        depth += 1
        defer { depth -= 1 }
        if depth > 32 { throw SafeRegexError("Groups are nested too deeply") }
        if current == UInt8(ascii: "?") {
            index += 1
            let kind = current
            index += 1
            switch kind {
            case UInt8(ascii: ":"): break
            case UInt8(ascii: "i"):
                guard current == UInt8(ascii: ")") else { throw SafeRegexError("Only the (?i) flag is supported") }
                index += 1
                foldsCase = true
                return .empty
            case UInt8(ascii: "="), UInt8(ascii: "!"): throw SafeRegexError("Lookahead is not supported")
            case UInt8(ascii: ">"): throw SafeRegexError("Atomic groups are not supported")
            case UInt8(ascii: "<"), UInt8(ascii: "P"):
                if kind == UInt8(ascii: "P") {
                    // `(?P<name>...)` is a named group; `(?P=name)` a backreference.
                    guard current == UInt8(ascii: "<") else { throw SafeRegexError("Backreferences are not supported") }
                    index += 1
                }
                if current == UInt8(ascii: "=") || current == UInt8(ascii: "!") {
                    throw SafeRegexError("Lookbehind is not supported")
                }
                while let byte = current, byte != UInt8(ascii: ">") {
                    guard ASCII.isWord(byte) else { throw SafeRegexError("Invalid group name") }
                    index += 1
                }
                guard current == UInt8(ascii: ">") else { throw SafeRegexError("Unterminated group name") }
                index += 1
            default: throw SafeRegexError("Unsupported group syntax '(?' at byte \(index - 2)")
            }
        }
        let inner = try alternation()
        guard current == UInt8(ascii: ")") else { throw SafeRegexError("Missing ')'") }
        index += 1
        return inner
    }

    private mutating func escape(inClass: Bool) throws(SafeRegexError) -> RegexNode {
        guard let byte = current else { throw SafeRegexError("Pattern ends with '\\'") }
        index += 1
        switch byte {
        case UInt8(ascii: "d"): return .set(.digits)
        case UInt8(ascii: "D"): return .set(ByteSet.digits.inverted)
        case UInt8(ascii: "w"): return .set(.word)
        case UInt8(ascii: "W"): return .set(ByteSet.word.inverted)
        case UInt8(ascii: "s"): return .set(.space)
        case UInt8(ascii: "S"): return .set(ByteSet.space.inverted)
        case UInt8(ascii: "n"): return .set(.of(0x0A))
        case UInt8(ascii: "t"): return .set(.of(0x09))
        case UInt8(ascii: "r"): return .set(.of(0x0D))
        case UInt8(ascii: "b") where !inClass: return .assert(.wordBoundary)
        case UInt8(ascii: "B") where !inClass: return .assert(.notWordBoundary)
        case UInt8(ascii: "1")...UInt8(ascii: "9"), UInt8(ascii: "k"):
            throw SafeRegexError("Backreferences are not supported")
        default:
            guard !ASCII.isAlnum(byte), byte < 0x80 else {
                throw SafeRegexError("Unknown escape '\\\(Character(Unicode.Scalar(byte)))'")
            }
            return .set(.of(byte))
        }
    }

    private mutating func characterClass() throws(SafeRegexError) -> ByteSet {
        var set = ByteSet()
        let negated = current == UInt8(ascii: "^")
        if negated { index += 1 }
        var first = true
        while true {
            guard let byte = current else { throw SafeRegexError("Missing ']'") }
            if byte == UInt8(ascii: "]") && !first { index += 1; break }
            first = false
            guard byte < 0x80 else { throw SafeRegexError("Only ASCII characters are supported in a class") }
            index += 1
            var low = byte
            if byte == UInt8(ascii: "\\") {
                guard case .set(let escaped) = try escape(inClass: true) else { continue }
                guard let single = Self.single(escaped) else { set.formUnion(escaped); continue }
                low = single
            }
            if current == UInt8(ascii: "-"), index + 1 < bytes.count, bytes[index + 1] != UInt8(ascii: "]") {
                index += 1
                var high = bytes[index]
                index += 1
                if high == UInt8(ascii: "\\") {
                    guard case .set(let escaped) = try escape(inClass: true), let single = Self.single(escaped) else {
                        throw SafeRegexError("Invalid class range")
                    }
                    high = single
                }
                guard high >= low, high < 0x80 else { throw SafeRegexError("Invalid class range") }
                set.insert(low...high)
            } else {
                set.insert(low)
            }
        }
        if foldsCase { set = set.caseFolded }
        return negated ? set.inverted : set
    }

    /// The byte when `set` holds exactly one.
    private static func single(_ set: ByteSet) -> UInt8? {
        var found: UInt8?
        for byte in UInt8(0)...UInt8(127) where set.contains(byte) {
            if found != nil { return nil }
            found = byte
        }
        return found
    }
}

/// Turns a `RegexNode` into Pike VM instructions.
struct RegexCompiler {
    var program: [RegexInstruction] = []

    mutating func compile(_ node: RegexNode) throws(SafeRegexError) {
        guard program.count <= SafeRegex.maximumProgramSize else {
            throw SafeRegexError("Pattern is too large (more than \(SafeRegex.maximumProgramSize) instructions)")
        }
        switch node {
        case .empty: break
        case .set(let set): program.append(.byte(set))
        case .assert(let assertion): program.append(.assert(assertion))
        case .concat(let nodes):
            for node in nodes { try compile(node) }
        case .alternation(let branches):
            var jumps: [Int] = []
            for (index, branch) in branches.enumerated() {
                if index < branches.count - 1 {
                    let split = program.count
                    program.append(.split(split + 1, 0))
                    try compile(branch)
                    jumps.append(program.count)
                    program.append(.jump(0))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try compile(branch)
                }
            }
            for jump in jumps { program[jump] = .jump(program.count) }
        case .repetition(let inner, let min, let max, let lazy):
            for _ in 0..<min { try compile(inner) }
            if let max {
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(program.count)
                    program.append(.split(0, 0))
                    try compile(inner)
                }
                for split in splits { program[split] = branch(split + 1, program.count, lazy: lazy) }
            } else {
                let split = program.count
                program.append(.split(0, 0))
                try compile(inner)
                program.append(.jump(split))
                program[split] = branch(split + 1, program.count, lazy: lazy)
            }
        }
    }

    private func branch(_ body: Int, _ exit: Int, lazy: Bool) -> RegexInstruction {
        lazy ? .split(exit, body) : .split(body, exit)
    }
}
