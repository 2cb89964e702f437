import NIOCore
import ScutumCore

/// Something that yields chat completion chunks one at a time; each adapter family has its own.
public protocol ChatChunkSource {
    /// The next chunk, or nil at the proper end of the stream.
    mutating func next() async throws(ProviderError) -> ChatCompletionChunk?
}

/// The chunks of a streaming chat completion, in OpenAI's format, as the provider sends them.
///
/// A stream is consumed once, by one task: the proxy opens it in the request handler (so failures
/// before the first byte become an HTTP status) and hands it to the task writing the response
/// body. That single hand-over is why it is `@unchecked Sendable`; never iterate it from two tasks.
public struct ChatCompletionStream: AsyncSequence, @unchecked Sendable {
    public typealias Element = ChatCompletionChunk
    private let source: any ChatChunkSource

    public init(_ source: some ChatChunkSource) {
        self.source = source
    }

    public typealias Failure = ProviderError

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Failure = ProviderError
        var source: any ChatChunkSource

        public mutating func next() async throws(ProviderError) -> ChatCompletionChunk? {
            try await source.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: source) }
}

/// An array of chunks as a source, for tests and for answers that are complete in advance.
public struct ChunkArraySource: ChatChunkSource {
    var chunks: [ChatCompletionChunk]

    public init(_ chunks: [ChatCompletionChunk]) {
        self.chunks = chunks.reversed()
    }

    public mutating func next() async throws(ProviderError) -> ChatCompletionChunk? {
        chunks.popLast()
    }
}
