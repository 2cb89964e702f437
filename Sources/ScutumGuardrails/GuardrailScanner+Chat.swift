import ScutumCore

/// A finding in one text of a JSON body, at that text's path (`["messages", 2, "content", 0, "text"]`);
/// offsets are into that text.
public struct GuardrailTextFinding: Sendable, Equatable {
    public var path: [JSONValue]
    public var finding: GuardrailFinding

    public init(path: [JSONValue], finding: GuardrailFinding) {
        self.path = path
        self.finding = finding
    }

    /// The finding's JSON with its `path`.
    public var json: JSONValue {
        var fields = finding.json.objectValue ?? [:]
        fields["path"] = .array(path)
        return .object(fields)
    }
}

/// What a scan decided for a whole chat request or response body.
public struct GuardrailBodyVerdict: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        case allow
        /// Forward this body instead: the same JSON with masked texts.
        case mask(JSONValue)
        case block(GuardrailBlock)
    }

    public var decision: Decision
    public var findings: [GuardrailTextFinding]

    public static let clean = GuardrailBodyVerdict(decision: .allow, findings: [])

    public var blocked: GuardrailBlock? {
        if case .block(let block) = decision { return block }
        return nil
    }

    public var decisionName: String {
        switch decision {
        case .allow: "allow"
        case .mask: "mask"
        case .block: "block"
        }
    }

    /// Each finding with its `path`.
    public var findingsJSON: [JSONValue] { findings.map(\.json) }
}

extension GuardrailBodyVerdict: GuardrailReport {}

extension GuardrailScanner {
    /// Roles whose messages are scanned as input; `assistant` turns are earlier model output and are
    /// only counted for `max_input_tokens`.
    public static let scannedRoles: Set<String> = ["user", "system", "developer", "tool", "function"]

    /// Scans an OpenAI chat completion request: every text of a user, system, developer or tool message
    /// (string `content`, or `text`/`input_text` parts of array content); `max_input_tokens` counts the
    /// texts of all messages. When masking, the verdict carries the rewritten body to forward.
    public func scanChatRequest(_ body: JSONValue) -> GuardrailBodyVerdict {
        guard applies(to: .input), let messages = body["messages"]?.arrayValue else { return .clean }
        var texts: [([JSONValue], String)] = []
        var totalBytes = 0
        for (index, message) in messages.enumerated() {
            let scanned = Self.scannedRoles.contains(message["role"]?.stringValue ?? "")
            let base: [JSONValue] = ["messages", .int(Int64(index)), "content"]
            if let text = message["content"]?.stringValue {
                totalBytes += text.utf8.count
                if scanned { texts.append((base, text)) }
            } else if let parts = message["content"]?.arrayValue {
                for (partIndex, part) in parts.enumerated() {
                    let type = part["type"]?.stringValue
                    guard type == "text" || type == "input_text", let text = part["text"]?.stringValue else { continue }
                    totalBytes += text.utf8.count
                    if scanned { texts.append((base + [.int(Int64(partIndex)), "text"], text)) }
                }
            }
        }
        var extra: [GuardrailTextFinding] = []
        if let finding = tokenLimitFinding(byteCount: totalBytes) {
            extra.append(GuardrailTextFinding(path: ["messages"], finding: finding))
        }
        return scanTexts(texts, in: body, direction: .input, extra: extra)
    }

    /// Scans a non-streaming chat completion response: each `choices[i].message.content` string.
    public func scanChatResponse(_ body: JSONValue) -> GuardrailBodyVerdict {
        guard applies(to: .output), let choices = body["choices"]?.arrayValue else { return .clean }
        var texts: [([JSONValue], String)] = []
        for (index, choice) in choices.enumerated() {
            if let text = choice["message"]?["content"]?.stringValue {
                texts.append((["choices", .int(Int64(index)), "message", "content"], text))
            }
        }
        return scanTexts(texts, in: body, direction: .output, extra: [])
    }

    private func scanTexts(
        _ texts: [([JSONValue], String)], in body: JSONValue, direction: GuardrailDirection,
        extra: [GuardrailTextFinding]
    ) -> GuardrailBodyVerdict {
        var all = extra
        var perText: [[GuardrailFinding]] = []
        for (path, text) in texts {
            var text = text
            let found = text.withUTF8 { findings(in: $0) }.sorted { $0.range.lowerBound < $1.range.lowerBound }
            perText.append(found)
            all += found.map { GuardrailTextFinding(path: path, finding: $0) }
        }
        guard !all.isEmpty else { return .clean }
        switch outcome(of: all.map(\.finding)) {
        case .allow:
            return GuardrailBodyVerdict(decision: .allow, findings: all)
        case .block(let finding):
            return GuardrailBodyVerdict(
                decision: .block(GuardrailBlock(profile: profile.name, direction: direction, finding: finding)),
                findings: all)
        case .mask:
            var rewritten = body
            for ((path, text), found) in zip(texts, perText) {
                let masked = found.filter { action(for: $0) == .mask }
                guard !masked.isEmpty else { continue }
                rewritten = rewritten.replacing(at: path[...], with: .string(GuardrailMasking.mask(text, masked)))
            }
            return GuardrailBodyVerdict(decision: .mask(rewritten), findings: all)
        }
    }
}

extension JSONValue {
    /// This value with the value at `path` (object keys and array indexes) replaced; unchanged when
    /// the path does not exist.
    func replacing(at path: ArraySlice<JSONValue>, with value: JSONValue) -> JSONValue {
        guard let step = path.first else { return value }
        let rest = path.dropFirst()
        switch (self, step) {
        case (.object(var fields), .string(let key)):
            guard let child = fields[key] else { return self }
            fields[key] = child.replacing(at: rest, with: value)
            return .object(fields)
        case (.array(var items), .int(let index)):
            guard items.indices.contains(Int(index)) else { return self }
            items[Int(index)] = items[Int(index)].replacing(at: rest, with: value)
            return .array(items)
        default:
            return self
        }
    }
}
