import Foundation
import NIOHTTP1
import ScutumTestSupport
import Testing

/// OpenAI-compatible providers receive the caller's own bytes with only `model` changed; what
/// the gateway cannot pass on that way (duplicate keys, malformed JSON) is refused before it
/// reaches them.
@Suite("Request bodies passed through byte for byte")
struct PassThroughBodyTests {
    /// A body with odd key order, whitespace, escapes and fields the gateway does not read.
    static let oddBody = """
        {  "temperature":0.25 ,"messages" : [ {"content":"caf\\u00e9 \\"quoted\\" \\ud83d\\ude00 \\/ tab\\t","role":"user"} ],
          "x_vendor": {"b":1,"a":[true,null,1.50]},
          "model"   :   "gpt-test", "seed": 7 }
        """

    @Test("a chat body reaches the provider unchanged but for model; the answer names the catalog model")
    func chat() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions", body: Self.oddBody)
            #expect(result.status == 200, "\(result.body)")
            let sent = try #require(gateway.mockLog.last).bodyString()
            #expect(sent == Self.oddBody.replacingOccurrences(of: #""gpt-test""#, with: #""gpt-upstream-id""#))
            #expect(try result.json["model"] as? String == "gpt-test")
        }
    }

    @Test("a stream request gets include_usage spliced in, and nothing else changes")
    func stream() async throws {
        try await Gateway.with { gateway in
            let body = #"{"model":"gpt-test", "stream":true, "messages":[{"role":"user","content":"hi"}]}"#
            let result = try await gateway.request("/v1/chat/completions", body: body)
            #expect(result.status == 200, "\(result.body)")
            #expect(result.body.hasSuffix("data: [DONE]\n\n"))
            let sent = try #require(gateway.mockLog.last).bodyString()
            #expect(sent == #"{"stream_options":{"include_usage":true},"model":"gpt-upstream-id", "stream":true, "messages":[{"role":"user","content":"hi"}]}"#)

            let asked = #"{"model":"gpt-test","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"hi"}]}"#
            _ = try await gateway.request("/v1/chat/completions", body: asked)
            #expect(try #require(gateway.mockLog.last).bodyString()
                == asked.replacingOccurrences(of: "false", with: "true").replacingOccurrences(of: "gpt-test", with: "gpt-upstream-id"))
        }
    }

    @Test("an embeddings body reaches the provider unchanged but for model")
    func embeddings() async throws {
        try await Gateway.with { gateway in
            let body = #"{ "input" : ["a", "b\u0021"], "model":"azure-text-embedding-3-large","user":"u1" }"#
            let result = try await gateway.request("/v1/embeddings", body: body)
            #expect(result.status == 200, "\(result.body)")
            let sent = try #require(gateway.mockLog.last).bodyString()
            #expect(sent == body.replacingOccurrences(of: "azure-text-embedding-3-large", with: "text-embedding-3-large"))
        }
    }

    @Test("duplicate top-level keys and malformed JSON are 400 invalid_json and never reach the provider")
    func refused() async throws {
        try await Gateway.with { gateway in
            let bodies = [
                #"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"model":"gpt-test-2"}"#,
                #"{"model":"gpt-test","mod\u0065l":"gpt-test-2","messages":[{"role":"user","content":"hi"}]}"#,
                #"{"model":"gpt-test","messages":[{"role":"user","content":"bad \q escape"}]}"#,
                #"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]} trailing"#,
                "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"raw\u{01}control\"}]}",
            ]
            for body in bodies {
                let result = try await gateway.request("/v1/chat/completions", body: body)
                #expect(result.status == 400, "\(body) -> \(result.body)")
                let error = try result.openAIError
                #expect(error["code"] as? String == "invalid_json", "\(body) -> \(result.body)")
                #expect(error["type"] as? String == "invalid_request_error")
            }
            let embedding = try await gateway.request("/v1/embeddings",
                body: #"{"model":"azure-text-embedding-3-large","input":"a","model":"gpt-test"}"#)
            #expect(embedding.status == 400)
            #expect(try embedding.openAIError["code"] as? String == "invalid_json")
            #expect(gateway.mockLog.entries.isEmpty)
        }
    }
}
