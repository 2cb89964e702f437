import Foundation
import HTTPTypes
import Logging
import ScutumCluster
import ScutumCore
import ScutumProviders

/// A request a front door hands the pipeline: what it asks for, in the gateway's own terms.
protocol CompletionInput: Sendable {
    /// The model the caller named.
    var model: String { get }
    /// The completion the caller allows, for the token estimate (nil: the default).
    var maxTokens: Int? { get }
    /// The catalog models that can serve it.
    static var mode: ModelMode { get }
    /// How its provider calls are named in traces.
    static var operation: UpstreamTrace.Operation { get }
    /// The request as a JSON object, for trace attributes (read only while tracing).
    var traceBody: [String: JSONValue] { get }
    /// The request after the input guardrails in `profiles` (masked, or unchanged); throws a block.
    func guarded(by gate: GuardrailGate, profiles: [GuardrailPolicy.Profile], subject: GuardrailGate.Subject)
        throws(GatewayError) -> Self
}

extension ChatCompletionRequest: CompletionInput {
    static var mode: ModelMode { .chat }
    static var operation: UpstreamTrace.Operation { .chat }
    var traceBody: [String: JSONValue] { scalarMembers }

    func guarded(by gate: GuardrailGate, profiles: [GuardrailPolicy.Profile], subject: GuardrailGate.Subject)
        throws(GatewayError) -> ChatCompletionRequest
    {
        try gate.checkInput(self, profiles: profiles, subject: subject)
    }
}

extension EmbeddingRequest: CompletionInput {
    static var mode: ModelMode { .embedding }
    static var operation: UpstreamTrace.Operation { .embeddings }
    var maxTokens: Int? { 0 }
    var traceBody: [String: JSONValue] { scalarMembers }

    func guarded(by gate: GuardrailGate, profiles: [GuardrailPolicy.Profile], subject: GuardrailGate.Subject)
        throws(GatewayError) -> EmbeddingRequest
    {
        try gate.checkInput(self, profiles: profiles, subject: subject)
    }
}

/// The one path every request takes, whatever door it came in by and with no HTTP in it:
/// admission (allow-lists, budgets, rate limits) → input guardrails → routing (conditional redirects,
/// the routing strategy, breakers, deployment limits) → the provider call with retries and the
/// fallback chain → settlement (`RequestLedger.finish`), which runs exactly once per request.
struct CompletionPipeline: Sendable {
    let dispatcher: Dispatcher
    let accounting: Accounting?
    /// Guardrail profiles on requests and answers; nil turns them off.
    let guardrails: GuardrailGate?
    /// The cluster-wide realtime figures; nil leaves them out.
    let realtime: RealtimeRecorder?
    /// The response cache; nil turns it off.
    var cache: ResponseCache? = nil
    /// Provider calls get trace spans (`UpstreamTrace`); off, they cost nothing.
    var tracing = false

    /// Who is asking, and when the request arrived.
    struct Caller: Sendable {
        var principal: Principal?
        /// The caller's request id (from `x-request-id`), or nil for a new one.
        var requestID: String?
        var started: ContinuousClock.Instant = .now
        /// The request body's size, for the token estimate and size conditions.
        var byteCount: Int
        /// The front door the request came in by (a `FrontDoor` name), for its spend row and
        /// `scutum_endpoint_requests_total`; nil leaves both without one.
        var endpoint: String? = nil
    }

    /// A request the provider accepted: its result, who served it, the caller's output profiles, and
    /// the ledger that settles it. The caller settles it when the answer is delivered (or not).
    struct Dispatched<Result: Sendable>: Sendable {
        var result: Result
        var target: RoutableDeployment
        var ledger: RequestLedger
        var profiles: [GuardrailPolicy.Profile]
    }

    /// Admits, guards, routes and calls a provider for `input`. Every failure on the way is settled
    /// here (with its status) and thrown; a success is the caller's to settle.
    func dispatch<Input: CompletionInput, Result: Sendable>(
        _ input: Input, stream: Bool, caller: Caller,
        _ call: (any ProviderAdapter, RoutableDeployment, Input) async throws(ProviderError) -> Result
    ) async throws -> Dispatched<Result> {
        let prepared = try await prepare(input, stream: stream, caller: caller)
        return try await route(prepared.input, to: prepared.model, ledger: prepared.ledger, profiles: prepared.profiles,
            call)
    }

