import Foundation
import ScutumCore

/// The Responses API's items: an `input` normalized (a string becomes a user message; every item
/// gets its `type`, an `id`, and messages a list of content parts), and a conversation of items as
/// chat messages.
enum ResponseItems {
    /// A new item id with `prefix` (`msg`, `fc`, `fco`, `rs`): the prefix, `_`, 32 hex digits.
    static func newID(_ prefix: String) -> String {
        prefix + "_" + String(UUID.randomWire().filter { $0 != "-" })
    }

    /// `input` (a string, or a list of items) as normalized items. Items and content chat cannot
    /// carry (files, item references, hosted tools' calls...) are kept as they are, and the first of
    /// them named in `untranslatable`: only a provider with the Responses API can take them.
    static func normalize(_ input: JSONValue, untranslatable: inout GatewayError?) throws(GatewayError) -> [JSONValue] {
        if let text = input.stringValue {
            return [message(role: "user", content: [["type": "input_text", "text": .string(text)]], id: newID("msg"))]
        }
        guard let items = input.arrayValue else {
            throw .invalidRequest("input: must be a string or a list of items.", param: "input")
        }
        guard !items.isEmpty else { throw .invalidRequest("input: must not be empty.", param: "input") }
        var normalized: [JSONValue] = []
        for (index, item) in items.enumerated() {
            normalized.append(try normalize(item: item, at: "input.\(index)", untranslatable: &untranslatable))
        }
        return normalized
    }

    static func message(role: String, content: [JSONValue], id: String) -> JSONValue {
        ["type": "message", "id": .string(id), "role": .string(role), "content": .array(content), "status": "completed"]
    }

    static func normalize(item: JSONValue, at path: String, untranslatable: inout GatewayError?)
        throws(GatewayError) -> JSONValue
    {
        guard let fields = item.objectValue else { throw .invalidRequest("\(path): must be an object.", param: path) }
        let type = fields["type"]?.stringValue ?? (fields["role"] != nil ? "message" : nil)
        func string(_ name: String) throws(GatewayError) -> String {
            guard let value = fields[name]?.stringValue else { throw .missingParameter("\(path).\(name)") }
            return value
        }
        func id(_ prefix: String) -> JSONValue { .string(fields["id"]?.stringValue ?? newID(prefix)) }
        switch type {
        case "message":
            let role = try string("role")
            guard ["user", "assistant", "system", "developer"].contains(role) else {
                throw .invalidRequest("\(path).role: must be 'user', 'assistant', 'system' or 'developer'.",
                    param: "\(path).role")
            }
            guard let content = fields["content"] else { throw .missingParameter("\(path).content") }
            var normalized = message(role: role, content: try parts(content, role: role, at: "\(path).content",
                untranslatable: &untranslatable), id: fields["id"]?.stringValue ?? newID("msg"))
            if let status = fields["status"]?.stringValue { normalized["status"] = .string(status) }
            return normalized
        case "function_call":
            return ["type": "function_call", "id": id("fc"), "call_id": .string(try string("call_id")),
                "name": .string(try string("name")), "arguments": .string(try string("arguments")),
                "status": "completed"]
        case "function_call_output":
            guard let output = fields["output"] else { throw .missingParameter("\(path).output") }
            return ["type": "function_call_output", "id": id("fco"), "call_id": .string(try string("call_id")),
                "output": .string(try outputText(output, at: "\(path).output")), "status": "completed"]
        case "reasoning":
            var reasoning = item
            reasoning["id"] = id("rs")
            return reasoning
        case let other?:
            untranslatable = untranslatable ?? .invalidRequest("\(path).type: '\(other)' items cannot be carried over "
                + "chat completions.", param: "\(path).type", code: "unsupported_item")
            return item
        case nil:
            throw .missingParameter("\(path).type")
        }
    }

    /// A message's content as parts: a string is one text part (`output_text` for the assistant).
    static func parts(_ content: JSONValue, role: String, at path: String, untranslatable: inout GatewayError?)
        throws(GatewayError) -> [JSONValue]
    {
        if let text = content.stringValue {
            return role == "assistant"
                ? [["type": "output_text", "text": .string(text), "annotations": []]]
                : [["type": "input_text", "text": .string(text)]]
        }
        guard let list = content.arrayValue else {
            throw .invalidRequest("\(path): must be a string or a list of content parts.", param: path)
        }
        for (index, part) in list.enumerated() {
            let at = "\(path).\(index)"
            switch part["type"]?.stringValue {
            case "input_text", "output_text":
                guard part["text"]?.stringValue != nil else { throw .missingParameter("\(at).text") }
            case "refusal":
                guard part["refusal"]?.stringValue != nil else { throw .missingParameter("\(at).refusal") }
            case "input_image" where role != "assistant" && !(part["image_url"]?.stringValue ?? "").isEmpty:
                break
            case "input_image" where role != "assistant":
                untranslatable = untranslatable ?? .invalidRequest("\(at): only images given by image_url (a URL or a "
                    + "data URL) can be carried over chat completions; file ids cannot.", param: at,
                    code: "unsupported_content")
            case nil:
                throw .missingParameter("\(at).type")
            case let other?:
                untranslatable = untranslatable ?? .invalidRequest("\(at).type: '\(other)' content cannot be carried "
                    + "over chat completions.", param: "\(at).type", code: "unsupported_content")
            }
        }
        return list
    }

