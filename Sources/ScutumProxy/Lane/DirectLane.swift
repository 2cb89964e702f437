import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import ScutumCore
import ScutumProviders

/// The direct lane: chat completions (JSON and streams) served on the event loop that read them, with no
/// task, no thread hop and no lock in steady state. The request goes through the same pipeline as
/// the router's (`CompletionPipeline`: its admission, routing and settlement), taking only the
/// parts that answer without waiting: a key the cache holds, budgets and rate limits from this
/// node's view and leases, breakers from the pushed board, guardrail profiles (they scan in place),
/// an OpenAI-compatible deployment (`UpstreamLanes`, `http://` or `https://`). Whatever would wait (a
/// key to look up, a lease to refill, a stream with guardrail profiles, tracing) is handed to the
/// router unchanged, before anything is taken. A provider call that fails goes on in the pipeline from that failure (retries, fallbacks)
/// exactly as if the router had made it.
struct DirectLane: Sendable {
    let routes: CompletionRoutes
    let authenticator: Authenticator
    let lanes: UpstreamLanes
    let maximumResponseBytes: Int
    let logger: Logger

    var pipeline: CompletionPipeline { routes.pipeline }
    var maximumBodyBytes: Int { routes.maximumBodyBytes }

    static let path = FrontDoor.chat

    /// Whether a request may take the lane, from its head alone.
    func accepts(_ head: HTTPRequest) -> Bool {
        guard head.method == .post, head.path == Self.path else { return false }
        // `Connection: close` and `Expect: 100-continue` are the router's to honour.
        return !head.headerFields.contains(.connection) && !head.headerFields.contains(.expect)
    }

    /// Starts serving a whole request on the current event loop, answering through `responder`;
    /// false when the router should serve it instead (nothing was taken or counted).
    func serve(_ head: HTTPRequest, body: ByteBuffer, arrived: ContinuousClock.Instant, responder: LaneHandler)
        -> Bool
    {
        let taken = attempt(head, body: body, arrived: arrived, responder: responder)
        if !taken { pipeline.dispatcher.metrics.lane(.routed) }
        return taken
    }

