import Hummingbird
import NIOCore

/// Writes a provider's streamed content chunks with the knobs applied: time to first token,
/// pacing, a dropped connection, a broken frame and an in-stream error after the first chunk.
struct MockStream: Sendable {
    var knobs: MockKnobs
    var streamError: Bool

    init(_ directives: MockDirectives) {
        knobs = directives.knobs
        streamError = directives.streamError
    }

    /// The pause between chunks, if the stream is paced.
    var pause: Duration? {
        knobs.tokensPerSecond > 0 ? .nanoseconds(Int64(1e9 / knobs.tokensPerSecond)) : nil
    }

    /// Waits out the time to first token.
    func start() async throws {
        if knobs.timeToFirstToken > .zero { try await Task.sleep(for: knobs.timeToFirstToken) }
    }

    /// Writes `chunks`; after the first one, `malformed` when the knob says so and `error` when
    /// `[mock:stream_error]` asks for it. Returns false when the stream ended with that error
    /// (the writer is then finished); throws `MockDisconnect` to drop the connection.
    func write(_ chunks: [ByteBuffer], to writer: inout any ResponseBodyWriter, malformed: ByteBuffer,
        error: ByteBuffer? = nil) async throws -> Bool
    {
        let pause = self.pause
        for (index, chunk) in chunks.enumerated() {
            if let pause { try await Task.sleep(for: pause) }
            if let limit = knobs.disconnectAfterChunks, index >= limit { try await MockDisconnect.drop() }
            try await writer.write(chunk)
            guard index == 0 else { continue }
            if knobs.malformedSSE { try await writer.write(malformed) }
            if streamError, let error {
                try await writer.write(error)
                try await writer.finish(nil)
                return false
            }
        }
        return true
    }
}
