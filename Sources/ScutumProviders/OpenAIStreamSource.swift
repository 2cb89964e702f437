import AsyncHTTPClient
import NIOCore
import ScutumCore

/// Reads an OpenAI-format event stream (`data: {chunk}` ... `data: [DONE]`) from a provider's
/// response body, checking and relabelling each chunk without decoding it.
struct OpenAIStreamSource: ChatChunkSource {
    private var body: HTTPClientResponse.Body.AsyncIterator
    private var decoder = SSEDecoder()
    private var ready: [SSEDecoder.Event] = []
    private var readyIndex = 0
    private var finished = false
    /// The catalog name the client sees in `model`.
    let modelName: String

    init(body: HTTPClientResponse.Body, modelName: String) {
        self.body = body.makeAsyncIterator()
        self.modelName = modelName
    }

    mutating func next() async throws(ProviderError) -> ChatCompletionChunk? {
        while !finished {
            if readyIndex < ready.count {
                let event = ready[readyIndex]
                readyIndex += 1
                if var chunk = try chunk(from: event) {
                    chunk.endsRead = readyIndex >= ready.count
                    return chunk
                }
                continue
            }
            let bytes: ByteBuffer?
            do {
                bytes = try await body.next()
            } catch {
                finished = true
                throw UpstreamHTTP.providerError(for: error)
            }
            guard let bytes else {
                finished = true
                throw ProviderError(.connection, "the provider ended the stream before [DONE]")
            }
            ready = try decoder.events(bytes)
            readyIndex = 0
        }
        return nil
    }

    private mutating func chunk(from event: SSEDecoder.Event) throws(ProviderError) -> ChatCompletionChunk? {
        let data = event.data
        if data.readableBytes == 6, data.readableBytesView.elementsEqual("[DONE]".utf8) {
            finished = true
            return nil
        }
        let inspection: ChunkInspector.Inspection
        do {
            inspection = try ChunkInspector.inspect(data, renamingModelTo: modelName, what: "an event in the stream")
        } catch {
            finished = true
            throw error
        }
        if let message = inspection.errorMessage {
            finished = true
            throw ProviderError(.status(500), message)
        }
        return ChatCompletionChunk(json: inspection.json, usage: inspection.usage, isUsageOnly: inspection.usageOnly)
    }
}
