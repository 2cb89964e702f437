import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScutumMock
import Testing

@Suite("AWS Bedrock")
struct BedrockMockTests {
    static let model = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0"
    static let question = #"{"messages":[{"role":"user","content":[{"text":"What is the capital of France?"}]}]}"#
    static let toolConfig = #"{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather now","inputSchema":{"json":{"type":"object","properties":{"location":{"type":"string"}}}}}}],"toolChoice":{"auto":{}}}"#

    static func amzDate(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// Headers shaped like a SigV4 signature made now.
    static func signed(date: Date = Date(), accessKey: String = "AKIDEXAMPLE12345", signature: String = String(repeating: "ab", count: 32)) -> HTTPFields {
        let stamp = amzDate(date)
        return [
            .authorization: "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(stamp.prefix(8))/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=\(signature)",
            HTTPField.Name("X-Amz-Date")!: stamp, .contentType: "application/json",
        ]
    }

    func post(_ uri: String, _ body: String, headers: HTTPFields = BedrockMockTests.signed(),
        _ check: @escaping @Sendable (TestResponse) async throws -> Void) async throws
    {
        try await MockTest.app().test(.router) { client in
            try await client.execute(uri: uri, method: .post, headers: headers, body: MockTest.body(body), testCallback: check)
        }
    }

    static func frames(_ response: TestResponse) -> [EventStreamMessage] {
        parseEventStream(Array(response.body.readableBytesView)) ?? []
    }

    @Test("Converse answers with the API reference's fields; the model id's %3A is decoded by the route")
    func converse() async throws {
        let body = #"{"system":[{"text":"Be brief."}],"messages":[{"role":"user","content":[{"text":"What is the capital of France?"}]}],"inferenceConfig":{"maxTokens":100,"temperature":0.2}}"#
        try await post(Self.model + "/converse", body) { response in
            #expect(response.status == .ok)
            #expect(MockTest.header(response, "x-amzn-RequestId")?.isEmpty == false)
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "output", "message", "role") as? String == "assistant")
            #expect(MockTest.at(json, "output", "message", "content", 0, "text") as? String == "The capital of France is Paris.")
            #expect(json["stopReason"] as? String == "end_turn")
            #expect(MockTest.at(json, "usage", "inputTokens") as? Int == 11)
            #expect(MockTest.at(json, "usage", "outputTokens") as? Int == 6)
            #expect(MockTest.at(json, "usage", "totalTokens") as? Int == 17)
            #expect(MockTest.at(json, "usage", "cacheReadInputTokens") == nil)
            #expect(MockTest.at(json, "metrics", "latencyMs") as? Int != nil)
        }
        try await post(Self.model + "/converse", #"{"messages":[{"role":"user","content":[{"text":"What is the capital of France?"}]}],"inferenceConfig":{"maxTokens":2,"stopSequences":["never"]}}"#) { response in
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "output", "message", "content", 0, "text") as? String == "The capital ")
            #expect(json["stopReason"] as? String == "max_tokens")
        }
    }

    @Test("ConverseStream sends event-stream frames with valid CRCs, padding and the documented events")
    func converseStream() async throws {
        try await post(Self.model + "/converse-stream", Self.question) { response in
            #expect(response.status == .ok)
            #expect(MockTest.header(response, "content-type") == "application/vnd.amazon.eventstream")
            let frames = Self.frames(response)
            #expect(frames.allSatisfy { $0.preludeCRCValid && $0.messageCRCValid })
            #expect(frames.allSatisfy { $0.headers[":message-type"] == "event" && $0.headers[":content-type"] == "application/json" })
            #expect(frames.allSatisfy { ($0.payloadJSON["p"] as? String)?.isEmpty == false })
            let types = frames.compactMap { $0.headers[":event-type"] }
            #expect(types == ["messageStart"] + Array(repeating: "contentBlockDelta", count: 6) + ["contentBlockStop", "messageStop", "metadata"])
            #expect(frames.first?.payloadJSON["role"] as? String == "assistant")
            let text = frames.filter { $0.headers[":event-type"] == "contentBlockDelta" }
                .compactMap { MockTest.at($0.payloadJSON, "delta", "text") as? String }.joined()
            #expect(text == "The capital of France is Paris.")
            #expect(frames[8].payloadJSON["stopReason"] as? String == "end_turn")
            #expect(MockTest.at(frames[9].payloadJSON, "usage", "outputTokens") as? Int == 6)
            #expect(MockTest.at(frames[9].payloadJSON, "usage", "totalTokens") as? Int == 15)
            #expect(MockTest.at(frames[9].payloadJSON, "metrics", "latencyMs") as? Int != nil)
        }
    }

    @Test("[mock:tool_call] answers with toolUse; streamed as contentBlockStart and input pieces")
    func toolCall() async throws {
        let body = #"{"messages":[{"role":"user","content":[{"text":"Weather? [mock:tool_call]"}]}],"toolConfig":\#(Self.toolConfig)}"#
        try await post(Self.model + "/converse", body) { response in
            let json = MockTest.json(response.body)
            #expect(json["stopReason"] as? String == "tool_use")
            let toolUse = MockTest.at(json, "output", "message", "content", 0, "toolUse")
            #expect((MockTest.at(toolUse, "toolUseId") as? String)?.hasPrefix("tooluse_") == true)
            #expect(MockTest.at(toolUse, "name") as? String == "get_weather")
            #expect(MockTest.at(toolUse, "input", "location") as? String == "Paris")
        }
        try await post(Self.model + "/converse-stream", body) { response in
            let frames = Self.frames(response)
            #expect(frames.map { $0.headers[":event-type"] ?? "" }.prefix(2) == ["messageStart", "contentBlockStart"])
            #expect(MockTest.at(frames[1].payloadJSON, "start", "toolUse", "name") as? String == "get_weather")
            let pieces = frames.filter { $0.headers[":event-type"] == "contentBlockDelta" }
                .compactMap { MockTest.at($0.payloadJSON, "delta", "toolUse", "input") as? String }
            #expect(pieces.count >= 2)
            #expect(MockTest.json(pieces.joined())["location"] as? String == "Paris")
            #expect(frames.first { $0.headers[":event-type"] == "messageStop" }?.payloadJSON["stopReason"] as? String == "tool_use")
        }
    }

    @Test("a toolResult as the last message is answered with its text or JSON")
    func toolRoundTrip() async throws {
        for (result, said) in [(#"[{"text":"Sunny"}]"#, "Sunny"), (#"[{"json":{"forecast":"rain"}}]"#, "rain")] {
            let body = #"{"messages":[{"role":"user","content":[{"text":"Weather? [mock:tool_call]"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"location":"Paris"}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_1","content":\#(result),"status":"success"}}]}],"toolConfig":\#(Self.toolConfig)}"#
            try await post(Self.model + "/converse", body) { response in
                let json = MockTest.json(response.body)
                #expect(json["stopReason"] as? String == "end_turn")
                #expect(MockTest.at(json, "output", "message", "content", 0, "text") as? String == "The tool said: \(said)")
            }
        }
    }

    @Test("[mock:status] answers with Bedrock's error JSON and x-amzn-ErrorType")
    func statusErrors() async throws {
        try await post(Self.model + "/converse", #"{"messages":[{"role":"user","content":[{"text":"hi [mock:status=429]"}]}]}"#) { response in
            #expect(response.status.code == 429)
            #expect(MockTest.header(response, "x-amzn-ErrorType") == "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")
            #expect(MockTest.header(response, "x-amzn-RequestId")?.isEmpty == false)
            #expect(MockTest.text(response.body) == #"{"message":"Too many requests, please wait before trying again."}"#)
        }
        for (status, type) in [(400, "ValidationException"), (403, "AccessDeniedException"), (404, "ResourceNotFoundException"),
            (500, "InternalServerException"), (503, "ServiceUnavailableException")]
        {
            try await post(Self.model + "/converse", #"{"messages":[{"role":"user","content":[{"text":"hi [mock:status=\#(status)]"}]}]}"#) { response in
                #expect(response.status.code == status)
                #expect(MockTest.header(response, "x-amzn-ErrorType")?.hasPrefix(type + ":") == true)
                #expect(MockTest.json(response.body)["message"] is String)
            }
        }
    }

    @Test("requests the real API refuses are refused with ValidationException", arguments: [
        (#"{"inferenceConfig":{"maxTokens":5}}"#, "Value null at 'messages'"),
        (#"{"messages":[{"role":"user","content":[{"text":"a"}]},{"role":"user","content":[{"text":"b"}]}]}"#,
         "A conversation must alternate between user and assistant roles."),
        (#"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_1","content":[{"text":"x"}]}}]}]}"#,
         "The number of toolResult blocks at messages.0.content exceeds the number of toolUse blocks of previous turn."),
        (#"{"messages":[{"role":"user","content":[{"text":"look"},{"image":{"format":"png","source":{"bytes":"not base64!"}}}]}]}"#,
         "Invalid base64"),
    ])
    func validation(body: String, message: String) async throws {
        try await post(Self.model + "/converse", body) { response in
            #expect(response.status == .badRequest)
            #expect(MockTest.header(response, "x-amzn-ErrorType")?.hasPrefix("ValidationException:") == true)
            #expect((MockTest.json(response.body)["message"] as? String)?.contains(message) == true)
        }
    }

    @Test("requests without a well-formed, current SigV4 Authorization are refused with 403")
    func authentication() async throws {
        var unsigned = Self.signed()
        unsigned[.authorization] = nil
        var bearer = Self.signed()
        bearer[.authorization] = "Bearer abc"
        let cases: [(HTTPFields, String, String)] = [
            (unsigned, "MissingAuthenticationTokenException", "Missing Authentication Token"),
            (bearer, "InvalidSignatureException", "The request signature we calculated does not match"),
            (Self.signed(signature: "xyz"), "InvalidSignatureException", "The request signature we calculated does not match"),
            (Self.signed(accessKey: "AK"), "UnrecognizedClientException", "The security token included in the request is invalid."),
            (Self.signed(date: Date().addingTimeInterval(-20 * 60)), "InvalidSignatureException", "Signature expired:"),
        ]
        for (headers, type, message) in cases {
            try await post(Self.model + "/converse", Self.question, headers: headers) { response in
                #expect(response.status == .forbidden)
                #expect(MockTest.header(response, "x-amzn-ErrorType")?.hasPrefix(type + ":") == true)
                #expect((MockTest.json(response.body)["message"] as? String)?.hasPrefix(message) == true)
            }
        }
    }

    @Test("[mock:stream_error] sends a throttlingException frame; [mock:malformed] one frame with a bad CRC")
    func streamFailures() async throws {
        try await post(Self.model + "/converse-stream", #"{"messages":[{"role":"user","content":[{"text":"poem [mock:stream_error]"}]}]}"#) { response in
            let frames = Self.frames(response)
            #expect(frames.map { $0.headers[":event-type"] ?? $0.headers[":exception-type"] ?? "" }
                == ["messageStart", "contentBlockDelta", "throttlingException"])
            let exception = frames.last
            #expect(exception?.headers[":message-type"] == "exception")
            #expect(exception?.payloadJSON["message"] as? String == "Too many requests, please wait before trying again.")
            #expect(exception?.messageCRCValid == true)
        }
        try await post(Self.model + "/converse-stream", #"{"messages":[{"role":"user","content":[{"text":"poem [mock:malformed]"}]}]}"#) { response in
            let frames = Self.frames(response)
            #expect(frames.filter { !$0.messageCRCValid }.count == 1)
            #expect(frames.allSatisfy { $0.preludeCRCValid })
            #expect(frames.last?.headers[":event-type"] == "metadata")
        }
    }

    @Test("[mock:safety] ends with content_filtered; [mock:cached=N] reports cacheReadInputTokens")
    func safetyAndCache() async throws {
        try await post(Self.model + "/converse", #"{"messages":[{"role":"user","content":[{"text":"hi [mock:safety]"}]}]}"#) { response in
            #expect(MockTest.json(response.body)["stopReason"] as? String == "content_filtered")
        }
        try await post(Self.model + "/converse", #"{"messages":[{"role":"user","content":[{"text":"one two three [mock:cached=4]"}]}]}"#) { response in
            let usage = MockTest.json(response.body)["usage"]
            #expect(MockTest.at(usage, "cacheReadInputTokens") as? Int == 4)
            #expect(MockTest.at(usage, "inputTokens") as? Int == 2)
        }
    }

    @Test("InvokeModel embeds with Titan Text Embeddings V2 and Cohere Embed")
    func embeddings() async throws {
        try await post("/model/amazon.titan-embed-text-v2%3A0/invoke", #"{"inputText":"hello world"}"#) { response in
            #expect(response.status == .ok)
            let json = MockTest.json(response.body)
            #expect((json["embedding"] as? [Double])?.count == 1024)
            #expect(json["inputTextTokenCount"] as? Int == 2)
        }
        try await post("/model/amazon.titan-embed-text-v2%3A0/invoke", #"{"inputText":"hello","dimensions":256,"normalize":true}"#) { response in
            #expect((MockTest.json(response.body)["embedding"] as? [Double])?.count == 256)
        }
        try await post("/model/cohere.embed-english-v3/invoke", #"{"texts":["a","b"],"input_type":"search_document"}"#) { response in
            let json = MockTest.json(response.body)
            #expect((json["embeddings"] as? [[Double]])?.count == 2)
            #expect(json["response_type"] as? String == "embeddings_floats")
            #expect(json["texts"] as? [String] == ["a", "b"])
            #expect((json["id"] as? String)?.isEmpty == false)
        }
    }
}
