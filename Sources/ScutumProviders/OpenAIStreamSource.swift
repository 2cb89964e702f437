import AsyncHTTPClient
import NIOCore
import ScutumCore

/// Reads an OpenAI-format event stream (`data: {chunk}` ... `data: [DONE]`) from a provider's
/// response body, checking and relabelling each chunk without decoding it.
struct OpenAIStreamSource: ChatChunkSource {
    private var body: HTTPClientResponse.Body.AsyncIterator
    private var parser: OpenAIChunkParser
    private var ready: [ChatCompletionChunk] = []
    private var readyIndex = 0

    init(body: HTTPClientResponse.Body, modelName: String) {
        self.body = body.makeAsyncIterator()
        self.parser = OpenAIChunkParser(modelName: modelName)
    }

    mutating func next() async throws(ProviderError) -> ChatCompletionChunk? {
        while true {
            if readyIndex < ready.count {
                readyIndex += 1
                return ready[readyIndex - 1]
            }
            if let failure = parser.failure { throw failure }
            if parser.finished { return nil }
            let bytes: ByteBuffer?
            do {
                bytes = try await body.next()
            } catch {
                throw UpstreamHTTP.providerError(for: error)
            }
            guard let bytes else { throw OpenAIChunkParser.endedEarly }
            ready = parser.chunks(bytes)
            readyIndex = 0
        }
    }
}

/// Turns what a provider sends of an OpenAI-format event stream, read by read, into chunks: each
/// checked and relabelled (`model` set to the catalog name) without decoding it, the last of a
/// read marked `endsRead`. Synchronous, so the direct lane uses it on its event loop.
public struct OpenAIChunkParser: Sendable {
    private var decoder = SSEDecoder()
    /// The catalog name the client sees in `model`.
    public let modelName: String
    /// `[DONE]` came, or the stream failed: nothing more is read.
    public private(set) var finished = false
    /// Why the stream failed (a malformed event, an error event), once it has.
    public private(set) var failure: ProviderError?

    public init(modelName: String) {
        self.modelName = modelName
    }

    /// The failure of a stream whose body ended before `[DONE]`.
    public static let endedEarly = ProviderError(.connection, "the provider ended the stream before [DONE]")

    /// The chunks in one read, up to `[DONE]` or a failure (then in `failure`).
    public mutating func chunks(_ bytes: ByteBuffer) -> [ChatCompletionChunk] {
        guard !finished else { return [] }
        let events: [SSEDecoder.Event]
        do {
            events = try decoder.events(bytes)
        } catch {
            fail(error)
            return []
        }
        var chunks: [ChatCompletionChunk] = []
        chunks.reserveCapacity(events.count)
        for event in events {
            let data = event.data
            if data.readableBytes == 6, data.readableBytesView.elementsEqual("[DONE]".utf8) {
                finished = true
                break
            }
            let inspection: ChunkInspector.Inspection
            do {
                inspection = try ChunkInspector.inspect(data, renamingModelTo: modelName, what: "an event in the stream")
            } catch {
                fail(error)
                break
            }
            if let message = inspection.errorMessage {
                fail(ProviderError(.status(500), message))
                break
            }
            chunks.append(ChatCompletionChunk(json: inspection.json, usage: inspection.usage,
                isUsageOnly: inspection.usageOnly, endsRead: false))
        }
        // When the stream ended in this read, what follows ([DONE], or the failure event) goes out in
        // the same write.
        if !chunks.isEmpty && !finished { chunks[chunks.count - 1].endsRead = true }
        return chunks
    }

    private mutating func fail(_ error: ProviderError) {
        finished = true
        failure = error
    }
}
