import NIOCore
import ScutumCore

/// Cheap work on OpenAI-format JSON objects that the gateway passes through: one validating
/// structural scan (`JSONDocument`) finds the top-level members, so `usage` is the only value
/// parsed and `model` is rewritten in place, and only when it names something else. Keys nested
/// in choices or tool arguments are never mistaken for the top-level ones.
enum ChunkInspector {
    /// What the gateway reads of one object.
    struct Inspection {
        /// The object with the top-level `model` naming the catalog model.
        var json: ByteBuffer
        /// Usage, if the object carries a `usage` object.
        var usage: TokenUsage?
        /// The object has an empty `choices` array: it only reports usage.
        var usageOnly: Bool
        /// The message of an object whose first member is `error`.
        var errorMessage: String?
    }

    /// Validates `json` as one JSON object and reads it; `what` names it in the error
    /// ("the chat/completions response", "an event in the stream").
    static func inspect(_ json: ByteBuffer, renamingModelTo name: String, what: String) throws(ProviderError)
        -> Inspection
    {
        guard let document = try? JSONDocument(scanning: json), document.kind == .object else {
            throw ProviderError(.malformed, "\(what) is not a JSON object")
        }
        var usage: TokenUsage?
        if let entry = document.member("usage"), document.entries[entry].kind == .object {
            usage = TokenUsage(openAI: document.value(entry))
        }
        let usageOnly = document.member("choices").map { choices in
            document.entries[choices].kind == .array && document.isEmptyContainer(choices)
        } ?? false
        return Inspection(json: rewriteModel(in: document, to: name), usage: usage, usageOnly: usageOnly,
            errorMessage: errorMessage(in: document))
    }

    /// The bytes with the top-level `model` string set to `name`; the same buffer when it already is.
    static func rewriteModel(in document: JSONDocument, to name: String) -> ByteBuffer {
        guard let model = document.member("model"), document.entries[model].kind == .string,
            !document.stringEquals(model, name)
        else { return document.bytes }
        var quoted = ByteBuffer()
        quoted.writeJSONQuoted(name)
        return document.splicing([(document.range(of: model), quoted)])
    }

    /// The message of a top-level `{"error": {...}}` object (the first member is `error`), if this is one.
    static func errorMessage(in document: JSONDocument) -> String? {
        var members = document.children(of: JSONDocument.root).makeIterator()
        guard let first = members.next(), document.key(of: first) == "error" else { return nil }
        return document.value(first)["message"]?.stringValue ?? "the provider reported an error"
    }
}
