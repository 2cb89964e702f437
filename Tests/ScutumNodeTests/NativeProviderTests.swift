import Foundation
import ScutumMock
import ScutumTestSupport
import Testing

/// Anthropic, Gemini, Vertex AI and Bedrock behind the OpenAI API, through the real HTTP path:
/// client -> gateway -> mock upstream speaking each provider's wire format -> gateway -> client.
@Suite("Native providers")
struct NativeProviderTests {
    static let chatModels = ["claude-test", "gemini-test", "vertex-gemini", "vertex-claude", "bedrock-claude"]
    static let question = "What is the capital of France?"
    static let answer = "The capital of France is Paris."
    static let weatherTool = #"[{"type":"function","function":{"name":"get_weather","description":"Weather now","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]"#

    /// The upstream request the mock saw for a chat call (the token exchange excluded).
    static func upstreamChat(_ gateway: Gateway) throws -> (uri: String, headers: MockRecordedRequest, body: [String: Any]) {
        let entry = try #require(gateway.mockLog.entries.last { !$0.uri.hasPrefix("/token") })
        let body = try #require(try JSONSerialization.jsonObject(with: Data(entry.bodyString().utf8)) as? [String: Any])
        return (entry.uri, entry, body)
    }

    @Test("a non-streaming answer, and the request as the provider's API wants it", arguments: chatModels)
    func nonStreaming(model: String) async throws {
        try await Gateway.with { gateway in
            let body = #"{"model":"\#(model)","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"\#(Self.question)"}],"max_tokens":100,"temperature":0.2,"top_p":0.9,"stop":["\n\n"]}"#
            let result = try await gateway.request("/v1/chat/completions", body: body)
            #expect(result.status == 200, "\(result.body)")
            let json = try result.json
            #expect(json["object"] as? String == "chat.completion")
            #expect(json["model"] as? String == model)
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == Self.answer)
            #expect(choice["finish_reason"] as? String == "stop")
            let usage = try #require(json["usage"] as? [String: Any])
            let prompt = try #require(usage["prompt_tokens"] as? Int)
            let completion = try #require(usage["completion_tokens"] as? Int)
            #expect(prompt > 0 && completion > 0 && usage["total_tokens"] as? Int == prompt + completion)

            let (uri, entry, sent) = try Self.upstreamChat(gateway)
            switch model {
            case "claude-test":
                #expect(uri == "/v1/messages")
                #expect(entry.header("x-api-key") == "sk-ant-upstream")
                #expect(entry.header("anthropic-version") == "2023-06-01")
                #expect(sent["model"] as? String == "claude-sonnet-4-5")
                #expect(sent["system"] as? String == "Be brief.")
                #expect(sent["max_tokens"] as? Int == 100)
                #expect(sent["stop_sequences"] as? [String] == ["\n\n"])
                #expect(sent["top_p"] as? Double == 0.9)
                let messages = try #require(sent["messages"] as? [[String: Any]])
                #expect(messages.count == 1 && messages[0]["role"] as? String == "user")
            case "vertex-claude":
                #expect(uri == "/v1/projects/test-project/locations/europe-west4/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
                #expect(entry.header("authorization")?.hasPrefix("Bearer ya29.") == true)
                #expect(sent["model"] == nil)
                #expect(sent["anthropic_version"] as? String == "vertex-2023-10-16")
                #expect(sent["system"] as? String == "Be brief.")
            case "gemini-test", "vertex-gemini":
                if model == "gemini-test" {
                    #expect(uri == "/v1beta/models/gemini-3-pro-preview:generateContent")
                    #expect(entry.header("x-goog-api-key") == "gemini-upstream-key")
                } else {
                    #expect(uri == "/v1/projects/test-project/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent")
                    #expect(entry.header("authorization")?.hasPrefix("Bearer ya29.") == true)
                }
                let system = try #require(sent["systemInstruction"] as? [String: Any])
                #expect((system["parts"] as? [[String: Any]])?.first?["text"] as? String == "Be brief.")
                let config = try #require(sent["generationConfig"] as? [String: Any])
                #expect(config["maxOutputTokens"] as? Int == 100)
                #expect(config["stopSequences"] as? [String] == ["\n\n"])
                let contents = try #require(sent["contents"] as? [[String: Any]])
                #expect(contents.map { $0["role"] as? String } == ["user"])
            case "bedrock-claude":
                #expect(uri == "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse")
                let authorization = try #require(entry.header("authorization"))
                #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDTESTUPSTREAM/"))
                #expect(authorization.contains("/eu-central-1/bedrock/aws4_request, SignedHeaders="))
                #expect(entry.header("x-amz-date") != nil)
                #expect((sent["system"] as? [[String: Any]])?.first?["text"] as? String == "Be brief.")
                let config = try #require(sent["inferenceConfig"] as? [String: Any])
                #expect(config["maxTokens"] as? Int == 100)
                #expect(config["stopSequences"] as? [String] == ["\n\n"])
            default:
                Issue.record("no expectations for \(model)")
            }
        }
    }

    @Test("a stream translated chunk by chunk, ending with usage and [DONE]", arguments: chatModels)
    func streaming(model: String) async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, Self.question, stream: true,
                    extra: #","stream_options":{"include_usage":true}"#))
            #expect(result.status == 200, "\(result.body)")
            #expect(result.header("content-type") == "text/event-stream")
            let frames = SSEFrames(result.body)
            #expect(frames.wellFormed)
            #expect(frames.endsWithDone)
            let chunks = try frames.chunks()
            #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
            #expect(chunks.allSatisfy { $0["model"] as? String == model && $0["object"] as? String == "chat.completion.chunk" })
            let deltas = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect((deltas.first?["delta"] as? [String: Any])?["role"] as? String == "assistant")
            #expect(try frames.content() == Self.answer)
            // Every content delta is one of the provider's pieces, in order: nothing merged or lost.
            let pieces = deltas.compactMap { ($0["delta"] as? [String: Any])?["content"] as? String }.filter { !$0.isEmpty }
            #expect(pieces.count >= 2)
            let finishes = deltas.compactMap { $0["finish_reason"] as? String }
            #expect(finishes == ["stop"])
            let last = try #require(chunks.last)
            #expect((last["choices"] as? [Any])?.isEmpty == true)
            let usage = try #require(last["usage"] as? [String: Any])
            #expect((usage["prompt_tokens"] as? Int ?? 0) > 0)
            #expect((usage["completion_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test("without include_usage the usage chunk is not sent", arguments: ["claude-test", "gemini-test", "bedrock-claude"])
    func noUsageChunk(model: String) async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, Self.question, stream: true))
            let chunks = try SSEFrames(result.body).chunks()
            #expect(chunks.allSatisfy { ($0["choices"] as? [Any])?.count == 1 })
        }
    }

    @Test("tool calls: the model's call, then the tool's result fed back", arguments: chatModels)
    func toolRoundTrip(model: String) async throws {
        try await Gateway.with { gateway in
            let ask = #"{"model":"\#(model)","messages":[{"role":"user","content":"[mock:tool_call] Weather in Paris?"}],"tools":\#(Self.weatherTool),"tool_choice":"auto"}"#
            let first = try await gateway.request("/v1/chat/completions", body: ask)
            #expect(first.status == 200, "\(first.body)")
            let choice = try #require((try first.json["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "tool_calls")
            let message = try #require(choice["message"] as? [String: Any])
            let call = try #require((message["tool_calls"] as? [[String: Any]])?.first)
            let id = try #require(call["id"] as? String)
            #expect(!id.isEmpty)
            #expect(call["type"] as? String == "function")
            let function = try #require(call["function"] as? [String: Any])
            #expect(function["name"] as? String == "get_weather")
            let arguments = try #require(function["arguments"] as? String)
            let parsed = try JSONSerialization.jsonObject(with: Data(arguments.utf8)) as? [String: Any]
            #expect(parsed?["location"] as? String == "Paris")

            // The tool definitions reached the provider in its own shape.
            let (_, _, sentFirst) = try Self.upstreamChat(gateway)
            switch model {
            case "claude-test", "vertex-claude":
                let tool = try #require((sentFirst["tools"] as? [[String: Any]])?.first)
                #expect(tool["name"] as? String == "get_weather")
                #expect((tool["input_schema"] as? [String: Any])?["type"] as? String == "object")
                #expect((sentFirst["tool_choice"] as? [String: Any])?["type"] as? String == "auto")
            case "gemini-test", "vertex-gemini":
                let tools = try #require(sentFirst["tools"] as? [[String: Any]])
                let declaration = try #require((tools.first?["functionDeclarations"] as? [[String: Any]])?.first)
                #expect(declaration["name"] as? String == "get_weather")
            default:
                let config = try #require(sentFirst["toolConfig"] as? [String: Any])
                let spec = try #require((config["tools"] as? [[String: Any]])?.first?["toolSpec"] as? [String: Any])
                #expect(spec["name"] as? String == "get_weather")
                #expect((spec["inputSchema"] as? [String: Any])?["json"] != nil)
            }

            let messageJSON = String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self)
            let followUp = #"{"model":"\#(model)","messages":[{"role":"user","content":"Weather in Paris?"},\#(messageJSON),{"role":"tool","tool_call_id":"\#(id)","content":"18C and sunny"}],"tools":\#(Self.weatherTool)}"#
            let second = try await gateway.request("/v1/chat/completions", body: followUp)
            #expect(second.status == 200, "\(second.body)")
            let answer = try #require((try second.json["choices"] as? [[String: Any]])?.first)
            #expect(answer["finish_reason"] as? String == "stop")
            #expect((answer["message"] as? [String: Any])?["content"] as? String == "The tool said: 18C and sunny")

            let (_, _, sent) = try Self.upstreamChat(gateway)
            let text = String(decoding: try JSONSerialization.data(withJSONObject: sent), as: UTF8.self)
            switch model {
            case "claude-test", "vertex-claude":
                let messages = try #require(sent["messages"] as? [[String: Any]])
                #expect(messages.map { $0["role"] as? String } == ["user", "assistant", "user"])
                let result = try #require((messages[2]["content"] as? [[String: Any]])?.first)
                #expect(result["type"] as? String == "tool_result")
                #expect(result["tool_use_id"] as? String == id)
            case "gemini-test", "vertex-gemini":
                let contents = try #require(sent["contents"] as? [[String: Any]])
                #expect(contents.map { $0["role"] as? String } == ["user", "model", "user"])
                #expect(text.contains("functionResponse"))
                #expect(text.contains("get_weather"))
            default:
                #expect(text.contains("toolResult"))
                #expect(text.contains(id))
            }
        }
    }

    @Test("a streamed tool call arrives as OpenAI tool_call deltas", arguments: chatModels)
    func streamedToolCall(model: String) async throws {
        try await Gateway.with { gateway in
            let body = #"{"model":"\#(model)","stream":true,"messages":[{"role":"user","content":"[mock:tool_call] Weather?"}],"tools":\#(Self.weatherTool)}"#
            let result = try await gateway.request("/v1/chat/completions", body: body)
            #expect(result.status == 200, "\(result.body)")
            let frames = SSEFrames(result.body)
            #expect(frames.endsWithDone)
            let deltas = try frames.chunks().compactMap { ($0["choices"] as? [[String: Any]])?.first }
            let calls = deltas.flatMap { (($0["delta"] as? [String: Any])?["tool_calls"] as? [[String: Any]]) ?? [] }
            let start = try #require(calls.first)
            #expect(start["index"] as? Int == 0)
            #expect(start["id"] is String)
            #expect((start["function"] as? [String: Any])?["name"] as? String == "get_weather")
            let arguments = calls.compactMap { ($0["function"] as? [String: Any])?["arguments"] as? String }.joined()
            let parsed = try JSONSerialization.jsonObject(with: Data(arguments.utf8)) as? [String: Any]
            #expect(parsed?["location"] as? String == "Paris")
            #expect(deltas.compactMap { $0["finish_reason"] as? String } == ["tool_calls"])
        }
    }

    @Test("provider errors become OpenAI errors with the gateway's statuses", arguments: chatModels)
    func errors(model: String) async throws {
        try await Gateway.with { gateway in
            let limited = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, "[mock:status=429] [mock:retry_after=7] hi"))
            #expect(limited.status == 429, "\(limited.body)")
            #expect(try limited.openAIError["type"] as? String == "rate_limit_error")

            let auth = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, "[mock:status=401] hi"))
            #expect(auth.status == 500)
            let authError = try auth.openAIError
            #expect(authError["code"] as? String == "upstream_auth_failed")
            #expect((authError["message"] as? String)?.contains("operator") == true)

            let rejected = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, "[mock:status=400] hi"))
            #expect(rejected.status == 400)
            #expect(try rejected.openAIError["type"] as? String == "invalid_request_error")

            let down = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, "[mock:status=503] hi"))
            #expect(down.status == 500)
            #expect(try down.openAIError["code"] as? String == "upstream_error")

            let streamed = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, "[mock:status=429] hi", stream: true))
            #expect(streamed.status == 429)
        }
    }

    @Test("a stream that fails midway ends with an error event and no [DONE]",
        arguments: ["claude-test", "bedrock-claude", "gemini-test"])
    func midStreamError(model: String) async throws {
        try await Gateway.with { gateway in
            let directive = model == "gemini-test" ? "[mock:disconnect_after=2]" : "[mock:stream_error]"
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, "\(directive) Write a short poem about APIs.", stream: true))
            #expect(result.status == 200)
            let frames = SSEFrames(result.body)
            #expect(!frames.endsWithDone)
            let last = try #require(try frames.chunks().last)
            #expect(last["error"] is [String: Any])
        }
    }

    @Test("the first translated chunk leaves before the provider has finished",
        arguments: ["claude-test", "gemini-test", "bedrock-claude"])
    func incremental(model: String) async throws {
        try await Gateway.with { gateway in
            let (first, total) = try await gateway.timeToFirstFrame("/v1/chat/completions",
                body: Gateway.chat(model: model, "[mock:tokens_per_sec=20] Write a short poem about APIs.", stream: true))
            // The provider paces its tokens over two seconds or more: a gateway that buffered would
            // deliver everything at the end; one that translates as it reads delivers the first chunk
            // while most of the answer is still to come (the bound leaves room for a loaded machine;
            // a buffering gateway's gap would be a few milliseconds).
            #expect(total - first > .milliseconds(600), "first byte after \(first) of \(total)")
        }
    }

    @Test("image parts reach the provider in its own format", arguments: ["claude-test", "gemini-test", "bedrock-claude"])
    func images(model: String) async throws {
        try await Gateway.with { gateway in
            let pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
            let body = #"{"model":"\#(model)","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,\#(pixel)"}}]}]}"#
            let result = try await gateway.request("/v1/chat/completions", body: body)
            #expect(result.status == 200, "\(result.body)")
            let (_, _, sent) = try Self.upstreamChat(gateway)
            let text = String(decoding: try JSONSerialization.data(withJSONObject: sent), as: UTF8.self)
            #expect(text.contains(pixel))
            switch model {
            case "claude-test": #expect(text.contains(#""media_type":"image\/png""#) || text.contains(#""media_type":"image/png""#))
            case "gemini-test": #expect(text.contains("inlineData"))
            default: #expect(text.contains(#""format":"png""#))
            }
            if model == "bedrock-claude" {
                let remote = #"{"model":"bedrock-claude","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}"#
                let refused = try await gateway.request("/v1/chat/completions", body: remote)
                #expect(refused.status == 400)
                #expect(try refused.openAIError["param"] as? String == "messages[0].content[0].image_url.url")
            }
        }
    }

    @Test("response_format json_schema gives JSON content", arguments: ["claude-test", "gemini-test", "bedrock-claude"])
    func jsonMode(model: String) async throws {
        try await Gateway.with { gateway in
            let format = #"{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"location":{"type":"string"}}}}}"#
            let body = #"{"model":"\#(model)","messages":[{"role":"user","content":"[mock:tool_call] Capital of France as JSON"}],"response_format":\#(format)}"#
            let result = try await gateway.request("/v1/chat/completions", body: body)
            #expect(result.status == 200, "\(result.body)")
            let choice = try #require((try result.json["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "stop")
            let content = try #require((choice["message"] as? [String: Any])?["content"] as? String)
            #expect(try JSONSerialization.jsonObject(with: Data(content.utf8)) is [String: Any])
            let (_, _, sent) = try Self.upstreamChat(gateway)
            if model == "gemini-test" {
                let config = try #require(sent["generationConfig"] as? [String: Any])
                #expect(config["responseMimeType"] as? String == "application/json")
                #expect(config["responseJsonSchema"] is [String: Any])
            }
        }
    }

    @Test("embeddings from Gemini, Titan and Cohere, as floats and as base64",
        arguments: ["gemini-embed", "bedrock-titan", "bedrock-cohere"])
    func embeddings(model: String) async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/embeddings",
                body: #"{"model":"\#(model)","input":["hello world","second text"]}"#)
            #expect(result.status == 200, "\(result.body)")
            let json = try result.json
            #expect(json["object"] as? String == "list")
            #expect(json["model"] as? String == model)
            let data = try #require(json["data"] as? [[String: Any]])
            #expect(data.map { $0["index"] as? Int } == [0, 1])
            let vector = try #require(data[0]["embedding"] as? [Double])
            #expect(vector.count > 100)
            #expect(((json["usage"] as? [String: Any])?["prompt_tokens"] as? Int ?? 0) > 0)

            let encoded = try await gateway.request("/v1/embeddings",
                body: #"{"model":"\#(model)","input":"hello world","encoding_format":"base64"}"#)
            let first = try #require((try encoded.json["data"] as? [[String: Any]])?.first)
            let base64 = try #require(first["embedding"] as? String)
            let bytes = try #require(Data(base64Encoded: base64))
            #expect(bytes.count == vector.count * 4)
            let floats = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            #expect(abs(Double(floats[0]) - vector[0]) < 1e-6)
        }
    }

    @Test("Vertex AI: one token exchange serves concurrent requests")
    func vertexTokenReuse() async throws {
        try await Gateway.with { gateway in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await gateway.request("/v1/chat/completions",
                            body: Gateway.chat(model: "vertex-gemini", Self.question)).status
                    }
                }
                for try await status in group { #expect(status == 200) }
            }
            let exchanges = gateway.mockLog.entries.filter { $0.uri.hasPrefix("/token") }
            #expect(exchanges.count == 1)
            let form = try #require(exchanges.first?.bodyString())
            #expect(form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"))
            #expect(form.contains("assertion="))
        }
    }

    @Test("requests a provider cannot express are refused with the field named")
    func untranslatable() async throws {
        try await Gateway.with { gateway in
            let orphan = #"{"model":"gemini-test","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_x","content":"42"}]}"#
            let refused = try await gateway.request("/v1/chat/completions", body: orphan)
            #expect(refused.status == 400)
            #expect(try refused.openAIError["param"] as? String == "messages[1].tool_call_id")

            let badArguments = #"{"model":"claude-test","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"not json"}}]},{"role":"tool","tool_call_id":"c1","content":"x"}]}"#
            let refusedArguments = try await gateway.request("/v1/chat/completions", body: badArguments)
            #expect(refusedArguments.status == 400)
            #expect(try refusedArguments.openAIError["param"] as? String == "messages[1].tool_calls[0].function.arguments")
            #expect(gateway.mockLog.entries.isEmpty)
        }
    }

    @Test("finish reasons: length for max_tokens, content_filter for a safety stop; cached prompt tokens reported",
        arguments: ["claude-test", "gemini-test", "vertex-gemini", "bedrock-claude"])
    func finishReasonsAndCache(model: String) async throws {
        try await Gateway.with { gateway in
            let short = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, "Write a short poem about APIs.", extra: #","max_tokens":3"#))
            #expect(short.status == 200, "\(short.body)")
            let shortChoice = try #require((try short.json["choices"] as? [[String: Any]])?.first)
            #expect(shortChoice["finish_reason"] as? String == "length")

            let blocked = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, "[mock:safety] something dangerous"))
            #expect(blocked.status == 200, "\(blocked.body)")
            let blockedChoice = try #require((try blocked.json["choices"] as? [[String: Any]])?.first)
            #expect(blockedChoice["finish_reason"] as? String == "content_filter")

            let blockedStream = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, "[mock:safety] something dangerous", stream: true))
            let finishes = try SSEFrames(blockedStream.body).chunks()
                .compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
            #expect(finishes == ["content_filter"])

            let cached = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: model, "[mock:cached=40] \(Self.question)"))
            let usage = try #require(try cached.json["usage"] as? [String: Any])
            #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 40)
            #expect((usage["prompt_tokens"] as? Int ?? 0) >= 40)
        }
    }
}
