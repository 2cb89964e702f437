import ScutumCore

/// The phrase signals of `PromptInjectionDetector` and a word-by-word matcher for them.
///
/// A phrase is written as slots separated by spaces; a slot lists alternative words with `|`; a
/// trailing `?` makes it optional, `*` lets it match zero to three words. Text words are hashed
/// (FNV-1a over the normalized bytes) and looked up once, so matching costs one dictionary lookup a
/// word plus the phrases that start with it.
struct InjectionPhrases: Sendable {
    struct Phrase: Sendable {
        var rule: String
        var weight: Double
        var slots: [Slot]
    }

    struct Slot: Sendable {
        var words: Set<Int32>
        var minimum: Int
        var maximum: Int
    }

    static let definitions: [(String, Double, String)] = [
        (
            "ignore_previous_instructions", 0.9,
            "ignore|ignoring|disregard|disregarding|forget|skip|override|bypass "
                + "all|any|the|your|my|of|these|those|every|everything* "
                + "previous|previously|prior|above|earlier|preceding|former|original|initial|system|existing|old|developer|safety "
                + "instructions|instruction|prompts|prompt|rules|rule|directions|guidelines|context|messages|commands|orders|constraints|programming"
        ),
        ("ignore_above", 0.5, "ignore|disregard|forget all|the|everything* above|before"),
        (
            "jailbreak_persona", 0.85,
            "you are|re? now a|an|the|in* dan|jailbroken|unrestricted|unfiltered|uncensored|evil|unlocked|unbound|liberated"
        ),
        ("do_anything_now", 0.8, "do anything now"),
        ("developer_mode", 0.5, "developer mode"),
        ("jailbreak_mode", 0.7, "god|dan|jailbreak|jailbroken|unrestricted|unfiltered|evil mode"),
        (
            "system_prompt_leak", 0.8,
            "reveal|show|print|repeat|output|leak|display|tell|give|dump|write|share|disclose|spell me|us? "
                + "your|the|all|of|full|entire|exact|above|previous* "
                + "system|initial|hidden|secret|original|developer "
                + "prompt|prompts|instructions|message|messages|rules"
        ),
        ("reveal_instructions", 0.6, "reveal|disclose|leak|dump your|the|all* instructions|prompt"),
        ("system_prompt_mention", 0.3, "system prompt"),
        ("jailbreak_term", 0.45, "jailbreak|jailbroken|jailbreaking"),
        (
            "no_restrictions", 0.4,
            "without|no|remove|disable|bypass|lift any|all|your|the|of|ethical|safety|content* "
                + "restrictions|restriction|limitations|limits|filters|filter|filtering|censorship|guardrails|safeguards|morals|ethics"
        ),
        ("new_instructions", 0.4, "new|updated|real|actual|true|revised instructions|instruction|directive|directives"),
        ("from_now_on", 0.3, "from now on you|your"),
        ("pretend", 0.3, "pretend you|to are|be?"),
        (
            "act_as_unrestricted", 0.7,
            "act|behave|respond|roleplay as|like a|an|the|if|you|are|were* unrestricted|unfiltered|uncensored|evil|jailbroken|dan"
        ),
    ]

    static let shared = InjectionPhrases()

    let vocabulary: WordTable
    /// Phrases by the id of a word their first slot accepts.
    let byFirstWord: [Int32: [Phrase]]

    init() {
        var vocabulary: [UInt64: Int32] = [:]
        var byFirstWord: [Int32: [Phrase]] = [:]
        for (rule, weight, pattern) in Self.definitions {
            var slots: [Slot] = []
            for token in pattern.split(separator: " ") {
                var text = Substring(token)
                var minimum = 1, maximum = 1
                if text.hasSuffix("?") { minimum = 0; text = text.dropLast() }
                if text.hasSuffix("*") { minimum = 0; maximum = 3; text = text.dropLast() }
                var words: Set<Int32> = []
                for word in text.split(separator: "|") {
                    let hash = Self.hash(Array(word.utf8))
                    let id = vocabulary[hash] ?? Int32(vocabulary.count + 1)
                    vocabulary[hash] = id
                    words.insert(id)
                }
                slots.append(Slot(words: words, minimum: minimum, maximum: maximum))
            }
            let phrase = Phrase(rule: rule, weight: weight, slots: slots)
            for id in slots[0].words { byFirstWord[id, default: []].append(phrase) }
        }
        self.vocabulary = WordTable(vocabulary)
        self.byFirstWord = byFirstWord
    }

