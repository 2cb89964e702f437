import NIOCore
import ScutumCore

/// `POST /v1/responses` with `stream: true`: OpenAI chat chunks as the Responses API's semantic
/// events, each `event: <type>` with its JSON and a `sequence_number`.
///
/// `response.created` and `response.in_progress` first; each run of text a message item
/// (`response.output_item.added`, `response.content_part.added`, `response.output_text.delta`s,
/// then `.done` events), each tool call a `function_call` item whose arguments arrive as
/// `response.function_call_arguments.delta`s; at the end the whole response in
/// `response.completed` (or `response.incomplete`), once it is stored. A failure is
/// `response.failed` with the error.
struct ResponsesStreamEncoder: StreamEncoder {
    let response: ResponseObject
    /// Keeps the finished response (nil: not stored); awaited before `response.completed` is sent,
    /// so a client that continues from it at once finds it.
    let keep: (@Sendable (_ response: JSONValue) async -> Void)?
    private var sequence = 0
    private var started = false
    private var open: Open?
    private var output: [JSONValue] = []
    private var finishReason: String?
    private var usage: TokenUsage?
    private var final: JSONValue?
    /// The stream is the provider's own (its Responses API, passed through).
    private var native = false

    private enum Open {
        case message(id: String, text: String)
        /// `index`: the chat tool call's index within the choice.
        case function(id: String, index: Int64, callID: String, name: String, arguments: String)
    }

    init(response: ResponseObject, keep: (@Sendable (_ response: JSONValue) async -> Void)?) {
        self.response = response
        self.keep = keep
    }

