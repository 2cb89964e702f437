import NIOCore
import ScutumCore
import ScutumGuardrails
import ScutumStore

/// Runs a streamed answer's text through the output profiles, chunk by chunk: each choice's
/// `delta.content` goes through one `GuardrailStreamScanner` per profile (in order, the text one
/// releases feeding the next), so the chunk sent carries only text already scanned, masked where
/// a profile masks. A choice's held-back text is released with its `finish_reason` chunk.
///
/// Latency: each profile holds back the last 256 bytes of a choice's text until more arrives or the
/// choice finishes, so text reaches the client about 256 bytes (some 64 tokens) behind the model,
/// and an answer shorter than that arrives with its last chunk. Streams of callers without output
/// profiles are passed through untouched.
struct GuardrailStreamFilter {
    enum Outcome {
        /// Send this chunk (rewritten when any text was held or masked).
        case send(ByteBuffer)
        /// End the stream with this block's error event.
        case block(GuardrailBlock)
    }

    let profiles: [GuardrailPolicy.Profile]
    /// Each choice's scanners, one per profile.
    private var chains: [Int64: [GuardrailStreamScanner]] = [:]
    private var finished: Set<Int64> = []
    /// The last chunk's fields but `choices`, for a closing chunk of held text.
    private var template: [String: JSONValue] = [:]
    private(set) var blocked: GuardrailBlock?

    /// Nil when no profile scans output.
    init?(profiles: [GuardrailPolicy.Profile]) {
        let scanning = profiles.filter { $0.scanner.applies(to: .output) }
        guard !scanning.isEmpty else { return nil }
        self.profiles = scanning
    }

    /// The chunk to send for an upstream chunk (its `data:` JSON).
    mutating func filter(_ json: ByteBuffer) -> Outcome {
        if let blocked { return .block(blocked) }
        guard var chunk = JSONValue.parse(json)?.objectValue, var choices = chunk["choices"]?.arrayValue,
            !choices.isEmpty
        else { return .send(json) }
        template = chunk.filter { $0.key != "choices" && $0.key != "usage" }
        var changed = false
        for position in choices.indices {
            guard var choice = choices[position].objectValue else { continue }
            let index = choice["index"]?.intValue ?? Int64(position)
            var delta = choice["delta"]?.objectValue ?? [:]
            let content = delta["content"]?.stringValue
            let finishing = !(choice["finish_reason"]?.isNull ?? true)
            guard content != nil || finishing else { continue }
            let released: String
            switch run(index, content ?? "", finishing: finishing) {
            case .send(let text): released = text
            case .block(let block): return .block(block)
            }
            guard content != nil || !released.isEmpty else { continue }
            if content == released { continue }
            delta["content"] = .string(released)
            choice["delta"] = .object(delta)
            choices[position] = .object(choice)
            changed = true
        }
        guard changed else { return .send(json) }
        chunk["choices"] = .array(choices)
        return .send(JSONValue.object(chunk).jsonBytes)
    }

    /// At the end of the upstream stream: a chunk with the text still held for choices that never
    /// sent a `finish_reason`, if any.
    mutating func finish() -> Outcome? {
        if let blocked { return .block(blocked) }
        var choices: [JSONValue] = []
        for index in chains.keys.sorted() where !finished.contains(index) {
            switch run(index, "", finishing: true) {
            case .send(let text) where !text.isEmpty:
                choices.append(["index": .int(index), "delta": ["content": .string(text)], "finish_reason": .null])
            case .send: continue
            case .block(let block): return .block(block)
            }
        }
        guard !choices.isEmpty else { return nil }
        var chunk = template
        chunk["choices"] = .array(choices)
        return .send(JSONValue.object(chunk).jsonBytes)
    }

    private enum Step {
        case send(String)
        case block(GuardrailBlock)
    }

    private mutating func run(_ index: Int64, _ text: String, finishing: Bool) -> Step {
        var chain = chains[index] ?? profiles.map { GuardrailStreamScanner(scanner: $0.scanner) }
        defer { chains[index] = chain }
        if finishing { finished.insert(index) }
        var carry = text
        for position in chain.indices {
            var released = ""
            switch chain[position].feed(carry) {
            case .emit(let part): released = part
            case .block(let verdict): return block(verdict)
            }
            if finishing {
                switch chain[position].finish() {
                case .emit(let part): released += part
                case .block(let verdict): return block(verdict)
                }
            }
            carry = released
        }
        return .send(carry)
    }

    private mutating func block(_ verdict: GuardrailVerdict) -> Step {
        let block = verdict.blocked ?? GuardrailBlock(profile: "", direction: .output,
            finding: GuardrailFinding(scanner: .secrets, rule: "unknown", range: 0..<0))
        blocked = block
        return .block(block)
    }

    /// One event per profile that found something in any choice.
    func events(subject: GuardrailGate.Subject) -> [GuardrailEvent] {
        profiles.indices.compactMap { position in
            let profile = profiles[position]
            let findings = chains.keys.sorted().flatMap { chains[$0]?[position].findings ?? [] }
            let block = blocked?.profile == profile.name ? blocked : nil
            return profile.event(.output, findings: findings, block: block, subject: subject)
        }
    }
}
