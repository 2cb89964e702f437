import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A mock LLM provider speaking the real wire formats of OpenAI, Azure OpenAI, Anthropic, Google
/// Gemini, Vertex AI and AWS Bedrock, for tests, the offline demo and benchmarks.
///
/// Routes: `POST /v1/chat/completions`, `POST /v1/embeddings`, `POST /v1/responses` (OpenAI,
/// `Authorization: Bearer`; `POST /openai/v1/responses` for Azure's v1 API),
/// `POST /openai/deployments/{deployment}/chat/completions|embeddings?api-version=` (Azure,
/// `api-key`), `POST /v1/messages` (Anthropic, `x-api-key`), `POST /v1beta/models/{model}:generateContent|
/// streamGenerateContent|embedContent|batchEmbedContents` (Gemini, `x-goog-api-key` or `key=`),
/// `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:generateContent|streamGenerateContent`
/// and `.../publishers/anthropic/models/{model}:rawPredict|streamRawPredict` (Vertex AI, a bearer token
/// from `POST /token`, the mock's Google OAuth endpoint), `POST /model/{modelId}/converse|converse-stream|invoke`
/// (Bedrock, SigV4-shaped `Authorization`), `GET /health`, `GET /__mock/requests` (the request log as JSON),
/// a small MCP server (`/mcp`, `/sse`, `/messages`: see `MCPTestServer`), and an OpenID Connect
/// identity provider under `/oidc` (see `OIDCProvider`).
public enum MockUpstream {
    /// Largest request body the mock reads.
    static let maximumBodyBytes = 64 * 1024 * 1024

