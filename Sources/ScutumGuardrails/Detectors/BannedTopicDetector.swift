import ScutumCore

/// The `banned_topic` scanner: one finding per topic (its first match), the rule being the topic's name.
///
/// Keywords match as whole words (no letter, digit, `_` or non-ASCII byte on either side), ASCII
/// case-insensitively, any single whitespace character matching a space in the keyword; all keywords
/// of all topics are found in one pass by an Aho-Corasick automaton, so the cost does not grow with
/// their number. Patterns are `SafeRegex`es (linear time, bounded; see there); a pattern with a
/// literal every match must contain (`project` in `\bproject\s+\w+`) runs only when that same
/// pass saw the literal.
struct BannedTopicDetector: Detector {
    let topics: [BannedTopic]
    /// Every topic's keywords (value: the topic's index) and every pattern's required literal (value:
    /// `topics.count` + the pattern's index in `patterns`): one pass finds both.
    let keywords: KeywordAutomaton
    /// (topic index, pattern) for every pattern of every topic.
    let patterns: [(Int, SafeRegex)]

    init(topics: [BannedTopic]) {
        self.topics = topics
        var entries: [([UInt8], Int)] = []
        var patterns: [(Int, SafeRegex)] = []
        for (index, topic) in topics.enumerated() {
            for keyword in topic.keywords { entries.append((Array(keyword.utf8), index)) }
            for pattern in topic.patterns { patterns.append((index, pattern)) }
        }
        for (index, (_, pattern)) in patterns.enumerated() where !pattern.requiredLiteral.isEmpty {
            entries.append((pattern.requiredLiteral, topics.count + index))
        }
        keywords = KeywordAutomaton(entries)
        self.patterns = patterns
    }

    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        var found = [Range<Int>?](repeating: nil, count: topics.count)
        var literalSeen = [Bool](repeating: false, count: patterns.count)
        let topicCount = topics.count
        keywords.scan(text) { value, range in
            if value >= topicCount {
                literalSeen[value - topicCount] = true
            } else if found[value] == nil, ASCII.wordStarts(text, at: range.lowerBound),
                ASCII.wordEnds(text, at: range.upperBound)
            {
                found[value] = range
            }
        }
        for (index, (topic, pattern)) in patterns.enumerated() {
            // A pattern whose required literal is absent cannot match: skip it.
            guard pattern.requiredLiteral.isEmpty || literalSeen[index] else { continue }
            guard let range = pattern.firstMatch(in: text) else { continue }
            if found[topic].map({ range.lowerBound < $0.lowerBound }) ?? true { found[topic] = range }
        }
        for (index, topic) in topics.enumerated() {
            if let range = found[index] {
                findings.append(GuardrailFinding(scanner: .bannedTopic, rule: topic.name, range: range))
            }
        }
    }
}

/// An Aho-Corasick automaton over bytes (ASCII case-folded, whitespace folded to a space) as a dense
/// DFA on the byte classes the keywords use.
struct KeywordAutomaton: Sendable {
    /// Byte -> class; class 0 is every byte no keyword uses.
    private let classes: [UInt8]
    private let classCount: Int
    private let transitions: [Int32]
    /// The keywords ending in state `s` are `outputValues/outputLengths[outputStarts[s]..<outputStarts[s + 1]]`
    /// (flat arrays: no per-byte retain of a nested array).
    private let outputStarts: [Int32]
    private let outputValues: [Int32]
    private let outputLengths: [Int32]

    init(_ keywords: [([UInt8], Int)]) {
        var classes = [UInt8](repeating: 0, count: 256)
        var classCount = 1
        for (bytes, _) in keywords {
            for byte in bytes where classes[Int(Self.fold(byte))] == 0 && classCount < 255 {
                classes[Int(Self.fold(byte))] = UInt8(classCount)
                classCount += 1
            }
        }
        for byte in 0..<256 { classes[byte] = classes[Int(Self.fold(UInt8(byte)))] }
        // Trie.
        var transitions: [Int32] = Array(repeating: -1, count: classCount)
        var outputs: [[(Int, Int)]] = [[]]
        for (bytes, value) in keywords where !bytes.isEmpty {
            var state = 0
            for byte in bytes {
                let slot = state * classCount + Int(classes[Int(byte)])
                if transitions[slot] < 0 {
                    transitions[slot] = Int32(outputs.count)
                    outputs.append([])
                    transitions.append(contentsOf: repeatElement(-1, count: classCount))
                }
                state = Int(transitions[slot])
            }
            outputs[state].append((value, bytes.count))
        }
        // Failure links, breadth first, turned into a complete DFA.
        var failure = [Int](repeating: 0, count: outputs.count)
        var queue: [Int] = []
        for symbol in 0..<classCount {
            if transitions[symbol] < 0 {
                transitions[symbol] = 0
            } else {
                queue.append(Int(transitions[symbol]))
            }
        }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            outputs[state].append(contentsOf: outputs[failure[state]])
            for symbol in 0..<classCount {
                let slot = state * classCount + symbol
                let fallback = transitions[failure[state] * classCount + symbol]
                if transitions[slot] < 0 {
                    transitions[slot] = fallback
                } else {
                    failure[Int(transitions[slot])] = Int(fallback)
                    queue.append(Int(transitions[slot]))
                }
            }
        }
        self.classes = classes
        self.classCount = classCount
        self.transitions = transitions
        var starts: [Int32] = [0]
        var values: [Int32] = []
        var lengths: [Int32] = []
        for list in outputs {
            for (value, length) in list {
                values.append(Int32(value))
                lengths.append(Int32(length))
            }
            starts.append(Int32(values.count))
        }
        outputStarts = starts
        outputValues = values
        outputLengths = lengths
    }

    @inline(__always) static func fold(_ byte: UInt8) -> UInt8 {
        ASCII.isSpace(byte) ? 0x20 : ASCII.lower(byte)
    }

    var isEmpty: Bool { outputValues.isEmpty }

    /// Calls `found(value, range)` for every keyword occurrence.
    func scan(_ text: Bytes, _ found: (Int, Range<Int>) -> Void) {
        guard !isEmpty else { return }
        transitions.withUnsafeBufferPointer { transitions in
            classes.withUnsafeBufferPointer { classes in
                var state = 0
                for index in 0..<text.count {
                    state = Int(transitions[state * classCount + Int(classes[Int(text[index])])])
                    let first = Int(outputStarts[state]), last = Int(outputStarts[state + 1])
                    guard first < last else { continue }
                    for output in first..<last {
                        let length = Int(outputLengths[output])
                        found(Int(outputValues[output]), (index + 1 - length)..<(index + 1))
                    }
                }
            }
        }
    }
}
