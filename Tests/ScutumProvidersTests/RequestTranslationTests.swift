import NIOCore
import ScutumCore
import Testing

@testable import ScutumProviders

/// OpenAI requests translated into each provider's request body, and requests that cannot be.
@Suite("Translating OpenAI requests")
struct RequestTranslationTests {
    static func input(_ json: String) throws -> ChatInput {
        let request = try ChatCompletionRequest(json: try #require(JSONValue.parse(ByteBuffer(string: json))))
        return try ChatInput(request)
    }

    /// A conversation with a system prompt, an image, a tool call, two tool results and a reply.
    static let conversation = #"""
        {"model":"m","messages":[
          {"role":"system","content":"Be brief."},
          {"role":"developer","content":[{"type":"text","text":"Use metric units."}]},
          {"role":"user","content":[{"type":"text","text":"Weather here?"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,QUJD"}}]},
          {"role":"assistant","content":null,"tool_calls":[
            {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"call_2","type":"function","function":{"name":"get_time","arguments":""}}]},
          {"role":"tool","tool_call_id":"call_1","content":"{\"celsius\":18}"},
          {"role":"tool","tool_call_id":"call_2","content":"noon"},
          {"role":"assistant","content":"18C at noon."},
          {"role":"user","content":"Thanks"}],
         "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},
                  {"type":"function","function":{"name":"get_time","description":"Time now"}}],
         "tool_choice":{"type":"function","function":{"name":"get_weather"}},
         "parallel_tool_calls":false,"max_tokens":50,"temperature":0.5,"stop":"END","user":"u-1"}
        """#

    @Test("the conversation taken apart")
    func chatInput() throws {
        let input = try Self.input(Self.conversation)
        #expect(input.system == ["Be brief.", "Use metric units."])
        #expect(input.messages.count == 6)
        #expect(input.messages[0] == .user([.text("Weather here?"), .image(.inline(mediaType: "image/jpeg", base64: "QUJD"))]))
        #expect(input.messages[2] == .tool(callID: "call_1", name: "get_weather", content: #"{"celsius":18}"#))
        #expect(input.toolChoice == .function("get_weather"))
        #expect(input.tools.map(\.name) == ["get_weather", "get_time"])
        #expect(input.stop == ["END"])
        #expect(input.parallelToolCalls == false)
        #expect(input.user == "u-1")
    }

    @Test("Anthropic: system lifted, tool results merged into one user turn, choice and parallelism")
    func anthropic() throws {
        let body = try AnthropicRequest.body(try Self.input(Self.conversation), model: "claude-x", maxOutputTokens: 64000)
        #expect(body["system"] == "Be brief.\n\nUse metric units.")
        #expect(body["max_tokens"] == 50)
        #expect(body["stop_sequences"] == ["END"])
        #expect(body["metadata"] == ["user_id": "u-1"])
        #expect(body["tool_choice"] == ["type": "tool", "name": "get_weather", "disable_parallel_tool_use": true])
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages.map { $0["role"] } == ["user", "assistant", "user", "assistant", "user"])
        #expect(messages[0]["content"]?.arrayValue?[1] == ["type": "image", "source": ["type": "base64",
            "media_type": "image/jpeg", "data": "QUJD"]])
        #expect(messages[1]["content"] == [
            ["type": "tool_use", "id": "call_1", "name": "get_weather", "input": ["city": "Paris"]],
            ["type": "tool_use", "id": "call_2", "name": "get_time", "input": [:]],
        ])
        #expect(messages[2]["content"] == [
            ["type": "tool_result", "tool_use_id": "call_1", "content": #"{"celsius":18}"#],
            ["type": "tool_result", "tool_use_id": "call_2", "content": "noon"],
        ])
        let tools = try #require(body["tools"]?.arrayValue)
        #expect(tools[1] == ["name": "get_time", "description": "Time now",
            "input_schema": ["type": "object", "properties": [:]]])
    }

    @Test("Anthropic: max_tokens defaults, a leading assistant turn gets a user turn first, JSON mode forces a tool")
    func anthropicDefaults() throws {
        let input = try Self.input(#"{"model":"m","messages":[{"role":"assistant","content":"Hi"},{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"#)
        let body = try AnthropicRequest.body(input, model: "c", maxOutputTokens: 64000)
        #expect(body["max_tokens"] == .int(Int64(AnthropicRequest.defaultMaxTokens)))
        #expect(body["messages"]?.arrayValue?.first == ["role": "user", "content": [["type": "text", "text": "."]]])
        #expect(body["tool_choice"] == ["type": "tool", "name": "json_tool_call"])
        #expect(body["tools"]?.arrayValue?.first?["name"] == "json_tool_call")
    }

    @Test("Gemini: user/model roles, function responses by name, choice as allowed names, JSON schema")
    func gemini() throws {
        let body = try GeminiRequest.body(try Self.input(Self.conversation))
        #expect(body["systemInstruction"] == ["parts": [["text": "Be brief.\n\nUse metric units."]]])
        let contents = try #require(body["contents"]?.arrayValue)
        #expect(contents.map { $0["role"] } == ["user", "model", "user", "model", "user"])
        #expect(contents[0]["parts"]?.arrayValue?[1] == ["inlineData": ["mimeType": "image/jpeg", "data": "QUJD"]])
        #expect(contents[1]["parts"]?.arrayValue?.first == ["functionCall": ["name": "get_weather", "args": ["city": "Paris"]]])
        #expect(contents[2]["parts"] == [
            ["functionResponse": ["name": "get_weather", "response": ["celsius": 18]]],
            ["functionResponse": ["name": "get_time", "response": ["content": "noon"]]],
        ])
        #expect(body["toolConfig"] == ["functionCallingConfig": ["mode": "ANY", "allowedFunctionNames": ["get_weather"]]])
        #expect(body["generationConfig"] == ["maxOutputTokens": 50, "temperature": 0.5, "stopSequences": ["END"]])

        let schema = try GeminiRequest.body(try Self.input(#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}}}"#))
        #expect(schema["generationConfig"] == ["responseMimeType": "application/json", "responseJsonSchema": ["type": "object"]])
    }

    @Test("Bedrock: system blocks, inference config, tool results as JSON or text, image bytes")
    func bedrock() throws {
        let body = try BedrockConverseRequest.body(try Self.input(Self.conversation))
        #expect(body["system"] == [["text": "Be brief."], ["text": "Use metric units."]])
        #expect(body["inferenceConfig"] == ["maxTokens": 50, "temperature": 0.5, "stopSequences": ["END"]])
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages.map { $0["role"] } == ["user", "assistant", "user", "assistant", "user"])
        #expect(messages[0]["content"]?.arrayValue?[1] == ["image": ["format": "jpeg", "source": ["bytes": "QUJD"]]])
        #expect(messages[2]["content"] == [
            ["toolResult": ["toolUseId": "call_1", "content": [["json": ["celsius": 18]]]]],
            ["toolResult": ["toolUseId": "call_2", "content": [["text": "noon"]]]],
        ])
        #expect(body["toolConfig"]?["toolChoice"] == ["tool": ["name": "get_weather"]])
    }

    @Test("what a provider format cannot carry is refused with the field named", arguments: [
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}"#,
         "messages[0].content[0].image_url.url"),
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}"#,
         "messages[0].content[0]"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{"name":"nope"}},"tools":[]}"#,
         "tool_choice"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}"#,
         "response_format.json_schema.schema"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}"#, "n"),
        (#"{"model":"m","messages":[{"role":"system","content":"only a system prompt"}]}"#, "messages"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{}}]}"#, "tools[0]"),
        // A cache_control that is not an object with a type.
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":"ephemeral"}]}]}"#,
         "messages[0].content[0].cache_control"),
        (#"{"model":"m","messages":[{"role":"system","content":"s","cache_control":{}},{"role":"user","content":"x"}]}"#,
         "messages[0].cache_control"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"},"cache_control":[1]}]}"#,
         "tools[0].cache_control"),
    ])
    func refused(json: String, param: String) throws {
        do {
            _ = try Self.input(json)
            Issue.record("accepted: \(json)")
        } catch let error as ProviderError {
            #expect(error.kind == .invalidRequest(param: param))
            #expect(error.gatewayError(model: "m").status == 400)
            #expect(error.gatewayError(model: "m").param == param)
        }
    }
}