    /// A function call's output: a string, or text parts joined.
    static func outputText(_ output: JSONValue, at path: String) throws(GatewayError) -> String {
        if let text = output.stringValue { return text }
        guard let list = output.arrayValue else {
            throw .invalidRequest("\(path): must be a string or a list of input_text parts.", param: path)
        }
        var texts: [String] = []
        for (index, part) in list.enumerated() {
            guard part["type"]?.stringValue == "input_text", let text = part["text"]?.stringValue else {
                throw .invalidRequest("\(path).\(index): only input_text parts can be carried.", param: path,
                    code: "unsupported_content")
            }
            texts.append(text)
        }
        return texts.joined(separator: "\n")
    }

    /// A conversation of normalized items as chat messages: `developer` becomes `system`; function
    /// calls join the assistant message before them (or make one); outputs become `tool` messages;
    /// reasoning items are left out.
    static func chatMessages(_ items: [JSONValue]) throws(GatewayError) -> [JSONValue] {
        var messages: [JSONValue] = []
        for item in items {
            switch item["type"]?.stringValue {
            case "message":
                let role = item["role"]?.stringValue ?? "user"
                let parts = item["content"]?.arrayValue ?? []
                if role == "user" {
                    messages.append(["role": "user", "content": userContent(parts)])
                } else {
                    messages.append(["role": .string(role == "developer" ? "system" : role),
                        "content": .string(texts(parts).joined(separator: "\n"))])
                }
            case "function_call":
                let call: JSONValue = ["id": item["call_id"] ?? "", "type": "function",
                    "function": ["name": item["name"] ?? "", "arguments": item["arguments"] ?? "{}"]]
                if var last = messages.last, last["role"]?.stringValue == "assistant" {
                    var calls = last["tool_calls"]?.arrayValue ?? []
                    calls.append(call)
                    last["tool_calls"] = .array(calls)
                    if last["content"]?.stringValue == "" { last["content"] = .null }
                    messages[messages.count - 1] = last
                } else {
                    messages.append(["role": "assistant", "content": .null, "tool_calls": [call]])
                }
            case "function_call_output":
                messages.append(["role": "tool", "tool_call_id": item["call_id"] ?? "", "content": item["output"] ?? ""])
            default:
                continue
            }
        }
        return messages
    }

    /// Items as a provider's own Responses API takes them back, the conversation in `input` (it
    /// keeps nothing): input messages and function outputs without the gateway's ids and statuses,
    /// reasoning items only with their encrypted content (without it the provider looks them up).
    static func upstream(_ items: [JSONValue]) -> [JSONValue] {
        items.compactMap { item in
            var item = item
            switch item["type"]?.stringValue {
            case "message" where item["role"]?.stringValue != "assistant", "function_call_output":
                item["id"] = nil
                item["status"] = nil
            case "reasoning" where item["encrypted_content"] == nil:
                return nil
            default:
                break
            }
            return item
        }
    }

    /// The text of `input_text`, `output_text` and `refusal` parts.
    static func texts(_ parts: [JSONValue]) -> [String] {
        parts.compactMap { $0["text"]?.stringValue ?? $0["refusal"]?.stringValue }
    }

    /// A user message's content: a string when it is all text, else chat's parts.
    static func userContent(_ parts: [JSONValue]) -> JSONValue {
        guard parts.contains(where: { $0["type"]?.stringValue == "input_image" }) else {
            return .string(texts(parts).joined(separator: "\n"))
        }
        return .array(parts.map { part in
            if part["type"]?.stringValue == "input_image" {
                var image: [String: JSONValue] = ["url": part["image_url"] ?? ""]
                if let detail = part["detail"], !detail.isNull { image["detail"] = detail }
                return ["type": "image_url", "image_url": .object(image)]
            }
            return ["type": "text", "text": part["text"] ?? ""]
        })
    }
}
