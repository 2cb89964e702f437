import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ScutumCore
import ScutumProviders

/// Anthropic's Messages API: `POST /v1/messages` (JSON or Anthropic's stream events) and
/// `POST /v1/messages/count_tokens`, served by the same pipeline as chat completions (keys,
/// limits, budgets, guardrails, routing, fallbacks, spend), the request translated onto chat
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
        let (translated, stream) = try MessagesRequest.chat(body)
        let chat = try ChatCompletionRequest(json: translated)
        let model = chat.model
        let id = "msg_" + UUID.randomWire().replacingOccurrences(of: "-", with: "")
        let caller = CompletionPipeline.Caller(principal: context.principal, requestID: context.requestID,
            started: started, byteCount: bytes.readableBytes, endpoint: FrontDoor.messages)
        let pipeline = completions.pipeline
        if !stream {
            let completed = try await pipeline.complete(chat, caller: caller)
            let answer = try JSONParser.parse(completed.result.body.readableBytesView)
            var headers = completed.headers
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer:
                MessagesResponse.message(answer, usage: completed.result.usage, model: model, id: id).jsonBytes))
        }
        return try await completions.streamed(chat, caller: caller, includeUsage: true,
            encoder: MessagesStreamEncoder(id: id, model: model))
    }

    /// `{"input_tokens": n}`: an estimate at about four bytes a token over the system prompt,
    /// messages and tools (no provider is called, so nothing is charged). The model must be one the
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
        _ = try pipeline.dispatcher.permittedTargets(for: model, mode: .chat, allowed: allowed)
        let count: JSONValue = ["input_tokens": .int(Int64(MessagesRequest.estimatedInputTokens(body)))]
        return Response(status: .ok, headers: CompletionRoutes.jsonHeaders, body: ResponseBody(byteBuffer: count.jsonBytes))
    }
}
