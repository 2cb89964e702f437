import Foundation
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
    let accounting: Accounting?
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

    /// One request's bookkeeping: admission, then a spend record whatever the outcome.
    struct Ledger: Sendable {
        let accounting: Accounting?
        let admission: Accounting.Admission?
        let principal: Principal?
        let model: String
        let stream: Bool
        let started: ContinuousClock.Instant
        let requestID: String
        let estimatedTokens: Int

        /// Checks a deployment's provider limits for this request (nil: no limits configured).
        var admitDeployment: (@Sendable (ModelDeployment) async -> Bool)? {
            guard let rateLimiting = accounting?.rateLimiting else { return nil }
            let (tokens, requestID) = (estimatedTokens, self.requestID)
            return { deployment in await rateLimiting.admit(deployment: deployment, tokens: tokens, requestID: requestID) }
        }

        func finish(status: Int, target: RoutableDeployment?, usage: TokenUsage?) {
            guard let accounting, let admission else { return }
            let key = principal?.key
            let cost = admission.costTracking ? (usage.map { target?.deployment.cost(of: $0) ?? 0 } ?? 0) : 0
            let elapsed = ContinuousClock.now - started
            accounting.record(SpendRecord(requestID: requestID, at: Date(), keyID: key?.id, keyAlias: key?.alias,
                teamID: key?.teamID, userID: key?.userID, modelRequested: model, modelServed: target?.deployment.name,
                provider: target?.deployment.provider.rawValue, promptTokens: usage?.promptTokens ?? 0,
                completionTokens: usage?.completionTokens ?? 0, cachedTokens: usage?.cachedTokens ?? 0, cost: cost,
                latencyMilliseconds: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
                status: status, stream: stream), admission: admission)
        }
    }

    func admit(_ model: String, stream: Bool, estimatedTokens: Int, context: ProxyRequestContext) async throws -> Ledger {
        let started = ContinuousClock.now
        let requestID = "req-" + UUID().uuidString.lowercased()
        let admission = try await accounting?.admit(model: model, principal: context.principal,
            estimatedTokens: estimatedTokens, requestID: requestID)
        return Ledger(accounting: accounting, admission: admission, principal: context.principal, model: model,
            stream: stream, started: started, requestID: requestID, estimatedTokens: estimatedTokens)
    }

    /// Tokens to reserve against TPM before the call: about four bytes per prompt token, plus the
    /// completion the client allows (or 256); settled with the real count afterwards.
    static func estimate(bodyBytes: Int, maxTokens: Int?) -> Int {
        bodyBytes / 4 + (maxTokens ?? 256)
    }

    func chatCompletions(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let bytes = try await request.collectBody(limit: maximumBodyBytes)
        let chat = try ChatCompletionRequest(json: RequestJSON.parse(bytes.readableBytesView))
        let keyHash = context.principal?.keyHash
        let ledger = try await admit(chat.model, stream: chat.stream,
            estimatedTokens: Self.estimate(bodyBytes: bytes.readableBytes, maxTokens: chat.maxTokens), context: context)
        let allowed = ledger.admission?.allowedModels
        if !chat.stream {
            let result: ChatCompletionResult
            let target: RoutableDeployment
            do {
                (result, target) = try await dispatcher.dispatch(chat.model, mode: .chat, allowed: allowed,
                    admitDeployment: ledger.admitDeployment) {
                    adapter, target throws(ProviderError) in
                    try await adapter.chatCompletion(chat, on: target)
                }
            } catch {
                ledger.finish(status: error.status, target: nil, usage: nil)
                throw error
            }
            usage?.record(keyHash: keyHash, usage: result.usage)
            ledger.finish(status: 200, target: target, usage: result.usage)
            return Response(status: .ok, headers: Self.jsonHeaders, body: ResponseBody(byteBuffer: result.body))
        }
        let stream: ChatCompletionStream
        let target: RoutableDeployment
        do {
            (stream, target) = try await dispatcher.dispatch(chat.model, mode: .chat, allowed: allowed,
                admitDeployment: ledger.admitDeployment) {
                adapter, target throws(ProviderError) in
                try await adapter.streamChatCompletion(chat, on: target)
            }
        } catch {
            ledger.finish(status: error.status, target: nil, usage: nil)
            throw error
        }
        let includeUsage = chat.includeUsage
        let usage = self.usage
        let logger = self.logger
        let modelName = target.deployment.name
        return Response(status: .ok, headers: Self.eventStreamHeaders, body: ResponseBody { writer in
            var iterator = stream.makeAsyncIterator()
            var reported: TokenUsage?
            defer {
                usage?.record(keyHash: keyHash, usage: reported)
                ledger.finish(status: 200, target: target, usage: reported)
            }
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
        let ledger = try await admit(embedding.model, stream: false,
            estimatedTokens: Self.estimate(bodyBytes: bytes.readableBytes, maxTokens: 0), context: context)
        let result: EmbeddingResult
        let target: RoutableDeployment
        do {
            (result, target) = try await dispatcher.dispatch(embedding.model, mode: .embedding,
                allowed: ledger.admission?.allowedModels, admitDeployment: ledger.admitDeployment) {
                adapter, target throws(ProviderError) in
                try await adapter.embeddings(embedding, on: target)
            }
        } catch {
            ledger.finish(status: error.status, target: nil, usage: nil)
            throw error
        }
        usage?.record(keyHash: context.principal?.keyHash, usage: result.usage)
        ledger.finish(status: 200, target: target, usage: result.usage)
        return Response(status: .ok, headers: Self.jsonHeaders, body: ResponseBody(byteBuffer: result.body))
    }
}