    /// A request admitted and through its input guardrails, with the model it is routed to: what a
    /// front door may answer from the response cache before routing it.
    struct Prepared<Input: CompletionInput>: Sendable {
        var input: Input
        var ledger: RequestLedger
        var profiles: [GuardrailPolicy.Profile]
        /// The model after conditional redirects.
        var model: String
    }

    /// Admits `input` and runs its input guardrails; a refusal or block is settled and thrown.
    func prepare<Input: CompletionInput>(_ input: Input, stream: Bool, caller: Caller) async throws -> Prepared<Input> {
        let ledger = try await admit(input.model, stream: stream,
            estimatedTokens: Self.estimate(bodyBytes: caller.byteCount, maxTokens: input.maxTokens), caller: caller)
        let profiles = guardrails?.profiles(for: caller.principal) ?? []
        var input = input
        if let guardrails, !profiles.isEmpty {
            do throws(GatewayError) {
                input = try input.guarded(by: guardrails, profiles: profiles, subject: ledger.guardrailSubject)
            } catch {
                ledger.finish(status: error.status, target: nil, usage: nil)
                throw error
            }
        }
        let model = routed(input.model, principal: caller.principal, bodyBytes: caller.byteCount)
        return Prepared(input: input, ledger: ledger, profiles: profiles, model: model)
    }

    /// Routes an admitted `input` to `model`'s deployments and calls them (retries, fallbacks), after
    /// `firstFailure` when the direct lane already tried the first one. A failure is settled and thrown.
    func route<Input: CompletionInput, Result: Sendable>(
        _ input: Input, to model: String, ledger: RequestLedger, profiles: [GuardrailPolicy.Profile],
        after firstFailure: Dispatcher.FirstFailure? = nil,
        _ call: (any ProviderAdapter, RoutableDeployment, Input) async throws(ProviderError) -> Result
    ) async throws -> Dispatched<Result> {
        do {
            let guardedInput = input
            let (result, target) = try await dispatcher.dispatch(model, mode: Input.mode,
                allowed: ledger.admission?.allowedModels, admitDeployment: ledger.admitDeployment, after: firstFailure) {
                adapter, target throws(ProviderError) in
                try await ledger.call(Input.operation, request: guardedInput.traceBody, on: target) {
                    () async throws(ProviderError) in
                    try await call(adapter, target, guardedInput)
                }
            }
            return Dispatched(result: result, target: target, ledger: ledger, profiles: profiles)
        } catch {
            ledger.finish(status: error.status, target: nil, usage: nil)
            throw error
        }
    }

    /// A whole non-streaming chat completion: dispatched, settled, and the answer through the output
    /// guardrails. `x-scutum-overhead-ms` in `headers`.
    func complete(_ chat: ChatCompletionRequest, caller: Caller) async throws -> Completed {
        let dispatched = try await dispatch(chat, stream: false, caller: caller) {
            adapter, target, chat throws(ProviderError) in
            try await adapter.chatCompletion(chat, on: target)
        }
        return try settled(dispatched)
    }

    /// Finishes a non-streaming chat whose first call, made by the direct lane, failed: the retries
    /// and fallbacks `complete` would have made after it, settled the same way.
    func complete(_ chat: ChatCompletionRequest, routedTo model: String, ledger: RequestLedger,
        profiles: [GuardrailPolicy.Profile], after firstFailure: Dispatcher.FirstFailure) async throws -> Completed
    {
        let dispatched = try await route(chat, to: model, ledger: ledger, profiles: profiles, after: firstFailure) {
            adapter, target, chat throws(ProviderError) in
            try await adapter.chatCompletion(chat, on: target)
        }
        return try settled(dispatched)
    }

