import Foundation
import NIOCore
import ScutumCore

/// Claude on Bedrock through InvokeModel, untranslated: the caller's Messages API body without
/// `model` and `stream`, with `anthropic_version: bedrock-2023-05-31` (and `anthropic-beta` as the
/// body's `anthropic_beta` list), to `invoke` or `invoke-with-response-stream`, whose event-stream
/// `chunk`s carry Anthropic's own events (base64 in `bytes`).
extension BedrockAdapter: AnthropicNativeMessages {
    /// The `anthropic_version` Bedrock requires.
    public static let anthropicVersion = "bedrock-2023-05-31"

    public func anthropicMessages(for target: RoutableDeployment) -> (any AnthropicNativeMessages)? {
        target.deployment.upstreamModel.contains("anthropic.claude") ? self : nil
    }

    public func nativeMessage(_ request: AnthropicNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> AnthropicNativeMessage
    {
        let response = try await post(Self.invokeBody(request, for: target.deployment).jsonBytes, operation: "invoke", target)
        return try AnthropicNativeMessage(message: try await http.collectJSON(response), model: target.deployment.name)
    }

    public func nativeStream(_ request: AnthropicNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionStream
    {
        let response = try await post(Self.invokeBody(request, for: target.deployment).jsonBytes,
            operation: "invoke-with-response-stream", target)
        try UpstreamHTTP.expectContentType(response, "application/vnd.amazon.eventstream")
        return ChatCompletionStream(TranslatedStreamSource(body: response.body, framing: AWSEventStreamFraming(),
            translator: BedrockAnthropicEvents(events: AnthropicNativeEvents(model: target.deployment.name))))
    }

    /// Bedrock's own CountTokens is not called here: the gateway's estimate answers.
    public func nativeInputTokens(_ request: AnthropicNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> Int?
    {
        nil
    }

    /// The InvokeModel body: the caller's, with Bedrock's version and beta list, and automatic
    /// cache breakpoints where the deployment wants them.
    static func invokeBody(_ request: AnthropicNativeRequest, for deployment: ModelDeployment) -> JSONValue {
        var body = request.body
        AutomaticBreakpoints.place(in: &body, for: deployment)
        body["model"] = nil
        body["stream"] = nil
        body["anthropic_version"] = .string(anthropicVersion)
        if let beta = request.beta {
            let features = beta.split(separator: ",").map { JSONValue.string($0.trimmingCharacters(in: .whitespaces)) }
            body["anthropic_beta"] = .array(features)
        }
        return body
    }
}

/// InvokeModelWithResponseStream's messages as Anthropic's native events: each `chunk` event's
/// `bytes` (base64) is one Anthropic event, handed to `AnthropicNativeEvents`; exceptions end the
/// stream as provider errors.
struct BedrockAnthropicEvents: StreamTranslator {
    var events: AnthropicNativeEvents
    var isComplete: Bool { events.isComplete }

    mutating func translate(_ message: AWSEventStreamMessage) throws(ProviderError) -> [ChatCompletionChunk] {
        let payload = JSONValue.parse(ByteBuffer(bytes: message.payload)) ?? .null
        if let failure = message.failure(payload) { throw failure }
        guard message.eventType == "chunk" else { return [] }
        guard let encoded = payload["bytes"]?.stringValue, let decoded = Data(base64Encoded: encoded) else {
            throw ProviderError(.malformed, "a chunk of the stream carries no base64 bytes")
        }
        return try events.translate(SSEDecoder.Event(name: nil, data: ByteBuffer(bytes: decoded)))
    }

    mutating func finish() throws(ProviderError) -> [ChatCompletionChunk] {
        try events.finish()
    }
}
