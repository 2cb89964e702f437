import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ScutumCluster
import ScutumCore
import ScutumGuardrails
import ScutumProviders
import ScutumRedis
import Synchronization

/// `POST /v1/chat/completions` (JSON or Server-Sent Events) and `POST /v1/embeddings`.
struct CompletionRoutes: Sendable {
    let dispatcher: Dispatcher
    let usage: UsageRecorder?
    let accounting: Accounting?
    /// Guardrail profiles on requests and answers; nil turns them off.
    let guardrails: GuardrailGate?
    /// The cluster-wide realtime figures; nil leaves them out.
    let realtime: RealtimeRecorder?
    /// Provider calls get trace spans (`UpstreamTrace`); off, they cost nothing.
    var tracing = false
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
        let dispatcher: Dispatcher
        let realtime: RealtimeRecorder?
        /// The provider calls' trace spans; nil when tracing is off.
        let trace: UpstreamTrace?
        /// Time spent waiting for providers, to tell the gateway's own share (`overhead`).
        let upstream = UpstreamTime()
        /// Token estimates reserved against deployments' provider limits, settled in `finish`.
        let reservations = Reservations()

        final class Reservations: Sendable {
            let taken = Mutex<[(deployment: String, limits: [RateLimit])]>([])
        }

        /// The sum of provider calls' durations.
        final class UpstreamTime: Sendable {
            let total = Mutex(Duration.zero)

            /// Runs a provider call, adding its duration.
            func timing<T>(_ call: () async throws(ProviderError) -> T) async throws(ProviderError) -> T {
                let start = ContinuousClock.now
                defer { total.withLock { $0 += ContinuousClock.now - start } }
                return try await call()
            }
        }

        /// Runs one provider call for this request, timed and traced.
        func call<T>(_ operation: UpstreamTrace.Operation, request: [String: JSONValue], on target: RoutableDeployment,
            _ body: () async throws(ProviderError) -> T) async throws(ProviderError) -> T
        {
            try await upstream.timing { () async throws(ProviderError) in
                guard let trace else { return try await body() }
                return try await trace.call(operation, model: model, request: request, on: target, requestID: requestID, body)
            }
        }

        /// The gateway's own time so far: since the request arrived, minus provider calls.
        var overhead: Duration { ContinuousClock.now - started - upstream.total.withLock { $0 } }

        /// `x-scutum-overhead-ms` for a response, recording the figure in the metrics.
        func overheadHeader() -> HTTPFields {
            let overhead = self.overhead
            dispatcher.metrics.overhead(overhead)
            let milliseconds = Double(overhead.components.seconds) * 1000 + Double(overhead.components.attoseconds) / 1e15
            return [Self.overheadField: String(format: "%.3f", milliseconds)]
        }

        static let overheadField = HTTPField.Name("x-scutum-overhead-ms")!

        /// Checks a deployment's provider limits for this request (nil: no limits configured).
        var admitDeployment: (@Sendable (ModelDeployment) async -> Bool)? {
            guard let rateLimiting = accounting?.rateLimiting else { return nil }
            let (tokens, requestID, reservations) = (estimatedTokens, self.requestID, self.reservations)
            return { deployment in
                guard let limits = await rateLimiting.admit(deployment: deployment, tokens: tokens, requestID: requestID)
                else { return false }
                if !limits.isEmpty { reservations.taken.withLock { $0.append((deployment.name, limits)) } }
                return true
            }
        }

        /// Who and what this request's guardrail events are about.
        var guardrailSubject: GuardrailGate.Subject {
            let key = principal?.key
            return GuardrailGate.Subject(requestID: requestID, keyID: key?.id, teamID: key?.teamID, model: model)
        }

