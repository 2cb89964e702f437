import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ScutumCore
import ScutumProviders

/// `POST /v1/chat/completions` (JSON or Server-Sent Events) and `POST /v1/embeddings`.
struct CompletionRoutes: Sendable {
    let dispatcher: Dispatcher
    let usage: UsageRecorder?
    let maximumBodyBytes: Int
    let logger: Logger

    static let eventStreamHeaders: HTTPFields = [
        .contentType: "text/event-stream",
        .cacheControl: "no-cache",
        HTTPField.Name("X-Accel-Buffering")!: "no",
    ]
    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    func register(on router: Router<ProxyRequestContext>) {
        router.post("/v1/chat/completions") { request, context in
            try await chatCompletions(request, context: context)
        }
        router.post("/v1/embeddings") { request, context in
            try await embeddings(request, context: context)
        }
    }

    func chatCompletions(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let bytes = try await request.collectBody(limit: maximumBodyBytes)
        let chat = try ChatCompletionRequest(json: RequestJSON.parse(bytes.readableBytesView))
        let keyHash = context.principal?.keyHash
        if !chat.stream {
            let (result, _) = try await dispatcher.dispatch(chat.model, mode: .chat) {
                adapter, target throws(ProviderError) in
                try await adapter.chatCompletion(chat, on: target)
            }
            usage?.record(keyHash: keyHash, usage: result.usage)
            return Response(status: .ok, headers: Self.jsonHeaders, body: ResponseBody(byteBuffer: result.body))
        }
        let (stream, target) = try await dispatcher.dispatch(chat.model, mode: .chat) {
            adapter, target throws(ProviderError) in
            try await adapter.streamChatCompletion(chat, on: target)
        }
        let includeUsage = chat.includeUsage
        let usage = self.usage
        let logger = self.logger
        let modelName = target.deployment.name
        return Response(status: .ok, headers: Self.eventStreamHeaders, body: ResponseBody { writer in
            var iterator = stream.makeAsyncIterator()
            var reported: TokenUsage?
            defer { usage?.record(keyHash: keyHash, usage: reported) }
            do {
                while let chunk = try await iterator.next() {
                    if let chunkUsage = chunk.usage { reported = chunkUsage }
                    if chunk.isUsageOnly && !includeUsage { continue }
                    var frame = ByteBuffer()
                    frame.reserveCapacity(chunk.json.readableBytes + 8)
                    frame.writeStaticString("data: ")
                    frame.writeImmutableBuffer(chunk.json)
                    frame.writeStaticString("\n\n")
                    try await writer.write(frame)
                }
                try await writer.write(ByteBuffer(staticString: "data: [DONE]\n\n"))
            } catch let error as ProviderError {
                // The status line is gone: report the failure as a final event, without [DONE],
                // so clients see an error rather than a silently truncated answer.
                logger.warning("stream failed mid-way", metadata: ["model": "\(modelName)", "error": "\(error.message)"])
                var frame = ByteBuffer(staticString: "data: ")
                frame.writeBytes(error.gatewayError(model: modelName).jsonData())
                frame.writeStaticString("\n\n")
                try await writer.write(frame)
            }
            try await writer.finish(nil)
        })
    }

    func embeddings(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let bytes = try await request.collectBody(limit: maximumBodyBytes)
        let embedding = try EmbeddingRequest(json: RequestJSON.parse(bytes.readableBytesView))
        let (result, _) = try await dispatcher.dispatch(embedding.model, mode: .embedding) {
            adapter, target throws(ProviderError) in
            try await adapter.embeddings(embedding, on: target)
        }
        usage?.record(keyHash: context.principal?.keyHash, usage: result.usage)
        return Response(status: .ok, headers: Self.jsonHeaders, body: ResponseBody(byteBuffer: result.body))
    }
}
