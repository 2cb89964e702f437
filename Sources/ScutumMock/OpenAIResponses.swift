import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// OpenAI's Responses API as `api.openai.com` writes it: `POST /v1/responses` (bearer) and Azure
/// OpenAI's `POST /openai/v1/responses` (`api-key`), JSON or the semantic SSE events
/// (`response.created` ... `response.completed`, each with its `sequence_number`).
///
/// Input is a string or items (messages, `function_call`, `function_call_output`, and output items
/// of earlier turns); `instructions` is the system text; function tools are called under
/// `[mock:tool_call]`, and a conversation ending in function outputs is answered from them. A
/// `web_search_preview` (or `web_search`) tool adds a `web_search_call` item before the message, as
/// OpenAI's hosted search does. The mock keeps nothing: `previous_response_id` is answered as for a
/// response OpenAI never stored.
enum OpenAIResponses {
    static func register(on router: Router<BasicRequestContext>, knobs: MockKnobs, log: MockRequestLog?) {
        router.post("/v1/responses") { request, _ in
            try await MockUpstream.handle(request, log: log, auth: .bearer, knobs: knobs, text: { turn($0).allText }) {
                body, directives in try await respond(body, directives: directives)
            }
        }
        router.post("/openai/v1/responses") { request, _ in
            try await MockUpstream.handle(request, log: log, auth: .azureV1, knobs: knobs, text: { turn($0).allText }) {
                body, directives in try await respond(body, directives: directives)
            }
        }
    }

    static func respond(_ body: [String: Any], directives: MockDirectives) async throws -> Response {
        guard let model = body["model"] as? String else {
            return MockResponses.openAIError(status: 400, message: "Missing required parameter: 'model'.")
        }
        guard body["input"] is String || body["input"] is [Any] else {
            return MockResponses.openAIError(status: 400, message: "Missing required parameter: 'input'.")
        }
        if let previous = body["previous_response_id"] as? String {
            return MockResponses.openAIError(status: 400, message: "Previous response with id '\(previous)' not found.")
        }
        let turn = turn(body)
        var answer = MockAnswer(turn: turn, directives: directives)
        // Structured outputs (`text.format`): an object of the asked schema, as the chat mock answers.
        let format = (body["text"] as? [String: Any])?["format"] as? [String: Any]
        switch format?["type"] as? String {
        case "json_schema" where answer.toolName == nil:
            let schema = format?["schema"] as? [String: Any] ?? [:]
            answer.tokens = CannedAnswers.tokens(JSONText.compact(OpenAIChat.sample(schema: schema, text: answer.text)))
        case "json_object" where answer.toolName == nil:
            answer.tokens = CannedAnswers.tokens(JSONText.compact(["answer": answer.text]))
        default: break
        }
        let tools = body["tools"] as? [[String: Any]] ?? []
        let search = tools.contains { ($0["type"] as? String)?.hasPrefix("web_search") == true }
        let reply = Reply(model: model, answer: answer, search: search ? turn.lastUserText : nil, request: body)
        if body["stream"] as? Bool == true { return reply.stream(MockStream(directives)) }
        return MockResponses.json(JSONText.compact(reply.response(status: "completed")))
    }

    /// The conversation as the mock reads it.
    static func turn(_ body: [String: Any]) -> MockChatTurn {
        var turn = MockChatTurn()
        turn.systemText = body["instructions"] as? String ?? ""
        var items: [[String: Any]] = []
        if let text = body["input"] as? String {
            items = [["type": "message", "role": "user", "content": text]]
        } else {
            items = body["input"] as? [[String: Any]] ?? []
        }
        for item in items {
            let type = item["type"] as? String ?? "message"
            switch type {
            case "message":
                let text = self.text(item["content"])
                turn.messageTexts.append(text)
                if item["role"] as? String == "user" { turn.lastUserText = text }
            case "function_call_output":
                turn.messageTexts.append(MockChatTurn.describe(item["output"]))
            default:
                continue
            }
        }
        let outputs = items.reversed().prefix { $0["type"] as? String == "function_call_output" }
        if !outputs.isEmpty {
            turn.toolResult = outputs.reversed().map { MockChatTurn.describe($0["output"]) }.joined(separator: "\n")
        }
        let tools = body["tools"] as? [[String: Any]] ?? []
        turn.firstToolName = tools.first { $0["type"] as? String == "function" }?["name"] as? String
        turn.maxTokens = body["max_output_tokens"] as? Int
        return turn
    }