    static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    /// The byte leetspeak-lite and case folding turn `byte` into inside a word, or nil if it ends a word.
    @inline(__always) static func normalized(_ byte: UInt8) -> UInt8? {
        if ASCII.isLower(byte) { return byte }
        if ASCII.isUpper(byte) { return byte | 0x20 }
        switch byte {
        case UInt8(ascii: "0"): return UInt8(ascii: "o")
        case UInt8(ascii: "1"): return UInt8(ascii: "i")
        case UInt8(ascii: "3"): return UInt8(ascii: "e")
        case UInt8(ascii: "4"), UInt8(ascii: "@"): return UInt8(ascii: "a")
        case UInt8(ascii: "5"), UInt8(ascii: "$"): return UInt8(ascii: "s")
        case UInt8(ascii: "7"): return UInt8(ascii: "t")
        case UInt8(ascii: "2"), UInt8(ascii: "6"), UInt8(ascii: "8"), UInt8(ascii: "9"): return byte
        default: return nil
        }
    }

    /// Calls `found` for every phrase occurrence in `text` with the byte range it covers.
    func match(_ text: Bytes, _ found: (Phrase, Range<Int>) -> Void) {
        var ids: [Int32] = []
        var starts: [Int] = []
        var ends: [Int] = []
        ids.reserveCapacity(text.count / 5)
        starts.reserveCapacity(text.count / 5)
        ends.reserveCapacity(text.count / 5)
        var index = 0
        while index < text.count {
            guard Self.normalized(text[index]) != nil else {
                index += 1
                continue
            }
            let start = index
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            while index < text.count, let byte = Self.normalized(text[index]) {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
                index += 1
            }
            ids.append(index - start <= 24 ? vocabulary.id(hash) : 0)
            starts.append(start)
            ends.append(index)
        }
        for position in ids.indices where ids[position] != 0 {
            guard let phrases = byFirstWord[ids[position]] else { continue }
            for phrase in phrases {
                if let end = Self.match(phrase, ids, from: position) {
                    found(phrase, starts[position]..<ends[end - 1])
                }
            }
        }
    }

    /// The index after the last word of `phrase` matched greedily at `start`, or nil.
    private static func match(_ phrase: Phrase, _ ids: [Int32], from start: Int) -> Int? {
        var position = start
        for slot in phrase.slots {
            var taken = 0
            while taken < slot.maximum, position < ids.count, slot.words.contains(ids[position]) {
                taken += 1
                position += 1
            }
            if taken < slot.minimum { return nil }
        }
        return position
    }
}

/// Word hash -> vocabulary id, open addressing with linear probing: a few nanoseconds a lookup, which
/// matters at one lookup per word of every prompt.
struct WordTable: Sendable {
    private let hashes: [UInt64]
    private let ids: [Int32]
    private let mask: Int

    init(_ words: [UInt64: Int32]) {
        var size = 64
        while size < words.count * 4 { size *= 2 }
        var hashes = [UInt64](repeating: 0, count: size)
        var ids = [Int32](repeating: 0, count: size)
        for (hash, id) in words {
            var slot = Int(truncatingIfNeeded: hash) & (size - 1)
            while ids[slot] != 0 { slot = (slot + 1) & (size - 1) }
            hashes[slot] = hash
            ids[slot] = id
        }
        self.hashes = hashes
        self.ids = ids
        mask = size - 1
    }

    /// The word's id, 0 when it is not in the vocabulary.
    @inline(__always) func id(_ hash: UInt64) -> Int32 {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let id = ids[slot]
            if id == 0 || hashes[slot] == hash { return id }
            slot = (slot + 1) & mask
        }
    }
}
