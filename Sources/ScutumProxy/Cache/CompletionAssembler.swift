import NIOCore
import ScutumCore

/// Puts a streamed answer's `chat.completion.chunk`s back together as the `chat.completion` the
/// same answer would have been, for the response cache: content, reasoning and tool calls joined
/// per choice, the last `finish_reason`, and the usage.
struct CompletionAssembler: Sendable {
    private struct Choice: Sendable {
        var role = "assistant"
        var content = ""
        var hasContent = false
        var reasoning = ""
        var refusal: String?
        /// By the chunk's tool-call `index`.
        var toolCalls: [Int: (id: String?, type: String?, name: String, arguments: String)] = [:]
        var finishReason: JSONValue = .null
    }

    private var id: String?
    private var created: JSONValue?
    private var model: String?
    private var fingerprint: JSONValue?
    private var choices: [Int: Choice] = [:]
    private var usage: JSONValue?
    /// Something could not be read: the answer is not cached.
    private(set) var damaged = false

    init() {}

    /// Adds one chunk's JSON.
    mutating func add(_ json: ByteBuffer) {
        guard !damaged else { return }
        guard let chunk = try? RequestJSON.parse(json.readableBytesView), chunk.objectValue != nil else {
            damaged = true
            return
        }
        if id == nil { id = chunk["id"]?.stringValue }
        if created == nil { created = chunk["created"] }
        if model == nil { model = chunk["model"]?.stringValue }
        if let value = chunk["system_fingerprint"], value != .null { fingerprint = value }
        if let value = chunk["usage"], value.objectValue != nil { usage = value }
        for entry in chunk["choices"]?.arrayValue ?? [] {
            let index = Int(entry["index"]?.intValue ?? 0)
            var choice = choices[index] ?? Choice()
            let delta = entry["delta"]
            if let role = delta?["role"]?.stringValue { choice.role = role }
            if let text = delta?["content"]?.stringValue {
                choice.content += text
                choice.hasContent = true
            }
            if let text = delta?["reasoning_content"]?.stringValue { choice.reasoning += text }
            if let text = delta?["refusal"]?.stringValue { choice.refusal = (choice.refusal ?? "") + text }
            for call in delta?["tool_calls"]?.arrayValue ?? [] {
                let position = Int(call["index"]?.intValue ?? 0)
                var known = choice.toolCalls[position] ?? (nil, nil, "", "")
                if let id = call["id"]?.stringValue { known.id = id }
                if let type = call["type"]?.stringValue { known.type = type }
                if let name = call["function"]?["name"]?.stringValue { known.name += name }
                if let arguments = call["function"]?["arguments"]?.stringValue { known.arguments += arguments }
                choice.toolCalls[position] = known
            }
            if let reason = entry["finish_reason"], reason != .null { choice.finishReason = reason }
            choices[index] = choice
        }
    }

    /// The whole answer as a `chat.completion`, or nil when it cannot be told (damaged, no choice
    /// finished).
    func completion() -> ByteBuffer? {
        guard !damaged, let id, !choices.isEmpty, choices.values.allSatisfy({ $0.finishReason != .null }) else {
            return nil
        }
        let written: [JSONValue] = choices.keys.sorted().map { index in
            let choice = choices[index]!
            var message: [String: JSONValue] = ["role": .string(choice.role),
                "content": choice.hasContent || choice.toolCalls.isEmpty ? .string(choice.content) : .null]
            if !choice.reasoning.isEmpty { message["reasoning_content"] = .string(choice.reasoning) }
            if let refusal = choice.refusal { message["refusal"] = .string(refusal) }
            if !choice.toolCalls.isEmpty {
                message["tool_calls"] = .array(choice.toolCalls.keys.sorted().map { position in
                    let call = choice.toolCalls[position]!
                    return ["id": call.id.map(JSONValue.string) ?? .null, "type": .string(call.type ?? "function"),
                        "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
                })
            }
            return ["index": .int(Int64(index)), "message": .object(message), "finish_reason": choice.finishReason]
        }
        var object: [String: JSONValue] = ["id": .string(id), "object": "chat.completion",
            "created": created ?? .int(0), "model": .string(model ?? ""), "choices": .array(written)]
        if let fingerprint { object["system_fingerprint"] = fingerprint }
        if let usage { object["usage"] = usage }
        return JSONValue.object(object).jsonBytes
    }
}
