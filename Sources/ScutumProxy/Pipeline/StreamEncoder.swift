import NIOCore
import ScutumCore

/// How a relayed chat stream reaches the client: each chunk (OpenAI's `chat.completion.chunk`,
/// after the output guardrails) is added to the next write as this front door's events.
protocol StreamEncoder: Sendable {
    /// Adds the events for one chunk.
    mutating func append(_ chunk: ByteBuffer, usage: TokenUsage?, isUsageOnly: Bool, to out: inout ByteBuffer)
    /// Adds a provider's own event, whole (a native pass-through: the front door speaks the
    /// provider's API); by default written as it came.
    mutating func appendNative(_ event: ByteBuffer, to out: inout ByteBuffer)
    /// Runs when the stream has completed, before its end is added (the Responses API stores the
    /// response here, so a client continuing from it at once finds it).
    mutating func completing() async
    /// Adds the end of a stream that completed.
    mutating func appendEnd(to out: inout ByteBuffer)
    /// Adds the last event of a stream that failed or was blocked (it has no normal end).
    func appendFailure(_ error: GatewayError, to out: inout ByteBuffer)
}

extension StreamEncoder {
    mutating func completing() async {}

    mutating func appendNative(_ event: ByteBuffer, to out: inout ByteBuffer) {
        out.writeImmutableBuffer(event)
    }

    /// The first choice of a chunk that carries one (not a usage-only chunk), parsed.
    static func choice(of chunk: ByteBuffer, isUsageOnly: Bool) -> JSONValue? {
        guard !isUsageOnly, let json = JSONValue.parse(chunk) else { return nil }
        return json["choices"]?.arrayValue?.first
    }
}

/// `POST /v1/chat/completions`: the chunks as they came, `data: [DONE]` at the end, a failure as
/// a final `data:` event holding OpenAI's error JSON.
struct ChatChunkEncoder: StreamEncoder {
    func append(_ chunk: ByteBuffer, usage: TokenUsage?, isUsageOnly: Bool, to out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: chunk.readableBytes + 8)
        out.writeStaticString("data: ")
        out.writeImmutableBuffer(chunk)
        out.writeStaticString("\n\n")
    }

    func appendEnd(to out: inout ByteBuffer) {
        out.writeStaticString("data: [DONE]\n\n")
    }

    func appendFailure(_ error: GatewayError, to out: inout ByteBuffer) {
        out.writeStaticString("data: ")
        out.writeBytes(error.jsonData())
        out.writeStaticString("\n\n")
    }
}
