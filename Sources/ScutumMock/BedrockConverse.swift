import Foundation
import HTTPTypes
import Hummingbird

/// Bedrock's Converse and ConverseStream APIs.
enum BedrockConverse {
    static let alternate = "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
    static let startWithUser = "A conversation must start with a user message. Try again with a conversation that starts with a user message."

    static func serve(_ bytes: [UInt8], stream: Bool, knobs: MockKnobs) async throws -> Response {
        let started = ContinuousClock.now
        guard let body = JSONText.object(bytes) else {
            return ProviderErrors.bedrock(status: 400, type: "SerializationException", message: "Unexpected content in the request body.")
        }
        if let problem = validate(body) { return ProviderErrors.bedrock(status: 400, message: problem) }
        let turn = turn(body)
        let directives = MockDirectives(knobs: knobs, text: turn.allText)
        if let failure = try await MockUpstream.misbehave(directives, fail: { status, _ in ProviderErrors.bedrock(status: status) }) {
            return failure
        }
        var reply = BedrockReply(answer: MockAnswer(turn: turn, directives: directives),
            latencyMs: max(1, Int((ContinuousClock.now - started) / .milliseconds(1))))
        // Prompt caching: a request with cachePoint blocks writes all but its last few prompt tokens
        // to the cache, to the 1-hour cache when a cache point asks for it.
        let text = String(decoding: bytes, as: UTF8.self)
        if text.contains("\"cachePoint\"") {
            reply.cacheWrite = max(0, reply.answer.uncachedPromptTokens - 4)
            reply.cacheWriteOneHour = text.contains(#""ttl":"1h""#)
        }
        if stream { return BedrockStream.response(reply, stream: MockStream(directives)) }
        return MockResponses.json(reply.responseJSON, headers: reply.headers)
    }

    /// The first rule of the real API that `body` breaks, as AWS words it.
    static func validate(_ body: [String: Any]) -> String? {
        guard let messages = body["messages"] as? [[String: Any]] else {
            return "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"
        }
        guard !messages.isEmpty else { return startWithUser }
        var previousRole: String?
        var previousToolUses: [String] = []
        for (index, message) in messages.enumerated() {
            let role = message["role"] as? String ?? ""
            guard role == "user" || role == "assistant" else {
                return "1 validation error detected: Value '\(role)' at 'messages.\(index + 1).member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"
            }
            if index == 0, role != "user" { return startWithUser }
            if role == previousRole { return alternate }
            let content = message["content"] as? [[String: Any]] ?? []
            var resultIDs: [String] = []
            for (position, block) in content.enumerated() {
                if let image = block["image"] as? [String: Any] {
                    let encoded = (image["source"] as? [String: Any])?["bytes"] as? String
                    guard let encoded, Data(base64Encoded: encoded) != nil else {
                        return "Invalid base64 data at messages.\(index).content.\(position).image.source.bytes. Provide the image bytes base64-encoded and try again."
                    }
                }
                if let result = block["toolResult"] as? [String: Any] { resultIDs.append(result["toolUseId"] as? String ?? "") }
            }
            if resultIDs.count > previousToolUses.count {
                return "The number of toolResult blocks at messages.\(index).content exceeds the number of toolUse blocks of previous turn."
            }
            if !resultIDs.isEmpty, Set(resultIDs) != Set(previousToolUses) {
                return "Expected toolResult blocks at messages.\(index).content for the following Ids: \(previousToolUses.joined(separator: ", "))"
            }
            previousToolUses = role == "assistant"
                ? content.compactMap { ($0["toolUse"] as? [String: Any])?["toolUseId"] as? String } : []
            previousRole = role
        }
        return nil
    }

    /// The parts of a Converse request that the mock looks at.
    static func turn(_ body: [String: Any]) -> MockChatTurn {
        var turn = MockChatTurn()
        turn.systemText = (body["system"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }.joined(separator: " ")
        let messages = body["messages"] as? [[String: Any]] ?? []
        for message in messages {
            let text = text(of: message["content"])
            turn.messageTexts.append(text)
            if message["role"] as? String == "user" { turn.lastUserText = text }
        }
        if let last = messages.last, last["role"] as? String == "user", let content = last["content"] as? [[String: Any]] {
            let results = content.compactMap { $0["toolResult"] as? [String: Any] }
            if !results.isEmpty { turn.toolResult = results.map { text(of: $0["content"]) }.joined(separator: "\n") }
        }
        let toolConfig = body["toolConfig"] as? [String: Any]
        let firstTool = (toolConfig?["tools"] as? [[String: Any]])?.first?["toolSpec"] as? [String: Any]
        turn.firstToolName = firstTool?["name"] as? String
        let inference = body["inferenceConfig"] as? [String: Any]
        turn.maxTokens = inference?["maxTokens"] as? Int
        turn.stopSequences = inference?["stopSequences"] as? [String] ?? []
        return turn
    }

    /// The text of content blocks: text, and tool results' text and JSON.
    static func text(of content: Any?) -> String {
        (content as? [[String: Any]] ?? []).compactMap { block -> String? in
            if let text = block["text"] as? String { return text }
            if block["json"] != nil { return MockChatTurn.describe(block["json"]) }
            if let result = block["toolResult"] as? [String: Any] { return text(of: result["content"]) }
            return nil
        }.joined(separator: " ")
    }
}

/// One answer in Bedrock's Converse terms.
struct BedrockReply: Sendable {
    var answer: MockAnswer
    var latencyMs: Int
    var toolUseID = "tooluse_" + JSONText.randomID(22)
    var requestID = UUID().uuidString.lowercased()
    /// Prompt tokens written to the cache (the request had cache points).
    var cacheWrite = 0
    var cacheWriteOneHour = false

    var headers: HTTPFields { [HTTPField.Name("x-amzn-RequestId")!: requestID] }

    var stopReason: String {
        switch answer.ending {
        case .complete: "end_turn"
        case .maxTokens: "max_tokens"
        case .stopSequence: "stop_sequence"
        case .toolCall: "tool_use"
        case .blocked: "content_filtered"
        }
    }

    /// Input tokens exclude cache reads and writes; the total includes them. Writes are detailed
    /// by TTL in `cacheDetails`.
    var usageJSON: String {
        let input = answer.uncachedPromptTokens - cacheWrite
        var json = #"{"inputTokens":\#(input),"outputTokens":\#(answer.outputTokens),"totalTokens":\#(answer.promptTokens + answer.outputTokens)"#
        if answer.cachedTokens > 0 || cacheWrite > 0 {
            json += #","cacheReadInputTokens":\#(answer.cachedTokens),"cacheWriteInputTokens":\#(cacheWrite)"#
        }
        if cacheWrite > 0 {
            json += #","cacheDetails":[{"ttl":"\#(cacheWriteOneHour ? "1h" : "5m")","inputTokens":\#(cacheWrite)}]"#
        }
        return json + "}"
    }

    var metricsJSON: String { #"{"latencyMs":\#(latencyMs)}"# }

    var responseJSON: String {
        let content: String
        switch answer.ending {
        case .blocked: content = "[]"
        case .toolCall(let name):
            content = #"[{"toolUse":{"toolUseId":"\#(toolUseID)","name":\#(JSONText.quote(name)),"input":\#(MockAnswer.toolArguments)}}]"#
        default: content = #"[{"text":\#(JSONText.quote(answer.text))}]"#
        }
        return #"{"output":{"message":{"role":"assistant","content":\#(content)}},"stopReason":"\#(stopReason)","usage":\#(usageJSON),"metrics":\#(metricsJSON)}"#
    }
}
