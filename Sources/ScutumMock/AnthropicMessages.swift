import HTTPTypes
import Hummingbird

/// Anthropic's Messages API (`POST /v1/messages`), also served through Vertex AI's `rawPredict`.
enum AnthropicMessages {
    static func register(on router: Router<BasicRequestContext>, knobs: MockKnobs, log: MockRequestLog?) {
        router.post("/v1/messages") { request, _ in
            let bytes = try await MockUpstream.record(request, log: log)
            guard let key = request.headers[HTTPField.Name("x-api-key")!], !key.isEmpty else {
                return ProviderErrors.anthropic(status: 401, message: "x-api-key header is required")
            }
            guard request.headers[HTTPField.Name("anthropic-version")!] != nil else {
                return ProviderErrors.anthropic(status: 400, message: "anthropic-version: header is required")
            }
            return try await serve(bytes, knobs: knobs, pathModel: nil)
        }
        router.post("/v1/messages/count_tokens") { request, _ in
            let bytes = try await MockUpstream.record(request, log: log)
            guard let key = request.headers[HTTPField.Name("x-api-key")!], !key.isEmpty else {
                return ProviderErrors.anthropic(status: 401, message: "x-api-key header is required")
            }
            guard let body = JSONText.object(bytes), body["model"] is String, body["messages"] is [Any] else {
                return ProviderErrors.anthropic(status: 400, message: "model and messages: Field required")
            }
            if body["max_tokens"] != nil { return ProviderErrors.anthropic(status: 400, message: "max_tokens: Extra inputs are not permitted") }
            return MockResponses.json(#"{"input_tokens":\#(turn(body).promptTokens)}"#)
        }
    }

    /// Parses, validates and answers a Messages request; `pathModel` is Vertex AI's model (the
    /// body then names no model and carries `anthropic_version`), or with `bedrock` Bedrock's
    /// InvokeModel's (`anthropic_version: bedrock-2023-05-31`; errors in Bedrock's form; streams in
    /// AWS event-stream frames).
    /// `bedrockStream`: Bedrock's `invoke-with-response-stream` (its body has no `stream`).
    static func serve(_ bytes: [UInt8], knobs: MockKnobs, pathModel: String?, bedrock: Bool = false,
        bedrockStream: Bool = false) async throws -> Response
    {
        let vertex = pathModel != nil && !bedrock
        func refuse(_ message: String) -> Response {
            bedrock ? ProviderErrors.bedrock(status: 400, type: "ValidationException", message: message)
                : ProviderErrors.anthropic(status: 400, message: message, vertex: vertex)
        }
        guard let body = JSONText.object(bytes) else {
            return refuse("There was an error parsing the body of your request. Please ensure it is valid JSON.")
        }
        if let problem = validate(body, version: bedrock ? "bedrock-2023-05-31" : vertex ? "vertex-2023-10-16" : nil) {
            return refuse(problem)
        }
        let turn = turn(body)
        let directives = MockDirectives(knobs: knobs, text: turn.allText)
        let failure = try await MockUpstream.misbehave(directives) { status, retryAfter in
            // Vertex AI's own quota answers 429 in Google's format; the rest come from Anthropic.
            vertex && status == 429
                ? ProviderErrors.google(status: status, message: "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: \(pathModel ?? ""). Please submit a quota increase request.", retryAfter: retryAfter)
                : ProviderErrors.anthropic(status: status, retryAfter: retryAfter, vertex: vertex)
        }
        if let failure { return failure }
        let answer = MockAnswer(turn: turn, directives: directives)
        var reply = Reply(model: pathModel ?? body["model"] as? String ?? "claude", answer: answer,
            requestID: ProviderErrors.anthropicRequestID(vertex: vertex))
        // Extended thinking: a thinking block (with its signature) before the answer.
        reply.thinking = (body["thinking"] as? [String: Any])?["type"] as? String == "enabled"
        // Prompt caching: a request with cache_control breakpoints writes all but its last few
        // prompt tokens to the cache (`cache_creation_input_tokens`), to the 1-hour cache when a
        // breakpoint asks for it (`cache_creation.ephemeral_1h_input_tokens`).
        let text = String(decoding: bytes, as: UTF8.self)
        if text.contains("\"cache_control\"") {
            reply.cacheWrite = max(0, answer.uncachedPromptTokens - 4)
            reply.cacheWriteOneHour = text.contains(#""ttl":"1h""#)
        }
        if bedrock {
            if body["stream"] != nil { return refuse("stream: Extra inputs are not permitted") }
            if bedrockStream { return AnthropicStream.response(reply, stream: MockStream(directives), bedrock: true) }
            return MockResponses.json(reply.messageJSON(), headers: reply.headers)
        }
        if body["stream"] as? Bool == true { return AnthropicStream.response(reply, stream: MockStream(directives)) }
        return MockResponses.json(reply.messageJSON(), headers: reply.headers)
    }

    /// The first rule of the real API that `body` breaks, as Anthropic words it.
    /// `version`: the `anthropic_version` the body must carry (Vertex AI, Bedrock), naming no model.
    static func validate(_ body: [String: Any], version expected: String?) -> String? {
        if let expected {
            if body["model"] != nil { return "model: Extra inputs are not permitted" }
            guard let version = body["anthropic_version"] as? String else { return "anthropic_version: Field required" }
            guard version == expected else { return "anthropic_version: Input should be '\(expected)'" }
        } else if !(body["model"] is String) {
            return "model: Field required"
        }
        guard body["max_tokens"] is Int else { return "max_tokens: Field required" }
        guard let messages = body["messages"] as? [[String: Any]] else { return "messages: Field required" }
        guard !messages.isEmpty else { return "messages: at least one message is required" }
        var previousRole: String?
        var previousToolUses: Set<String> = []
        for (index, message) in messages.enumerated() {
            let role = message["role"] as? String ?? ""
            if role == "system" {
                return #"messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role."#
            }
            guard role == "user" || role == "assistant" else { return "messages.\(index).role: Input should be 'user' or 'assistant'" }
            if index == 0, role != "user" { return #"messages: first message must use the "user" role"# }
            if role == previousRole {
                return #"messages: roles must alternate between "user" and "assistant", but found multiple "\#(role)" roles in a row"#
            }
            let blocks = message["content"] as? [[String: Any]] ?? []
            if role == "user" {
                for (position, block) in blocks.enumerated() where block["type"] as? String == "tool_result" {
                    let id = block["tool_use_id"] as? String ?? ""
                    if !previousToolUses.contains(id) {
                        return "messages.\(index).content.\(position): unexpected `tool_use_id` found in `tool_result` blocks: \(id). Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                    }
                }
            }
            previousToolUses = role == "assistant"
                ? Set(blocks.filter { $0["type"] as? String == "tool_use" }.compactMap { $0["id"] as? String }) : []
            previousRole = role
        }
        return nil
    }

    /// The parts of a Messages request that the mock looks at.
    static func turn(_ body: [String: Any]) -> MockChatTurn {
        var turn = MockChatTurn()
        turn.systemText = text(of: body["system"])
        let messages = body["messages"] as? [[String: Any]] ?? []
        for message in messages {
            let text = text(of: message["content"])
            turn.messageTexts.append(text)
            if message["role"] as? String == "user" { turn.lastUserText = text }
        }
        if let last = messages.last, last["role"] as? String == "user", let blocks = last["content"] as? [[String: Any]] {
            let results = blocks.filter { $0["type"] as? String == "tool_result" }
            if !results.isEmpty { turn.toolResult = results.map { text(of: $0["content"]) }.joined(separator: "\n") }
        }
        turn.firstToolName = (body["tools"] as? [[String: Any]])?.first?["name"] as? String
        turn.maxTokens = body["max_tokens"] as? Int
        turn.stopSequences = body["stop_sequences"] as? [String] ?? []
        return turn
    }

    /// The text of a content string or of its text and tool result blocks.
    static func text(of content: Any?) -> String {
        if let text = content as? String { return text }
        guard let blocks = content as? [[String: Any]] else { return "" }
        return blocks.compactMap { block -> String? in
            switch block["type"] as? String {
            case "text": block["text"] as? String
            case "tool_result": text(of: block["content"])
            default: nil
            }
        }.joined(separator: " ")
    }

    /// One answer in Anthropic's terms.
    struct Reply: Sendable {
        var id = "msg_" + JSONText.randomID(24)
        var toolUseID = "toolu_" + JSONText.randomID(24)
        var model: String
        var answer: MockAnswer
        var requestID: String
        var thinking = false
        var cacheWrite = 0
        /// The cache write went to the 1-hour cache.
        var cacheWriteOneHour = false
        static let thoughts = "Let me think about this."
        var signature = "EqQBCkgIARABGAIiQL" + JSONText.randomID(40)

        var headers: HTTPFields { [HTTPField.Name("request-id")!: requestID] }

        var stopReason: String {
            switch answer.ending {
            case .complete: "end_turn"
            case .maxTokens: "max_tokens"
            case .stopSequence: "stop_sequence"
            case .toolCall: "tool_use"
            case .blocked: "refusal"
            }
        }

        var stopSequenceJSON: String {
            if case .stopSequence(let sequence) = answer.ending { return JSONText.quote(sequence) }
            return "null"
        }

        func usageJSON(outputTokens: Int) -> String {
            let oneHour = cacheWriteOneHour ? cacheWrite : 0
            return #"{"input_tokens":\#(answer.uncachedPromptTokens - cacheWrite),"cache_creation_input_tokens":\#(cacheWrite),"cache_read_input_tokens":\#(answer.cachedTokens),"cache_creation":{"ephemeral_5m_input_tokens":\#(cacheWrite - oneHour),"ephemeral_1h_input_tokens":\#(oneHour)},"output_tokens":\#(outputTokens)}"#
        }

        /// The message object; `streaming` gives `message_start`'s (no content, no stop yet).
        func messageJSON(streaming: Bool = false) -> String {
            var content: String
            if streaming || answer.ending == .blocked {
                content = "[]"
            } else if let name = answer.toolName {
                content = #"[{"type":"tool_use","id":"\#(toolUseID)","name":\#(JSONText.quote(name)),"input":\#(MockAnswer.toolArguments)}]"#
            } else {
                content = #"[{"type":"text","text":\#(JSONText.quote(answer.text))}]"#
            }
            if thinking && !streaming && answer.ending != .blocked {
                content = #"[{"type":"thinking","thinking":\#(JSONText.quote(Self.thoughts)),"signature":"\#(signature)"},"#
                    + content.dropFirst()
            }
            let stop = streaming ? "null" : JSONText.quote(stopReason)
            let sequence = streaming ? "null" : stopSequenceJSON
            let usage = usageJSON(outputTokens: streaming ? 1 : answer.outputTokens)
            return #"{"id":"\#(id)","type":"message","role":"assistant","model":\#(JSONText.quote(model)),"content":\#(content),"stop_reason":\#(stop),"stop_sequence":\#(sequence),"usage":\#(usage)}"#
        }
    }
}
