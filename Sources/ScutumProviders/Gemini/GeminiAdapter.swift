import NIOCore
import ScutumCore

/// Gemini models through the Gemini API (`x-goog-api-key`) or Vertex AI (Google access token).
public struct GeminiAdapter: ProviderAdapter {
    /// Where the adapter sends requests and how it authenticates.
    public enum Dialect: Sendable {
        /// `{api_base}/v1beta/models/{model}:generateContent` with `x-goog-api-key`.
        case geminiAPI
        /// `.../publishers/google/models/{model}:generateContent` on Vertex AI.
        case vertex(VertexAuthenticator)
    }

    let http: UpstreamHTTP
    let dialect: Dialect

    public init(http: UpstreamHTTP, dialect: Dialect = .geminiAPI) {
        self.http = http
        self.dialect = dialect
    }

    public func chatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionResult
    {
        let input = try ChatInput(request)
        let (url, headers) = try await endpoint("generateContent", target)
        let response = try await http.postJSON(url: url, headers: headers, body: try GeminiRequest.body(input).jsonBytes)
        let reply = try GeminiResponse.reply(try await http.collectJSON(response))
        return ChatCompletionResult(body: OpenAIReplyWriter(model: target.deployment.name).completion(reply),
            usage: reply.usage)
    }

    public func streamChatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionStream
    {
        let input = try ChatInput(request)
        let (url, headers) = try await endpoint("streamGenerateContent", target)
        let response = try await http.postJSON(url: url + "?alt=sse", headers: headers,
            body: try GeminiRequest.body(input).jsonBytes)
        try UpstreamHTTP.expectContentType(response, "text/event-stream")
        let translator = GeminiStreamTranslator(writer: OpenAIReplyWriter(model: target.deployment.name))
        return ChatCompletionStream(TranslatedStreamSource(body: response.body, framing: SSEFraming(),
            translator: translator))
    }

    /// `batchEmbedContents` on the Gemini API. Gemini reports no token counts for embeddings, so
    /// usage is estimated from the text length.
    public func embeddings(_ request: EmbeddingRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> EmbeddingResult
    {
        guard case .geminiAPI = dialect else {
            throw ProviderError(.invalidRequest(param: "model"), "Embeddings on Vertex AI are not supported yet.")
        }
        let texts = try EmbeddingReplyWriter.texts(request)
        let model = "models/" + target.deployment.upstreamModel
        let dimensions = request.body["dimensions"]?.intValue
        let requests = texts.map { text -> JSONValue in
            var fields: [String: JSONValue] = ["model": .string(model), "content": ["parts": [["text": .string(text)]]]]
            if let dimensions { fields["outputDimensionality"] = .int(dimensions) }
            return .object(fields)
        }
        let (url, headers) = try await endpoint("batchEmbedContents", target)
        let body: JSONValue = ["requests": .array(requests)]
        let json = try await http.collectJSON(try await http.postJSON(url: url, headers: headers, body: body.jsonBytes))
        guard let embeddings = json["embeddings"]?.arrayValue, embeddings.count == texts.count else {
            throw ProviderError(.malformed, "expected \(texts.count) embeddings")
        }
        var vectors: [[Double]] = []
        for embedding in embeddings { vectors.append(try EmbeddingReplyWriter.vector(embedding["values"])) }
        let tokens = EmbeddingReplyWriter.estimatedTokens(texts)
        return EmbeddingResult(
            body: EmbeddingReplyWriter.response(vectors: vectors, model: target.deployment.name, promptTokens: tokens,
                base64: EmbeddingReplyWriter.wantsBase64(request)),
            usage: TokenUsage(promptTokens: tokens, completionTokens: 0))
    }

    /// The URL (without query) and auth headers for a method of the deployment's model.
    func endpoint(_ method: String, _ target: RoutableDeployment) async throws(ProviderError)
        -> (url: String, headers: [(String, String)])
    {
        let model = target.deployment.upstreamModel
        switch dialect {
        case .geminiAPI:
            guard let key = target.credentials.apiKey else {
                throw ProviderError(.status(401), "no Gemini API key configured for \(target.deployment.name)")
            }
            let base = target.credentials.apiBase ?? "https://generativelanguage.googleapis.com"
            let path = "v1beta/models/\(URLPath.segment(model)):\(method)"
            return (URLPath.join(base, path), [("x-goog-api-key", key)])
        case .vertex(let authenticator):
            let (url, token) = try await authenticator.endpoint(publisher: "google", model: model, method: method,
                credentials: target.credentials)
            return (url, [("Authorization", "Bearer \(token)")])
        }
    }
}
