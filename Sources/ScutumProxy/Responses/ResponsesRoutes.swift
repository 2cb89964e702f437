import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ScutumCore
import ScutumProviders
import ScutumStore

/// OpenAI's Responses API: `POST /v1/responses` (JSON or its semantic stream events),
/// `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}` and `GET /v1/responses/{id}/input_items`.
///
/// Served by the same pipeline as chat completions (keys, limits, budgets, guardrails, routing,
/// fallbacks, spend), so every model of the catalog answers it: OpenAI and Azure deployments at
/// their own Responses API, untranslated (`ResponsesNativeRequest`), unless a guardrail profile
/// applies to the caller; every other model through chat, the request translated
/// (`ResponsesRequest`) and the answer back (`ResponseObject`, `ResponsesStreamEncoder`).
///
/// Conversation state is the gateway's: with `store` (the default) the response and the items the
/// model saw are kept in PostgreSQL (`ResponseStore`), so `previous_response_id` continues it on any
/// node. A key reads, continues and deletes only its own responses: another key's is a 404, exactly
/// as a missing or expired one.
struct ResponsesRoutes: Sendable {
    let completions: CompletionRoutes
    /// Where responses are kept; nil keeps none (`store` is then false in every response, and
    /// `previous_response_id` a 400).
    let store: ResponseStore?
    /// How long a stored response is kept.
    let retention: Duration

    func register(on router: Router<ProxyRequestContext>) {
        router.post("/v1/responses") { request, context in
            try await create(request, context: context)
        }
        router.get("/v1/responses/:id") { _, context in
            try await retrieve(context: context)
        }
        router.delete("/v1/responses/:id") { _, context in
            try await delete(context: context)
        }
        router.get("/v1/responses/:id/input_items") { request, context in
            try await inputItems(request, context: context)
        }
    }

    /// Who owns what a caller stores: its key's id, or `master`.
    static func owner(_ principal: Principal?) -> String {
        switch principal {
        case .key(let key)?: key.id
        case .master?, nil: "master"
        }
    }

