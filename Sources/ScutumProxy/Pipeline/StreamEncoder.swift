import NIOCore
import ScutumCore

/// How a relayed chat stream reaches the client: each chunk (OpenAI's `chat.completion.chunk`,
/// after the output guardrails) is added to the next write as this front door's events.
protocol StreamEncoder: Sendable {
    /// Adds the events for one chunk.
    mutating func append(_ chunk: ByteBuffer, usage: TokenUsage?, isUsageOnly: Bool, to out: inout ByteBuffer)
    /// Adds the end of a stream that completed.
    mutating func appendEnd(to out: inout ByteBuffer)
    /// Adds the last event of a stream that failed or was blocked (it has no normal end).
    func appendFailure(_ error: GatewayError, to out: inout ByteBuffer)
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
