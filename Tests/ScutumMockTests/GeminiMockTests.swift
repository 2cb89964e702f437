import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScutumMock
import Testing

@Suite("Gemini API")
struct GeminiMockTests {
    static let question = #"{"contents":[{"role":"user","parts":[{"text":"What is the capital of France?"}]}]}"#
    static let tools = #"[{"functionDeclarations":[{"name":"get_weather","description":"Weather now","parameters":{"type":"OBJECT","properties":{"location":{"type":"STRING"}}}}]}]"#

    func post(_ uri: String, _ body: String, headers: HTTPFields = MockTest.geminiHeaders,
        _ check: @escaping @Sendable (TestResponse) async throws -> Void) async throws
    {
        try await MockTest.app().test(.router) { client in
            try await client.execute(uri: uri, method: .post, headers: headers, body: MockTest.body(body), testCallback: check)
        }
    }

    static func text(_ json: [String: Any]) -> String? {
        MockTest.at(json, "candidates", 0, "content", "parts", 0, "text") as? String
    }

    @Test("generateContent answers with Gemini's response fields")
    func generate() async throws {
        try await post("/v1beta/models/gemini-2.0-flash:generateContent", Self.question) { response in
            #expect(response.status == .ok)
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "candidates", 0, "content", "role") as? String == "model")
            #expect(Self.text(json) == "The capital of France is Paris.")
            #expect(MockTest.at(json, "candidates", 0, "finishReason") as? String == "STOP")
            #expect(MockTest.at(json, "candidates", 0, "index") as? Int == 0)
            #expect(MockTest.at(json, "usageMetadata", "promptTokenCount") as? Int == 9)
            #expect(MockTest.at(json, "usageMetadata", "candidatesTokenCount") as? Int == 6)
            #expect(MockTest.at(json, "usageMetadata", "totalTokenCount") as? Int == 15)
            #expect(MockTest.at(json, "usageMetadata", "cachedContentTokenCount") == nil)
            #expect(json["modelVersion"] as? String == "gemini-2.0-flash")
            #expect((json["responseId"] as? String)?.isEmpty == false)
        }
    }

    @Test("the key may come as ?key=; without one Google answers 403 PERMISSION_DENIED")
    func authentication() async throws {
        try await post("/v1beta/models/gemini-2.0-flash:generateContent?key=AIza-test", Self.question, headers: [:]) { response in
            #expect(response.status == .ok)
        }
        try await post("/v1beta/models/gemini-2.0-flash:generateContent", Self.question, headers: [:]) { response in
            #expect(response.status == .forbidden)
            let raw = MockTest.text(response.body)
            #expect(raw.hasPrefix("{\n  \"error\": {\n    \"code\": 403,\n"))
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "error", "status") as? String == "PERMISSION_DENIED")
            #expect((MockTest.at(json, "error", "message") as? String)?.hasPrefix("Method doesn't allow unregistered callers") == true)
        }
    }

    @Test("streamGenerateContent?alt=sse sends CRLF-separated data events, the last one finishing")
    func stream() async throws {
        try await post("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", Self.question) { response in
            #expect(response.status == .ok)
            #expect(MockTest.header(response, "content-type")?.hasPrefix("text/event-stream") == true)
            let raw = MockTest.text(response.body)
            #expect(raw.hasSuffix("}\r\n\r\n"))
            #expect(!raw.contains("[DONE]"))
            let blocks = raw.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
            #expect(blocks.allSatisfy { $0.hasPrefix("data: ") })
            let chunks = blocks.map { MockTest.json(String($0.dropFirst(6))) }
            #expect(chunks.count == 6)
            #expect(chunks.compactMap(Self.text).joined() == "The capital of France is Paris.")
            #expect(chunks.dropLast().allSatisfy { MockTest.at($0, "candidates", 0, "finishReason") == nil })
            #expect(MockTest.at(chunks.last, "candidates", 0, "finishReason") as? String == "STOP")
            #expect(MockTest.at(chunks.last, "usageMetadata", "candidatesTokenCount") as? Int == 6)
        }
    }

    @Test("snake_case fields work like camelCase; maxOutputTokens ends with MAX_TOKENS")
    func snakeCaseAndMaxTokens() async throws {
        let body = #"{"system_instruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"What is the capital of France?"}]}],"generation_config":{"max_output_tokens":2}}"#
        try await post("/v1beta/models/gemini-2.0-flash:generateContent", body) { response in
            let json = MockTest.json(response.body)
            #expect(Self.text(json) == "The capital ")
            #expect(MockTest.at(json, "candidates", 0, "finishReason") as? String == "MAX_TOKENS")
            #expect(MockTest.at(json, "usageMetadata", "promptTokenCount") as? Int == 11)
        }
    }

    @Test("responseMimeType application/json answers with a JSON object")
    func jsonMode() async throws {
        let body = #"{"contents":[{"parts":[{"text":"What is the capital of France?"}]}],"generationConfig":{"responseMimeType":"application/json"}}"#
        try await post("/v1beta/models/gemini-2.0-flash:generateContent", body) { response in
            let answer = Self.text(MockTest.json(response.body)) ?? ""
            #expect(MockTest.json(answer)["answer"] as? String == "The capital of France is Paris.")
        }
    }

    @Test("[mock:tool_call] returns a functionCall; a functionResponse is answered with its result")
    func tools() async throws {
        try await post("/v1beta/models/gemini-2.0-flash:generateContent",
            #"{"contents":[{"role":"user","parts":[{"text":"Weather? [mock:tool_call]"}]}],"tools":\#(Self.tools)}"#) { response in
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "candidates", 0, "content", "parts", 0, "functionCall", "name") as? String == "get_weather")
            #expect(MockTest.at(json, "candidates", 0, "content", "parts", 0, "functionCall", "args", "location") as? String == "Paris")
            #expect(MockTest.at(json, "candidates", 0, "finishReason") as? String == "STOP")
        }
        let roundTrip = #"{"contents":[{"role":"user","parts":[{"text":"Weather? [mock:tool_call]"}]},{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}}]},{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"sunny"}}}]}],"tools":\#(Self.tools)}"#
        try await post("/v1beta/models/gemini-2.0-flash:generateContent", roundTrip) { response in
            #expect(Self.text(MockTest.json(response.body)) == "The tool said: sunny")
        }
        try await post("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            #"{"contents":[{"role":"user","parts":[{"text":"Weather? [mock:tool_call]"}]}],"tools":\#(Self.tools)}"#) { response in
            let events = parseSSE(MockTest.text(response.body))
            #expect(events.count == 1)
            let json = MockTest.json(events.first?.data ?? "")
            #expect(MockTest.at(json, "candidates", 0, "content", "parts", 0, "functionCall", "name") as? String == "get_weather")
        }
    }

    @Test("[mock:safety] blocks with SAFETY and a HIGH dangerous-content rating; [mock:cached=N] reports cached tokens")
    func safetyAndCache() async throws {
        try await post("/v1beta/models/gemini-2.0-flash:generateContent",
            #"{"contents":[{"role":"user","parts":[{"text":"hi [mock:safety]"}]}]}"#) { response in
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "candidates", 0, "finishReason") as? String == "SAFETY")
            #expect(MockTest.at(json, "candidates", 0, "content") == nil)
            let ratings = MockTest.at(json, "candidates", 0, "safetyRatings") as? [[String: Any]] ?? []
            let dangerous = ratings.first { $0["category"] as? String == "HARM_CATEGORY_DANGEROUS_CONTENT" }
            #expect(dangerous?["probability"] as? String == "HIGH")
            #expect(dangerous?["blocked"] as? Bool == true)
        }
        try await post("/v1beta/models/gemini-2.0-flash:generateContent",
            #"{"contents":[{"role":"user","parts":[{"text":"one two three [mock:cached=4]"}]}]}"#) { response in
            #expect(MockTest.at(MockTest.json(response.body), "usageMetadata", "cachedContentTokenCount") as? Int == 4)
        }
    }

    @Test("[mock:status] answers with Google's error JSON; a retry delay becomes RetryInfo")
    func statusErrors() async throws {
        try await post("/v1beta/models/gemini-2.0-flash:generateContent",
            #"{"contents":[{"role":"user","parts":[{"text":"hi [mock:status=429] [mock:retry_after=7]"}]}]}"#) { response in
            #expect(response.status.code == 429)
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "error", "code") as? Int == 429)
            #expect(MockTest.at(json, "error", "status") as? String == "RESOURCE_EXHAUSTED")
            #expect(MockTest.at(json, "error", "details", 0, "@type") as? String == "type.googleapis.com/google.rpc.RetryInfo")
            #expect(MockTest.at(json, "error", "details", 0, "retryDelay") as? String == "7s")
        }
        for (status, name) in [(400, "INVALID_ARGUMENT"), (401, "UNAUTHENTICATED"), (404, "NOT_FOUND"), (500, "INTERNAL"), (503, "UNAVAILABLE")] {
            try await post("/v1beta/models/gemini-2.0-flash:generateContent",
                #"{"contents":[{"role":"user","parts":[{"text":"hi [mock:status=\#(status)]"}]}]}"#) { response in
                #expect(response.status.code == status)
                #expect(MockTest.at(MockTest.json(response.body), "error", "status") as? String == name)
            }
        }
    }

    @Test("requests the real API refuses are refused with INVALID_ARGUMENT", arguments: [
        (#"{"contents":[]}"#, "contents is not specified"),
        (#"{"generationConfig":{}}"#, "contents is not specified"),
        (#"{"contents":[{"role":"assistant","parts":[{"text":"x"}]}]}"#, "Please use a valid role: user, model."),
        (#"{"contents":[{"role":"user","parts":[{"foo":"x"}]}]}"#, #"Unknown name "foo""#),
        (#"{"contents":[{"role":"user","parts":[{}]}]}"#, "required oneof field 'data'"),
    ])
    func validation(body: String, message: String) async throws {
        try await post("/v1beta/models/gemini-2.0-flash:generateContent", body) { response in
            #expect(response.status == .badRequest)
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "error", "status") as? String == "INVALID_ARGUMENT")
            #expect((MockTest.at(json, "error", "message") as? String)?.contains(message) == true)
        }
    }

    @Test("embedContent and batchEmbedContents return deterministic vectors")
    func embeddings() async throws {
        let collector = Captured<[Double]>([])
        try await post("/v1beta/models/text-embedding-004:embedContent", #"{"content":{"parts":[{"text":"hello"}]}}"#) { response in
            let values = MockTest.at(MockTest.json(response.body), "embedding", "values") as? [Double] ?? []
            #expect(values.count == 768)
            collector.value = values
        }
        let batch = #"{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"hello"}]}},{"model":"models/text-embedding-004","content":{"parts":[{"text":"world"}]},"outputDimensionality":256}]}"#
        try await post("/v1beta/models/text-embedding-004:batchEmbedContents", batch) { response in
            let embeddings = MockTest.json(response.body)["embeddings"] as? [[String: Any]] ?? []
            #expect(embeddings.count == 2)
            #expect((embeddings.first?["values"] as? [Double]) == collector.value)
            #expect((embeddings.last?["values"] as? [Double])?.count == 256)
        }
    }
}
