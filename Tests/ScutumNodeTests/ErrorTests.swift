import Foundation
import NIOHTTP1
import ScutumTestSupport
import Testing

@Suite("Errors in OpenAI's JSON with the gateway's status table")
struct ErrorTests {
    @Test("400 for bad JSON, missing fields and invalid values")
    func badRequests() async throws {
        try await Gateway.with { gateway in
            let cases: [(body: String, code: String, param: String?)] = [
                (#"{"model": "gpt-test", "messages": ["#, "invalid_json", nil),
                ("", "invalid_json", nil),
                (#"[1,2]"#, "invalid_type", nil),
                (#"{"messages":[{"role":"user","content":"hi"}]}"#, "missing_required_parameter", "model"),
                (#"{"model":"gpt-test"}"#, "missing_required_parameter", "messages"),
                (#"{"model":"gpt-test","messages":[]}"#, "invalid_value", "messages"),
                (#"{"model":"gpt-test","messages":[{"role":"wizard","content":"hi"}]}"#, "invalid_value", "messages[0].role"),
                (#"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"temperature":3}"#, "invalid_value", "temperature"),
                (#"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#, "invalid_type", "stream"),
            ]
            for item in cases {
                let result = try await gateway.request("/v1/chat/completions", body: item.body)
                #expect(result.status == 400, "\(item.body) -> \(result.status) \(result.body)")
                let error = try result.openAIError
                #expect(error["type"] as? String == "invalid_request_error")
                #expect(error["code"] as? String == item.code, "\(item.body) -> \(result.body)")
                #expect((error["param"] as? String) == item.param, "\(item.body) -> \(result.body)")
            }
            let embeddings = try await gateway.request("/v1/embeddings", body: #"{"model":"azure-text-embedding-3-large"}"#)
            #expect(embeddings.status == 400)
            #expect(try embeddings.openAIError["param"] as? String == "input")
            // Nothing bad reached the provider.
            #expect(gateway.mockLog.entries.isEmpty)
        }
    }

    @Test("404 for an unknown model and for an unknown route")
    func notFound() async throws {
        try await Gateway.with { gateway in
            let model = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "gpt-9000", "hi"))
            #expect(model.status == 404)
            #expect(try model.openAIError["code"] as? String == "model_not_found")
            let route = try await gateway.request("/v1/nothing-here", method: .GET)
            #expect(route.status == 404)
            #expect(try route.openAIError["code"] as? String == "unknown_url")
        }
    }

    @Test("413 for a body over the configured limit")
    func tooLarge() async throws {
        try await Gateway.with(variables: ["SCUTUM_MAX_REQUEST_BYTES": "4096"]) { gateway in
            let big = String(repeating: "x", count: 5000)
            let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(big))
            #expect(result.status == 413)
            #expect(try result.openAIError["code"] as? String == "request_too_large")
            let small = try await gateway.request("/v1/chat/completions", body: Gateway.chat("small"))
            #expect(small.status == 200)
        }
    }

    @Test("503 for a model that exists but has no credentials, naming what is missing")
    func notRoutable() async throws {
        try await Gateway.with { gateway in
            for model in ["deepseek-nokey", "broken"] {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: model, "hi"))
                #expect(result.status == 503, "\(model): \(result.body)")
                let message = try #require(try result.openAIError["message"] as? String)
                #expect(message.contains("not available"), "\(message)")
            }
            let noKey = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "deepseek-nokey", "hi"))
            #expect(try (noKey.openAIError["message"] as? String)?.contains("DEEPSEEK_API_KEY") == true)
        }
    }

    @Test("upstream failures map to 500, upstream rate limits to 429 with Retry-After, upstream 400 to 400")
    func upstreamStatuses() async throws {
        try await Gateway.with { gateway in
            let failure = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi [mock:status=502]"))
            #expect(failure.status == 500)
            #expect(try failure.openAIError["code"] as? String == "upstream_error")

            let limited = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("hi [mock:status=429] [mock:retry_after=7]"))
            #expect(limited.status == 429)
            #expect(limited.header("retry-after") == "7")
            #expect(try limited.openAIError["type"] as? String == "rate_limit_error")

            let rejected = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi [mock:status=400]"))
            #expect(rejected.status == 400)

            // A provider refusing the gateway's own credentials is the operator's problem, not a client 401.
            let unauthorized = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi [mock:status=401]"))
            #expect(unauthorized.status == 500)
            #expect(try unauthorized.openAIError["code"] as? String == "upstream_auth_failed")
        }
    }

    @Test("an upstream that never answers times out with a clear 500")
    func upstreamTimeout() async throws {
        try await Gateway.with(variables: ["SCUTUM_UPSTREAM_TIMEOUT_SECONDS": "1"]) { gateway in
            let started = ContinuousClock.now
            let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi [mock:hang]"))
            #expect(result.status == 500)
            #expect(try result.openAIError["code"] as? String == "upstream_timeout")
            // Two 1 s attempts, not the 600 s default (the margin is for a loaded CI machine).
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test("a stream that stalls longer than the idle timeout ends with an error event")
    func streamIdleTimeout() async throws {
        try await Gateway.with(variables: ["SCUTUM_UPSTREAM_IDLE_TIMEOUT_SECONDS": "2"]) { gateway in
            // The role chunk comes at once, then one token every five seconds: the gap exceeds the
            // idle limit (which leaves a loaded machine time to deliver the first chunk).
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("Write a short poem about APIs. [mock:tokens_per_sec=0.2]", stream: true))
            #expect(result.status == 200)
            let frames = SSEFrames(result.body)
            #expect(!frames.endsWithDone)
            #expect(frames.payloads.last?.contains(#""code":"upstream_timeout""#) == true, "\(result.body)")
        }
    }

    @Test("an upstream that refuses connections is a 500 connection error")
    func upstreamDown() async throws {
        try await Gateway.with { gateway in
            let catalog = try CatalogFileFixture.catalog(base: "http://127.0.0.1:9")
            // The node's first resync (when its LISTEN connection comes up) reloads the file's
            // catalog; on a loaded machine that can come after this replacement, so replace again.
            let found = try await eventually(timeout: .seconds(20)) { () async throws -> HTTPResult? in
                gateway.node.catalog.replace(with: catalog)
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi"))
                return result.status == 200 ? nil : result
            }
            let result = try #require(found)
            #expect(result.status == 500)
            #expect(try result.openAIError["code"] as? String == "upstream_connection_error")
        }
    }
}

import ScutumCore

enum CatalogFileFixture {
    /// A one-model catalog whose OpenAI endpoint is `base`.
    static func catalog(base: String) throws -> ModelCatalog {
        try CatalogFile.parse("""
            credentials:
              openai: {api_key: k, api_base: "\(base)/v1"}
            models:
              - {model_name: gpt-test, provider: openai, model: gpt-upstream-id}
            """).catalog(environment: [:], supportedKinds: [.openai])
    }
}