    func create(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let started = context.arrived ?? .now
        let bytes = try await request.collectBody(limit: completions.maximumBodyBytes)
        let body = try RequestJSON.parse(bytes.readableBytesView)
        let responses = try ResponsesRequest(json: body)
        let owner = Self.owner(context.principal)
        var conversation: [JSONValue] = []
        if let previous = responses.previousResponseID {
            guard let store else {
                throw GatewayError.invalidRequest("previous_response_id: this gateway keeps no responses.",
                    param: "previous_response_id", code: "unsupported_parameter")
            }
            guard let earlier = try await store.find(id: previous, owner: owner) else {
                throw GatewayError(status: 404, message: "Previous response with id '\(previous)' not found.",
                    type: "invalid_request_error", param: "previous_response_id", code: "previous_response_not_found")
            }
            conversation = earlier.context + earlier.output
        }
        // Everything the model is given: the earlier turns, then this input.
        let items = conversation + responses.inputItems
        let pipeline = completions.pipeline
        // OpenAI and Azure deployments take the request untranslated, unless a guardrail profile
        // applies to the caller (profiles scan and mask the chat form).
        let passThrough = pipeline.guardrails?.profiles(for: context.principal).isEmpty ?? true
        let refusal = responses.untranslatable
        if let refusal, !passThrough { throw refusal }
        let native = passThrough ? ResponsesNativeRequest(body: responses.upstreamBody(context: items)) : nil
        let chat = try ChatCompletionRequest(json: try responses.chat(context: items))
        let stored = responses.store && store != nil
        let object = ResponseObject(request: responses, stored: stored)
        let keep = stored ? keeper(object: object, request: responses, context: items, owner: owner) : nil
        let caller = CompletionPipeline.Caller(principal: context.principal, requestID: context.requestID,
            started: started, byteCount: bytes.readableBytes, endpoint: FrontDoor.responses)
        if responses.stream {
            return try await completions.streamed(chat, caller: caller, includeUsage: true,
                encoder: ResponsesStreamEncoder(response: object, keep: keep)) { adapter, target, chat throws(ProviderError) in
                if let native, let openAI = adapter.openAIResponses(for: target) {
                    return try await openAI.nativeResponseStream(native, on: target)
                }
                if let refusal { throw Self.notCarried(refusal, to: target) }
                return try await adapter.streamChatCompletion(chat, on: target)
            }
        }
        let dispatched = try await pipeline.dispatch(chat, stream: false, caller: caller) {
            adapter, target, chat throws(ProviderError) -> Answer in
            if let native, let openAI = adapter.openAIResponses(for: target) {
                return .native(try await openAI.nativeResponse(native, on: target))
            }
            if let refusal { throw Self.notCarried(refusal, to: target) }
            return .chat(try await adapter.chatCompletion(chat, on: target))
        }
        let json: JSONValue
        let headers: HTTPFields
        switch dispatched.result {
        case .native(let result):
            dispatched.ledger.finish(status: 200, target: dispatched.target, usage: result.usage)
            json = object.adopt(result.response)
            headers = dispatched.ledger.overheadHeader()
        case .chat(let result):
            let completed = try pipeline.settled(.init(result: result, target: dispatched.target,
                ledger: dispatched.ledger, profiles: dispatched.profiles))
            let answer = try JSONParser.parse(completed.result.body.readableBytesView)
            let (output, finishReason) = ResponseObject.output(ofChat: answer)
            let (status, incomplete) = ResponseObject.status(finishReason: finishReason)
            json = object.json(status: status, output: output, usage: completed.result.usage, incomplete: incomplete)
            headers = completed.headers
        }
        if let keep { await keep(json) }
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: json.jsonBytes))
    }

    /// A provider's answer: its own response object (passed through) or a chat completion.
    enum Answer: Sendable {
        case native(ResponsesNativeResult)
        case chat(ChatCompletionResult)
    }

    /// What translation cannot carry, for a deployment without the Responses API (a 400; no fallback).
    static func notCarried(_ refusal: GatewayError, to target: RoutableDeployment) -> ProviderError {
        ProviderError(.invalidRequest(param: refusal.param),
            "\(refusal.message) (\(target.deployment.name) has no Responses API of its own, so the request is translated for it)",
            code: refusal.code)
    }

    /// Stores a finished response (a failure to store is logged: the caller already has the answer
    /// it paid for, and a later `previous_response_id` to it is a 404).
    private func keeper(object: ResponseObject, request: ResponsesRequest, context: [JSONValue], owner: String)
        -> @Sendable (JSONValue) async -> Void
    {
        let (store, retention, logger) = (self.store, self.retention, completions.logger)
        let created = Date(timeIntervalSince1970: TimeInterval(object.createdAt))
        let expires = Date().addingTimeInterval(TimeInterval(retention.components.seconds))
        return { response in
            guard let store else { return }
            let stored = StoredResponse(id: object.id, owner: owner, model: object.model, response: response,
                inputItems: request.inputItems, context: context, createdAt: created, expiresAt: expires)
            do {
                try await store.save(stored)
            } catch {
                logger.warning("a response could not be stored", metadata: ["response": "\(object.id)",
                    "error": "\(String(reflecting: error))"])
            }
        }
    }

    /// The caller's stored response named in the path, or a 404.
    private func stored(_ context: ProxyRequestContext) async throws -> StoredResponse {
        let id = context.parameters.get("id") ?? ""
        guard let store, let response = try await store.find(id: id, owner: Self.owner(context.principal)) else {
            throw Self.notFound(id)
        }
        return response
    }

    static func notFound(_ id: String) -> GatewayError {
        GatewayError(status: 404, message: "Response with id '\(id)' not found.", type: "invalid_request_error",
            param: "response_id", code: "response_not_found")
    }

    func retrieve(context: ProxyRequestContext) async throws -> Response {
        let response = try await stored(context)
        return Response(status: .ok, headers: CompletionRoutes.jsonHeaders,
            body: ResponseBody(byteBuffer: response.response.jsonBytes))
    }

    func delete(context: ProxyRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let store, try await store.delete(id: id, owner: Self.owner(context.principal)) else {
            throw Self.notFound(id)
        }
        let body: JSONValue = ["id": .string(id), "object": "response", "deleted": true]
        return Response(status: .ok, headers: CompletionRoutes.jsonHeaders, body: ResponseBody(byteBuffer: body.jsonBytes))
    }

    /// A page of the response's input items: `limit` (1 to 100, default 20), `order` (`desc`, the
    /// default, or `asc`), `after` (an item id: the page starts past it).
    func inputItems(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var limit = 20
        if let given = query["limit"] {
            guard let value = Int(String(given)), (1...100).contains(value) else {
                throw GatewayError.invalidRequest("limit: must be an integer from 1 to 100.", param: "limit")
            }
            limit = value
        }
        let order = query["order"].map(String.init) ?? "desc"
        guard order == "asc" || order == "desc" else {
            throw GatewayError.invalidRequest("order: must be 'asc' or 'desc'.", param: "order")
        }
        let response = try await stored(context)
        var items = response.inputItems
        if order == "desc" { items.reverse() }
        if let after = query["after"].map(String.init) {
            guard let position = items.firstIndex(where: { $0["id"]?.stringValue == after }) else {
                throw GatewayError.invalidRequest("after: no input item '\(after)' in this response.", param: "after")
            }
            items.removeSubrange(...position)
        }
        let page = Array(items.prefix(limit))
        let body: JSONValue = [
            "object": "list", "data": .array(page),
            "first_id": page.first?["id"] ?? .null, "last_id": page.last?["id"] ?? .null,
            "has_more": .bool(items.count > page.count),
        ]
        return Response(status: .ok, headers: CompletionRoutes.jsonHeaders, body: ResponseBody(byteBuffer: body.jsonBytes))
    }
}
