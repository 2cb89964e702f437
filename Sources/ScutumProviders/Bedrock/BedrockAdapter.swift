import AsyncHTTPClient
import Foundation
import NIOCore
import ScutumCore

/// Models on AWS Bedrock through the Converse API (chat) and InvokeModel (Titan and Cohere
/// embeddings), every request signed with Signature Version 4.
public struct BedrockAdapter: ProviderAdapter {
    let http: UpstreamHTTP
    /// The clock used for signatures (tests pin it).
    let now: @Sendable () -> Date

    public init(http: UpstreamHTTP, now: @escaping @Sendable () -> Date = { Date() }) {
        self.http = http
        self.now = now
    }

    public func chatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionResult
    {
        let input = try ChatInput(request, for: target.deployment)
        let body = try BedrockConverseRequest.body(input)
        let response = try await post(body.jsonBytes, operation: "converse", target)
        let reply = try BedrockConverseResponse.reply(try await http.collectJSON(response),
            jsonMode: input.responseFormat != .text)
        return ChatCompletionResult(body: OpenAIReplyWriter(model: target.deployment.name).completion(reply),
            usage: reply.usage)
    }

    public func streamChatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionStream
    {
        let input = try ChatInput(request, for: target.deployment)
        let body = try BedrockConverseRequest.body(input)
        let response = try await post(body.jsonBytes, operation: "converse-stream", target)
        try UpstreamHTTP.expectContentType(response, "application/vnd.amazon.eventstream")
        let translator = BedrockStreamTranslator(writer: OpenAIReplyWriter(model: target.deployment.name),
            jsonMode: input.responseFormat != .text)
        return ChatCompletionStream(TranslatedStreamSource(body: response.body, framing: AWSEventStreamFraming(),
            translator: translator))
    }

    /// Titan text embeddings (one input per call) or Cohere embeddings (all inputs in one call).
    public func embeddings(_ request: EmbeddingRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> EmbeddingResult
    {
        let texts = try EmbeddingReplyWriter.texts(request)
        let model = target.deployment.upstreamModel
        var vectors: [[Double]] = []
        var tokens = 0
        if model.hasPrefix("cohere.") {
            let body: JSONValue = ["texts": .array(texts.map(JSONValue.string)), "input_type": "search_document"]
            let json = try await http.collectJSON(try await post(body.jsonBytes, operation: "invoke", target))
            guard let embeddings = json["embeddings"]?.arrayValue, embeddings.count == texts.count else {
                throw ProviderError(.malformed, "expected \(texts.count) embeddings")
            }
            for embedding in embeddings { vectors.append(try EmbeddingReplyWriter.vector(embedding)) }
            tokens = EmbeddingReplyWriter.estimatedTokens(texts)
        } else {
            for text in texts {
                var fields: [String: JSONValue] = ["inputText": .string(text)]
                if let dimensions = request.body["dimensions"]?.intValue { fields["dimensions"] = .int(dimensions) }
                let json = try await http.collectJSON(
                    try await post(JSONValue.object(fields).jsonBytes, operation: "invoke", target))
                vectors.append(try EmbeddingReplyWriter.vector(json["embedding"]))
                tokens += Int(json["inputTextTokenCount"]?.intValue ?? Int64(EmbeddingReplyWriter.estimatedTokens([text])))
            }
        }
        return EmbeddingResult(
            body: EmbeddingReplyWriter.response(vectors: vectors, model: target.deployment.name, promptTokens: tokens,
                base64: EmbeddingReplyWriter.wantsBase64(request)),
            usage: TokenUsage(promptTokens: tokens, completionTokens: 0))
    }

    /// Signs and sends `body` to `/model/{modelId}/{operation}`.
    func post(_ body: ByteBuffer, operation: String, _ target: RoutableDeployment) async throws(ProviderError)
        -> HTTPClientResponse
    {
        let credentials = target.credentials
        guard let accessKey = credentials.apiKey, let secret = credentials.extra["secret_key"] else {
            throw ProviderError(.status(401), "no AWS credentials configured for \(target.deployment.name)")
        }
        let region = credentials.extra["region"] ?? "us-east-1"
        let base = credentials.apiBase ?? "https://bedrock-runtime.\(region).amazonaws.com"
        let url = URLPath.join(base, "model/\(URLPath.segment(target.deployment.upstreamModel))/\(operation)")
        let signer = AWSSigV4Signer(
            credentials: AWSCredentials(accessKeyID: accessKey, secretAccessKey: secret,
                sessionToken: credentials.extra["session_token"]),
            region: region, service: "bedrock")
        let bytes = Array(body.readableBytesView)
        let signed: [(String, String)]
        do {
            signed = try signer.sign(method: "POST", url: url, headers: [("Content-Type", "application/json")],
                body: bytes, date: now())
        } catch {
            throw ProviderError(.status(401), "cannot sign for Bedrock at '\(base)': \(error)")
        }
        return try await http.postJSON(url: url, headers: signed, body: body)
    }
}

/// Bedrock's binary event stream as frames for `TranslatedStreamSource`.
struct AWSEventStreamFraming: StreamFraming {
    private var decoder = AWSEventStreamDecoder()

    mutating func feed(_ bytes: ByteBuffer) throws(ProviderError) -> [AWSEventStreamMessage] {
        do {
            return try decoder.feed(bytes.readableBytesView)
        } catch {
            throw ProviderError(.malformed, "the event stream is corrupt: \(error)")
        }
    }

    var hasPartialFrame: Bool { decoder.hasPartialMessage }
}
