import ScutumCore

/// Reads Gemini `GenerateContentResponse` objects, whole or streamed.
enum GeminiResponse {
    /// What one response object (or stream event) holds for the first candidate.
    struct Piece {
        var texts: [String] = []
        var thoughts: [String] = []
        var calls: [ChatInput.ToolCall] = []
        /// Gemini's finish reason, or the prompt's block reason when no candidate came back.
        var finishReason: String?
        var blocked = false
        var usage: TokenUsage?
    }

    static func piece(_ json: JSONValue) throws(ProviderError) -> Piece {
        if let error = json["error"], error.objectValue != nil { throw Self.error(error) }
        var piece = Piece()
        piece.usage = usage(json["usageMetadata"])
        guard let candidate = json["candidates"]?.arrayValue?.first else {
            if let reason = json["promptFeedback"]?["blockReason"]?.stringValue {
                piece.finishReason = reason
                piece.blocked = true
            }
            return piece
        }
        for part in candidate["content"]?["parts"]?.arrayValue ?? [] {
            if let call = part["functionCall"] {
                let args = call["args"] ?? .object([:])
                piece.calls.append(ChatInput.ToolCall(id: call["id"]?.stringValue ?? "call_" + RandomID.make(),
                    name: call["name"]?.stringValue ?? "", arguments: args.jsonString))
            } else if let text = part["text"]?.stringValue {
                if part["thought"]?.boolValue == true { piece.thoughts.append(text) } else { piece.texts.append(text) }
            }
        }
        piece.finishReason = candidate["finishReason"]?.stringValue
        return piece
    }

    /// A non-streaming response as an assistant reply.
    static func reply(_ json: JSONValue) throws(ProviderError) -> AssistantReply {
        let piece = try piece(json)
        guard piece.finishReason != nil || !piece.texts.isEmpty || !piece.calls.isEmpty else {
            throw ProviderError(.malformed, "the response has no candidates")
        }
        let text = piece.texts.joined()
        return AssistantReply(text: text.isEmpty && (!piece.calls.isEmpty || piece.blocked) ? nil : text,
            toolCalls: piece.calls, finishReason: finishReason(piece.finishReason, hasCalls: !piece.calls.isEmpty),
            usage: piece.usage)
    }

    /// Gemini's `finishReason` (or `blockReason`) in OpenAI's terms.
    static func finishReason(_ reason: String?, hasCalls: Bool) -> FinishReason {
        switch reason {
        case "MAX_TOKENS": return .length
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "OTHER_BLOCK_REASON",
            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
            return .contentFilter
        default: return hasCalls ? .toolCalls : .stop
        }
    }

    /// `usageMetadata`: thinking tokens are billed as output, so OpenAI sees them as completion
    /// tokens (and as reasoning tokens); `promptTokenCount` already includes the cached content.
    static func usage(_ metadata: JSONValue?) -> TokenUsage? {
        guard let metadata, metadata.objectValue != nil else { return nil }
        let thoughts = metadata["thoughtsTokenCount"]?.intValue.map(Int.init)
        let output = Int(metadata["candidatesTokenCount"]?.intValue ?? 0) + (thoughts ?? 0)
        return TokenUsage(promptTokens: Int(metadata["promptTokenCount"]?.intValue ?? 0), completionTokens: output,
            cachedTokens: metadata["cachedContentTokenCount"]?.intValue.map(Int.init), reasoningTokens: thoughts)
    }

    /// A Google error object (`{"code","message","status"}`) as a `ProviderError`.
    static func error(_ error: JSONValue) -> ProviderError {
        let code = Int(error["code"]?.intValue ?? 500)
        let message = error["message"]?.stringValue ?? "the provider reported an error"
        return ProviderError(.status(code), error["status"]?.stringValue.map { "\($0): \(message)" } ?? message)
    }
}

/// Translates Gemini's `streamGenerateContent?alt=sse` events into OpenAI chunks. Gemini has no end
/// marker: the stream is complete when the body ends after an event that carried a finish reason.
struct GeminiStreamTranslator: StreamTranslator {
    let writer: OpenAIReplyWriter
    private var started = false
    private var toolCalls = 0
    private var usage: TokenUsage?
    private var finished = false
    let isComplete = false

    init(writer: OpenAIReplyWriter) {
        self.writer = writer
    }

    mutating func translate(_ event: SSEDecoder.Event) throws(ProviderError) -> [ChatCompletionChunk] {
        guard let json = JSONValue.parse(event.data), json.objectValue != nil else {
            throw ProviderError(.malformed, "an event in the stream is not a JSON object")
        }
        let piece = try GeminiResponse.piece(json)
        if let usage = piece.usage { self.usage = usage }
        var chunks: [ChatCompletionChunk] = []
        if !started {
            started = true
            chunks.append(writer.roleChunk())
        }
        for thought in piece.thoughts where !thought.isEmpty {
            chunks.append(writer.chunk(delta: ["reasoning_content": .string(thought)]))
        }
        for text in piece.texts where !text.isEmpty {
            chunks.append(writer.contentChunk(text))
        }
        for call in piece.calls {
            chunks.append(writer.toolCallStart(index: toolCalls, id: call.id, name: call.name, arguments: call.arguments))
            toolCalls += 1
        }
        if let reason = piece.finishReason, !finished {
            finished = true
            chunks.append(writer.finishChunk(GeminiResponse.finishReason(reason, hasCalls: toolCalls > 0)))
        }
        return chunks
    }

    mutating func finish() throws(ProviderError) -> [ChatCompletionChunk] {
        guard finished else {
            throw ProviderError(.connection, "the provider ended the stream before a finish reason")
        }
        return usage.map { [writer.usageChunk($0)] } ?? []
    }
}