    private func attempt(_ head: HTTPRequest, body: ByteBuffer, arrived: ContinuousClock.Instant,
        responder: LaneHandler) -> Bool
    {
        let snapshot = pipeline.accounting?.platform.current
        if snapshot?.maintenanceMode == true { return false }
        let token = head.headerFields.laneValue(.authorization).map(Authenticator.bearerToken)
            ?? head.headerFields.laneValue(AuthMiddleware.apiKey)
        guard let principal = authenticator.principalNow(token: token),
            var chat = try? routes.parseChat(body),
            let pool = lanes.currentPool()
        else { return false }
        // The response cache (a Redis round trip) and its per-request controls are the router's.
        if chat.cacheMember != nil { return false }
        if pipeline.cache != nil, let snapshot, ResponseCache.mayApply(to: principal, in: snapshot) { return false }
        let dispatcher = pipeline.dispatcher
        let model = pipeline.routed(chat.model, principal: principal, bodyBytes: body.readableBytes)
        var allowed: Set<String>?
        if let snapshot {
            do throws(GatewayError) {
                allowed = try Accounting.allowedModels(for: principal.key, in: snapshot)
            } catch {
                return false
            }
        }
        guard let targets = try? dispatcher.permittedTargets(for: model, mode: .chat, allowed: allowed),
            let target = targets.first,
            dispatcher.knownAdmissions(for: targets)?.first == .closed,
            let adapter = dispatcher.providers.adapter(for: target.deployment.provider) as? OpenAICompatibleAdapter,
            var request = adapter.laneRequest(chat, on: target), lanes.supports(request)
        else { return false }
        // A retry policy's per-attempt timeout bounds the wait for the response head, as in the router.
        let headTimeout = dispatcher.catalog.current.retryPolicy(for: target.deployment.name).attemptTimeout
            .map(TimeAmount.init)
        request.headTimeout = headTimeout
        let profiles = pipeline.guardrails?.profiles(for: principal) ?? []
        // Output guardrails on a stream hold and rewrite chunks: the router's relay does that.
        if chat.stream && !profiles.isEmpty { return false }

        let requestID = CompletionPipeline.newRequestID()
        let responseID = head.headerFields.laneValue(RequestIDMiddleware.field).flatMap(RequestIDMiddleware.accepted) ?? requestID
        let caller = CompletionPipeline.Caller(principal: principal, requestID: requestID, started: arrived,
            byteCount: body.readableBytes, endpoint: FrontDoor.chat)
        let estimate = CompletionPipeline.estimate(bodyBytes: body.readableBytes, maxTokens: chat.maxTokens)
        let ledger: RequestLedger
        switch pipeline.admitNow(chat.model, stream: chat.stream, estimatedTokens: estimate, caller: caller) {
        case .wouldWait:
            return false
        case .refused(let error):
            pipeline.dispatcher.metrics.lane(.refused)
            responder.respond(error: error, requestID: responseID)
            return true
        case .admitted(let admitted):
            ledger = admitted
        }
        if let guardrails = pipeline.guardrails, !profiles.isEmpty {
            // The input guardrails run here, on the loop, as the pipeline runs them: a block is settled
            // with its status; a masked prompt is what the provider gets.
            do throws(GatewayError) {
                let guarded = try chat.guarded(by: guardrails, profiles: profiles, subject: ledger.guardrailSubject)
                if var masked = adapter.laneRequest(guarded, on: target) {
                    masked.headTimeout = headTimeout
                    request = masked
                }
                chat = guarded
            } catch {
                ledger.finish(status: error.status, target: nil, usage: nil)
                pipeline.dispatcher.metrics.lane(.refused)
                responder.respond(error: error, requestID: responseID)
                return true
            }
        }
        if let rateLimiting = pipeline.accounting?.rateLimiting {
            guard let tickets = rateLimiting.admitFromLeases(deployment: target.deployment, tokens: estimate) else {
                if let permit = ledger.admission?.permit { rateLimiting.giveBack(permit) }
                return false
            }
            if !tickets.isEmpty { ledger.reservations.taken.withLock { $0.append((target.deployment.id, tickets)) } }
        }
        dispatcher.stats.started(target.deployment.id)
        if chat.stream {
            let exchange = LaneStreamExchange(lane: self, chat: chat, model: model, target: target, ledger: ledger,
                byteCount: body.readableBytes, responseID: responseID, responder: responder)
            responder.observer = exchange
            exchange.call = pool.send(request, to: exchange)
        } else {
            let exchange = LaneExchange(lane: self, chat: chat, model: model, target: target, adapter: adapter,
                ledger: ledger, profiles: profiles, responseID: responseID, responder: responder)
            exchange.call = pool.send(request, to: exchange)
        }
        return true
    }
}

/// One lane request's provider call: the answer collected and settled, or the failure handed to the
/// pipeline's retries and fallbacks.
final class LaneExchange: LaneResponseHandler {
    let lane: DirectLane
    let chat: ChatCompletionRequest
    /// The model after conditional routing (what the dispatcher resolves).
    let model: String
    let target: RoutableDeployment
    let adapter: OpenAICompatibleAdapter
    let ledger: RequestLedger
    /// The guardrail profiles the answer goes through.
    let profiles: [GuardrailPolicy.Profile]
    let responseID: String
    weak var responder: LaneHandler?
    var call: LaneCall?
    private let began = ContinuousClock.now
    private var status: HTTPResponseStatus?
    private var retryAfter: String?
    private var body = ByteBuffer()
    /// Largest error body kept for its message.
    static let errorBodyLimit = 64 * 1024

    init(lane: DirectLane, chat: ChatCompletionRequest, model: String, target: RoutableDeployment,
        adapter: OpenAICompatibleAdapter, ledger: RequestLedger, profiles: [GuardrailPolicy.Profile],
        responseID: String, responder: LaneHandler)
    {
        self.profiles = profiles
        self.lane = lane
        self.chat = chat
        self.model = model
        self.target = target
        self.adapter = adapter
        self.ledger = ledger
        self.responseID = responseID
        self.responder = responder
    }

