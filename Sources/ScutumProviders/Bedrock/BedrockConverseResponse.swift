import NIOCore
import ScutumCore

/// Reads Bedrock Converse answers, whole or as ConverseStream events.
enum BedrockConverseResponse {
    static func reply(_ json: JSONValue, jsonMode: Bool) throws(ProviderError) -> AssistantReply {
        guard let content = json["output"]?["message"]?["content"]?.arrayValue else {
            throw ProviderError(.malformed, "expected output.message.content")
        }
        var texts: [String] = []
        var calls: [ChatInput.ToolCall] = []
        var answeredAsJSON = false
        for block in content {
            if let text = block["text"]?.stringValue {
                texts.append(text)
            } else if let use = block["toolUse"] {
                let name = use["name"]?.stringValue ?? ""
                let input = use["input"] ?? .object([:])
                if jsonMode && name == AnthropicRequest.jsonToolName {
                    texts = [input.jsonString]
                    answeredAsJSON = true
                } else {
                    calls.append(ChatInput.ToolCall(id: use["toolUseId"]?.stringValue ?? "tooluse_" + RandomID.make(),
                        name: name, arguments: input.jsonString))
                }
            }
        }
        var finish = finishReason(json["stopReason"]?.stringValue)
        if answeredAsJSON && calls.isEmpty && finish == .toolCalls { finish = .stop }
        let text = texts.joined()
        return AssistantReply(text: text.isEmpty && !calls.isEmpty ? nil : text, toolCalls: calls,
            finishReason: finish, usage: usage(json["usage"]))
    }

    static func finishReason(_ reason: String?) -> FinishReason {
        switch reason {
        case "max_tokens", "model_context_window_exceeded": .length
        case "tool_use": .toolCalls
        case "guardrail_intervened", "content_filtered": .contentFilter
        default: .stop
        }
    }

    /// Converse usage. `inputTokens` excludes cache reads and writes; OpenAI counts them as prompt
    /// tokens, so they are added in. Writes with a 1-hour TTL (`cacheDetails`) are told apart.
    static func usage(_ usage: JSONValue?) -> TokenUsage? {
        guard let usage, usage.objectValue != nil else { return nil }
        let read = usage["cacheReadInputTokens"]?.intValue.map(Int.init)
        let written = usage["cacheWriteInputTokens"]?.intValue.map(Int.init)
        let oneHour = usage["cacheDetails"]?.arrayValue.map { details in
            details.filter { $0["ttl"]?.stringValue == "1h" }.reduce(0) { $0 + Int($1["inputTokens"]?.intValue ?? 0) }
        }
        return TokenUsage(promptTokens: Int(usage["inputTokens"]?.intValue ?? 0) + (written ?? 0) + (read ?? 0),
            completionTokens: Int(usage["outputTokens"]?.intValue ?? 0), cachedTokens: read,
            cacheWriteTokens: written.map { max(0, $0 - (oneHour ?? 0)) },
            cacheWrite1hTokens: oneHour.flatMap { $0 > 0 ? $0 : nil })
    }

    /// The status an AWS exception name stands for (`ThrottlingException`, `throttlingException`...).
    static func status(forException name: String) -> Int {
        switch name.lowercased().replacingOccurrences(of: "exception", with: "") {
        case "throttling", "toomanyrequests", "servicequotaexceeded": 429
        case "validation": 400
        case "accessdenied", "unrecognizedclient": 403
        case "resourcenotfound": 404
        case "modeltimeout": 408
        case "serviceunavailable", "modelnotready": 503
        default: 500
        }
    }
}

/// Translates ConverseStream events (`messageStart`, `contentBlockStart`, `contentBlockDelta`,
/// `contentBlockStop`, `messageStop`, `metadata`, and exceptions) into OpenAI chunks.
struct BedrockStreamTranslator: StreamTranslator {
    let writer: OpenAIReplyWriter
    let jsonMode: Bool
    private var toolIndex: [Int64: Int] = [:]
    private var jsonBlocks: Set<Int64> = []
    private var sawFinish = false
    private(set) var isComplete = false

    init(writer: OpenAIReplyWriter, jsonMode: Bool) {
        self.writer = writer
        self.jsonMode = jsonMode
    }

    mutating func translate(_ message: AWSEventStreamMessage) throws(ProviderError) -> [ChatCompletionChunk] {
        let payload = JSONValue.parse(ByteBuffer(bytes: message.payload)) ?? .null
        if let failure = message.failure(payload) { throw failure }
        guard payload.objectValue != nil else {
            throw ProviderError(.malformed, "an event in the stream is not a JSON object")
        }
        switch message.eventType {
        case "messageStart":
            return [writer.roleChunk()]
        case "contentBlockStart":
            let index = payload["contentBlockIndex"]?.intValue ?? 0
            guard let use = payload["start"]?["toolUse"] else { return [] }
            let name = use["name"]?.stringValue ?? ""
            if jsonMode && name == AnthropicRequest.jsonToolName {
                jsonBlocks.insert(index)
                return []
            }
            let openAIIndex = toolIndex.count
            toolIndex[index] = openAIIndex
            return [writer.toolCallStart(index: openAIIndex,
                id: use["toolUseId"]?.stringValue ?? "tooluse_" + RandomID.make(), name: name)]
        case "contentBlockDelta":
            let index = payload["contentBlockIndex"]?.intValue ?? 0
            let delta = payload["delta"] ?? .null
            if let text = delta["text"]?.stringValue {
                return text.isEmpty ? [] : [writer.contentChunk(text)]
            }
            if let partial = delta["toolUse"]?["input"]?.stringValue, !partial.isEmpty {
                if jsonBlocks.contains(index) { return [writer.contentChunk(partial)] }
                guard let openAIIndex = toolIndex[index] else { return [] }
                return [writer.toolCallArguments(index: openAIIndex, partial)]
            }
            if let thinking = delta["reasoningContent"]?["text"]?.stringValue, !thinking.isEmpty {
                return [writer.chunk(delta: ["reasoning_content": .string(thinking)])]
            }
            return []
        case "messageStop":
            var finish = BedrockConverseResponse.finishReason(payload["stopReason"]?.stringValue)
            if finish == .toolCalls && toolIndex.isEmpty && !jsonBlocks.isEmpty { finish = .stop }
            sawFinish = true
            return [writer.finishChunk(finish)]
        case "metadata":
            isComplete = true
            let usage = BedrockConverseResponse.usage(payload["usage"])
            return (sawFinish ? [] : [writer.finishChunk(.stop)]) + (usage.map { [writer.usageChunk($0)] } ?? [])
        default:
            return []
        }
    }

    mutating func finish() throws(ProviderError) -> [ChatCompletionChunk] {
        guard sawFinish else {
            throw ProviderError(.connection, "the provider ended the stream before messageStop")
        }
        return []
    }
}

extension AWSEventStreamMessage {
    /// The provider error an `exception` or `error` message stands for; nil for an event.
    func failure(_ payload: JSONValue) -> ProviderError? {
        switch messageType ?? "event" {
        case "event":
            return nil
        case "exception":
            let name = exceptionType ?? "internalServerException"
            let text = payload["message"]?.stringValue ?? "the provider reported an error"
            return ProviderError(.status(BedrockConverseResponse.status(forException: name)), "\(name): \(text)")
        default:
            let code = headerString(":error-code") ?? "error"
            let text = headerString(":error-message") ?? "the provider reported an error"
            return ProviderError(.status(500), "\(code): \(text)")
        }
    }
}