    /// A message's text: a string, or its text parts joined.
    static func text(_ content: Any?) -> String {
        if let text = content as? String { return text }
        let parts = content as? [[String: Any]] ?? []
        return parts.compactMap { $0["text"] as? String }.joined(separator: " ")
    }

    /// One answer in the Responses API's terms. `@unchecked Sendable`: `request` is the parsed JSON
    /// body (strings, numbers, NSNull, arrays and dictionaries of them), never changed once read.
    struct Reply: @unchecked Sendable {
        var id = "resp_" + JSONText.randomID(48)
        var messageID = "msg_" + JSONText.randomID(48)
        var callID = "call_" + JSONText.randomID(24)
        var itemID = "fc_" + JSONText.randomID(48)
        var searchID = "ws_" + JSONText.randomID(48)
        var created = Int(Date().timeIntervalSince1970)
        var model: String
        var answer: MockAnswer
        /// The query of a hosted web search, when the request offered one.
        var search: String?
        var request: [String: Any]

        var searchItem: [String: Any]? {
            search.map { ["type": "web_search_call", "id": searchID, "status": "completed",
                          "action": ["type": "search", "query": $0]] }
        }

        var messageItem: [String: Any] {
            ["type": "message", "id": messageID, "status": "completed", "role": "assistant",
             "content": [["type": "output_text", "text": answer.text, "annotations": [Any](), "logprobs": [Any]()]]]
        }

        func callItem(arguments: String, status: String) -> [String: Any] {
            ["type": "function_call", "id": itemID, "call_id": callID, "name": answer.toolName ?? "",
             "arguments": arguments, "status": status]
        }

        var output: [[String: Any]] {
            let last = answer.toolName != nil ? callItem(arguments: MockAnswer.toolArguments, status: "completed") : messageItem
            return (searchItem.map { [$0] } ?? []) + [last]
        }

        var usage: [String: Any] {
            ["input_tokens": answer.promptTokens, "input_tokens_details": ["cached_tokens": answer.cachedTokens],
             "output_tokens": answer.outputTokens + answer.reasoningTokens,
             "output_tokens_details": ["reasoning_tokens": answer.reasoningTokens],
             "total_tokens": answer.promptTokens + answer.outputTokens + answer.reasoningTokens]
        }

        func response(status: String) -> [String: Any] {
            let done = status != "in_progress"
            let incomplete: Any = answer.ending == .maxTokens && done ? ["reason": "max_output_tokens"] : NSNull()
            return [
                "id": id, "object": "response", "created_at": created,
                "status": answer.ending == .maxTokens && done ? "incomplete" : status,
                "error": NSNull(), "incomplete_details": incomplete,
                "instructions": request["instructions"] ?? NSNull(), "max_output_tokens": request["max_output_tokens"] ?? NSNull(),
                "model": model, "output": done ? output : [[String: Any]](), "parallel_tool_calls": true,
                "previous_response_id": NSNull(), "reasoning": ["effort": NSNull(), "summary": NSNull()],
                "store": request["store"] ?? true, "temperature": 1.0, "text": request["text"] ?? ["format": ["type": "text"]],
                "tool_choice": request["tool_choice"] ?? "auto", "tools": request["tools"] ?? [Any](), "top_p": 1.0,
                "truncation": "disabled", "usage": done ? usage : NSNull(), "user": NSNull(), "metadata": [String: Any](),
            ]
        }

