/// The `banned_topic` scanner: one finding per topic (its first match), the rule being the topic's name.
///
/// Keywords match as whole words (no letter, digit, `_` or non-ASCII byte on either side), ASCII
/// case-insensitively, any single whitespace character matching a space in the keyword; all keywords
/// of all topics are found in one pass by an Aho-Corasick automaton, so the cost does not grow with
/// their number. Patterns are `SafeRegex`es (linear time, bounded; see there).
struct BannedTopicDetector: Detector {
    let topics: [BannedTopic]
    let keywords: KeywordAutomaton

    init(topics: [BannedTopic]) {
        self.topics = topics
        var entries: [([UInt8], Int)] = []
        for (index, topic) in topics.enumerated() {
            for keyword in topic.keywords { entries.append((Array(keyword.utf8), index)) }
        }
        keywords = KeywordAutomaton(entries)
    }

    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        var found = [Range<Int>?](repeating: nil, count: topics.count)
        keywords.scan(text) { topic, range in
            if found[topic] == nil, ASCII.wordStarts(text, at: range.lowerBound), ASCII.wordEnds(text, at: range.upperBound) {
                found[topic] = range
            }
        }
        for (index, topic) in topics.enumerated() {
            for pattern in topic.patterns {
                guard let range = pattern.firstMatch(in: text) else { continue }
                if found[index].map({ range.lowerBound < $0.lowerBound }) ?? true { found[index] = range }
            }
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
    /// Per state: (keyword's value, keyword's length) for every keyword ending there.
    private let outputs: [[(Int, Int)]]

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
        self.outputs = outputs
    }

    @inline(__always) static func fold(_ byte: UInt8) -> UInt8 {
        ASCII.isSpace(byte) ? 0x20 : ASCII.lower(byte)
    }

    var isEmpty: Bool { outputs.count == 1 }

    /// Calls `found(value, range)` for every keyword occurrence.
    func scan(_ text: Bytes, _ found: (Int, Range<Int>) -> Void) {
        guard !isEmpty else { return }
        var state = 0
        for index in 0..<text.count {
            state = Int(transitions[state * classCount + Int(classes[Int(text[index])])])
            for (value, length) in outputs[state] { found(value, (index + 1 - length)..<(index + 1)) }
        }
    }
}