    /// A router serving every mocked provider route; `oidc` is the identity provider behind `/oidc`
    /// (pass one to reach its test hooks, such as key rotation, from the test's own code).
    public static func router(knobs: MockKnobs, log: MockRequestLog?, oidc: OIDCProvider = OIDCProvider())
        -> Router<BasicRequestContext>
    {
        let router = Router()
        router.get("/health") { _, _ in MockResponses.json(#"{"status":"ok"}"#) }
        router.get("/__mock/requests") { _, _ in MockResponses.json(requestLogJSON(log)) }

        router.post("/v1/chat/completions") { request, _ in
            try await handle(request, log: log, auth: .bearer, knobs: knobs) { body, directives in
                try await OpenAIChat.respond(body: body, model: body["model"] as? String ?? "gpt-4o", directives: directives)
            }
        }
        router.post("/v1/embeddings") { request, _ in
            try await handle(request, log: log, auth: .bearer, knobs: knobs) { body, _ in
                embeddings(body, model: body["model"] as? String ?? "text-embedding-3-small")
            }
        }
        router.post("/openai/deployments/{deployment}/chat/completions") { request, context in
            let deployment = context.parameters.get("deployment") ?? ""
            return try await handle(request, log: log, auth: .azure, knobs: knobs) { body, directives in
                try await OpenAIChat.respond(body: body, model: body["model"] as? String ?? deployment, directives: directives)
            }
        }
        router.post("/openai/deployments/{deployment}/embeddings") { request, context in
            let deployment = context.parameters.get("deployment") ?? ""
            return try await handle(request, log: log, auth: .azure, knobs: knobs) { body, _ in
                embeddings(body, model: deployment)
            }
        }
        OpenAIResponses.register(on: router, knobs: knobs, log: log)
        AnthropicMessages.register(on: router, knobs: knobs, log: log)
        GeminiGenerate.register(on: router, knobs: knobs, log: log)
        let tokens = GoogleOAuth.TokenStore()
        GoogleOAuth.register(on: router, tokens: tokens, knobs: knobs, log: log)
        VertexAI.register(on: router, tokens: tokens, knobs: knobs, log: log)
        BedrockRuntime.register(on: router, knobs: knobs, log: log)
        MCPTestServer.register(on: router)
        oidc.register(on: router, log: log)
        return router
    }

    /// A ready-to-run application; port 0 picks a free port, reported through `onServerRunning`.
    public static func application(host: String, port: Int, knobs: MockKnobs, log: MockRequestLog?, logger: Logger,
        oidc: OIDCProvider = OIDCProvider(), onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        Application(
            router: router(knobs: knobs, log: log, oidc: oidc),
            configuration: .init(address: .hostname(host, port: port), serverName: "scutum-mock"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// `azure`: `api-key` and an `api-version` query; `azureV1`: Azure's v1 API, `api-key` only.
    enum Auth { case bearer, azure, azureV1 }

    /// Records, authenticates, parses and applies knobs, then answers with `respond`.
    /// `text` reads the conversation's text (for `[mock:...]` directives) from the parsed body.
    static func handle(_ request: Request, log: MockRequestLog?, auth: Auth, knobs: MockKnobs,
        text: ([String: Any]) -> String = { ChatPrompt($0).allText },
        _ respond: ([String: Any], MockDirectives) async throws -> Response) async throws -> Response
    {
        let bytes = try await record(request, log: log)
        switch auth {
        case .bearer:
            let header = request.headers[.authorization] ?? ""
            guard header.hasPrefix("Bearer "), header.count > 7 else {
                return MockResponses.openAIError(status: 401, message: "You didn't provide an API key.")
            }
        case .azure, .azureV1:
            guard let key = request.headers[HTTPField.Name("api-key")!], !key.isEmpty else {
                return MockResponses.openAIError(status: 401,
                    message: "Access denied due to invalid subscription key or wrong API endpoint.")
            }
            guard auth == .azureV1 || request.uri.queryParameters.get("api-version") != nil else {
                return MockResponses.json(#"{"error":{"code":"404","message":"Resource not found"}}"#, status: .notFound)
            }
        }
        guard let body = JSONText.object(bytes) else {
            return MockResponses.openAIError(status: 400, message: "We could not parse the JSON body of your request.")
        }
        let directives = MockDirectives(knobs: knobs, text: text(body), model: body["model"] as? String)
        if let failure = try await misbehave(directives, fail: {
            MockResponses.openAIError(status: $0, message: directives.errorMessage, retryAfter: $1)
        }) {
            return failure
        }
        return try await respond(body, directives)
    }

    /// Reads a request's body and records the request in the log.
    static func record(_ request: Request, log: MockRequestLog?) async throws -> [UInt8] {
        let buffer = try await request.body.collect(upTo: maximumBodyBytes)
        let bytes = Array(buffer.readableBytesView)
        log?.append(MockRecordedRequest(method: request.method.rawValue, uri: request.uri.description,
            headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: bytes))
        return bytes
    }

    /// Applies the hang, latency and status knobs; returns the failure to send, built by `fail`
    /// from the status and the `retry_after` directive, when the status knob is set.
    static func misbehave(_ directives: MockDirectives, fail: (Int, String?) -> Response) async throws -> Response? {
        if directives.hang {
            // Never answer; end when the server shuts down or the connection's task is cancelled.
            while !Task.isCancelled { try await Task.sleep(for: .seconds(1)) }
        }
        if directives.knobs.latency > .zero { try await Task.sleep(for: directives.knobs.latency) }
        if let status = directives.knobs.status { return fail(status, directives.retryAfter) }
        return nil
    }

    /// A path parameter with its percent-encoding removed (`%3A` in Bedrock model ids).
    static func pathParameter(_ context: BasicRequestContext, _ name: String) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    static func embeddings(_ body: [String: Any], model: String) -> Response {
        guard let json = OpenAIEmbeddings.respond(body: body, model: model) else {
            return MockResponses.openAIError(status: 400, message: "'input' must be a string or an array.")
        }
        return MockResponses.json(json)
    }

    static func requestLogJSON(_ log: MockRequestLog?) -> String {
        let entries = (log?.entries ?? []).map { entry in
            #"{"method":\#(JSONText.quote(entry.method)),"uri":\#(JSONText.quote(entry.uri)),"body":\#(JSONText.quote(entry.bodyString()))}"#
        }
        return "[" + entries.joined(separator: ",") + "]"
    }
}