    mutating func append(_ chunk: ByteBuffer, usage: TokenUsage?, isUsageOnly: Bool, to out: inout ByteBuffer) {
        start(&out)
        if let usage { self.usage = usage }
        guard let choice = Self.choice(of: chunk, isUsageOnly: isUsageOnly) else { return }
        let delta = choice["delta"]
        if let text = delta?["content"]?.stringValue, !text.isEmpty {
            if case .message(let id, let sofar) = open {
                open = .message(id: id, text: sofar + text)
                textDelta(id: id, text, &out)
            } else {
                close(&out)
                let id = ResponseItems.newID("msg")
                open = .message(id: id, text: text)
                event("response.output_item.added", ["output_index": .int(Int64(output.count)),
                    "item": ["type": "message", "id": .string(id), "status": "in_progress", "role": "assistant",
                             "content": []]], &out)
                event("response.content_part.added", ["item_id": .string(id), "output_index": .int(Int64(output.count)),
                    "content_index": 0, "part": ResponseObject.outputText("")], &out)
                textDelta(id: id, text, &out)
            }
        }
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            let index = call["index"]?.intValue ?? 0
            let fragment = call["function"]?["arguments"]?.stringValue ?? ""
            if case .function(let id, index, let callID, let name, let arguments) = open {
                open = .function(id: id, index: index, callID: callID, name: name, arguments: arguments + fragment)
                argumentsDelta(id: id, fragment, &out)
                continue
            }
            close(&out)
            let id = ResponseItems.newID("fc")
            let callID = call["id"]?.stringValue ?? ResponseItems.newID("call")
            let name = call["function"]?["name"]?.stringValue ?? ""
            open = .function(id: id, index: index, callID: callID, name: name, arguments: fragment)
            event("response.output_item.added", ["output_index": .int(Int64(output.count)),
                "item": ResponseObject.functionCall(id: id, callID: callID, name: name, arguments: "",
                    status: "in_progress")], &out)
            argumentsDelta(id: id, fragment, &out)
        }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
    }

    /// The provider's own events (its Responses API): passed on, the response object in them made
    /// ours (id, the caller's model, store, previous_response_id); the final one kept.
    mutating func appendNative(_ event: ByteBuffer, to out: inout ByteBuffer) {
        native = true
        // Only the lifecycle events (`response.created`, `.in_progress`, `.completed`...) carry the
        // response object: the rest (deltas) go on unparsed.
        let lines = event.readableBytesView.split(separator: UInt8(ascii: "\n"), maxSplits: 2)
        guard let name = lines.first, Self.lifecycle.contains(where: { name.elementsEqual($0.utf8) }),
            let data = lines.dropFirst().first(where: { $0.starts(with: "data: ".utf8) }),
            var json = JSONValue.parse(ByteBuffer(bytes: data.dropFirst(6))),
            let upstream = json["response"], upstream.objectValue != nil
        else {
            out.writeImmutableBuffer(event)
            return
        }
        let ours = response.adopt(upstream)
        json["response"] = ours
        let type = json["type"]?.stringValue ?? ""
        if ["response.completed", "response.incomplete"].contains(type) { final = ours }
        out.writeStaticString("event: ")
        out.writeString(type)
        out.writeStaticString("\ndata: ")
        out.writeJSON(json)
        out.writeStaticString("\n\n")
    }

    static let lifecycle = ["response.created", "response.in_progress", "response.completed", "response.incomplete",
        "response.failed"].map { "event: " + $0 }

    mutating func completing() async {
        if native {
            if let final, let keep { await keep(final) }
            return
        }
        var scratch = ByteBuffer()
        close(&scratch)
        pending.writeImmutableBuffer(scratch)
        let (status, incomplete) = ResponseObject.status(finishReason: finishReason)
        let final = response.json(status: status, output: output, usage: usage, incomplete: incomplete)
        self.final = final
        if let keep { await keep(final) }
    }

    mutating func appendEnd(to out: inout ByteBuffer) {
        guard !native else { return }
        start(&out)
        out.writeImmutableBuffer(pending)
        pending.clear()
        close(&out)
        let final = self.final ?? {
            let (status, incomplete) = ResponseObject.status(finishReason: finishReason)
            return response.json(status: status, output: output, usage: usage, incomplete: incomplete)
        }()
        let type = final["status"]?.stringValue == "incomplete" ? "response.incomplete" : "response.completed"
        event(type, ["response": final], &out)
    }

    func appendFailure(_ error: GatewayError, to out: inout ByteBuffer) {
        var copy = self
        copy.start(&out)
        let failed = response.json(status: "failed", output: [], usage: usage,
            error: ["code": .string(error.code ?? error.type), "message": .string(error.message)])
        copy.event("response.failed", ["response": failed], &out)
    }

    /// Events written by `completing` (the last item's `.done` events), sent with the end.
    private var pending = ByteBuffer()

    private mutating func start(_ out: inout ByteBuffer) {
        guard !started else { return }
        started = true
        let initial = response.json(status: "in_progress", output: [], usage: nil)
        event("response.created", ["response": initial], &out)
        event("response.in_progress", ["response": initial], &out)
    }

    private mutating func textDelta(id: String, _ text: String, _ out: inout ByteBuffer) {
        event("response.output_text.delta", ["item_id": .string(id), "output_index": .int(Int64(output.count)),
            "content_index": 0, "delta": .string(text), "logprobs": []], &out)
    }

    private mutating func argumentsDelta(id: String, _ fragment: String, _ out: inout ByteBuffer) {
        guard !fragment.isEmpty else { return }
        event("response.function_call_arguments.delta", ["item_id": .string(id),
            "output_index": .int(Int64(output.count)), "delta": .string(fragment)], &out)
    }

    /// Ends the open item with its `.done` events and adds it to the output.
    private mutating func close(_ out: inout ByteBuffer) {
        guard let item = open else { return }
        open = nil
        let index = JSONValue.int(Int64(output.count))
        switch item {
        case .message(let id, let text):
            event("response.output_text.done", ["item_id": .string(id), "output_index": index, "content_index": 0,
                "text": .string(text), "logprobs": []], &out)
            event("response.content_part.done", ["item_id": .string(id), "output_index": index, "content_index": 0,
                "part": ResponseObject.outputText(text)], &out)
            let done = ResponseObject.message(id: id, text: text)
            event("response.output_item.done", ["output_index": index, "item": done], &out)
            output.append(done)
        case .function(let id, _, let callID, let name, let arguments):
            event("response.function_call_arguments.done", ["item_id": .string(id), "output_index": index,
                "name": .string(name), "arguments": .string(arguments)], &out)
            let done = ResponseObject.functionCall(id: id, callID: callID, name: name, arguments: arguments,
                status: "completed")
            event("response.output_item.done", ["output_index": index, "item": done], &out)
            output.append(done)
        }
    }

    private mutating func event(_ type: String, _ fields: [String: JSONValue], _ out: inout ByteBuffer) {
        var data = fields
        data["type"] = .string(type)
        data["sequence_number"] = .int(Int64(sequence))
        sequence += 1
        out.writeStaticString("event: ")
        out.writeString(type)
        out.writeStaticString("\ndata: ")
        out.writeJSON(.object(data))
        out.writeStaticString("\n\n")
    }
}
