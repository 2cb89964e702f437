import Foundation
import ScutumCore
import Testing

/// Parses `text` as a request body the way the proxy does and validates it as a chat request.
func parseChat(_ text: String) throws(GatewayError) -> ChatCompletionRequest {
    try ChatCompletionRequest(json: RequestJSON.parse(Array(text.utf8)))
}

/// The error a chat body is rejected with, or nil when it is accepted.
func chatError(_ text: String) -> GatewayError? {
    do {
        _ = try parseChat(text)
        return nil
    } catch {
        return error
    }
}

/// A body that must be rejected, and how.
struct Rejection: Sendable, CustomTestStringConvertible {
    var body: String
    var param: String?
    var code: String?
    var messageContains: String = ""

    var testDescription: String { body }
}

let userMessage = #"[{"role":"user","content":"hi"}]"#

@Suite("Chat completion request validation")
struct ChatCompletionRequestTests {
    @Test("a minimal valid body is accepted with defaults")
    func minimal() throws {
        let request = try parseChat(#"{"model":"gpt-x","messages":\#(userMessage)}"#)
        #expect(request.model == "gpt-x")
        #expect(request.messages == [["role": "user", "content": "hi"]])
        #expect(request.stream == false)
        #expect(request.includeUsage == false)
        #expect(request.maxTokens == nil)
    }

    @Test("fields the gateway does not interpret are kept untouched")
    func passthrough() throws {
        let request = try parseChat(
            #"{"model":"m","messages":\#(userMessage),"seed":7,"response_format":{"type":"json_object"},"x_custom":[1,"a",null]}"#
        )
        #expect(request.body["seed"] == .int(7))
        #expect(request.body["response_format"] == ["type": "json_object"])
        #expect(request.body["x_custom"] == [1, "a", nil])
        let upstream = request.upstreamBody(model: "upstream-id", forceUsage: true)
        #expect(upstream["model"] == "upstream-id")
        #expect(upstream["seed"] == .int(7))
        #expect(upstream["x_custom"] == [1, "a", nil])
        #expect(upstream["messages"] == request.body["messages"])
    }

    static let rejections: [Rejection] = [
        // model
        Rejection(body: #"{"messages":\#(userMessage)}"#, param: "model", code: "missing_required_parameter",
            messageContains: "Missing required parameter: 'model'"),
        Rejection(body: #"{"model":null,"messages":\#(userMessage)}"#, param: "model",
            code: "missing_required_parameter"),
        Rejection(body: #"{"model":42,"messages":\#(userMessage)}"#, param: "model", code: "invalid_type"),
        Rejection(body: #"{"model":"","messages":\#(userMessage)}"#, param: "model", code: "invalid_type"),
        Rejection(body: #"{"model":["a"],"messages":\#(userMessage)}"#, param: "model", code: "invalid_type"),
        // messages
        Rejection(body: #"{"model":"m"}"#, param: "messages", code: "missing_required_parameter",
            messageContains: "Missing required parameter: 'messages'"),
        Rejection(body: #"{"model":"m","messages":null}"#, param: "messages", code: "missing_required_parameter"),
        Rejection(body: #"{"model":"m","messages":"hi"}"#, param: "messages", code: "invalid_type",
            messageContains: "not string"),
        Rejection(body: #"{"model":"m","messages":{"role":"user"}}"#, param: "messages", code: "invalid_type"),
        Rejection(body: #"{"model":"m","messages":[]}"#, param: "messages", code: "invalid_value",
            messageContains: "at least one message"),
        Rejection(body: #"{"model":"m","messages":[42]}"#, param: "messages[0]", code: "invalid_type"),
        Rejection(body: #"{"model":"m","messages":[{"role":"user","content":"a"},"b"]}"#, param: "messages[1]",
            code: "invalid_type"),
        // roles
        Rejection(body: #"{"model":"m","messages":[{"content":"hi"}]}"#, param: "messages[0].role",
            code: "missing_required_parameter"),
        Rejection(body: #"{"model":"m","messages":[{"role":7,"content":"hi"}]}"#, param: "messages[0].role",
            code: "missing_required_parameter"),
        Rejection(body: #"{"model":"m","messages":[{"role":"wizard","content":"hi"}]}"#, param: "messages[0].role",
            code: "invalid_value", messageContains: "'wizard'"),
        Rejection(body: #"{"model":"m","messages":[{"role":"User","content":"hi"}]}"#, param: "messages[0].role",
            code: "invalid_value"),
        // content
        Rejection(body: #"{"model":"m","messages":[{"role":"user"}]}"#, param: "messages[0].content",
            code: "missing_required_parameter"),
        Rejection(body: #"{"model":"m","messages":[{"role":"user","content":null}]}"#, param: "messages[0].content",
            code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":[{"role":"user","content":5}]}"#, param: "messages[0].content",
            code: "invalid_type"),
        Rejection(body: #"{"model":"m","messages":[{"role":"user","content":{"text":"x"}}]}"#,
            param: "messages[0].content", code: "invalid_type"),
        Rejection(body: #"{"model":"m","messages":[{"role":"assistant"}]}"#, param: "messages[0].content",
            code: "missing_required_parameter"),
        // tool messages
        Rejection(body: #"{"model":"m","messages":[{"role":"user","content":"a"},{"role":"tool","content":"42"}]}"#,
            param: "messages[1].tool_call_id", code: "missing_required_parameter"),
        Rejection(body: #"{"model":"m","messages":[{"role":"tool","content":"42","tool_call_id":1}]}"#,
            param: "messages[0].tool_call_id", code: "missing_required_parameter"),
        // stream and stream_options
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"stream":"yes"}"#, param: "stream",
            code: "invalid_type"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"stream":1}"#, param: "stream",
            code: "invalid_type"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"stream_options":{"include_usage":true}}"#,
            param: "stream_options", code: "invalid_value", messageContains: "only allowed when 'stream' is true"),
        Rejection(
            body: #"{"model":"m","messages":\#(userMessage),"stream":false,"stream_options":{"include_usage":true}}"#,
            param: "stream_options", code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"stream":true,"stream_options":5}"#,
            param: "stream_options", code: "invalid_type"),
        Rejection(
            body: #"{"model":"m","messages":\#(userMessage),"stream":true,"stream_options":{"include_usage":"yes"}}"#,
            param: "stream_options.include_usage", code: "invalid_type"),
        // numeric ranges
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"temperature":2.5}"#, param: "temperature",
            code: "invalid_value", messageContains: "between 0.0 and 2.0"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"temperature":-0.1}"#, param: "temperature",
            code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"temperature":"hot"}"#, param: "temperature",
            code: "invalid_type"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"temperature":true}"#, param: "temperature",
            code: "invalid_type"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"top_p":1.01}"#, param: "top_p",
            code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"top_p":-1}"#, param: "top_p",
            code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"max_tokens":0}"#, param: "max_tokens",
            code: "invalid_value", messageContains: "at least 1; got 0"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"max_tokens":-5}"#, param: "max_tokens",
            code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"max_tokens":1.5}"#, param: "max_tokens",
            code: "invalid_type"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"max_tokens":"100"}"#, param: "max_tokens",
            code: "invalid_type"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"max_completion_tokens":0}"#,
            param: "max_completion_tokens", code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"n":0}"#, param: "n", code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"n":129}"#, param: "n", code: "invalid_value",
            messageContains: "between 1 and 128"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"presence_penalty":2.5}"#,
            param: "presence_penalty", code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"frequency_penalty":-3}"#,
            param: "frequency_penalty", code: "invalid_value"),
        // stop
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"stop":["a","b","c","d","e"]}"#, param: "stop",
            code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"stop":[1]}"#, param: "stop",
            code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"stop":["a",null]}"#, param: "stop",
            code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"stop":5}"#, param: "stop", code: "invalid_value"),
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"stop":{"a":"b"}}"#, param: "stop",
            code: "invalid_value"),
        // tools
        Rejection(body: #"{"model":"m","messages":\#(userMessage),"tools":{"type":"function"}}"#, param: "tools",
            code: "invalid_type"),
        // not an object
        Rejection(body: #"[{"model":"m"}]"#, param: nil, code: "invalid_type", messageContains: "not array"),
        Rejection(body: #""hello""#, param: nil, code: "invalid_type", messageContains: "not string"),
        Rejection(body: "null", param: nil, code: "invalid_type"),
        // not JSON
        Rejection(body: "", param: nil, code: "invalid_json", messageContains: "the body is empty"),
        Rejection(body: "{", param: nil, code: "invalid_json"),
        Rejection(body: "model=gpt", param: nil, code: "invalid_json"),
        Rejection(body: #"{'model':'m'}"#, param: nil, code: "invalid_json"),
    ]

    @Test("invalid bodies are rejected with 400 naming the parameter", arguments: rejections)
    func rejected(_ rejection: Rejection) throws {
        let error = try #require(chatError(rejection.body), "accepted an invalid body")
        #expect(error.status == 400)
        #expect(error.type == "invalid_request_error")
        #expect(error.param == rejection.param)
        #expect(error.code == rejection.code)
        #expect(!error.message.isEmpty)
        if !rejection.messageContains.isEmpty {
            #expect(error.message.contains(rejection.messageContains), "message: \(error.message)")
        }
        if rejection.code == "invalid_json" {
            #expect(error.message.hasPrefix("We could not parse the JSON body of your request"))
        }
    }

    static let acceptedBodies: [String] = [
        #"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"developer","content":"d"},{"role":"user","content":"u"}]}"#,
        #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#,
        #"{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","content":"42","tool_call_id":"c1"}]}"#,
        #"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c1"}]}]}"#,
        #"{"model":"m","messages":[{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{}"}}]}"#,
        #"{"model":"m","messages":[{"role":"function","name":"f","content":"r"}]}"#,
        #"{"model":"m","messages":\#(userMessage),"temperature":0,"top_p":1}"#,
        #"{"model":"m","messages":\#(userMessage),"temperature":2,"top_p":0}"#,
        #"{"model":"m","messages":\#(userMessage),"temperature":null,"max_tokens":null,"stop":null,"stream":null}"#,
        #"{"model":"m","messages":\#(userMessage),"stop":"END"}"#,
        #"{"model":"m","messages":\#(userMessage),"stop":["a","b","c","d"]}"#,
        #"{"model":"m","messages":\#(userMessage),"stop":[]}"#,
        #"{"model":"m","messages":\#(userMessage),"n":1,"presence_penalty":-2,"frequency_penalty":2}"#,
        #"{"model":"m","messages":\#(userMessage),"tools":[]}"#,
        #"{"model":"m","messages":\#(userMessage),"stream":true,"stream_options":null}"#,
        #"{"model":"m","messages":\#(userMessage),"stream":false,"stream_options":null}"#,
    ]

    @Test("valid variants are accepted", arguments: acceptedBodies)
    func accepted(_ body: String) {
        let error = chatError(body)
        #expect(error == nil, "rejected: \(error?.message ?? "")")
    }

    @Test("max_completion_tokens wins over max_tokens; whole floats count as integers")
    func maxTokens() throws {
        #expect(try parseChat(#"{"model":"m","messages":\#(userMessage),"max_tokens":100}"#).maxTokens == 100)
        #expect(try parseChat(#"{"model":"m","messages":\#(userMessage),"max_tokens":2.0}"#).maxTokens == 2)
        #expect(
            try parseChat(#"{"model":"m","messages":\#(userMessage),"max_tokens":100,"max_completion_tokens":50}"#)
                .maxTokens == 50)
        #expect(try parseChat(#"{"model":"m","messages":\#(userMessage),"max_completion_tokens":7}"#).maxTokens == 7)
    }

    @Test("stream and include_usage are read")
    func streamFlags() throws {
        let plain = try parseChat(#"{"model":"m","messages":\#(userMessage),"stream":true}"#)
        #expect(plain.stream && !plain.includeUsage)
        let usage = try parseChat(
            #"{"model":"m","messages":\#(userMessage),"stream":true,"stream_options":{"include_usage":true}}"#)
        #expect(usage.stream && usage.includeUsage)
        let noUsage = try parseChat(
            #"{"model":"m","messages":\#(userMessage),"stream":true,"stream_options":{"include_usage":false}}"#)
        #expect(noUsage.stream && !noUsage.includeUsage)
    }
}

@Suite("Upstream body")
struct UpstreamBodyTests {
    @Test("include_usage is forced only when streaming")
    func notStreaming() throws {
        let request = try parseChat(#"{"model":"alias","messages":\#(userMessage)}"#)
        let body = request.upstreamBody(model: "real-model", forceUsage: true)
        #expect(body["model"] == "real-model")
        #expect(body["stream_options"] == nil)
        #expect(body["stream"] == nil)
        // The request itself is unchanged.
        #expect(request.body["model"] == "alias")
    }

    @Test("streaming without stream_options gets include_usage true")
    func streamingAddsOptions() throws {
        let request = try parseChat(#"{"model":"alias","messages":\#(userMessage),"stream":true}"#)
        let body = request.upstreamBody(model: "real-model", forceUsage: true)
        #expect(body["stream_options"] == ["include_usage": true])
        #expect(body["stream"] == true)
        // The client did not ask for usage; the proxy must know to strip the final usage chunk.
        #expect(request.includeUsage == false)
    }

    @Test("streaming with include_usage false is overridden, other options kept")
    func streamingOverrides() throws {
        let request = try parseChat(
            #"{"model":"alias","messages":\#(userMessage),"stream":true,"stream_options":{"include_usage":false,"continuous_usage_stats":true}}"#
        )
        let body = request.upstreamBody(model: "real-model", forceUsage: true)
        #expect(body["stream_options"] == ["include_usage": true, "continuous_usage_stats": true])
    }

    @Test("without forceUsage the client's options pass unchanged")
    func notForced() throws {
        let request = try parseChat(
            #"{"model":"alias","messages":\#(userMessage),"stream":true,"stream_options":{"include_usage":false}}"#)
        let body = request.upstreamBody(model: "real-model", forceUsage: false)
        #expect(body["stream_options"] == ["include_usage": false])
        let bare = try parseChat(#"{"model":"alias","messages":\#(userMessage),"stream":true}"#)
        #expect(bare.upstreamBody(model: "x", forceUsage: false)["stream_options"] == nil)
    }

    @Test("the upstream body encodes back to equivalent JSON")
    func encodes() throws {
        let request = try parseChat(
            #"{"model":"alias","messages":\#(userMessage),"temperature":0.5,"max_tokens":10,"stream":true}"#)
        let data = try JSONEncoder().encode(JSONValue.object(request.upstreamBody(model: "real", forceUsage: true)))
        let decoded = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(decoded == [
            "model": "real", "messages": [["role": "user", "content": "hi"]], "temperature": 0.5, "max_tokens": 10,
            "stream": true, "stream_options": ["include_usage": true],
        ])
    }
}
