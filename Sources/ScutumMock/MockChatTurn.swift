import Foundation

/// The parts of a chat request that the mock looks at, read from any provider's format.
struct MockChatTurn {
    /// System prompt text.
    var systemText = ""
    /// The text of each message, in order (tool results included).
    var messageTexts: [String] = []
    /// The last user message's text.
    var lastUserText = ""
    /// The tool result's text when the conversation's last message carries one.
    var toolResult: String?
    /// The first declared tool.
    var firstToolName: String?
    var maxTokens: Int?
    var stopSequences: [String] = []
    /// Gemini's `responseMimeType: application/json`: answer with a JSON object.
    var jsonAnswer = false

    /// System and message text, for directives.
    var allText: String { ([systemText] + messageTexts).joined(separator: "\n") }

    var promptTokens: Int {
        CannedAnswers.countTokens(MockDirectives.strip(allText)) + 3 * messageTexts.count
    }

    /// A tool result or argument value as text: strings as they are, a one-field object as
    /// its field, anything else as compact JSON.
    static func describe(_ value: Any?) -> String {
        switch value {
        case nil: return ""
        case let text as String: return text
        case let object as [String: Any] where object.count == 1:
            if let only = object.values.first as? String { return only }
            return JSONText.compact(object)
        case let value?: return JSONText.compact(value)
        }
    }
}

/// What the mock answers to a turn, in provider-neutral terms.
struct MockAnswer {
    /// Why the answer ends.
    enum Ending: Equatable {
        case complete
        case maxTokens
        case stopSequence(String)
        case toolCall(name: String)
        case blocked
    }

    /// The arguments of every mock tool call.
    static let toolArguments = #"{"location":"Paris"}"#
    /// Output tokens reported for a tool call.
    static let toolCallTokens = 5

    var tokens: [String]
    var ending: Ending
    /// Prompt tokens, cached ones included.
    var promptTokens: Int
    var cachedTokens: Int
    /// Reasoning tokens spent besides the answer (`[mock:reasoning=N]`).
    var reasoningTokens: Int

    var text: String { tokens.joined() }

    var toolName: String? {
        if case .toolCall(let name) = ending { return name }
        return nil
    }

    var outputTokens: Int {
        switch ending {
        case .toolCall: Self.toolCallTokens
        case .blocked: 0
        default: tokens.count
        }
    }

    /// Uncached prompt tokens.
    var uncachedPromptTokens: Int { max(0, promptTokens - cachedTokens) }

    init(turn: MockChatTurn, directives: MockDirectives) {
        // N cached tokens are reported as asked; the prompt is then at least that long.
        cachedTokens = directives.cachedTokens
        reasoningTokens = directives.reasoningTokens
        promptTokens = max(turn.promptTokens, directives.cachedTokens)
        if directives.safety {
            tokens = []
            ending = .blocked
            return
        }
        if turn.toolResult == nil, directives.toolCall, let name = turn.firstToolName {
            tokens = []
            ending = .toolCall(name: name)
            return
        }
        var text: String
        if let result = turn.toolResult {
            text = "The tool said: " + result
        } else {
            text = CannedAnswers.answer(to: MockDirectives.strip(turn.lastUserText))
        }
        if turn.jsonAnswer { text = #"{"answer": \#(JSONText.quote(text))}"# }
        ending = .complete
        if let cut = Self.firstStop(in: text, of: turn.stopSequences) {
            text = String(text[..<cut.range.lowerBound])
            ending = .stopSequence(cut.sequence)
        }
        tokens = CannedAnswers.tokens(text)
        if let maxTokens = turn.maxTokens, maxTokens >= 0, tokens.count > maxTokens {
            tokens = Array(tokens.prefix(maxTokens))
            ending = .maxTokens
        }
    }

    /// The earliest occurrence of any stop sequence.
    static func firstStop(in text: String, of sequences: [String]) -> (range: Range<String.Index>, sequence: String)? {
        var best: (range: Range<String.Index>, sequence: String)?
        for sequence in sequences where !sequence.isEmpty {
            if let range = text.range(of: sequence), best.map({ range.lowerBound < $0.range.lowerBound }) ?? true {
                best = (range, sequence)
            }
        }
        return best
    }

    /// `text` cut into `count` roughly equal pieces (at least one), for streamed tool arguments.
    static func pieces(of text: String, count: Int) -> [String] {
        let characters = Array(text)
        let size = max(1, (characters.count + count - 1) / max(1, count))
        return stride(from: 0, to: characters.count, by: size).map {
            String(characters[$0..<min($0 + size, characters.count)])
        }
    }
}
