import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ScutumCore
import ScutumProviders

/// Anthropic's Messages API: `POST /v1/messages` (JSON or Anthropic's stream events) and
/// `POST /v1/messages/count_tokens`, served by the same pipeline as chat completions (keys,
/// limits, budgets, guardrails, routing, fallbacks, spend): Claude deployments (Anthropic, Vertex
/// AI, Bedrock) take the request untranslated (`AnthropicNativeRequest`) unless a guardrail profile
/// applies to the caller; every other model through chat, the request translated
/// (`MessagesRequest`) and the answer back (`MessagesResponse`, `MessagesStreamEncoder`). Every
/// error on these routes is in Anthropic's error JSON (`ErrorMiddleware`).
struct MessagesRoutes: Sendable {
    let completions: CompletionRoutes

    func register(on router: Router<ProxyRequestContext>) {
        router.post("/v1/messages") { request, context in
            try await messages(request, context: context)
        }
        router.post("/v1/messages/count_tokens") { request, context in
            try await countTokens(request, context: context)
        }
    }

    func messages(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let started = context.arrived ?? .now
        let bytes = try await request.collectBody(limit: completions.maximumBodyBytes)
        let body = try RequestJSON.parse(bytes.readableBytesView)
        let pipeline = completions.pipeline
        // Claude deployments take the request untranslated, unless a guardrail profile applies to the
        // caller (profiles scan and mask the chat form).
        let passThrough = pipeline.guardrails?.profiles(for: context.principal).isEmpty ?? true
        let translation = try Self.translate(body, passThrough: passThrough)
        let chat = try ChatCompletionRequest(json: translation.chat)
        let (model, stream) = (chat.model, translation.stream)
        let native = passThrough ? AnthropicNativeRequest(body: body, stream: stream,
            version: request.headers[Self.versionHeader], beta: request.headers[Self.betaHeader]) : nil
        let id = "msg_" + UUID.randomWire().replacingOccurrences(of: "-", with: "")
        let caller = CompletionPipeline.Caller(principal: context.principal, requestID: context.requestID,
            started: started, byteCount: bytes.readableBytes, endpoint: FrontDoor.messages)
        let refusal = translation.refusal
        if stream {
            return try await completions.streamed(chat, caller: caller, includeUsage: true,
                encoder: MessagesStreamEncoder(id: id, model: model)) { adapter, target, chat throws(ProviderError) in
                if let native, let claude = adapter.anthropicMessages(for: target) {
                    return try await claude.nativeStream(native, on: target)
                }
                if let refusal { throw Self.notCarried(refusal, to: target) }
                return try await adapter.streamChatCompletion(chat, on: target)
            }
        }
        let dispatched = try await pipeline.dispatch(chat, stream: false, caller: caller) {
            adapter, target, chat throws(ProviderError) -> Answer in
            if let native, let claude = adapter.anthropicMessages(for: target) {
                return .native(try await claude.nativeMessage(native, on: target))
            }
            if let refusal { throw Self.notCarried(refusal, to: target) }
            return .chat(try await adapter.chatCompletion(chat, on: target))
        }
        switch dispatched.result {
        case .native(let message):
            dispatched.ledger.finish(status: 200, target: dispatched.target, usage: message.usage)
            var headers = dispatched.ledger.overheadHeader()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: message.body))
        case .chat(let result):
            let completed = try pipeline.settled(.init(result: result, target: dispatched.target,
                ledger: dispatched.ledger, profiles: dispatched.profiles))
            let answer = try JSONParser.parse(completed.result.body.readableBytesView)
            var headers = completed.headers
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer:
                MessagesResponse.message(answer, usage: completed.result.usage, model: model, id: id).jsonBytes))
        }
    }

    /// The chat form of `body`. When translation refuses it and the request may pass through, the
    /// admission-only form, and the refusal (what a model that is not Claude gets).
    static func translate(_ body: JSONValue, passThrough: Bool) throws(GatewayError)
        -> (chat: JSONValue, stream: Bool, refusal: GatewayError?)
    {
        do {
            let (chat, stream) = try MessagesRequest.chat(body)
            return (chat, stream, nil)
        } catch {
            guard passThrough else { throw error }
            let (chat, stream) = try MessagesRequest.admissionOnly(body)
            return (chat, stream, error)
        }
    }

    /// Claude's own count of the request's input tokens, from the first target that has a count
    /// endpoint (Anthropic direct), when no guardrail profile applies to the caller (the request
    /// would leave unscanned); nil when none can count or the count fails (the estimate answers).
    static func providerCount(_ body: JSONValue, request: Request, targets: [RoutableDeployment],
        pipeline: CompletionPipeline, principal: Principal?) async -> Int?
    {
        guard pipeline.guardrails?.profiles(for: principal).isEmpty ?? true else { return nil }
        let native = AnthropicNativeRequest(body: body, stream: false, version: request.headers[versionHeader],
            beta: request.headers[betaHeader])
        for target in targets {
            guard let claude = pipeline.dispatcher.providers.adapter(for: target.deployment.provider)?
                .anthropicMessages(for: target)
            else { continue }
            if let count = try? await claude.nativeInputTokens(native, on: target) { return count }
        }
        return nil
    }

    /// A provider's answer to a message: Anthropic's own (passed through) or a chat completion.
    enum Answer: Sendable {
        case native(AnthropicNativeMessage)
        case chat(ChatCompletionResult)
    }

    static let versionHeader = HTTPField.Name("anthropic-version")!
    static let betaHeader = HTTPField.Name("anthropic-beta")!

    /// What translation refused, for a deployment that is not Claude (a 400; no fallback).
    static func notCarried(_ refusal: GatewayError, to target: RoutableDeployment) -> ProviderError {
        ProviderError(.invalidRequest(param: refusal.param),
            "\(refusal.message) (\(target.deployment.name) is not a Claude model, so the request is translated for it)",
            code: refusal.code)
    }

    /// `{"input_tokens": n}`: Claude's own count (Anthropic's count_tokens, for a model served by
    /// Anthropic directly), else an estimate at about four bytes a token over the system prompt,
    /// messages and tools. Counting is free: nothing is charged. The model must be one the
    /// caller may use, as for a message (the key's and its team's models, aliases and groups).
    func countTokens(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let bytes = try await request.collectBody(limit: completions.maximumBodyBytes)
        let body = try RequestJSON.parse(bytes.readableBytesView)
        guard let model = body["model"]?.stringValue, !model.isEmpty else { throw GatewayError.missingParameter("model") }
        try ModelName.check(model)
        guard body["messages"]?.arrayValue != nil else { throw GatewayError.missingParameter("messages") }
        let pipeline = completions.pipeline
        let allowed = try pipeline.accounting.flatMap { accounting throws(GatewayError) in
            try Accounting.allowedModels(for: context.principal?.key, in: accounting.platform.current)
        }
        let targets = try pipeline.dispatcher.permittedTargets(for: model, mode: .chat, allowed: allowed)
        let counted = await Self.providerCount(body, request: request, targets: targets, pipeline: pipeline,
            principal: context.principal)
        let count: JSONValue = ["input_tokens": .int(Int64(counted ?? MessagesRequest.estimatedInputTokens(body)))]
        return Response(status: .ok, headers: CompletionRoutes.jsonHeaders, body: ResponseBody(byteBuffer: count.jsonBytes))
    }
}