        /// The semantic events, released by the stream knobs.
        func stream(_ stream: MockStream) -> Response {
            Response(status: .ok, headers: MockResponses.eventStreamHeaders, body: ResponseBody { writer in
                var sequence = 0
                func event(_ type: String, _ fields: [String: Any]) -> ByteBuffer {
                    var data = fields
                    data["type"] = type
                    data["sequence_number"] = sequence
                    sequence += 1
                    return ByteBuffer(string: "event: \(type)\ndata: \(JSONText.compact(data))\n\n")
                }
                try await stream.start()
                try await writer.write(event("response.created", ["response": response(status: "in_progress")]))
                try await writer.write(event("response.in_progress", ["response": response(status: "in_progress")]))
                var index = 0
                if let searchItem {
                    var started = searchItem
                    started["status"] = "in_progress"
                    try await writer.write(event("response.output_item.added", ["output_index": 0, "item": started]))
                    try await writer.write(event("response.web_search_call.completed", ["output_index": 0, "item_id": searchID]))
                    try await writer.write(event("response.output_item.done", ["output_index": 0, "item": searchItem]))
                    index = 1
                }
                var chunks: [ByteBuffer] = []
                var closing: [ByteBuffer] = []
                if answer.toolName != nil {
                    try await writer.write(event("response.output_item.added", ["output_index": index,
                        "item": callItem(arguments: "", status: "in_progress")]))
                    chunks = MockAnswer.pieces(of: MockAnswer.toolArguments, count: 3).map {
                        event("response.function_call_arguments.delta", ["output_index": index, "item_id": itemID, "delta": $0])
                    }
                    closing = [
                        event("response.function_call_arguments.done", ["output_index": index, "item_id": itemID,
                            "arguments": MockAnswer.toolArguments]),
                        event("response.output_item.done", ["output_index": index,
                            "item": callItem(arguments: MockAnswer.toolArguments, status: "completed")]),
                    ]
                } else {
                    var started = messageItem
                    started["status"] = "in_progress"
                    started["content"] = [Any]()
                    try await writer.write(event("response.output_item.added", ["output_index": index, "item": started]))
                    let part: [String: Any] = ["type": "output_text", "text": "", "annotations": [Any](), "logprobs": [Any]()]
                    try await writer.write(event("response.content_part.added", ["output_index": index, "item_id": messageID,
                        "content_index": 0, "part": part]))
                    chunks = answer.tokens.map {
                        event("response.output_text.delta", ["output_index": index, "item_id": messageID, "content_index": 0,
                            "delta": $0, "logprobs": [Any]()])
                    }
                    var done = part
                    done["text"] = answer.text
                    closing = [
                        event("response.output_text.done", ["output_index": index, "item_id": messageID, "content_index": 0,
                            "text": answer.text, "logprobs": [Any]()]),
                        event("response.content_part.done", ["output_index": index, "item_id": messageID,
                            "content_index": 0, "part": done]),
                        event("response.output_item.done", ["output_index": index, "item": messageItem]),
                    ]
                }
                // Sent instead of what follows (it does not take a number from them).
                let failure = ByteBuffer(string: "event: error\ndata: " + JSONText.compact(["type": "error",
                    "sequence_number": sequence - closing.count, "code": "server_error",
                    "message": "The server had an error while processing your request.", "param": NSNull()]) + "\n\n")
                let completed = try await stream.write(chunks, to: &writer,
                    malformed: ByteBuffer(string: "event: response.output_text.delta\ndata: {\"type\":oops\n\n"), error: failure)
                guard completed else { return }
                for frame in closing { try await writer.write(frame) }
                let final = response(status: "completed")
                let type = final["status"] as? String == "incomplete" ? "response.incomplete" : "response.completed"
                try await writer.write(event(type, ["response": final]))
                try await writer.finish(nil)
            })
        }
    }
}
