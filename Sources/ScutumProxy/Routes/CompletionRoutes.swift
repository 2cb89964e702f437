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
    /// Longest a stream's upstream is read for its usage after the client has gone.
    let abandonedStreamDrain: Duration
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
        var chat = try parseChat(bytes)
        let controls = try CacheControls(member: chat.cacheMember, cacheControl: request.headers[.cacheControl])
        if chat.cacheMember != nil { chat.removeCacheMember() }
        let caller = CompletionPipeline.Caller(principal: context.principal, requestID: context.requestID,
            started: started, byteCount: bytes.readableBytes, endpoint: FrontDoor.chat)
        if let cache = pipeline.cache, let platform = pipeline.accounting?.platform,
            ResponseCache.mayApply(to: context.principal, in: platform.current)
        {
            return try await cachedChat(chat, caller: caller, controls: controls, cache: cache, platform: platform)
        }
        if !chat.stream {
            let completed = try await pipeline.complete(chat, caller: caller)
            var headers = completed.headers
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: completed.result.body))
        }
        return try await streamed(chat, caller: caller, includeUsage: chat.includeUsage, encoder: ChatChunkEncoder())
    }

    /// A streamed chat completion as a response: dispatched, then relayed to the client through
    /// `encoder` (this front door's events) and settled however it ends.
    func streamed<Encoder: StreamEncoder>(_ chat: ChatCompletionRequest, caller: CompletionPipeline.Caller,
        includeUsage: Bool, encoder: Encoder) async throws -> Response
    {
        try await streamed(chat, caller: caller, includeUsage: includeUsage, encoder: encoder) {
            adapter, target, chat throws(ProviderError) in
            try await adapter.streamChatCompletion(chat, on: target)
        }
    }

    /// `streamed`, the provider called by `call` (a front door that may pass requests through natively).
    func streamed<Encoder: StreamEncoder>(_ chat: ChatCompletionRequest, caller: CompletionPipeline.Caller,
        includeUsage: Bool, encoder: Encoder,
        call: (any ProviderAdapter, RoutableDeployment, ChatCompletionRequest) async throws(ProviderError)
            -> ChatCompletionStream) async throws -> Response
    {
        let dispatched = try await pipeline.dispatch(chat, stream: true, caller: caller, call)
        return relayed(dispatched, estimatedPromptTokens: caller.byteCount / 4, includeUsage: includeUsage,
            encoder: encoder)
    }

    /// A streamed chat completion whose first call, made by the direct lane, failed: the pipeline's
    /// retries and fallbacks from there, relayed and settled as `streamed` does.
    func streamed(_ chat: ChatCompletionRequest, routedTo model: String, ledger: RequestLedger,
        after firstFailure: Dispatcher.FirstFailure, byteCount: Int) async throws -> Response
    {
        let dispatched = try await pipeline.route(chat, to: model, ledger: ledger, profiles: [], after: firstFailure) {
            adapter, target, chat throws(ProviderError) in
            try await adapter.streamChatCompletion(chat, on: target)
        }
        return relayed(dispatched, estimatedPromptTokens: byteCount / 4, includeUsage: chat.includeUsage,
            encoder: ChatChunkEncoder())
    }

    func relayed<Encoder: StreamEncoder>(_ dispatched: CompletionPipeline.Dispatched<ChatCompletionStream>,
        estimatedPromptTokens: Int, includeUsage: Bool, encoder: Encoder, extraHeaders: HTTPFields = [:],
        keep: (@Sendable (ByteBuffer, TokenUsage?) -> Void)? = nil) -> Response
    {
        var headers = Self.eventStreamHeaders
        headers.append(contentsOf: dispatched.ledger.overheadHeader())
        headers.append(contentsOf: extraHeaders)
        let settlement = StreamSettlement(ledger: dispatched.ledger, target: dispatched.target,
            estimatedPromptTokens: estimatedPromptTokens, drainLimit: abandonedStreamDrain)
        let relay = StreamRelay(stream: dispatched.result, settlement: settlement, includeUsage: includeUsage,
            encoder: encoder, profiles: dispatched.profiles, guardrails: pipeline.guardrails, logger: logger, keep: keep)
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await relay.write(to: &writer)
        })
    }

    /// The chat request in `bytes`; one without `model` gets the `default_model` setting's, when set.
    func parseChat(_ bytes: ByteBuffer) throws(GatewayError) -> ChatCompletionRequest {
        do {
            return try ChatCompletionRequest(bytes: bytes)
        } catch where error.param == "model" && error.code == "missing_required_parameter" {
            guard let model = pipeline.accounting?.platform.current.defaultModel else { throw error }
            return try ChatCompletionRequest(bytes: Self.inserting(model: model, into: bytes))
        }
    }

    /// `bytes` (a JSON object without `model`) with `"model":<model>` as its first member.
    static func inserting(model: String, into bytes: ByteBuffer) -> ByteBuffer {
        let view = bytes.readableBytesView
        guard let open = view.firstIndex(of: UInt8(ascii: "{")) else { return bytes }
        var out = ByteBuffer()
        out.reserveCapacity(bytes.readableBytes + model.utf8.count + 16)
        out.writeBytes(view[view.startIndex...open])
        out.writeStaticString(#""model":"#)
        out.writeBytes(JSONValue.string(model).jsonBytes.readableBytesView)
        let rest = view[(open + 1)...]
        let empty = rest.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == UInt8(ascii: "}") }
        if !empty { out.writeStaticString(",") }
        out.writeBytes(rest)
        return out
    }

    func embeddings(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let started = context.arrived ?? .now
        let bytes = try await request.collectBody(limit: maximumBodyBytes)
        var embedding = try EmbeddingRequest(bytes: bytes)
        let controls = try CacheControls(member: embedding.cacheMember, cacheControl: request.headers[.cacheControl])
        if embedding.cacheMember != nil { embedding.removeCacheMember() }
        let caller = CompletionPipeline.Caller(principal: context.principal, requestID: context.requestID,
            started: started, byteCount: bytes.readableBytes, endpoint: FrontDoor.embeddings)
        let prepared = try await pipeline.prepare(embedding, stream: false, caller: caller)
        let ledger = prepared.ledger
        var plan: ResponseCache.Plan?
        var cacheHeader: HTTPFields = [:]
        if let cache = pipeline.cache, let platform = pipeline.accounting?.platform {
            let decision = cache.decide(kind: "embedding", model: prepared.model, body: prepared.input.body,
                principal: caller.principal, snapshot: platform.current, controls: controls)
            switch await cache.consult(decision) {
            case .hit(let hit):
                ledger.finish(status: 200, target: nil, usage: hit.usage, hit: hit)
                var headers = ledger.overheadHeader()
                headers[.contentType] = "application/json"
                headers[ResponseCache.header] = "hit"
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: hit.body))
            case .proceed(let found, let header):
                plan = found
                cacheHeader = header
            }
        }
        let dispatched = try await pipeline.route(prepared.input, to: prepared.model, ledger: ledger,
            profiles: prepared.profiles) { adapter, target, embedding throws(ProviderError) in
            try await adapter.embeddings(embedding, on: target)
        }
        let result = dispatched.result
        ledger.finish(status: 200, target: dispatched.target, usage: result.usage)
        if let plan, let cache = pipeline.cache {
            cache.store(CachedAnswer(result.body, usage: result.usage, servedBy: dispatched.target), for: plan)
        }
        var headers = ledger.overheadHeader()
        headers[.contentType] = "application/json"
        headers.append(contentsOf: cacheHeader)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: result.body))
    }
}
