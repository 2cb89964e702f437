import HTTPTypes
import Hummingbird
import NIOCore
import ScutumCore
import ScutumProviders

extension CompletionRoutes {
    /// A chat completion the response cache may answer: admitted and guarded as any, then served
    /// from the cache (a stream told again from the cached answer) or by the provider, whose whole
    /// answer is then stored (a stream's only once it completed).
    func cachedChat(_ chat: ChatCompletionRequest, caller: CompletionPipeline.Caller, controls: CacheControls,
        cache: ResponseCache, platform: PlatformState) async throws -> Response
    {
        let prepared = try await pipeline.prepare(chat, stream: chat.stream, caller: caller)
        let ledger = prepared.ledger
        let decision = cache.decide(kind: "chat", model: prepared.model, body: prepared.input.body,
            principal: caller.principal, snapshot: platform.current, controls: controls)
        let plan: ResponseCache.Plan?
        let cacheHeader: HTTPFields
        switch await cache.consult(decision) {
        case .hit(let hit):
            return try answer(hit, to: chat, prepared: prepared)
        case .proceed(let found, let header):
            (plan, cacheHeader) = (found, header)
        }
        if chat.stream {
            let dispatched = try await pipeline.route(prepared.input, to: prepared.model, ledger: ledger,
                profiles: prepared.profiles) { adapter, target, chat throws(ProviderError) in
                try await adapter.streamChatCompletion(chat, on: target)
            }
            var keep: (@Sendable (ByteBuffer, TokenUsage?) -> Void)?
            if let plan {
                let target = dispatched.target
                keep = { completion, usage in
                    cache.store(CachedAnswer(completion, usage: usage, servedBy: target), for: plan)
                }
            }
            return relayed(dispatched, estimatedPromptTokens: caller.byteCount / 4, includeUsage: chat.includeUsage,
                encoder: ChatChunkEncoder(), extraHeaders: cacheHeader, keep: keep)
        }
        let dispatched = try await pipeline.route(prepared.input, to: prepared.model, ledger: ledger,
            profiles: prepared.profiles) { adapter, target, chat throws(ProviderError) in
            try await adapter.chatCompletion(chat, on: target)
        }
        let completed = try pipeline.settled(dispatched)
        if let plan {
            cache.store(CachedAnswer(completed.provided.body, usage: completed.provided.usage, servedBy: completed.served),
                for: plan)
        }
        var headers = completed.headers
        headers[.contentType] = "application/json"
        headers.append(contentsOf: cacheHeader)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: completed.result.body))
    }

    /// A cache hit as the caller asked for it (JSON or a stream), through the caller's output
    /// guardrails, settled at cost 0.
    private func answer(_ hit: CachedAnswer, to chat: ChatCompletionRequest,
        prepared: CompletionPipeline.Prepared<ChatCompletionRequest>) throws -> Response
    {
        let ledger = prepared.ledger
        var result = ChatCompletionResult(body: hit.body, usage: hit.usage)
        if let guardrails = pipeline.guardrails, !prepared.profiles.isEmpty {
            do throws(GatewayError) {
                result = try guardrails.checkOutput(result, profiles: prepared.profiles, subject: ledger.guardrailSubject)
            } catch {
                ledger.finish(status: error.status, target: nil, usage: hit.usage, hit: hit)
                throw error
            }
        }
        var headers = ledger.overheadHeader()
        headers[ResponseCache.header] = "hit"
        if chat.stream {
            guard let events = CachedStream.events(of: result.body, includeUsage: chat.includeUsage) else {
                let error = GatewayError.internalError("The cached answer could not be streamed.")
                ledger.finish(status: error.status, target: nil, usage: nil, hit: hit)
                throw error
            }
            ledger.finish(status: 200, target: nil, usage: hit.usage, hit: hit)
            headers.append(contentsOf: Self.eventStreamHeaders)
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: events))
        }
        ledger.finish(status: 200, target: nil, usage: hit.usage, hit: hit)
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: result.body))
    }
}
