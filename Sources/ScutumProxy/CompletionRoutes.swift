import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ScutumCore
import ScutumGuardrails
import ScutumProviders

/// `POST /v1/chat/completions` (JSON or Server-Sent Events) and `POST /v1/embeddings`: each decodes
/// its wire format, hands the request to the `CompletionPipeline`, and encodes the answer.
struct CompletionRoutes: Sendable {
    let pipeline: CompletionPipeline
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
        let started = context.arrived ?? .now
        let bytes = try await request.collectBody(limit: maximumBodyBytes)
        let chat = try ChatCompletionRequest(bytes: bytes)
        let caller = CompletionPipeline.Caller(principal: context.principal, requestID: context.requestID,
            started: started, byteCount: bytes.readableBytes)
        if !chat.stream {
            let completed = try await pipeline.complete(chat, caller: caller)
            var headers = completed.headers
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: completed.result.body))
        }
        let dispatched = try await pipeline.dispatch(chat, stream: true, caller: caller) {
            adapter, target, chat throws(ProviderError) in
            try await adapter.streamChatCompletion(chat, on: target)
        }
        let (stream, target, ledger, profiles) = (dispatched.result, dispatched.target, dispatched.ledger,
            dispatched.profiles)
        let keyHash = context.principal?.keyHash
        let includeUsage = chat.includeUsage
        let usage = pipeline.usage
        let logger = self.logger
        let modelName = target.deployment.name
        let guardrails = pipeline.guardrails
        var headers = Self.eventStreamHeaders
        headers.append(contentsOf: ledger.overheadHeader())
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var iterator = stream.makeAsyncIterator()
            var reported: TokenUsage?
            var filter = GuardrailStreamFilter(profiles: profiles)
            // Frames of one upstream read, written together.
            var out = ByteBuffer()
            defer {
                usage?.record(keyHash: keyHash, usage: reported)
                ledger.finish(status: 200, target: target, usage: reported)
                if let filter { guardrails?.record(filter, subject: ledger.guardrailSubject) }
            }
            do {
                while let chunk = try await iterator.next() {
                    if let chunkUsage = chunk.usage { reported = chunkUsage }
                    if chunk.isUsageOnly && !includeUsage { continue }
                    var json = chunk.json
                    if filter != nil, !chunk.isUsageOnly {
                        switch filter!.filter(json) {
                        case .send(let filtered): json = filtered
                        case .block(let block):
                            try await Self.flush(&out, to: &writer)
                            try await Self.writeBlock(block, to: &writer, logger: logger)
                            return
                        }
                    }
                    Self.appendFrame(json, to: &out)
                    if chunk.endsRead { try await Self.flush(&out, to: &writer) }
                }
                switch filter?.finish() {
                case .send(let held)?: Self.appendFrame(held, to: &out)
                case .block(let block)?:
                    try await Self.flush(&out, to: &writer)
                    try await Self.writeBlock(block, to: &writer, logger: logger)
                    return
                case nil: break
                }
                out.writeStaticString("data: [DONE]\n\n")
                try await Self.flush(&out, to: &writer)
            } catch let error as ProviderError {
                // The status line is gone: report the failure as a final event, without [DONE],
                // so clients see an error rather than a silently truncated answer.
                logger.warning("stream failed mid-way", metadata: ["model": "\(modelName)", "error": "\(error.message)"])
                out.writeStaticString("data: ")
                out.writeBytes(error.gatewayError(model: modelName).jsonData())
                out.writeStaticString("\n\n")
                try await Self.flush(&out, to: &writer)
            }
            try await writer.finish(nil)
        })
    }

    /// Adds one SSE `data:` event to `out`.
    static func appendFrame(_ json: ByteBuffer, to out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: json.readableBytes + 8)
        out.writeStaticString("data: ")
        out.writeImmutableBuffer(json)
        out.writeStaticString("\n\n")
    }

    /// Writes what `out` holds in one write and starts a new buffer.
    static func flush(_ out: inout ByteBuffer, to writer: inout some ResponseBodyWriter) async throws {
        guard out.readableBytes > 0 else { return }
        try await writer.write(out)
        out = ByteBuffer()
    }

    /// Ends a stream an output guardrail blocked: its error as the last event, no `[DONE]`.
    static func writeBlock(_ block: GuardrailBlock, to writer: inout some ResponseBodyWriter, logger: Logger) async throws {
        logger.info("stream blocked by an output guardrail",
            metadata: ["guardrail": "\(block.profile)", "scanner": "\(block.finding.scanner.rawValue)"])
        var frame = ByteBuffer(staticString: "data: ")
        frame.writeBytes(block.error.jsonData())
        frame.writeStaticString("\n\n")
        try await writer.write(frame)
        try await writer.finish(nil)
    }

    func embeddings(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let started = context.arrived ?? .now
        let bytes = try await request.collectBody(limit: maximumBodyBytes)
        let embedding = try EmbeddingRequest(bytes: bytes)
        let caller = CompletionPipeline.Caller(principal: context.principal, requestID: context.requestID,
            started: started, byteCount: bytes.readableBytes)
        let dispatched = try await pipeline.dispatch(embedding, stream: false, caller: caller) {
            adapter, target, embedding throws(ProviderError) in
            try await adapter.embeddings(embedding, on: target)
        }
        let (result, ledger) = (dispatched.result, dispatched.ledger)
        pipeline.usage?.record(keyHash: context.principal?.keyHash, usage: result.usage)
        ledger.finish(status: 200, target: dispatched.target, usage: result.usage)
        var headers = ledger.overheadHeader()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: result.body))
    }
}
