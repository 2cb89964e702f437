import NIOCore
import ScutumCore

/// Speaks one provider family's wire format, translating from and to OpenAI's.
///
/// Adapters return OpenAI-format JSON with `model` already set to the catalog name the client
/// sees, so the proxy can pass bytes through without decoding them again.
public protocol ProviderAdapter: Sendable {
    /// A non-streaming chat completion.
    func chatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionResult

    /// A streaming chat completion. Returns once the provider has answered with a success status,
    /// so that errors before the first byte can still become a proper HTTP status (or a fallback).
    func streamChatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionStream

    /// An embeddings call.
    func embeddings(_ request: EmbeddingRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> EmbeddingResult

    /// What speaks Anthropic's Messages API natively to `target`, when something does (Claude,
    /// direct, on Vertex AI or on Bedrock): `/v1/messages` then passes requests through untranslated.
    func anthropicMessages(for target: RoutableDeployment) -> (any AnthropicNativeMessages)?

    /// The adapter that speaks OpenAI's Responses API natively to `target`, when it does (OpenAI,
    /// Azure OpenAI): `/v1/responses` then passes requests through untranslated.
    func openAIResponses(for target: RoutableDeployment) -> OpenAICompatibleAdapter?
}

extension ProviderAdapter {
    public func anthropicMessages(for target: RoutableDeployment) -> (any AnthropicNativeMessages)? { nil }
    public func openAIResponses(for target: RoutableDeployment) -> OpenAICompatibleAdapter? { nil }
}

/// A finished chat completion in OpenAI's JSON.
public struct ChatCompletionResult: Sendable {
    /// The `chat.completion` object, ready to send.
    public var body: ByteBuffer
    public var usage: TokenUsage?

    public init(body: ByteBuffer, usage: TokenUsage?) {
        self.body = body
        self.usage = usage
    }
}

/// One `chat.completion.chunk` of a stream.
public struct ChatCompletionChunk: Sendable {
    /// The chunk's JSON (without the `data: ` framing), `model` already rewritten.
    public var json: ByteBuffer
    /// Usage, when this chunk reports it.
    public var usage: TokenUsage?
    /// The chunk has no choices and exists only to report usage (`stream_options.include_usage`).
    public var isUsageOnly: Bool
    /// False when more of what the provider sent in the same read follows at once: the proxy then
    /// holds this chunk back and writes them together (one write per upstream read).
    public var endsRead: Bool
    /// The chunk is the provider's own stream event, whole (`event:` and `data:` lines and the
    /// blank line), not an OpenAI chunk: a front door speaking that provider's API passes it on as is.
    public var native: Bool

    public init(json: ByteBuffer, usage: TokenUsage? = nil, isUsageOnly: Bool = false, endsRead: Bool = true,
        native: Bool = false)
    {
        self.json = json
        self.usage = usage
        self.isUsageOnly = isUsageOnly
        self.endsRead = endsRead
        self.native = native
    }
}

extension ChatCompletionChunk {
    /// A provider's own stream event, whole: `event: <type>`, `data: <data>` and the blank line.
    public init(native type: String, data: ByteBuffer, usage: TokenUsage?, endsRead: Bool = true) {
        var frame = ByteBuffer()
        frame.reserveCapacity(data.readableBytes + type.utf8.count + 16)
        frame.writeStaticString("event: ")
        frame.writeString(type)
        frame.writeStaticString("\ndata: ")
        frame.writeImmutableBuffer(data)
        frame.writeStaticString("\n\n")
        self.init(json: frame, usage: usage, endsRead: endsRead, native: true)
    }
}

/// An embeddings response in OpenAI's JSON.
public struct EmbeddingResult: Sendable {
    public var body: ByteBuffer
    public var usage: TokenUsage?

    public init(body: ByteBuffer, usage: TokenUsage?) {
        self.body = body
        self.usage = usage
    }
}
