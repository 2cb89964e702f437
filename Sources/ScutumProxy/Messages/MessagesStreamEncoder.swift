import NIOCore
import ScutumCore

/// `POST /v1/messages` with `stream: true`: OpenAI chat chunks as Anthropic's stream events.
///
/// `message_start` first; each run of text a `text` content block (`content_block_start`,
/// `text_delta`s, `content_block_stop`), each tool call a `tool_use` block whose arguments arrive as
/// `input_json_delta`s; at the end `message_delta` (stop reason, usage) and `message_stop`. A
/// failure is an `error` event with Anthropic's error JSON.
struct MessagesStreamEncoder: StreamEncoder {
    let id: String
    let model: String
    private var started = false
    /// The index of the content block open now, and what it is.
    private var open: (index: Int, kind: Kind)?
    private var nextIndex = 0
    private var finishReason: String?
    private var usage: TokenUsage?
    /// The stream is Anthropic's own (a Claude deployment, passed through).
    private var native = false

    private enum Kind: Equatable {
        case text
        /// The OpenAI tool call's index within the choice.
        case tool(Int64)
    }

    init(id: String, model: String) {
        self.id = id
        self.model = model
    }

    mutating func append(_ chunk: ByteBuffer, usage: TokenUsage?, isUsageOnly: Bool, to out: inout ByteBuffer) {
        start(&out)
        if let usage { self.usage = usage }
        guard let choice = Self.choice(of: chunk, isUsageOnly: isUsageOnly) else { return }
        let delta = choice["delta"]
        if let text = delta?["content"]?.stringValue, !text.isEmpty {
            let index = block(.text, ["type": "text", "text": ""], &out)
            event("content_block_delta", ["type": "content_block_delta", "index": .int(Int64(index)),
                "delta": ["type": "text_delta", "text": .string(text)]], &out)
        }
        let messageID = id
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            let callIndex = call["index"]?.intValue ?? 0
            let index = block(.tool(callIndex), [
                "type": "tool_use", "id": .string(call["id"]?.stringValue ?? "toolu_\(messageID)_\(callIndex)"),
                "name": .string(call["function"]?["name"]?.stringValue ?? ""), "input": [:],
            ], &out)
            if let fragment = call["function"]?["arguments"]?.stringValue, !fragment.isEmpty {
                event("content_block_delta", ["type": "content_block_delta", "index": .int(Int64(index)),
                    "delta": ["type": "input_json_delta", "partial_json": .string(fragment)]], &out)
            }
        }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
    }

    mutating func appendNative(_ event: ByteBuffer, to out: inout ByteBuffer) {
        // Anthropic's own events, from message_start to message_stop: nothing of ours around them.
        native = true
        out.writeImmutableBuffer(event)
    }

    mutating func appendEnd(to out: inout ByteBuffer) {
        guard !native else { return }
        start(&out)
        closeBlock(&out)
        let usage = MessagesResponse.usage(self.usage)
        event("message_delta", ["type": "message_delta",
            "delta": ["stop_reason": .string(MessagesResponse.stopReason(finishReason)), "stop_sequence": .null],
            "usage": usage], &out)
        event("message_stop", ["type": "message_stop"], &out)
    }

    func appendFailure(_ error: GatewayError, to out: inout ByteBuffer) {
        event("error", MessagesResponse.error(error), &out)
    }

    private mutating func start(_ out: inout ByteBuffer) {
        guard !started else { return }
        started = true
        event("message_start", ["type": "message_start", "message": [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": [],
            "stop_reason": .null, "stop_sequence": .null,
            "usage": ["input_tokens": 0, "output_tokens": 0],
        ]], &out)
    }

    /// The index of the open block when it is of `kind`; else the open one is closed and `start`
    /// (built only then) opened.
    private mutating func block(_ kind: Kind, _ start: @autoclosure () -> JSONValue, _ out: inout ByteBuffer) -> Int {
        if let open, open.kind == kind { return open.index }
        let started = start()
        closeBlock(&out)
        let index = nextIndex
        open = (index, kind)
        event("content_block_start", ["type": "content_block_start", "index": .int(Int64(index)),
            "content_block": started], &out)
        nextIndex += 1
        return index
    }

    private mutating func closeBlock(_ out: inout ByteBuffer) {
        guard let block = open else { return }
        event("content_block_stop", ["type": "content_block_stop", "index": .int(Int64(block.index))], &out)
        open = nil
    }

    private func event(_ name: String, _ data: JSONValue, _ out: inout ByteBuffer) {
        out.writeStaticString("event: ")
        out.writeString(name)
        out.writeStaticString("\ndata: ")
        out.writeJSON(data)
        out.writeStaticString("\n\n")
    }
}
