import Foundation
import ScutumCore

/// The Responses API's `response` object, and its output items and usage, made from what the
/// chat pipeline answered.
struct ResponseObject: Sendable {
    var id: String
    var createdAt: Int64
    /// The model as the client named it.
    var model: String
    var request: ResponsesRequest
    /// Whether it is kept (`store` asked for, and the gateway has a store).
    var stored: Bool

    init(request: ResponsesRequest, stored: Bool, id: String = ResponseItems.newID("resp"), createdAt: Date = Date()) {
        self.id = id
        self.createdAt = Int64(createdAt.timeIntervalSince1970)
        model = request.model
        self.request = request
        self.stored = stored
    }

    /// Status from chat's `finish_reason`: `length` and `content_filter` leave the response
    /// incomplete (with the reason), anything else completes it.
    static func status(finishReason: String?) -> (status: String, incomplete: JSONValue) {
        switch finishReason {
        case "length": ("incomplete", ["reason": "max_output_tokens"])
        case "content_filter": ("incomplete", ["reason": "content_filter"])
        default: ("completed", .null)
        }
    }

    /// The object with `status`, `output` and `usage` (usage nil: `null`, as while in progress).
    func json(status: String, output: [JSONValue], usage: TokenUsage?, incomplete: JSONValue = .null,
        error: JSONValue = .null) -> JSONValue
    {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "response", "created_at": .int(createdAt), "status": .string(status),
            "background": false, "error": error, "incomplete_details": incomplete,
            "instructions": request.instructions.map(JSONValue.string) ?? .null,
            "max_output_tokens": .null, "model": .string(model), "output": .array(output),
            "previous_response_id": request.previousResponseID.map(JSONValue.string) ?? .null,
            "reasoning": ["effort": .null, "summary": .null], "store": .bool(stored),
            "temperature": 1.0, "top_p": 1.0, "user": .null,
            "usage": usage.map(Self.usage) ?? .null,
        ]
        for (name, value) in request.echo { object[name] = value }
        if status == "completed" || status == "incomplete" {
            object["completed_at"] = .int(Int64(Date().timeIntervalSince1970))
        }
        return .object(object)
    }

    /// A response object a provider's own Responses API wrote, as the gateway's: this response's
    /// id, the model the caller named, whether the gateway keeps it, and what it continues.
    func adopt(_ upstream: JSONValue) -> JSONValue {
        var object = upstream
        object["id"] = .string(id)
        object["model"] = .string(model)
        object["store"] = .bool(stored)
        object["previous_response_id"] = request.previousResponseID.map(JSONValue.string) ?? .null
        if let metadata = request.echo["metadata"] { object["metadata"] = metadata }
        return object
    }

    /// The provider's usage in the Responses API's shape.
    static func usage(_ usage: TokenUsage) -> JSONValue {
        [
            "input_tokens": .int(Int64(usage.promptTokens)),
            "input_tokens_details": ["cached_tokens": .int(Int64(usage.cachedTokens ?? 0))],
            "output_tokens": .int(Int64(usage.completionTokens)),
            "output_tokens_details": ["reasoning_tokens": .int(Int64(usage.reasoningTokens ?? 0))],
            "total_tokens": .int(Int64(usage.promptTokens + usage.completionTokens)),
        ]
    }

    /// The output items of a `chat.completion`: its text (or refusal) as a message, then each tool
    /// call as a `function_call`; and its finish reason.
    static func output(ofChat completion: JSONValue) -> (items: [JSONValue], finishReason: String?) {
        let choice = completion["choices"]?.arrayValue?.first
        let reply = choice?["message"]
        var items: [JSONValue] = []
        if let text = reply?["content"]?.stringValue, !text.isEmpty {
            items.append(message(id: ResponseItems.newID("msg"), text: text))
        } else if let refusal = reply?["refusal"]?.stringValue, !refusal.isEmpty {
            items.append(ResponseItems.message(role: "assistant",
                content: [["type": "refusal", "refusal": .string(refusal)]], id: ResponseItems.newID("msg")))
        }
        for call in reply?["tool_calls"]?.arrayValue ?? [] {
            items.append(functionCall(id: ResponseItems.newID("fc"), callID: call["id"]?.stringValue ?? ResponseItems.newID("call"),
                name: call["function"]?["name"]?.stringValue ?? "",
                arguments: call["function"]?["arguments"]?.stringValue ?? "{}", status: "completed"))
        }
        return (items, choice?["finish_reason"]?.stringValue)
    }

    /// An assistant message item holding `text`.
    static func message(id: String, text: String, status: String = "completed") -> JSONValue {
        ["type": "message", "id": .string(id), "status": .string(status), "role": "assistant",
         "content": [outputText(text)]]
    }

    static func outputText(_ text: String) -> JSONValue {
        ["type": "output_text", "text": .string(text), "annotations": [], "logprobs": []]
    }

    static func functionCall(id: String, callID: String, name: String, arguments: String, status: String) -> JSONValue {
        ["type": "function_call", "id": .string(id), "call_id": .string(callID), "name": .string(name),
         "arguments": .string(arguments), "status": .string(status)]
    }
}