    /// Settles a provider's answer (200, its usage), then runs it through the output guardrails;
    /// throws their block.
    func settled(_ dispatched: Dispatched<ChatCompletionResult>) throws -> Completed {
        var result = dispatched.result
        let ledger = dispatched.ledger
        ledger.finish(status: 200, target: dispatched.target, usage: result.usage)
        if let guardrails, !dispatched.profiles.isEmpty {
            result = try guardrails.checkOutput(result, profiles: dispatched.profiles, subject: ledger.guardrailSubject)
        }
        return Completed(result: result, served: dispatched.target, headers: ledger.overheadHeader(),
            provided: dispatched.result)
    }

    /// A finished non-streaming completion.
    struct Completed: Sendable {
        var result: ChatCompletionResult
        var served: RoutableDeployment
        /// `x-scutum-overhead-ms`.
        var headers: HTTPFields
        /// The provider's answer, before the output guardrails (what the response cache keeps).
        var provided: ChatCompletionResult
    }

    /// Admits a request (rate limits, budgets, allow-lists); its ledger. A refusal is counted and thrown.
    func admit(_ model: String, stream: Bool, estimatedTokens: Int, caller: Caller) async throws -> RequestLedger {
        let requestID = caller.requestID ?? Self.newRequestID()
        let series = dispatcher.metrics.series(for: model, known: dispatcher.catalog.current.knows(model))
        let admission: Accounting.Admission?
        do {
            admission = try await accounting?.admit(model: model, principal: caller.principal,
                estimatedTokens: estimatedTokens, requestID: requestID)
        } catch {
            count(refusal: error, series: series, caller: caller)
            throw error
        }
        return ledger(model, stream: stream, estimatedTokens: estimatedTokens, caller: caller, requestID: requestID,
            series: series, admission: admission)
    }

    /// What `admitNow` decided.
    enum ImmediateAdmission: Sendable {
        case admitted(RequestLedger)
        /// Refused (counted); the error the client gets.
        case refused(GatewayError)
        /// Deciding needs a round trip; nothing was taken or counted.
        case wouldWait
    }

    /// `admit` without waiting, from what this node holds (see `Accounting.admitNow`).
    func admitNow(_ model: String, stream: Bool, estimatedTokens: Int, caller: Caller) -> ImmediateAdmission {
        var admission: Accounting.Admission?
        if let accounting {
            switch accounting.admitNow(model: model, principal: caller.principal, estimatedTokens: estimatedTokens) {
            case .admitted(let admitted): admission = admitted
            case .wouldWait: return .wouldWait
            case .refused(let error):
                let series = dispatcher.metrics.series(for: model, known: dispatcher.catalog.current.knows(model))
                count(refusal: error, series: series, caller: caller)
                return .refused(error)
            }
        }
        let series = dispatcher.metrics.series(for: model, known: dispatcher.catalog.current.knows(model))
        return .admitted(ledger(model, stream: stream, estimatedTokens: estimatedTokens, caller: caller,
            requestID: caller.requestID ?? Self.newRequestID(), series: series, admission: admission))
    }

    private func count(refusal error: GatewayError, series: ProxyMetrics.ModelSeries, caller: Caller) {
        series.request(status: error.status)
        dispatcher.metrics.endpoint(caller.endpoint)?.request(status: error.status)
        realtime?.record(model: series.model, status: error.status, latency: ContinuousClock.now - caller.started,
            promptTokens: 0, completionTokens: 0, cost: 0, keyID: caller.principal?.key?.id)
    }

    private func ledger(_ model: String, stream: Bool, estimatedTokens: Int, caller: Caller, requestID: String,
        series: ProxyMetrics.ModelSeries, admission: Accounting.Admission?) -> RequestLedger
    {
        RequestLedger(accounting: accounting, admission: admission, principal: caller.principal, model: model,
            stream: stream, started: caller.started, requestID: requestID, estimatedTokens: estimatedTokens,
            dispatcher: dispatcher, series: series, endpoint: caller.endpoint,
            endpointRequests: dispatcher.metrics.endpoint(caller.endpoint), realtime: realtime,
            trace: tracing ? UpstreamTrace() : nil)
    }

    /// A request id for a request that came without a usable `x-request-id`.
    static func newRequestID() -> String { "req-" + UUID.randomWire() }

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
        let (sum, overflow) = (bodyBytes / 4).addingReportingOverflow(maxTokens ?? 256)
        return overflow ? .max : sum
    }
}