    func laneResponseHead(_ head: HTTPResponseHead) {
        status = head.status
        retryAfter = head.headers.first(name: "retry-after")
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length <= lane.maximumResponseBytes {
            body.reserveCapacity(length)
        }
    }

    func laneResponseBody(_ bytes: ByteBuffer) {
        let successful = status.map { (200..<300).contains($0.code) } ?? false
        let limit = successful ? lane.maximumResponseBytes : Self.errorBodyLimit
        guard body.readableBytes + bytes.readableBytes <= limit else {
            if successful {
                call?.cancel()
                failed(ProviderError(.malformed, "the response is larger than the gateway accepts"))
            }
            return
        }
        var bytes = bytes
        body.writeBuffer(&bytes)
    }

    func laneResponseEnd() {
        let latency = ContinuousClock.now - began
        ledger.upstream.add(latency)
        guard let status else { return failed(ProviderError(.malformed, "no response head"), timed: true) }
        guard (200..<300).contains(status.code) else {
            return failed(UpstreamHTTP.statusError(status, body: body, retryAfter: retryAfter), timed: true)
        }
        let result: ChatCompletionResult
        do {
            result = try adapter.laneResult(body, on: target)
        } catch {
            return failed(error, timed: true)
        }
        let dispatcher = lane.pipeline.dispatcher
        dispatcher.stats.answered(target.deployment.id, after: latency)
        dispatcher.metrics.latency(target.deployment.id, latency)
        dispatcher.metrics.lane(.served)
        do {
            let completed = try lane.pipeline.settled(CompletionPipeline.Dispatched(result: result, target: target,
                ledger: ledger, profiles: profiles))
            var headers = completed.headers
            headers[.contentType] = "application/json"
            responder?.respond(status: .ok, headers: headers, body: completed.result.body, requestID: responseID)
        } catch let error as GatewayError {
            responder?.respond(error: error, requestID: responseID)
        } catch {
            responder?.respond(error: .internalError("The gateway failed to handle this request."), requestID: responseID)
        }
    }

    func laneFailed(_ error: ProviderError, receivedHead: Bool) {
        failed(error)
    }

    /// The first call failed: the pipeline goes on from there in a task (retries back off, fallbacks
    /// may need Redis), and the answer is written back on this loop.
    private func failed(_ error: ProviderError, timed: Bool = false) {
        if !timed { ledger.upstream.add(ContinuousClock.now - began) }
        lane.pipeline.dispatcher.metrics.lane(.continued)
        let (pipeline, chat, model, ledger, profiles, responseID) = (lane.pipeline, chat, model, ledger, profiles, responseID)
        let failure = Dispatcher.FirstFailure(deployment: target.deployment.id, error: error)
        let responder = self.responder.map { NIOLoopBound($0, eventLoop: $0.eventLoop) }
        let logger = lane.logger
        Task {
            let outcome: Result<CompletionPipeline.Completed, GatewayError>
            do {
                outcome = .success(try await RequestLogMetadata.$requestID.withValue(ledger.requestID) {
                    try await pipeline.complete(chat, routedTo: model, ledger: ledger, profiles: profiles, after: failure)
                })
            } catch let error as GatewayError {
                outcome = .failure(error)
            } catch {
                logger.error("direct lane fallback failed", metadata: ["error": "\(error)"])
                outcome = .failure(GatewayError.internalError("The gateway failed to handle this request."))
            }
            guard let responder else { return }
            responder.eventLoop.execute {
                switch outcome {
                case .success(let completed):
                    var headers = completed.headers
                    headers[.contentType] = "application/json"
                    responder.value.respond(status: .ok, headers: headers, body: completed.result.body,
                        requestID: responseID)
                case .failure(let error):
                    responder.value.respond(error: error, requestID: responseID)
                }
            }
        }
    }
}