        func finish(status: Int, target: RoutableDeployment?, usage: TokenUsage?) {
            let tokens = status == 200 ? (usage.map { $0.promptTokens + $0.completionTokens } ?? 0) : 0
            if let target { dispatcher.stats.ended(target.deployment.name, tokens: tokens) }
            dispatcher.metrics.request(model: model, status: status)
            let elapsed = ContinuousClock.now - started
            let cost = usage.map { target?.deployment.cost(of: $0) ?? 0 } ?? 0
            trace?.finish(usage: usage, cost: cost, status: status)
            let key = principal?.key
            dispatcher.metrics.served(model: model, provider: target?.deployment.provider.rawValue ?? "none",
                status: status, duration: elapsed, promptTokens: usage?.promptTokens ?? 0,
                completionTokens: usage?.completionTokens ?? 0, cost: cost)
            realtime?.record(model: model, status: status, latency: elapsed, promptTokens: usage?.promptTokens ?? 0,
                completionTokens: usage?.completionTokens ?? 0, cost: cost, keyID: key?.id)
            let reserved = reservations.taken.withLock { $0 }
            if !reserved.isEmpty, let rateLimiting = accounting?.rateLimiting {
                let (requestID, served) = (self.requestID, target?.deployment.name)
                Task {
                    for (deployment, limits) in reserved {
                        await rateLimiting.settle(deployment: limits, member: requestID,
                            tokens: deployment == served ? tokens : 0)
                    }
                }
            }
            guard let accounting, let admission else { return }
            accounting.record(SpendRecord(requestID: requestID, at: Date(), keyID: key?.id, keyAlias: key?.alias,
                teamID: key?.teamID, userID: key?.userID, modelRequested: model, modelServed: target?.deployment.name,
                provider: target?.deployment.provider.rawValue, promptTokens: usage?.promptTokens ?? 0,
                completionTokens: usage?.completionTokens ?? 0, cachedTokens: usage?.cachedTokens ?? 0,
                cost: admission.costTracking ? cost : 0,
                latencyMilliseconds: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
                status: status, stream: stream), admission: admission)
        }
    }

    /// Admits a request that arrived at `started` (rate limits, budgets, allow-lists); its ledger.
    func admit(_ model: String, stream: Bool, estimatedTokens: Int, principal: Principal?, requestID: String? = nil,
        started: ContinuousClock.Instant = .now) async throws -> Ledger
    {
        let requestID = requestID ?? Self.newRequestID()
        let admission: Accounting.Admission?
        do {
            admission = try await accounting?.admit(model: model, principal: principal,
                estimatedTokens: estimatedTokens, requestID: requestID)
        } catch {
            dispatcher.metrics.request(model: model, status: error.status)
            realtime?.record(model: model, status: error.status, latency: ContinuousClock.now - started,
                promptTokens: 0, completionTokens: 0, cost: 0, keyID: principal?.key?.id)
            throw error
        }
        return Ledger(accounting: accounting, admission: admission, principal: principal, model: model,
            stream: stream, started: started, requestID: requestID, estimatedTokens: estimatedTokens, dispatcher: dispatcher,
            realtime: realtime, trace: tracing ? UpstreamTrace() : nil)
    }

    /// A request id for a request that came without a usable `x-request-id`.
    static func newRequestID() -> String { "req-" + UUID().uuidString.lowercased() }

    /// A finished non-streaming completion.
    struct Completed: Sendable {
        var result: ChatCompletionResult
        var served: RoutableDeployment
        /// `x-scutum-overhead-ms`.
        var headers: HTTPFields
    }

    /// The model to serve a request for `model` as, after the operators' conditional redirects
    /// (by the key's team, alias, user or metadata, or the prompt's size).
    func routed(_ model: String, principal: Principal?, bodyBytes: Int) -> String {
        guard let rules = accounting?.platform.current.routing else { return model }
        let key = principal?.key
        return rules.redirect(model, ConditionalRoute.RequestFacts(teamID: key?.teamID, keyAlias: key?.alias,
            userID: key?.userID, metadata: key?.metadata ?? [:], promptTokens: bodyBytes / 4))
    }

    /// Tokens to reserve against TPM before the call: about four bytes per prompt token, plus the
    /// completion the client allows (or 256); settled with the real count afterwards.
    static func estimate(bodyBytes: Int, maxTokens: Int?) -> Int {
        bodyBytes / 4 + (maxTokens ?? 256)
    }

    /// The request after the caller's input guardrails (masked, or unchanged); a block ends the
    /// request's ledger with its status and is thrown.
    func guarded(_ chat: ChatCompletionRequest, profiles: [GuardrailPolicy.Profile], ledger: Ledger) throws
        -> ChatCompletionRequest
    {
        guard let guardrails, !profiles.isEmpty else { return chat }
        do throws(GatewayError) {
            return try guardrails.checkInput(chat, profiles: profiles, subject: ledger.guardrailSubject)
        } catch {
            ledger.finish(status: error.status, target: nil, usage: nil)
            throw error
        }
    }

    /// A non-streaming chat completion for `principal`: admission, input guardrails, routing, the
    /// call, its spend recorded, and output guardrails. `byteCount` is the request body's size, for
    /// estimates and conditions.
    func complete(_ chat: ChatCompletionRequest, byteCount: Int, principal: Principal?, requestID: String? = nil,
        started: ContinuousClock.Instant = .now) async throws -> Completed
    {
        let ledger = try await admit(chat.model, stream: false,
            estimatedTokens: Self.estimate(bodyBytes: byteCount, maxTokens: chat.maxTokens), principal: principal,
            requestID: requestID, started: started)
        let profiles = guardrails?.profiles(for: principal) ?? []
        let chat = try guarded(chat, profiles: profiles, ledger: ledger)
        let model = routed(chat.model, principal: principal, bodyBytes: byteCount)
        var result: ChatCompletionResult
        let target: RoutableDeployment
        do {
            (result, target) = try await dispatcher.dispatch(model, mode: .chat, allowed: ledger.admission?.allowedModels,
                admitDeployment: ledger.admitDeployment) {
                adapter, target throws(ProviderError) in
                try await ledger.call(.chat, request: chat.body, on: target) { () async throws(ProviderError) in
                    try await adapter.chatCompletion(chat, on: target)
                }
            }
        } catch {
            ledger.finish(status: error.status, target: nil, usage: nil)
            throw error
        }
        usage?.record(keyHash: principal?.keyHash, usage: result.usage)
        ledger.finish(status: 200, target: target, usage: result.usage)
        if let guardrails, !profiles.isEmpty {
            result = try guardrails.checkOutput(result, profiles: profiles, subject: ledger.guardrailSubject)
        }
        return Completed(result: result, served: target, headers: ledger.overheadHeader())
    }

    func chatCompletions(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let bytes = try await request.collectBody(limit: maximumBodyBytes)
        var chat = try ChatCompletionRequest(bytes: bytes)
        if !chat.stream {
            let completed = try await complete(chat, byteCount: bytes.readableBytes, principal: context.principal,
                requestID: context.requestID, started: started)
            var headers = completed.headers
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: completed.result.body))
        }
        let keyHash = context.principal?.keyHash
        let ledger = try await admit(chat.model, stream: true,
            estimatedTokens: Self.estimate(bodyBytes: bytes.readableBytes, maxTokens: chat.maxTokens),
            principal: context.principal, requestID: context.requestID, started: started)
        let allowed = ledger.admission?.allowedModels
        let profiles = guardrails?.profiles(for: context.principal) ?? []
        chat = try guarded(chat, profiles: profiles, ledger: ledger)
        let model = routed(chat.model, principal: context.principal, bodyBytes: bytes.readableBytes)
        let stream: ChatCompletionStream
        let target: RoutableDeployment
        do {
            (stream, target) = try await dispatcher.dispatch(model, mode: .chat, allowed: allowed,
                admitDeployment: ledger.admitDeployment) {
                adapter, target throws(ProviderError) in
                try await ledger.call(.chat, request: chat.body, on: target) { () async throws(ProviderError) in
                    try await adapter.streamChatCompletion(chat, on: target)
                }
            }
        } catch {
            ledger.finish(status: error.status, target: nil, usage: nil)
            throw error
        }
        let includeUsage = chat.includeUsage
        let usage = self.usage
        let logger = self.logger
        let modelName = target.deployment.name
        let guardrails = self.guardrails
        var headers = Self.eventStreamHeaders
        headers.append(contentsOf: ledger.overheadHeader())
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var iterator = stream.makeAsyncIterator()
            var reported: TokenUsage?
            var filter = GuardrailStreamFilter(profiles: profiles)
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
                            try await Self.writeBlock(block, to: &writer, logger: logger)
                            return
                        }
                    }
                    try await writer.write(Self.frame(json))
                }
                switch filter?.finish() {
                case .send(let held)?: try await writer.write(Self.frame(held))
                case .block(let block)?:
                    try await Self.writeBlock(block, to: &writer, logger: logger)
                    return
                case nil: break
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

    /// One SSE `data:` event.
    static func frame(_ json: ByteBuffer) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.reserveCapacity(json.readableBytes + 8)
        frame.writeStaticString("data: ")
        frame.writeImmutableBuffer(json)
        frame.writeStaticString("\n\n")
        return frame
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
        let started = ContinuousClock.now
        let bytes = try await request.collectBody(limit: maximumBodyBytes)
        var embedding = try EmbeddingRequest(bytes: bytes)
        let ledger = try await admit(embedding.model, stream: false,
            estimatedTokens: Self.estimate(bodyBytes: bytes.readableBytes, maxTokens: 0), principal: context.principal,
            requestID: context.requestID, started: started)
        if let guardrails, case let profiles = guardrails.profiles(for: context.principal), !profiles.isEmpty {
            do throws(GatewayError) {
                embedding = try guardrails.checkInput(embedding, profiles: profiles, subject: ledger.guardrailSubject)
            } catch {
                ledger.finish(status: error.status, target: nil, usage: nil)
                throw error
            }
        }
        let result: EmbeddingResult
        let target: RoutableDeployment
        do {
            let model = routed(embedding.model, principal: context.principal, bodyBytes: bytes.readableBytes)
            (result, target) = try await dispatcher.dispatch(model, mode: .embedding,
                allowed: ledger.admission?.allowedModels, admitDeployment: ledger.admitDeployment) {
                adapter, target throws(ProviderError) in
                try await ledger.call(.embeddings, request: embedding.body, on: target) { () async throws(ProviderError) in
                    try await adapter.embeddings(embedding, on: target)
                }
            }
        } catch {
            ledger.finish(status: error.status, target: nil, usage: nil)
            throw error
        }
        usage?.record(keyHash: context.principal?.keyHash, usage: result.usage)
        ledger.finish(status: 200, target: target, usage: result.usage)
        var headers = ledger.overheadHeader()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: result.body))
    }
}
