import Foundation
import ScutumCore
import ScutumTestSupport
import Testing

@Suite("Chat completions through the proxy")
struct ChatCompletionTests {
    @Test("non-streaming answer in OpenAI's format, model named as the client knows it")
    func nonStreaming() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("What is the capital of France?", extra: #","max_tokens":256,"temperature":0.7"#))
            #expect(result.status == 200)
            #expect(result.header("content-type") == "application/json")
            let json = try result.json
            #expect(json["object"] as? String == "chat.completion")
            #expect(json["model"] as? String == "gpt-test")
            let choices = try #require(json["choices"] as? [[String: Any]])
            let message = try #require(choices.first?["message"] as? [String: Any])
            #expect((message["content"] as? String)?.contains("Paris") == true)
            let usage = try #require(json["usage"] as? [String: Any])
            #expect((usage["prompt_tokens"] as? Int ?? 0) > 0)

            // The provider saw its own model id, the client's parameters, and the provider key.
            let upstream = try #require(gateway.mockLog.last)
            #expect(upstream.uri == "/v1/chat/completions")
            let sent = try #require(try JSONSerialization.jsonObject(with: Data(upstream.bodyString().utf8)) as? [String: Any])
            #expect(sent["model"] as? String == "gpt-upstream-id")
            #expect(sent["max_tokens"] as? Int == 256)
            #expect(sent["temperature"] as? Double == 0.7)
            #expect(upstream.header("authorization") == "Bearer sk-upstream-openai")
        }
    }

    @Test("Azure deployments are called on their deployment URL with api-version and api-key")
    func azureChat() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "azure-chat", "hello"))
            #expect(result.status == 200)
            #expect(try result.json["model"] as? String == "azure-chat")
            let upstream = try #require(gateway.mockLog.last)
            #expect(upstream.uri == "/openai/deployments/my-gpt-deployment/chat/completions?api-version=2024-10-21")
            #expect(upstream.header("api-key") == "azure-upstream-key")
            #expect(upstream.header("authorization") == nil)
        }
    }

    @Test("a group alias is served by its first available member")
    func groupAlias() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "fast", "hi"))
            #expect(result.status == 200)
            #expect(try result.json["model"] as? String == "gpt-test")
        }
    }

    @Test("a provider alias resolves to that provider's models")
    func providerAlias() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "openai", "hi"))
            #expect(result.status == 200)
            #expect(try result.json["model"] as? String == "gpt-test")
        }
    }

    @Test("when one alias member fails, the next one answers")
    func aliasMoveOn() async throws {
        try await Gateway.with { gateway in
            // The directive reaches both members, so both fail: the client learns every attempt.
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "fast", "hi [mock:status=500]"))
            #expect(result.status == 503)
            let error = try result.openAIError
            #expect(error["code"] as? String == "no_available_deployment")
            let message = try #require(error["message"] as? String)
            #expect(message.contains("gpt-test (upstream_error"))
            #expect(message.contains("gpt-test-2 (upstream_error"))
        }
    }

    @Test("embeddings through Azure: vector, dimension and catalog name")
    func embeddings() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/embeddings",
                body: #"{"model":"azure-text-embedding-3-large","input":"The quick brown fox jumps over the lazy dog"}"#)
            #expect(result.status == 200)
            let json = try result.json
            #expect(json["model"] as? String == "azure-text-embedding-3-large")
            let data = try #require(json["data"] as? [[String: Any]])
            #expect((data.first?["embedding"] as? [Double])?.count == 3072)
            let upstream = try #require(gateway.mockLog.last)
            #expect(upstream.uri == "/openai/deployments/text-embedding-3-large/embeddings?api-version=2024-10-21")
        }
    }

    @Test("a chat model is refused on the embeddings endpoint and vice versa")
    func wrongMode() async throws {
        try await Gateway.with { gateway in
            let embeddingOnChat = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "azure-text-embedding-3-large", "hi"))
            #expect(embeddingOnChat.status == 400)
            #expect(try embeddingOnChat.openAIError["param"] as? String == "model")
            let chatOnEmbeddings = try await gateway.request("/v1/embeddings", body: #"{"model":"gpt-test","input":"x"}"#)
            #expect(chatOnEmbeddings.status == 400)
        }
    }
}
